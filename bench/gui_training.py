"""Does watching a run in the editor slow the run down, and does the editor stay responsive?

Two arms train the same graph file with the same settings, alternating round by round:

  headless  `python main.py train FILE --quiet` in its own process: the command-line
            trainer, no live views.
  gui       the editor's main window (offscreen Qt), its training panel's Start: the run
            goes to the worker process, the window drains its events at ~30 Hz, and every
            live view is on: feature maps of every conv and linear node, node previews for
            the canvas, the curves, predictions, confusion and weights tabs, with the
            visible tab switched every 0.5 s so each view draws while the run goes.

Model and data: templates/lenet5.json on the built-in "shapes" set (--samples, resized to
1×32×32), batch 64, Adam, --epochs per run, threads 1 in both arms (the second core is
the editor's). Samples/s is per epoch from each run's metrics.jsonl (train samples /
the epoch's seconds, which include validation and checkpoints), the first epoch dropped
as warm-up, median over the rest of all rounds.

The window is shown and left to settle for 2 s before Start (its first paint and start-up
work are not the run's). Responsiveness: a 5 ms timer in the editor's event loop; a stall is how much later than
due a tick came. The longest stall over the whole GUI run is reported, and the 99th
percentile.

Goals: gui / headless samples/s ≥ 0.90; longest stall ≤ 50 ms.

    .venv/bin/python bench/gui_training.py [--rounds 2] [--epochs 4] [--samples 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TICK_MS = 5
TAB_SWITCH_S = 0.5
SETTLE_S = 2.0


def graph_file(folder: Path, epochs: int, samples: int) -> Path:
    from graph.fileformat import save
    from graph.loader import load_file
    from graph.templates import find_template
    doc = load_file(find_template("lenet5"))
    doc.training.update({"epochs": epochs, "threads": 1, "batch_size": 64,
                         "dataset": {"name": "shapes", "samples": samples, "resize_to_input": True},
                         "optimizer": {"name": "adam", "lr": 1e-3}, "schedule": {"name": "none"}})
    path = folder / "lenet5-shapes.json"
    save(doc, path)
    return path


def epoch_rates(run_dir: Path) -> list[float]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    # The run's log says how many samples it trained on: "... with shapes: 4800 train, ..."
    found = re.search(r": (\d+) train, \d+ val samples", (run_dir / "log.txt").read_text())
    train_samples = int(found.group(1))
    return [train_samples / r["seconds"] for r in records if r.get("kind") == "epoch"][1:]


def newest_run(runs: Path, before: set[Path]) -> Path:
    fresh = [p for p in runs.iterdir() if p.is_dir() and p not in before]
    if len(fresh) != 1:
        raise SystemExit(f"expected one new run folder under {runs}, found {fresh}")
    return fresh[0]


def headless_arm(path: Path, runs: Path) -> list[float]:
    before = set(runs.iterdir()) if runs.exists() else set()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "train", str(path), "--quiet",
                    "--out", str(runs)], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return epoch_rates(newest_run(runs, before))


def gui_arm(app, path: Path, runs: Path) -> tuple[list[float], list[float]]:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from graph.loader import load_file
    from gui.main_window import MainWindow
    from gui.session import EditorSession

    doc = load_file(path)
    win = MainWindow(EditorSession(doc, path), QSettings(str(runs.parent / "s.ini"), QSettings.IniFormat))
    win.training.set_runs_dir(runs)
    win.resize(1600, 1000)
    win.show()
    win.docks["Training"].raise_()
    panel = win.training
    watch = [n.id for n in doc.graph if n.type in ("Conv2d", "Linear")]
    panel.insights.feature_maps.set_selected_nodes(watch)
    before = set(runs.iterdir()) if runs.exists() else set()
    stalls: list[float] = []
    last = [time.perf_counter()]

    began = time.perf_counter()
    worst: list[tuple[float, float, str]] = []   # (stall ms, seconds into the run, tab shown)

    def tick() -> None:
        now = time.perf_counter()
        stall = max(0.0, (now - last[0]) * 1000 - TICK_MS)
        stalls.append(stall)
        if stall > 25:
            worst.append((stall, now - began, panel.insights.tabText(panel.insights.currentIndex())))
        last[0] = now

    def switch_tab() -> None:
        tabs = panel.insights
        tabs.setCurrentIndex((tabs.currentIndex() + 1) % tabs.count())

    ticker = QTimer(interval=TICK_MS)
    ticker.timeout.connect(tick)
    switcher = QTimer(interval=int(TAB_SWITCH_S * 1000))
    switcher.timeout.connect(switch_tab)
    # The window is on screen a moment before Start, as it is for a user: its first paint
    # and its start-up work (helper process, first previews) are not part of the run.
    settle = time.monotonic() + SETTLE_S
    while time.monotonic() < settle:
        app.processEvents()
        time.sleep(0.01)
    loop = QEventLoop()
    panel.running_changed.connect(lambda running: running or loop.quit())
    panel.start()
    ticker.start()
    switcher.start()
    last[0] = time.perf_counter()
    loop.exec()          # the editor's own event loop, as app.exec() runs it
    ticker.stop()
    switcher.stop()
    status = panel.done_event.get("status")
    if status != "finished":
        raise SystemExit(f"the GUI run ended {status}: {panel.done_event.get('error')}")
    win.training.shutdown()
    win.previews.shutdown()
    win.session.undo.setClean()
    win.close()
    for stall, when, tab in sorted(worst, reverse=True)[:5]:
        print(f"    stall {stall:5.1f} ms at {when:5.2f} s, {tab!r} tab shown")
    return epoch_rates(newest_run(runs, before)), stalls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="nodetorch-bench-gui-"))
    path = graph_file(work, args.epochs, args.samples)
    headless, gui, stalls = [], [], []
    for r in range(args.rounds):
        arms = ["headless", "gui"] if r % 2 == 0 else ["gui", "headless"]
        for arm in arms:
            if arm == "headless":
                rates = headless_arm(path, work / "runs-headless")
                headless += rates
            else:
                rates, ticks = gui_arm(app, path, work / "runs-gui")
                gui += rates
                stalls += ticks
            print(f"round {r + 1} {arm:8s}: " + ", ".join(f"{x:,.0f}" for x in rates) + " samples/s")
    h, g = statistics.median(headless), statistics.median(gui)
    ratio = g / h
    stalls.sort()
    worst = stalls[-1] if stalls else float("nan")
    p99 = stalls[int(0.99 * (len(stalls) - 1))] if stalls else float("nan")
    print(f"\nheadless trainer : {h:,.0f} samples/s (median of {len(headless)} epochs)")
    print(f"editor, all views: {g:,.0f} samples/s (median of {len(gui)} epochs)")
    print(f"(a) gui / headless = {ratio:.3f}   goal >= 0.90: {'PASS' if ratio >= 0.90 else 'MISS'}")
    print(f"(b) longest event-loop stall = {worst:.1f} ms (99th percentile {p99:.1f} ms, "
          f"{len(stalls)} ticks)   goal <= 50 ms: {'PASS' if worst <= 50 else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
