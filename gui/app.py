"""Starting the editor: the application object, the theme, the first document."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True  # the user chose a platform (offscreen, vnc, …): trust it
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run(argv: list[str]) -> int:
    if not has_display():
        print("NodeTorch's editor needs a display, and none was found (no DISPLAY or "
              "WAYLAND_DISPLAY). The command line works without one: python main.py --help",
              file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from graph.loader import LoadError
    from graph.templates import find_template, resolve_graph_path
    from gui.file_actions import describe_failure, printable
    from gui.main_window import MainWindow
    from gui.session import EditorSession
    from gui.theme import apply_to_app, set_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("NodeTorch")
    app.setOrganizationName("NodeTorch")
    app.setStyle("Fusion")
    apply_to_app(app, set_theme("dark"))
    try:
        if argv:
            session = EditorSession.open(resolve_graph_path(argv[0]))
        else:  # a new user sees a real network at once
            session = EditorSession.open(find_template("lenet5"))
            session.path = None
    except LoadError as exc:
        print(f"error: {describe_failure(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - hostile content the loader does not refuse yet
        print(f"error: {printable(argv[0] if argv else 'the start-up template')} cannot be "
              f"opened: {describe_failure(exc)}", file=sys.stderr)
        return 2
    window = MainWindow(session)
    window.show()
    window.view.fit()
    # unsaved work left by an editor that did not close cleanly (crash, killed, power cut)
    from gui.autosave import offer_restore
    windows = restore_recoveries(window, offer_restore(window), session.path if argv else None)
    code = app.exec()
    del windows  # the extra windows lived as long as the application ran
    return code


def restore_recoveries(window, recoveries, opened_path: Path | None = None) -> list:
    """Open recovered documents: the first in `window` when it shows nothing of the user's
    own (the start-up template, or the very file that was recovered), the others each in a
    window of its own. Returns all the windows, `window` first (the caller keeps them)."""
    from gui.main_window import MainWindow
    from gui.session import EditorSession

    windows = [window]
    window_free = not window.session.modified
    for recovery in recoveries:
        same_file = (opened_path is not None and recovery.original_path is not None
                     and Path(opened_path).resolve() == recovery.original_path.resolve())
        if window_free and (opened_path is None or same_file):
            target = window
        else:
            target = MainWindow(EditorSession(), window.settings, window.autosave.config)
        if not target.restore(recovery):
            if target is not window:
                target.deleteLater()
            continue
        if target is window:
            window_free = False
        else:
            windows.append(target)
            target.show()
            target.view.fit()
    return windows
