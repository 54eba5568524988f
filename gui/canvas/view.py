"""The zoomable, pannable view of the canvas: wheel zooms around the cursor, the middle
button or space+drag pans, F fits, a rubber band selects, palette drops add nodes."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView
from shiboken6 import isValid

from gui.canvas.items import LOW_DETAIL, NodeItem

MIME_NODE_TYPE = "application/x-nodetorch-node-type"
MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
FIT_MAX_ZOOM = 1.5   # fitting a tiny graph does not blow its nodes up further
FIT_MARGIN = 40      # scene px of canvas left around the graph when fitting


class GraphView(QGraphicsView):
    node_dropped = Signal(str, QPointF)      # type id, scene position
    quick_add = Signal(QPointF)              # scene position for the quick-add box

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self._panning = False
        self._space = False
        self._last = None
        self.previews = None          # a NodePreviewService; hovering a node shows its output
        self._popup = None
        self._hover_pos = QPoint()
        self._fit_zoom = None         # the zoom of the last fit: the floor of wheel zoom-out
        self._keep_fitted = False     # refit on resize until the user zooms or pans

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    # Every zoom change goes through these, so the scene knows when to drop its detail.
    def scale(self, sx: float, sy: float) -> None:
        self._keep_fitted = False  # a zoom of its own (fit() sets it again after)
        super().scale(sx, sy)
        self._zoom_changed()

    def fitInView(self, *args) -> None:
        super().fitInView(*args)
        self._zoom_changed()

    def resetTransform(self) -> None:
        self._keep_fitted = False
        super().resetTransform()
        self._zoom_changed()

    def _zoom_changed(self) -> None:
        set_detail = getattr(self.scene(), "set_detail", None)
        if set_detail is not None:
            set_detail(self.zoom >= LOW_DETAIL)

    def wheelEvent(self, event) -> None:
        factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        # A fitted long graph may sit below MIN_ZOOM: zooming out stops there, not earlier.
        floor = min(MIN_ZOOM, self._fit_zoom or MIN_ZOOM)
        if (factor > 1 and self.zoom * factor <= MAX_ZOOM) or \
                (factor < 1 and self.zoom * factor >= floor * 0.999):
            self.scale(factor, factor)

    def fit(self) -> None:
        """Show the whole graph, however long: every node inside the view (a long graph is
        drawn small, as coloured blocks below LOW_DETAIL). A small one is not blown up past
        FIT_MAX_ZOOM. Until the user zooms or pans, the view stays fitted as it resizes."""
        rect = self.scene().itemsBoundingRect()
        if rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN),
                       Qt.KeepAspectRatio)
        if self.zoom > FIT_MAX_ZOOM:
            self.scale(FIT_MAX_ZOOM / self.zoom, FIT_MAX_ZOOM / self.zoom)
            self.centerOn(rect.center())
        self._fit_zoom = self.zoom
        self._keep_fitted = True

    def fit_soon(self) -> None:
        """Fit once the window has its size: right after show() or an open, the viewport
        may not have its final size yet, so fit from the event loop (and again on each
        resize until the user takes over the view)."""
        self._keep_fitted = True
        QTimer.singleShot(0, self._deferred_fit)

    def _deferred_fit(self) -> None:
        if isValid(self) and self._keep_fitted:
            self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._keep_fitted:
            self.fit()

    def centerOn(self, *args) -> None:
        # Any other centring (focus a node, a problem) is the user's view from now on.
        self._keep_fitted = False
        super().centerOn(*args)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._keep_fitted = False
            self.setDragMode(QGraphicsView.ScrollHandDrag)
            return
        if event.key() == Qt.Key_Tab:
            self.quick_add.emit(self.mapToScene(self.mapFromGlobal(self.cursor().pos())))
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.RubberBandDrag)
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens quick add instead of moving focus

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton:
            self._keep_fitted = False
            self._panning, self._last = True, event.position()
            self.setCursor(Qt.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._panning:
            delta = event.position() - self._last
            self._last = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        super().mouseMoveEvent(event)
        if not event.buttons():
            self.hover_preview(event.position().toPoint())

    # --- hover previews -------------------------------------------------------------------
    def node_at(self, pos) -> NodeItem | None:
        item = self.itemAt(pos)
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        return item

    def hover_preview(self, pos, fresh: bool = False) -> None:
        """Show the output of the node under `pos` (viewport coordinates), or hide it;
        `fresh` redraws it even if it already shows that node (new previews came)."""
        node = self.node_at(pos) if self.previews is not None and self.previews.enabled else None
        if node is None or self.scene().session.block is not None:
            # Inside a block the nodes are not the compiled model's: no preview there.
            if self._popup is not None:
                self._popup.hide_preview()
            return
        from gui.canvas.preview_popup import NodePreviewPopup
        if self._popup is None:
            self._popup = NodePreviewPopup(self)
        if self._popup.isVisible() and self._popup.node_id == node.node_id and not fresh:
            return
        self._hover_pos = pos
        source = self.previews.error or self.previews.source
        corner = self.mapFromScene(node.mapToScene(node.boundingRect().topRight()))
        self._popup.show_for(node.node_id, node.title, node.shape_text,
                             self.previews.preview(node.node_id), source,
                             self.viewport().mapToGlobal(corner) + QPoint(8, 0))

    def preview_popup(self):
        return self._popup

    def refresh_preview(self) -> None:
        if self._popup is not None and self._popup.isVisible():
            self.hover_preview(self._hover_pos, fresh=True)

    def leaveEvent(self, event) -> None:
        if self._popup is not None:
            self._popup.hide_preview()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton and self._panning:
            self._panning = False
            self.unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.itemAt(event.position().toPoint()) is None:
            self.quick_add.emit(self.mapToScene(event.position().toPoint()))
            return
        super().mouseDoubleClickEvent(event)

    # --- drops from the palette -----------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(MIME_NODE_TYPE):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(MIME_NODE_TYPE):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        if event.mimeData().hasFormat(MIME_NODE_TYPE):
            type_id = bytes(event.mimeData().data(MIME_NODE_TYPE)).decode()
            self.node_dropped.emit(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)
