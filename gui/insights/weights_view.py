"""Weights & gradients: how each layer's parameter values spread over the epochs (a histogram
heat map) and how big its gradients are step by step, with vanishing/exploding layers named.
Fed by "weights" and "gradients" training events; never imports torch."""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.insights import node_caption
from gui.insights.lazy_redraw import LazyRedraw
from gui.theme import current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

VALUE_ROWS = 60            # rows of the common value grid the epochs' histograms are re-binned to
MAX_POINTS = 5000          # gradient readings kept per layer; older ones are thinned evenly
VANISHING = 1e-7           # latest norm below this: vanishing
VANISHING_LONG = 1e-5      # ... or every one of the last RECENT readings below this
RECENT = 20
EXPLODING = 1e3            # latest norm above this: exploding
EXPLODING_RATIO = 100.0    # ... or this many times the layer's own median
MIN_FOR_MEDIAN = 10        # a median of a handful of readings says nothing yet
REDRAW_MS = 250            # at most ~4 redraws a second, however fast events come

HINTS = {
    "vanishing": "vanishing: the layers before it barely learn; try ReLU instead of sigmoid/tanh, "
                 "normalisation (BatchNorm/LayerNorm), or residual connections",
    "exploding": "exploding: updates are so big that training can diverge; lower the learning "
                 "rate, clip gradients, or add normalisation",
}


def series_key(model: str, node_id: str) -> str:
    """One name per layer across models: plain node id for a single model, else
    "generator/n3" (a GAN's two blocks may reuse node ids)."""
    return node_id if model == "model" else f"{model}/{node_id}"


