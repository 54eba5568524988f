"""The zoomable, pannable view of the canvas: wheel zooms around the cursor, the middle
button or space+drag pans, F fits, a rubber band selects, palette drops add nodes."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView

from gui.canvas.items import LOW_DETAIL, NodeItem

MIME_NODE_TYPE = "application/x-nodetorch-node-type"
MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
READABLE_ZOOM = 0.75  # below this, node text is too small to read


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

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    # Every zoom change goes through these, so the scene knows when to drop its detail.
    def scale(self, sx: float, sy: float) -> None:
        super().scale(sx, sy)
        self._zoom_changed()

    def fitInView(self, *args) -> None:
        super().fitInView(*args)
        self._zoom_changed()

    def resetTransform(self) -> None:
        super().resetTransform()
        self._zoom_changed()

    def _zoom_changed(self) -> None:
        set_detail = getattr(self.scene(), "set_detail", None)
        if set_detail is not None:
            set_detail(self.zoom >= LOW_DETAIL)

    def wheelEvent(self, event) -> None:
        factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        if MIN_ZOOM <= self.zoom * factor <= MAX_ZOOM:
            self.scale(factor, factor)

    def fit(self) -> None:
        """Show the whole graph; a long one is shown from its start at a readable zoom
        rather than shrunk to specks."""
        rect = self.scene().itemsBoundingRect()
        if rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.KeepAspectRatio)
        if self.zoom > 1.5:
            self.scale(1.5 / self.zoom, 1.5 / self.zoom)
        if self.zoom < READABLE_ZOOM:
            self.scale(READABLE_ZOOM / self.zoom, READABLE_ZOOM / self.zoom)
            visible = self.mapToScene(self.viewport().rect()).boundingRect()
            self.centerOn(rect.left() - 40 + visible.width() / 2, rect.center().y())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
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
