"""The editor, driven for the kill campaign (scripts/campaigns/editor_kills.py).

Run as `python -m scripts.campaigns.editor_driver`, this is a *zygote*: it imports the
editor and warms torch once (about 6 s), then for each `RUN {json}` line on stdin forks a
child that is a fresh editor process: it builds the real MainWindow on a graph file,
restores what a killed predecessor left (as a user answering Yes at start would), and then
edits, saves and autosaves on a timer until it is killed. Forking a warm process makes a
round take about a second instead of seven; everything after the fork (the QApplication,
the window, its helper process and resource tracker) is the editor's own.

The child writes what it did to a journal (flushed per line, so a kill loses nothing of
it): `start K` (edits already in the document it opened), `save-begin K SHA` before a
save, `saved K` after it, `autosaved K` after each recovery file written. Edit K adds the
node `k{K}`; the document's newest such node says how many edits it holds.

The parent prints `PID n` for each child and `EXIT n status` when it has gone.
"""
from __future__ import annotations

import json
import os
import re
import sys

EDIT_NODE = re.compile(r"^k(\d+)$")
KEEP_EDIT_NODES = 30     # older edit nodes are removed in the same step: the graph stays small


def edits_in(doc) -> int:
    """The number of the newest edit in a document (0: none)."""
    found = [int(m.group(1)) for m in map(EDIT_NODE.match, doc.graph.nodes) if m]
    return max(found, default=0)


def _warm() -> None:
    # Everything a window needs, imported and run once before any fork; no QApplication,
    # no thread and no multiprocessing object may exist yet (a fork keeps only one thread).
    import gui.app  # noqa: F401
    import gui.main_window  # noqa: F401
    from graph.loader import load_file
    from graph.templates import find_template
    from runtime.check import check_document
    for name in ("gui.training_panel", "gui.inspector", "gui.palette", "gui.problems",
                 "gui.summary_dock", "gui.node_previews", "pyqtgraph"):
        __import__(name)
    check_document(load_file(find_template("mlp")))


def _child(args: dict) -> None:
    log = open(os.path.join(args["folder"], f"editor-{os.getpid()}.log"), "w", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    journal = open(args["journal"], "a", buffering=1, encoding="utf-8")
    try:
        _edit_until_killed(args, journal)
    except BaseException as exc:  # the campaign counts this as an unhandled exception
        import traceback
        journal.write(f"exception {type(exc).__name__}: {exc}\n")
        traceback.print_exc()
        log.flush()
        os._exit(3)
    os._exit(4)   # the event loop ended: nobody should have ended it


def _edit_until_killed(args: dict, journal) -> None:
    import hashlib
    import random
    from pathlib import Path

    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["NODETORCH_CONFIG_DIR"] = args["config"]
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from graph.catalog import get_spec
    from graph.model import Node
    from gui.app import restore_recoveries
    from gui.autosave import find_recoveries
    from gui.commands import AddItems, RemoveItems
    from gui.main_window import MainWindow
    from gui.session import EditorSession

    def excepthook(kind, value, tb):   # an exception in a Qt slot: end, so it is counted
        import traceback
        journal.write(f"exception {kind.__name__}: {value}\n")
        traceback.print_exception(kind, value, tb)
        os._exit(3)
    sys.excepthook = excepthook
    from PySide6.QtWidgets import QMessageBox

    def dialog(kind: str, answer):   # a modal dialog would wait forever: note it, answer it
        def show(_parent, title, text, *_a, **_k):
            journal.write(f"dialog {kind} {title}: {text!r}\n")
            return answer
        return show
    QMessageBox.warning = dialog("warning", QMessageBox.Ok)
    QMessageBox.question = dialog("question", QMessageBox.Discard)

    rng = random.Random(args["seed"])
    # A slow disk: fsync takes up to SLOW_FSYNC_S, so that kills land inside saves (between
    # the temp file's write and its rename) as often as on a real laptop disk.
    import time

    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(rng.uniform(0, args.get("slow_fsync_s", 0.03)))
        real_fsync(fd)
    os.fsync = slow_fsync
    path = Path(args["path"])
    app = QApplication([sys.argv[0]])
    win = MainWindow(EditorSession.open(path),
                     QSettings(os.path.join(args["folder"], "settings.ini"), QSettings.IniFormat),
                     args["config"])
    restore_recoveries(win, find_recoveries(args["config"]), path)
    win.autosave.set_interval(args.get("autosave_ms", 150))
    win.show()
    session = win.session
    count = edits_in(session.doc)
    journal.write(f"start {count}\n")
    relu = get_spec("ReLU").defaults()

    def autosaved() -> None:
        if win.autosave.written is not None:
            journal.write(f"autosaved {count}\n")
    win.autosave.safe.connect(autosaved)

    def tick() -> None:
        nonlocal count
        count += 1
        graph = session.graph
        old = sorted((int(m.group(1)) for m in map(EDIT_NODE.match, graph.nodes) if m))
        session.undo.beginMacro(f"edit {count}")
        session.undo.push(AddItems(graph, [Node(f"k{count}", "ReLU", dict(relu), "",
                                                (40.0 * (count % 20), 600.0 + 10 * (count % 7)))],
                                   [], "Add"))
        if len(old) >= KEEP_EDIT_NODES:
            session.undo.push(RemoveItems(graph, [f"k{old[0]}"], []))
        session.undo.endMacro()
        roll = rng.random()
        if roll < args.get("save_chance", 0.12):
            sha = hashlib.sha256(session.text().encode("utf-8")).hexdigest()
            journal.write(f"save-begin {count} {sha}\n")
            if win.save():
                journal.write(f"saved {count}\n")
        elif roll < 0.3:
            win.autosave.write_now()
    timer = QTimer(interval=args.get("edit_ms", 15))
    timer.timeout.connect(tick)
    timer.start()
    app.exec()


def main() -> None:
    _warm()
    out = sys.stdout
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "QUIT":
            break
        if command != "RUN":
            continue
        args = json.loads(rest)
        pid = os.fork()
        if pid == 0:
            sys.stdin.close()
            _child(args)
        out.write(f"PID {pid}\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f"EXIT {pid} {status}\n")
        out.flush()


if __name__ == "__main__":
    main()
