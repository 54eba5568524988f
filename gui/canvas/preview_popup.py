"""The hover preview of a node: a thumbnail of its output for the fixed sample, with the
shape and where the picture comes from (initial weights, or the running training)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from gui.insights.images import thumbnail

THUMB_PX = 160


class NodePreviewPopup(QFrame):
    def __init__(self, parent=None) -> None:
        # A tool-tip window: no focus, no taskbar entry, on top of the canvas.
        super().__init__(parent, Qt.ToolTip | Qt.FramelessWindowHint)
        self.setFrameShape(QFrame.Box)
        self.setAttribute(Qt.WA_ShowWithoutActivating)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel(wordWrap=True)
        self.title.setStyleSheet("font-weight: bold")
        self.title.setMaximumWidth(THUMB_PX + 60)
        self.image = QLabel(alignment=Qt.AlignCenter)
        self.shape = QLabel(wordWrap=True)
        self.shape.setMaximumWidth(THUMB_PX + 60)
        self.caption = QLabel(wordWrap=True)
        self.caption.setStyleSheet("color: gray; font-size: 10px")
        self.caption.setMaximumWidth(THUMB_PX + 60)
        for w in (self.title, self.shape, self.image, self.caption):
            layout.addWidget(w)
        self.node_id: str | None = None

    def show_for(self, node_id: str, title: str, shape: str, array: np.ndarray | None,
                 source: str, at: QPoint) -> None:
        self.node_id = node_id
        self.title.setText(title)
        self.shape.setText(shape)
        self.shape.setVisible(bool(shape))
        if array is None:
            self.image.setPixmap(QPixmap())
            self.image.setText("no preview yet")
        else:
            self.image.setText("")
            self.image.setPixmap(QPixmap.fromImage(thumbnail(array, THUMB_PX)))
        shown = "×".join(str(d) for d in array.shape) if array is not None else ""
        self.caption.setText(f"preview {shown} · {source}" if shown else source)
        self.adjustSize()
        self.move(at)
        self.show()

    def hide_preview(self) -> None:
        self.node_id = None
        self.hide()
