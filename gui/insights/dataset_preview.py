"""A look at the data before training on it: a few samples of the training block's dataset
with their labels, so a wrong file, wrong labels or an odd shape show before the first epoch.

Loading happens in the editor's helper process (a CSV or image folder can take seconds); the widget
shows the result when it arrives and never raises: a bad dataset is a red message.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QEventLoop, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QGridLayout, QLabel, QScrollArea, QStackedWidget, QVBoxLayout,
                               QWidget)

from gui import background
from gui.insights.dataset_samples import DEFAULT_SAMPLES, PreviewData, prepare_or_error
from gui.theme import current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

TILE_PX = 64
TILE_WIDTH = TILE_PX + 16   # room for a label a bit wider than the image
CLASS_COLOURS = ("#3b9cff", "#ff8c42", "#2ec27e", "#e5484d", "#a35ac2", "#f5c211",
                 "#1fb5b5", "#d16ba5", "#9bd14b", "#c8a26b", "#6b7fd1", "#e07a5f")
_ERROR_RED = "#e5484d"


class DatasetPreview(QWidget):
    loaded = Signal()   # after each show_dataset, when its samples or its error are shown

    def __init__(self, parent: QWidget | None = None, count: int = DEFAULT_SAMPLES) -> None:
        super().__init__(parent)
        self.count = count
        self._generation = 0      # a late answer to an earlier request is dropped
        self._loading = False
        self._shown = 0
        self._name = ""
        self._tile_list: list[QWidget] = []

        self._caption = QLabel("No dataset loaded")
        self._caption.setWordWrap(True)
        self._caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self._error = QLabel()
        self._error.setWordWrap(True)
        self._error.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self._error.setStyleSheet(f"color: {_ERROR_RED};")
        self._error.hide()

        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setSpacing(6)
        self._grid.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self._scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)   # the grid reflows
        scroll.setWidget(self._grid_host)
        self.scatter = pg.PlotWidget(background=current_theme().base)
        self.scatter.showGrid(x=True, y=True, alpha=0.2)
        self.scatter.setMinimumHeight(200)
        self._stack = QStackedWidget()
        self._stack.addWidget(scroll)
        self._stack.addWidget(self.scatter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._caption)
        layout.addWidget(self._error)
        layout.addWidget(self._stack, 1)

    # --- API -----------------------------------------------------------------------------
    def show_dataset(self, training: dict[str, Any] | None,
                     base_dir: Path | str | None = None) -> None:
        """Load (in the editor's helper process) and show the dataset a training block names; `loaded`
        is emitted when it is on screen. Always reloads: the file may have changed."""
        self._generation += 1
        generation, count = self._generation, self.count
        self._loading = True
        spec = training.get("dataset", "digits") if isinstance(training, dict) else "?"
        self._name = _spec_name(spec)
        self._caption.setText(f"Loading {self._name}…")
        self._error.hide()

        def arrived(future) -> None:
            try:
                result, error = future.result()
            except Exception as exc:   # the helper process died, or the job was cancelled
                result, error = None, f"could not load the dataset: {exc or type(exc).__name__}"
            self._arrived(generation, result, error)

        background.submit_to(arrived, prepare_or_error, training,
                             str(base_dir) if base_dir else None, count)

    def wait_loaded(self, timeout: float = 20.0) -> bool:
        """Process events until the requested dataset is shown (True) or timeout seconds."""
        deadline = time.monotonic() + timeout
        while self._loading and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.AllEvents, 50)
            time.sleep(0.005)
        return not self._loading

    def is_loading(self) -> bool:
        return self._loading

    def samples_shown(self) -> int:
        return self._shown

    def caption(self) -> str:
        return self._caption.text()

    def error_text(self) -> str:
        return self._error.text() if not self._error.isHidden() else ""

    def labels(self) -> list[str]:
        """The label under each sample tile, in grid order."""
        return [w.property("sample_label") for w in self._tiles()]

    def showing_scatter(self) -> bool:
        return self._stack.currentWidget() is self.scatter

    # --- display -------------------------------------------------------------------------
    def _arrived(self, generation: int, data: PreviewData | None, error: str) -> None:
        if generation != self._generation:
            return
        self._clear()
        if data is None:
            self._caption.setText(f"{self._name}: not loaded")
            self._error.setText(error or "could not load the dataset")
            self._error.show()
            self._stack.hide()   # an empty frame under the message would look like data
        elif data.kind == "points":
            self._show_points(data)
        else:
            self._show_tiles(data)
        if data is not None:
            self._stack.show()
            self._caption.setText(data.caption)
            self._caption.setToolTip(data.description)
        self._loading = False
        self.loaded.emit()

    def _clear(self) -> None:
        for tile in self._tile_list:
            self._grid.removeWidget(tile)
            tile.deleteLater()
        self._tile_list = []
        self.scatter.clear()
        legend = self.scatter.getPlotItem().legend
        if legend is not None:
            legend.clear()
        self._shown = 0

    def _tiles(self) -> list[QWidget]:
        return list(self._tile_list)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._reflow()

    def _reflow(self) -> None:
        """As many columns as fit the width: no sideways scrolling at any dock size."""
        step = TILE_WIDTH + 4 + self._grid.horizontalSpacing()
        width = self._scroll.viewport().width() - 2 * self._grid.contentsMargins().left()
        columns = max(1, width // step)
        for tile in self._tile_list:   # a widget added twice would hold two cells
            self._grid.removeWidget(tile)
        for i, tile in enumerate(self._tile_list):
            self._grid.addWidget(tile, i // columns, i % columns)

    def _show_tiles(self, data: PreviewData) -> None:
        draw = {"images": _image_pixmap, "sequences": _sequence_pixmap}.get(data.kind)
        for i, (sample, label) in enumerate(zip(data.samples, data.labels)):
            tile = _tile(draw(sample) if draw else None, label,
                         " ".join(str(int(t)) for t in sample) if draw is None else "")
            self._tile_list.append(tile)
        self._reflow()
        self._stack.setCurrentIndex(0)
        self._shown = len(data.samples)

    def _show_points(self, data: PreviewData) -> None:
        plot = self.scatter
        legend = plot.getPlotItem().legend or plot.addLegend(offset=(-6, 6),
                                                             brush=_legend_brush())
        legend.clear()
        pts, classes = data.points, data.point_classes
        if classes is None:
            plot.plot(pts[:, 0], pts[:, 1], pen=None, symbol="o", symbolSize=4,
                      symbolBrush=CLASS_COLOURS[0], symbolPen=None)
        else:
            for cls in np.unique(classes):
                mask = classes == cls
                name = data.class_names[cls] if cls < len(data.class_names) else str(cls)
                colour = CLASS_COLOURS[int(cls) % len(CLASS_COLOURS)]
                plot.plot(pts[mask, 0], pts[mask, 1], pen=None, symbol="o", symbolSize=4,
                          symbolBrush=colour, symbolPen=None, name=name)
        plot.setLabel("bottom", data.axis_names[0])
        plot.setLabel("left", data.axis_names[1])
        self._stack.setCurrentWidget(plot)
        self._shown = len(pts)


def _legend_brush():
    # Points run under the legend: a mostly opaque backing keeps the names readable.
    colour = QColor(current_theme().base)
    colour.setAlpha(200)
    return pg.mkBrush(colour)


def _spec_name(spec: Any) -> str:
    if isinstance(spec, dict):
        return str(spec.get("name") or spec.get("path") or "the dataset")
    return str(spec)


def _tile(pixmap: QPixmap | None, label: str, text: str) -> QWidget:
    tile = QWidget()
    tile.setProperty("sample_label", label)
    box = QVBoxLayout(tile)
    box.setContentsMargins(2, 2, 2, 2)
    box.setSpacing(2)
    view = QLabel()
    view.setAlignment(Qt.AlignCenter)
    view.setFixedSize(TILE_WIDTH, TILE_PX + 4)
    if pixmap is not None:
        view.setPixmap(pixmap)
    else:   # token ids: the sequence itself is the picture
        view.setText(text)
        view.setWordWrap(True)
        view.setFont(QFont("monospace", 7))
    caption = QLabel(label)
    caption.setAlignment(Qt.AlignCenter)
    caption.setToolTip(label)
    box.addWidget(view)
    box.addWidget(caption)
    return tile


def _image_pixmap(image: np.ndarray) -> QPixmap:
    h, w = image.shape[:2]
    data = np.ascontiguousarray(image)
    if data.ndim == 2:
        qimage = QImage(data.data, w, h, w, QImage.Format_Grayscale8).copy()
    else:
        qimage = QImage(data.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    # Small images grow by a whole factor with hard pixel edges (an 8×8 digit stays 8×8
    # blocks); large ones shrink smoothly.
    if max(h, w) <= TILE_PX:
        factor = max(1, TILE_PX // max(h, w))
        return QPixmap.fromImage(qimage.scaled(w * factor, h * factor, Qt.IgnoreAspectRatio,
                                               Qt.FastTransformation))
    return QPixmap.fromImage(qimage.scaled(TILE_PX, TILE_PX, Qt.KeepAspectRatio,
                                           Qt.SmoothTransformation))


def _sequence_pixmap(values: np.ndarray) -> QPixmap:
    width, height, pad = TILE_WIDTH - 4, TILE_PX, 4
    pixmap = QPixmap(width, height)
    pixmap.fill(current_theme().base)
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    n = max(len(v) - 1, 1)
    points = [QPointF(pad + i * (width - 2 * pad) / n,
                      height - pad - (val - lo) / span * (height - 2 * pad))
              for i, val in enumerate(v)]
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(QPen(QColor(CLASS_COLOURS[0]), 1.5))
    if len(points) > 1:
        painter.drawPolyline(points)
    painter.end()
    return pixmap
