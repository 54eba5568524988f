"""Confusion matrix: which classes the model mixes up, epoch by epoch (rows = true class,
columns = predicted class), with per-class and overall accuracy. Fed by "epoch" events that
carry a confusion matrix; never imports torch."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from gui.insights.lazy_redraw import LazyRedraw
from gui.insights.predictions_view import fit_axis_width
from gui.theme import current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

MAX_WRITTEN = 20       # above this many classes the cell numbers would overprint each other
MAX_LISTED = 12        # per-class accuracies spelled out; beyond, only the worst ones
REDRAW_MS = 250


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row (true class) as fractions of that class's samples; empty rows stay 0."""
    m = np.asarray(matrix, dtype=float)
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Diagonal over row sums: the share of each true class predicted right (nan if none)."""
    m = np.asarray(matrix, dtype=float)
    totals = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(m) / totals, np.nan)


class ConfusionView(LazyRedraw, QWidget):
    """The latest epoch's confusion matrix as a heat map; a slider goes back to earlier ones."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._class_names: list[str] = []
        self._matrices: dict[int, np.ndarray] = {}
        self._texts: list[pg.TextItem] = []
        self._follow = True          # keep showing the newest epoch until the user looks back
        self._shown = np.zeros((0, 0))
        self._drawn: tuple | None = None   # what the matrix on screen shows

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Look at the matrix of an earlier epoch")
        self.slider.valueChanged.connect(self._slider_moved)
        self.epoch_label = QLabel("no epoch yet")
        self.normalise = QCheckBox("normalise rows")
        self.normalise.setToolTip("Show each true class as fractions of its samples, so rare "
                                  "and common classes compare")
        self.normalise.toggled.connect(lambda _on: self.flush())
        controls = QHBoxLayout()
        controls.addWidget(self.epoch_label)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.normalise)

        self.plot = pg.PlotWidget(background=current_theme().base)
        self.plot.invertY(True)                # row 0 (first true class) at the top
        self.plot.setAspectLocked(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        # column names are shortened to the cell width, which changes with the plot's size
        self.plot.getViewBox().sigResized.connect(lambda _vb: self._label_columns())

        self.accuracy_label = QLabel("No confusion matrix yet: one arrives after each epoch "
                                     "of a classification run.")
        self.accuracy_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.accuracy_label)

        self._timer = self._make_redraw_timer(REDRAW_MS)

    # --- events --------------------------------------------------------------------------------
    def handle_event(self, ev: dict) -> None:
        kind = ev.get("kind")
        if kind == "started":
            self._class_names = [str(n) for n in ev.get("class_names") or []]
        elif kind == "epoch" and ev.get("confusion") is not None:
            matrix = np.asarray(ev["confusion"], dtype=np.int64)
            if matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1] and matrix.size:
                self._matrices[int(ev["epoch"])] = matrix
                self._schedule()

    def reset(self) -> None:
        self._timer.stop()
        self._matrices.clear()
        self._follow = True
        self.flush()

    # --- queries (tests) -------------------------------------------------------------------------
    def epochs(self) -> list[int]:
        return sorted(self._matrices)

    def matrix(self, epoch: int | None = None) -> np.ndarray:
        """Raw counts of an epoch (the latest when None); empty if there is none."""
        epochs = self.epochs()
        if epoch is None and epochs:
            epoch = epochs[-1]
        m = self._matrices.get(epoch)
        return np.zeros((0, 0), dtype=np.int64) if m is None else m.copy()

    def shown_epoch(self) -> int | None:
        epochs = self.epochs()
        return epochs[self.slider.value()] if epochs else None

    def shown_matrix(self) -> np.ndarray:
        """The values on screen: counts, or row fractions when "normalise rows" is on."""
        return self._shown

    def show_epoch(self, epoch: int) -> None:
        """Move the slider to this epoch (as a user would)."""
        self.flush()
        if epoch in self._matrices:
            self.slider.setValue(self.epochs().index(epoch))

    # --- drawing ---------------------------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        self._follow = value >= self.slider.maximum()
        self.flush()

    def flush(self) -> None:
        self._timer.stop()
        epochs = self.epochs()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(epochs) - 1, 0))
        if self._follow:
            self.slider.setValue(self.slider.maximum())
        self.slider.setEnabled(len(epochs) > 1)
        self.slider.blockSignals(False)
        # Writing a hundred cell labels is the costly part: only when what is shown changed.
        drawn = (tuple(epochs), self.shown_epoch() if epochs else None, self.normalise.isChecked(),
                 self._class_names and tuple(self._class_names))
        if drawn == self._drawn:
            return
        self._drawn = drawn
        for text in self._texts:
            self.plot.removeItem(text)
        self._texts.clear()
        if not epochs:
            self._shown = np.zeros((0, 0))
            self.image.clear()
            self.epoch_label.setText("no epoch yet")
            self.accuracy_label.setText("No confusion matrix yet: one arrives after each epoch "
                                        "of a classification run.")
            return
        epoch = self.shown_epoch()
        counts = self._matrices[epoch]
        normalised = self.normalise.isChecked()
        self._shown = normalise_rows(counts) if normalised else counts.astype(float)
        n = counts.shape[0]
        # normalised: one colour scale for all rows; counts: brightest cell = most samples
        top = 1.0 if normalised else max(float(self._shown.max()), 1.0)
        self.image.setImage(self._shown, levels=(0.0, top))
        self.image.setRect(QRectF(0, 0, n, n))
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.01)
        self.epoch_label.setText(f"epoch {epoch}" + (" (latest)" if epoch == epochs[-1] else ""))
        names = self._names(n)
        if n <= MAX_WRITTEN:
            ticks = [[(i + 0.5, name) for i, name in enumerate(names)]]
            self._write_cells(top, normalised)
        else:
            ticks = None   # default numeric ticks: cell i spans i..i+1
        self.plot.getAxis("left").setTicks(ticks)
        fit_axis_width(self.plot.getAxis("left"), names if ticks else [])
        self._label_columns()
        self._draw_accuracy(counts, names)

    def _label_columns(self) -> None:
        """Column names shortened to the cell width, so neighbours never run together."""
        n = self._shown.shape[0]
        axis = self.plot.getAxis("bottom")
        if not n or n > MAX_WRITTEN:
            axis.setTicks(None)
            return
        cell = max(self.plot.getViewBox().width() / n - 4, 8)
        metrics = QFontMetrics(axis.style.get("tickFont") or axis.font())
        axis.setTicks([[(i + 0.5, metrics.elidedText(name, Qt.ElideRight, int(cell)))
                        for i, name in enumerate(self._names(n))]])

    def _names(self, n: int) -> list[str]:
        if len(self._class_names) == n:
            return self._class_names
        return [str(i) for i in range(n)]

    def _write_cells(self, top: float, normalised: bool) -> None:
        n = self._shown.shape[0]
        size = "9pt" if n <= 10 else "7pt"
        for r in range(n):
            for c in range(n):
                value = self._shown[r, c]
                text = f"{value:.2f}" if normalised else f"{int(value)}"
                # viridis is dark at the low end and yellow at the top: flip the ink
                ink = "#000000" if value / top > 0.6 else "#ffffff"
                item = pg.TextItem(html=f"<span style='font-size:{size};color:{ink}'>{text}</span>",
                                   anchor=(0.5, 0.5))
                item.setPos(c + 0.5, r + 0.5)
                self.plot.addItem(item)
                self._texts.append(item)

    def _draw_accuracy(self, counts: np.ndarray, names: list[str]) -> None:
        total = counts.sum()
        overall = np.trace(counts) / total if total else float("nan")
        acc = per_class_accuracy(counts)
        order = list(range(len(names)))
        listed = "per class"
        if len(order) > MAX_LISTED:   # too many to read: only the worst classes
            order = [int(i) for i in np.argsort(np.nan_to_num(acc, nan=2.0))[:MAX_LISTED // 2]]
            listed = "worst classes"
        parts = [f"{names[i]} {acc[i] * 100:.0f} %" if np.isfinite(acc[i]) else f"{names[i]} –"
                 for i in order]
        self.accuracy_label.setText(
            f"overall accuracy {overall * 100:.1f} % ({int(np.trace(counts))} of {int(total)}) · "
            f"{listed}: " + ", ".join(parts))
