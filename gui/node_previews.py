"""What each node currently outputs for the fixed sample, for the canvas's hover thumbnails.

Two sources, the newest wins: after an edit, a forward pass of the edited graph with its
initial weights (runtime.preview, in the editor's helper process, debounced so typing
does not queue passes); during a run, the small previews the run sends with each capture.
"""
from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from graph.fileformat import dumps
from gui import background

DEBOUNCE_MS = 600


class NodePreviewService(QObject):
    updated = Signal()

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.previews: dict[str, np.ndarray] = {}
        self.source = ""          # e.g. "initial weights · digits, validation sample 0"
        self.error: str | None = None
        self.enabled = True
        self._future: Future | None = None
        self._pending = False
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        session.graph_changed.connect(self._graph_changed)
        session.document_replaced.connect(self.schedule)

    def _graph_changed(self, _graph, event) -> None:
        if event.field != "position":   # moving nodes changes no output
            self.schedule()

    def preview(self, node_id: str) -> np.ndarray | None:
        return self.previews.get(node_id)

    def schedule(self) -> None:
        if self.enabled:
            self._debounce.start()

    def refresh(self) -> None:
        """Compute the previews of the document as it is now (in the background)."""
        if self._future is not None and not self._future.done():
            self._pending = True      # one pass at a time; the newest state goes next
            return
        from runtime.preview import previews_of_text
        base_dir = self.session.path.parent if getattr(self.session, "path", None) else None
        self._future = background.submit_to(self._collect, previews_of_text,
                                            dumps(self.session.doc),
                                            str(base_dir) if base_dir else None)

    def _collect(self, future: Future) -> None:
        try:
            result = future.result()
        except Exception as exc:   # a bug in a preview must not reach the user as a crash
            result = None
            self.error = f"no previews: {exc}"
        self._future = None
        if result is not None:
            self.previews, self.error = result.previews, result.error
            self.source = f"initial weights · {result.source}" if result.source else "initial weights"
        self.updated.emit()
        if self._pending:
            self._pending = False
            self.refresh()

    def handle_event(self, ev: dict[str, Any]) -> None:
        if ev.get("kind") == "activations" and ev.get("previews"):
            self.previews = dict(ev["previews"])
            self.error = None
            self.source = f"training · epoch {ev.get('epoch')}, step {ev.get('global_step')}"
            self.updated.emit()

    def shutdown(self) -> None:
        self._debounce.stop()
