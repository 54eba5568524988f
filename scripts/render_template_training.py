"""Render one template mid-training in the editor (headless), to look at what a learner
sees: the window with the live curves, and the Predictions tab's samples (GAN images from
fixed noise, autoencoder inputs vs reconstructions, class bars), one above the other in
one PNG.

    .venv/bin/python scripts/render_template_training.py TEMPLATE OUT.png [--seconds S]
        [--epochs N] [--max-seconds M]

TEMPLATE is a file (templates/dcgan.json) or a template name. The run trains in the real
worker process, with the template's own settings, for S seconds (default 15) after its
first epoch, and at least N epochs (default 1) with a samples grid shown, but stops short of the run's last epoch so
the picture is mid-training; M seconds (default 180) is the limit. Then OUT.png is written,
and OUT_window.png and OUT_samples.png next to it (the two halves).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds to train")
    parser.add_argument("--epochs", type=int, default=1, help="epochs to wait for at least")
    parser.add_argument("--max-seconds", type=float, default=180.0)
    args = parser.parse_args()

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from graph.loader import load_file
    from graph.templates import resolve_graph_path
    from gui.main_window import MainWindow
    from gui.session import EditorSession
    from gui.theme import apply_to_app, set_theme

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    apply_to_app(app, set_theme("dark"))  # as gui/app.py starts the app
    path = resolve_graph_path(args.template)
    doc = load_file(path)
    # Enough epochs that the run is still going when the picture is taken.
    doc.training["epochs"] = epochs = max(int(doc.training.get("epochs", 1) or 1),
                                          args.epochs + 2)
    work = Path(tempfile.mkdtemp(prefix="nodetorch-template-training-"))
    win = MainWindow(EditorSession(doc), QSettings(str(work / "s.ini"), QSettings.IniFormat))
    win.training.set_runs_dir(work / "runs")
    win.resize(1600, 1100)
    win.show()
    win.docks["Training"].raise_()
    win.resizeDocks([win.docks["Training"]], [620], Qt.Vertical)
    if not len(doc.graph) and doc.blocks:
        # A file of blocks only (a GAN) has nothing at the top: show the generator.
        gan = doc.training.get("gan") if isinstance(doc.training.get("gan"), dict) else {}
        win.session.enter_block(gan.get("generator") or next(iter(doc.blocks)))
    win.view.fit()
    panel = win.training
    insights = panel.insights
    panel.start()
    started = time.monotonic()
    deadline = started + args.max_seconds

    first_epoch_at: list[float] = []  # the seconds count from there: not the worker's start

    def ready() -> bool:
        done = len(panel.epoch_events)
        if done and not first_epoch_at:
            first_epoch_at.append(time.monotonic())
        shown = (insights.predictions.grid_image() is not None
                 or insights.predictions.pair_image() is not None)
        return shown and done >= args.epochs and (
            time.monotonic() - first_epoch_at[0] >= args.seconds or done >= epochs - 1)

    while panel.running and not ready() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    seconds = time.monotonic() - started
    still_running = panel.running

    insights.setCurrentWidget(insights.curves)
    insights.flush()
    app.processEvents()
    win.view.fit()  # now that the docks have their sizes, the whole graph on the canvas
    app.processEvents()
    window = win.grab().toImage()
    insights.setCurrentWidget(insights.predictions)
    insights.flush()
    app.processEvents()
    samples = win.docks["Training"].widget().grab().toImage()
    panel.shutdown()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    stem = args.out.with_suffix("")
    window.save(f"{stem}_window.png")
    samples.save(f"{stem}_samples.png")
    # One picture: the window (its dock on the Curves tab) above the dock on Predictions.
    both = QImage(max(window.width(), samples.width()), window.height() + samples.height() + 6,
                  QImage.Format_RGB32)
    both.fill(QColor("#101214"))
    painter = QPainter(both)
    painter.drawImage(0, 0, window)
    painter.drawImage(0, window.height() + 6, samples)
    painter.end()
    both.save(str(args.out))
    last = panel.epoch_events[-1] if panel.epoch_events else {}
    print(f"{args.out}: {path.name} after {len(panel.epoch_events)} epochs in {seconds:.0f} s "
          f"({'still training' if still_running else 'run ended'}); last epoch: "
          + ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float)))
    if not ready():
        print("warning: the samples or the epochs did not arrive in time", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
