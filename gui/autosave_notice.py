"""The status-bar notice that autosave failed: the user's unsaved work then exists only in
the window, and they should know before they trust a crash to give it back.

It shows the recovery file and the reason, and stays until the work is safe again (a later
autosave succeeded, or the document was saved, discarded or undone back to clean).
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from gui.autosave import Autosaver

STYLE = ("QLabel { color: #ffffff; background: #b3261e; border-radius: 3px; "
         "padding: 1px 6px; font-weight: bold; }")


class AutosaveNotice(QLabel):
    def __init__(self, autosave: Autosaver, status_bar: QStatusBar) -> None:
        super().__init__(status_bar)
        self.setObjectName("autosave_notice")
        self.setStyleSheet(STYLE)
        self.setVisible(False)
        # permanent (right-hand) part: a temporary message would not push it away
        status_bar.addPermanentWidget(self)
        autosave.failed.connect(self.show_failure)
        autosave.safe.connect(self.clear)

    def show_failure(self, path: str, reason: str) -> None:
        self.setText(f"⚠ Autosave failed ({reason}): {path}")
        self.setToolTip(f"Could not write the recovery copy {path}: {reason}.\n"
                        "Your unsaved changes exist only in this window: save them (Ctrl+S) "
                        "or free the space.")
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)
