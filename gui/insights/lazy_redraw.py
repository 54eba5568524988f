"""Views of a run draw only when someone can see them: the throttle timer of a hidden tab
just marks it stale, and showing it draws the newest data once. Hidden tabs then cost the
event loop nothing while a run goes, however many there are."""
from __future__ import annotations


class LazyRedraw:
    """Mix in before QWidget; the view's throttle timer connects to `_draw_if_visible`
    and its `flush()` draws now (tests and screenshots call it directly)."""

    _stale = False

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
