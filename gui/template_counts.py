"""The Open Template list's parameter counts, made in the editor's helper process.

The count is the app's shape check on torch's meta device (no weights are built); the first
check of a recurrent layer or of a deep template still takes up to a second on a small
machine, which on the GUI thread would stall typing in the filter. Not a thread either:
torch's meta tracing on a second thread while the editor runs torch on its own crashed the
process, so the counts go to the helper process (gui/background.py), one job per template.
"""
from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui import background
from gui import template_library as library


class ParamCounter(QObject):
    """Counts the templates' parameters in the helper process; `counted(path, n)` arrives
    on the GUI thread, n an int or the reason it cannot be counted."""
    counted = Signal(str, object)

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self._paths = list(paths)
        self._futures: list[Future] = []
        self._stopped = False

    def start(self) -> None:
        for path in self._paths:
            self._futures.append(background.submit_to(
                lambda future, p=str(path): self._done(p, future),
                library.parameter_count, Path(path)))

    def stop(self, wait: float = 0) -> None:
        """Count nothing more: jobs not yet started are dropped, late results ignored.
        `wait` is accepted for callers that once waited on a thread; nothing blocks."""
        self._stopped = True
        for future in self._futures:
            future.cancel()

    def _done(self, path: str, future: Future) -> None:
        if self._stopped or future.cancelled():
            return
        try:
            count = future.result()
        except Exception as exc:  # noqa: BLE001 — the helper died: this row says so
            count = f"cannot be counted: {exc}" if str(exc) else type(exc).__name__
        self.counted.emit(path, count)
