"""The Open Template dialog's picture of a template: its graph, drawn by the canvas's own
scene, fitted whole into a small view that takes no clicks, drags or wheel."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from gui.theme import current_theme

PREVIEW_MARGIN = 30         # scene units around the graph in the preview


class PreviewView(QGraphicsView):
    """A small, non-interactive view of a scene that always shows the whole graph."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setInteractive(False)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.NoDrag)
        self.setFocusPolicy(Qt.NoFocus)
        self.setFrameShape(QFrame.StyledPanel)
        self.setBackgroundBrush(current_theme().background)

    def show_scene(self, scene: QGraphicsScene | None) -> None:
        self.setScene(scene)
        self.refit()

    def refit(self) -> None:
        scene = self.scene()
        if scene is None:
            return
        rect: QRectF = scene.itemsBoundingRect()
        if rect.isEmpty():
            return
        m = PREVIEW_MARGIN
        self.fitInView(rect.adjusted(-m, -m, m, m), Qt.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.refit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refit()

    # The preview is a picture: no wheel zoom, no panning, no clicks.
    def wheelEvent(self, event) -> None:
        event.ignore()