def rebin(hist: np.ndarray, edges: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Counts of one histogram moved onto other bin edges, assuming values spread evenly
    inside each source bin: interpolate the cumulative count at the new edges."""
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(hist, dtype=float))])
    return np.diff(np.interp(grid, np.asarray(edges, dtype=float), cumulative))


def histogram_heatmap(epochs: list[tuple[int, dict[str, Any]]], rows: int = VALUE_ROWS
                      ) -> tuple[np.ndarray, QRectF]:
    """(image rows=value low→high × columns=epoch first→last, its rect in epoch/value units).
    Each column is the fraction of values per row, so epochs of any size compare."""
    first, last = epochs[0][0], epochs[-1][0]
    lo = min(float(s["edges"][0]) for _, s in epochs)
    hi = max(float(s["edges"][-1]) for _, s in epochs)
    if hi - lo < 1e-12:   # a constant parameter (e.g. a fresh bias): give it some height
        pad = max(abs(lo) * 0.05, 1e-6)
        lo, hi = lo - pad, hi + pad
    grid = np.linspace(lo, hi, rows + 1)
    image = np.zeros((rows, last - first + 1))
    for epoch, s in epochs:
        column = rebin(s["hist"], s["edges"], grid)
        total = column.sum()
        image[:, epoch - first] = column / total if total > 0 else column
    return image, QRectF(first - 0.5, lo, last - first + 1, hi - lo)


def classify(norms: list[float], recent: deque) -> str | None:
    """"vanishing", "exploding" or None for a layer's stored norms and its last raw readings."""
    latest = recent[-1]
    if latest < VANISHING or (len(recent) >= RECENT and max(recent) < VANISHING_LONG):
        return "vanishing"
    if latest > EXPLODING:
        return "exploding"
    if len(norms) >= MIN_FOR_MEDIAN:
        # np.median would import numpy.ma on first use (≈20 ms in the event loop)
        values = np.asarray(norms, dtype=float)
        median = float(np.partition(values, len(values) // 2)[len(values) // 2])
        if median > 0 and latest > EXPLODING_RATIO * median:
            return "exploding"
    return None


class GradientSeries:
    """One layer's gradient norms over steps, at most MAX_POINTS of them, evenly spaced:
    every `stride`-th reading is kept, and when the list is full every other one is dropped
    and the stride doubles. The newest reading is always last (a provisional tail until the
    next one arrives), so the curve reaches the present. `recent` holds the last raw readings."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.norms: list[float] = []
        self.recent: deque = deque(maxlen=RECENT)
        self._stride = 1
        self._count = 0
        self._tail = False

    def add(self, step: float, norm: float) -> None:
        self.recent.append(norm)
        if self._tail:
            self.steps.pop()
            self.norms.pop()
        self.steps.append(step)
        self.norms.append(norm)
        self._tail = self._count % self._stride != 0
        self._count += 1
        if not self._tail and len(self.steps) > MAX_POINTS:
            # all kept points sit on the stride grid; MAX_POINTS even, so [::2] keeps the newest
            self.steps[:] = self.steps[::2]
            self.norms[:] = self.norms[::2]
            self._stride *= 2


class WeightsView(LazyRedraw, QWidget):
    """Per layer: parameter histograms over epochs and gradient norms over steps."""

    def __init__(self, parent: QWidget | None = None, session: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        # key -> [(epoch, {param: stats})], in arrival order (epochs rise within a run)
        self._weights: dict[str, list[tuple[int, dict[str, dict[str, Any]]]]] = {}
        self._weights_changed = True   # the histogram must be (re)drawn
        self._grads: dict[str, GradientSeries] = {}
        self._curves: dict[str, Any] = {}
        self._image_data = np.zeros((0, 0))

        self.node_combo = QComboBox()
        self.node_combo.setToolTip("Layer whose parameter values are shown")
        self.param_combo = QComboBox()
        self.param_combo.setToolTip("Parameter of that layer")
        self.node_combo.currentIndexChanged.connect(self._picked)
        self.param_combo.currentIndexChanged.connect(self._picked)
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("Layer"))
        pickers.addWidget(self.node_combo, 1)
        pickers.addWidget(QLabel("Parameter"))
        pickers.addWidget(self.param_combo, 1)

        self.stats_label = QLabel("No weight statistics yet: they arrive after each epoch.")
        self.stats_label.setWordWrap(True)
        background = current_theme().base

        self.hist_plot = pg.PlotWidget(background=background)
        # a short title: a long one sets a minimum width wider than half the panel
        self.hist_plot.setTitle("<span style='font-size:9pt'>values per epoch</span>")
        self.hist_plot.setToolTip("Histogram of the parameter's values after each epoch: "
                                  "brighter = more values there")
        self.hist_plot.setLabel("bottom", "epoch")
        self.hist_plot.setLabel("left", "value")
        self.hist_plot.getAxis("left").enableAutoSIPrefix(False)  # "value (x0.001)" misleads
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.hist_plot.addItem(self.image)
        # mean and mean ± std drawn over the heat map, so the trend reads at a glance
        self.mean_curve = self.hist_plot.plot([], [], pen=pg.mkPen("#ff8c42", width=2),
                                              symbol="o", symbolSize=4, symbolBrush="#ff8c42")
        dashed = pg.mkPen("#ff8c42", width=1, style=Qt.DashLine)
        self.upper_curve = self.hist_plot.plot([], [], pen=dashed)
        self.lower_curve = self.hist_plot.plot([], [], pen=dashed)

        self.grad_plot = pg.PlotWidget(background=background)
        self.grad_plot.setTitle("<span style='font-size:9pt'>gradient norm per layer</span>")
        self.grad_plot.setLabel("bottom", "step")
        self.grad_plot.setLabel("left", "L2 norm (log)")
        self.grad_plot.setLogMode(y=True)
        # no grid: redrawn live, and grid lines cost more to paint than the curves
        self.legend = self.grad_plot.addLegend(offset=(6, 6), labelTextSize="8pt",
                                               brush=pg.mkBrush(0, 0, 0, 110))

        self.flags_label = QLabel("")
        self.flags_label.setWordWrap(True)
        self.flags_label.setTextFormat(Qt.PlainText)

        plots = QHBoxLayout()
        plots.addWidget(self.hist_plot, 1)
        plots.addWidget(self.grad_plot, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(pickers)
        layout.addWidget(self.stats_label)
        layout.addLayout(plots, 1)
        layout.addWidget(self.flags_label)

        self._timer = self._make_redraw_timer(REDRAW_MS)

    # --- events ------------------------------------------------------------------------------
    def handle_event(self, ev: dict) -> None:
        kind = ev.get("kind")
        model = ev.get("model", "model")
        if kind == "weights":
            for node_id, params in (ev.get("stats") or {}).items():
                self._weights.setdefault(series_key(model, node_id), []).append(
                    (int(ev["epoch"]), params))
            self._weights_changed = True
        elif kind == "gradients":
            step = float(ev.get("global_step", 0))
            for node_id, norm in (ev.get("norms") or {}).items():
                key = series_key(model, node_id)
                self._grads.setdefault(key, GradientSeries()).add(step, float(norm))
        else:
            return
        self._schedule()

    def reset(self) -> None:
        self._timer.stop()
        self._weights.clear()
        self._weights_changed = True
        self._grads.clear()
        for curve in self._curves.values():
            self.grad_plot.removeItem(curve)
        self._curves.clear()
        self.legend.clear()
        self.flush()

    # --- queries (tests, other views) ----------------------------------------------------------
    def flags(self) -> dict[str, str]:
        """{layer key: "vanishing" | "exploding"} for the layers whose gradients look wrong."""
        out = {}
        for key, series in self._grads.items():
            verdict = classify(series.norms, series.recent)
            if verdict:
                out[key] = verdict
        return out

    def heatmap(self) -> np.ndarray:
        """The histogram image on screen: rows = value (low first), columns = epoch."""
        return self._image_data

    def gradient_series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        series = self._grads.get(key) or GradientSeries()
        return np.asarray(series.steps), np.asarray(series.norms)

    def select(self, key: str, param: str | None = None) -> None:
        """Show this layer (and parameter) in the pickers."""
        self.flush()
        index = self.node_combo.findData(key)
        if index >= 0:
            self.node_combo.setCurrentIndex(index)
        if param is not None and (index := self.param_combo.findText(param)) >= 0:
            self.param_combo.setCurrentIndex(index)
        self.flush()

    # --- drawing --------------------------------------------------------------------------------
    def flush(self) -> None:
        self._timer.stop()
        names = self._names()
        self._sync_pickers(names)
        # Weights come once an epoch, gradients with every step report: the histogram is
        # redrawn (and its zoom reset) only when its data or the pickers changed.
        if self._weights_changed:
            self._weights_changed = False
            self._draw_histograms()
        self._draw_gradients(names)
        self._draw_flags(names)

    def _picked(self, _index: int) -> None:
        self._weights_changed = True
        self.flush()

    def _names(self) -> dict[str, Any]:
        """Node id → node of the trained model (the document's main graph)."""
        return {node.id: node for node in self.session.doc.graph} if self.session else {}

    def _title(self, key: str, names: dict[str, Any]) -> str:
        model, _, node_id = key.rpartition("/")
        node = names.get(node_id)
        text = key
        if node is not None:
            text = node_caption(node)
            if model:
                text = f"{model}: {text}"
        return text

    def _sync_pickers(self, names: dict[str, Any]) -> None:
        keys = list(self._weights)
        current = self.node_combo.currentData()
        if [self.node_combo.itemData(i) for i in range(self.node_combo.count())] != keys:
            self.node_combo.blockSignals(True)
            self.node_combo.clear()
            for key in keys:
                self.node_combo.addItem(self._title(key, names), key)
            if current in keys:
                self.node_combo.setCurrentIndex(keys.index(current))
            self.node_combo.blockSignals(False)
        key = self.node_combo.currentData()
        params = list(self._weights[key][-1][1]) if key in self._weights else []
        if [self.param_combo.itemText(i) for i in range(self.param_combo.count())] != params:
            chosen = self.param_combo.currentText()
            self.param_combo.blockSignals(True)
            self.param_combo.clear()
            self.param_combo.addItems(params)
            if chosen in params:
                self.param_combo.setCurrentIndex(params.index(chosen))
            self.param_combo.blockSignals(False)

    def _draw_histograms(self) -> None:
        key, param = self.node_combo.currentData(), self.param_combo.currentText()
        epochs = [(e, p[param]) for e, p in self._weights.get(key, []) if param in p]
        if not epochs:
            self._image_data = np.zeros((0, 0))
            self.image.clear()
            for curve in (self.mean_curve, self.upper_curve, self.lower_curve):
                curve.setData([], [])
            if not self._weights:
                self.stats_label.setText("No weight statistics yet: they arrive after each epoch.")
            return
        latest = {}
        for epoch, stats in epochs:   # a resumed run may repeat an epoch: the newest wins
            latest[epoch] = stats
        epochs = sorted(latest.items())
        self._image_data, rect = histogram_heatmap(epochs)
        self.image.setImage(self._image_data, levels=(0.0, max(self._image_data.max(), 1e-12)))
        self.image.setRect(rect)
        x = np.array([e for e, _ in epochs], dtype=float)
        mean = np.array([s["mean"] for _, s in epochs], dtype=float)
        std = np.array([s["std"] for _, s in epochs], dtype=float)
        self.mean_curve.setData(x, mean)
        self.upper_curve.setData(x, mean + std)
        self.lower_curve.setData(x, mean - std)
        self.hist_plot.setRange(rect=rect, padding=0.02)
        epoch, s = epochs[-1]
        name = self.node_combo.currentText()
        self.stats_label.setText(
            f"{name} · {param}, epoch {epoch}: mean {s['mean']:.4g}, std {s['std']:.4g}, "
            f"min {s['min']:.4g}, max {s['max']:.4g}  (orange: mean ± std)")

    def _draw_gradients(self, names: dict[str, Any]) -> None:
        hues = max(len(self._grads), 8)
        for i, (key, series) in enumerate(self._grads.items()):
            curve = self._curves.get(key)
            if curve is None:
                curve = self.grad_plot.plot([], [], name=self._title(key, names),
                                            pen=pg.mkPen(pg.intColor(i, hues=hues), width=1.5))
                # thousands of steps per layer: draw about one point per pixel column
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                self._curves[key] = curve
            # log axis: a zero norm would be -inf; draw it at the floor instead
            curve.setData(np.asarray(series.steps), np.maximum(np.asarray(series.norms), 1e-12))

    def _draw_flags(self, names: dict[str, Any]) -> None:
        lines = []
        for key, verdict in self.flags().items():
            norm = self._grads[key].recent[-1]
            lines.append(f"⚠ {self._title(key, names)}: gradient norm {norm:.1e} — "
                         f"{HINTS[verdict]}")
        style = f"color: {current_theme().error.name()};" if lines else ""
        if self.flags_label.styleSheet() != style:   # restyling re-polishes the label
            self.flags_label.setStyleSheet(style)
        self.flags_label.setText("\n".join(lines) if lines else
                                 "Gradients look healthy (none vanishing or exploding)."
                                 if self._grads else "")
