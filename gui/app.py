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
    from gui.main_window import MainWindow
    from gui.session import EditorSession
    from gui.theme import palette_for, set_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("NodeTorch")
    app.setOrganizationName("NodeTorch")
    app.setStyle("Fusion")
    app.setPalette(palette_for(set_theme("dark")))
    try:
        if argv:
            session = EditorSession.open(resolve_graph_path(argv[0]))
        else:  # a new user sees a real network at once
            session = EditorSession.open(find_template("lenet5"))
            session.path = None
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(session)
    window.show()
    window.view.fit()
    return app.exec()


def main_with_path(path: str | Path) -> int:
    return run([str(path)])
