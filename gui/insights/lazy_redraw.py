"""Views of a run draw only when someone can see them: the throttle timer of a hidden tab
just marks it stale, and showing it draws the newest data once. Hidden tabs then cost the
event loop nothing while a run goes, however many there are."""
from __future__ import annotations

from PySide6.QtCore import QTimer


class LazyRedraw:
    """Mix in before QWidget. `_make_redraw_timer()` gives the view its throttle timer
    (start it on new data; it draws at most once per interval, and only when visible);
    the view's `flush()` draws now (tests and screenshots call it directly)."""

    _stale = False

    def _make_redraw_timer(self, interval_ms: int) -> QTimer:
        timer = QTimer(self, singleShot=True, interval=interval_ms)
        timer.timeout.connect(self._draw_if_visible)
        return timer

    def _schedule(self) -> None:
        """New data: draw it within one interval (several arrivals make one drawing)."""
        if not self._timer.isActive():
            self._timer.start()

    def _draw_if_visible(self) -> None:
        if self.isVisible():
            self._stale = False
            self.flush()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.flush()
