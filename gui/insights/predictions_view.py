"""Predictions: what the model answers for the fixed validation sample (class probabilities as
bars, or its output next to the input) and the sample grids a generative run produces
(autoencoder inputs vs reconstructions, GAN images from fixed noise). Never imports torch."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.insights.lazy_redraw import LazyRedraw
from gui.theme import current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

BAR_COLOR = "#5b7fa6"
TRUE_COLOR = "#2fbf71"       # the true class: green whether or not the model got it
WRONG_COLOR = "#e5484d"      # the predicted class when it is not the true one
MAX_PAIRS = 8
MAX_GENERATED = 64
MAX_NAMED_BARS = 30          # more class names than this would overprint each other
GAP_VALUE = 0.5              # mid grey between tiles: visible on black and on white images
REDRAW_MS = 250


def to_display(x: np.ndarray) -> np.ndarray:
    """One sample as an image in 0..1 scaled by its own min/max: C×H×W → H×W (gray, C≠3)
    or H×W×3 (RGB); H×W as is; a 1-D vector → a strip a few rows high."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = np.repeat(x[None, :], max(2, min(16, x.size // 8)), axis=0)
    elif x.ndim == 3:
        x = np.moveaxis(x, 0, -1) if x.shape[0] == 3 else x.mean(axis=0)
    elif x.ndim != 2:
        x = x.reshape(x.shape[0], -1) if x.ndim > 3 else x.reshape(1, -1)
    finite = x[np.isfinite(x)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    out = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return np.nan_to_num(np.clip(out, 0.0, 1.0))


def compose(rows: list[list[np.ndarray]]) -> np.ndarray:
    """Tiles (already 0..1) laid out row by row with a thin grey gap; gray tiles become RGB
    when any tile is RGB. Rows may be ragged; missing cells stay grey."""
    tiles = [t for row in rows for t in row]
    rgb = any(t.ndim == 3 for t in tiles)
    if rgb:
        tiles = [t if t.ndim == 3 else np.repeat(t[..., None], 3, axis=2) for t in tiles]
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    gap = max(1, min(h, w) // 14)
    n_cols = max(len(r) for r in rows)
    shape = (len(rows) * (h + gap) - gap, n_cols * (w + gap) - gap) + ((3,) if rgb else ())
    grid = np.full(shape, GAP_VALUE, dtype=np.float32)
    it = iter(tiles)
    for r, row in enumerate(rows):
        for c in range(len(row)):
            tile = next(it)
            y, x = r * (h + gap), c * (w + gap)
            grid[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return grid


def samples_of(images: np.ndarray) -> list[np.ndarray]:
    """N×C×H×W, N×H×W or N×L batch → display tiles."""
    return [to_display(x) for x in np.asarray(images)]


def fit_axis_width(axis: pg.AxisItem, labels: list[str]) -> None:
    """Size a left axis to its longest tick label up front: pyqtgraph widens an axis only
    after a paint, and that paint drops the labels that did not fit yet."""
    if not labels:
        axis.setWidth(None)
        return
    metrics = QFontMetrics(axis.style.get("tickFont") or axis.font())
    width = max(metrics.horizontalAdvance(t) for t in labels) + 14
    if axis.label.isVisible():
        width += metrics.height() + 6
    axis.setWidth(width)


class PredictionsView(LazyRedraw, QWidget):
    """Bars of the class probabilities, or sample vs output, plus the latest sample grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._class_names: list[str] = []
        self._recipe = ""
        self._probs: np.ndarray | None = None
        self._label: int | None = None
        self._values: np.ndarray | None = None     # a non-classification output shown as bars
        self._pair: np.ndarray | None = None       # sample | output image
        self._grid: np.ndarray | None = None       # the latest "samples" grid
        self._grid_title = ""
        self._dirty = False

        self.summary = QLabel("No predictions yet: they arrive while the model trains.")
        self.summary.setWordWrap(True)
        background = current_theme().base

        self.bar_plot = pg.PlotWidget(background=background)
        # no grid: redrawn live, and grid lines cost more to paint than the bars
        self.bars: pg.BarGraphItem | None = None

        self.pair_plot, self.pair_item = self._image_plot(background)
        self.grid_plot, self.grid_item = self._image_plot(background)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        for plot in (self.bar_plot, self.pair_plot, self.grid_plot):
            layout.addWidget(plot, 1)
            plot.hide()

        self._timer = self._make_redraw_timer(REDRAW_MS)

    @staticmethod
    def _image_plot(background: Any) -> tuple[pg.PlotWidget, pg.ImageItem]:
        plot = pg.PlotWidget(background=background)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setAspectLocked(True)
        plot.invertY(True)            # row 0 of an image at the top, as people expect
        plot.setMouseEnabled(False, False)
        item = pg.ImageItem()
        plot.addItem(item)
        return plot, item

    # --- events --------------------------------------------------------------------------------
    def handle_event(self, ev: dict) -> None:
        kind = ev.get("kind")
        if kind == "started":
            self._class_names = [str(n) for n in ev.get("class_names") or []]
            self._recipe = str(ev.get("recipe") or "")
            return
        if kind == "activations":
            self._take_activations(ev)
        elif kind == "samples" and ev.get("images") is not None:
            self._take_samples(ev)
        else:
            return
        self._dirty = True
        self._schedule()

    def _take_activations(self, ev: dict) -> None:
        probs = ev.get("probabilities")
        if probs is not None:
            self._probs = np.asarray(probs, dtype=float).ravel()
            label = ev.get("label")
            self._label = None if label is None else int(label)
            return
        output = ev.get("output")
        if output is None:
            return
        output = np.asarray(output, dtype=np.float32)
        sample = ev.get("sample")
        if sample is not None and np.shape(sample) == output.shape and output.size > 1:
            self._pair, self._values = compose([[to_display(sample), to_display(output)]]), None
        else:
            self._values, self._pair = output.ravel(), None

    def _take_samples(self, ev: dict) -> None:
        images = np.asarray(ev["images"])
        epoch = ev.get("epoch", "?")
        if ev.get("what") == "reconstruction" and ev.get("inputs") is not None:
            n = min(MAX_PAIRS, len(images), len(ev["inputs"]))
            self._grid = compose([samples_of(ev["inputs"][:n]), samples_of(images[:n])])
            self._grid_title = f"epoch {epoch}: inputs (top) and their reconstructions (bottom)"
        else:
            tiles = samples_of(images[:MAX_GENERATED])
            cols = math.ceil(math.sqrt(len(tiles)))
            self._grid = compose([tiles[i:i + cols] for i in range(0, len(tiles), cols)])
            self._grid_title = f"epoch {epoch}: generated from fixed noise"

    def reset(self) -> None:
        self._timer.stop()
        self._probs = self._label = self._values = self._pair = self._grid = None
        self._grid_title = ""
        self._dirty = True
        self.flush()

    # --- queries (tests) -------------------------------------------------------------------------
    def probabilities(self) -> np.ndarray:
        return np.array([]) if self._probs is None else self._probs.copy()

    def predicted(self) -> int | None:
        return None if self._probs is None or not self._probs.size else int(np.argmax(self._probs))

    def bar_values(self) -> np.ndarray:
        """The bar lengths on screen (probabilities, or output values)."""
        if self.bars is None:
            return np.array([])
        horizontal = self.bars.opts.get("x0") is not None
        return np.asarray(self.bars.opts["width" if horizontal else "height"], dtype=float)

    def bar_colors(self) -> list[str]:
        """Each bar's fill colour as #rrggbb, in class order."""
        if self.bars is None:
            return []
        return [pg.mkBrush(b).color().name() for b in self.bars.opts.get("brushes") or []]

    def grid_image(self) -> np.ndarray | None:
        """The composed samples grid on screen (H×W gray or H×W×3 RGB, values 0..1)."""
        return self._grid

    def pair_image(self) -> np.ndarray | None:
        """The sample | output image on screen, for non-classification outputs."""
        return self._pair

    # --- drawing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        self._timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        self._draw_bars()
        self._draw_image(self.pair_plot, self.pair_item, self._pair,
                         "sample (left) and model output (right)")
        self._draw_image(self.grid_plot, self.grid_item, self._grid, self._grid_title)
        if self._probs is None and self._values is None:   # no bars wrote the summary
            if self._pair is not None:
                self.summary.setText("The fixed validation sample and what the model makes of "
                                     "it (each scaled to its own min..max).")
            elif self._grid is not None:
                self.summary.setText(self._grid_title)
            else:
                self.summary.setText("No predictions yet: they arrive while the model trains.")

    def _name(self, index: int) -> str:
        return self._class_names[index] if index < len(self._class_names) else str(index)

    def _draw_bars(self) -> None:
        plot = self.bar_plot
        if self._probs is not None and self._probs.size:
            probs = self._probs
            n, guess = probs.size, int(np.argmax(probs))
            colors = [BAR_COLOR] * n
            if guess != self._label:
                colors[guess] = WRONG_COLOR
            if self._label is not None and 0 <= self._label < n:
                colors[self._label] = TRUE_COLOR
            # horizontal bars: class names stack down the left axis and stay readable
            self._set_bars(x0=np.zeros(n), y=np.arange(n), width=probs, height=0.8,
                           brushes=colors)
            plot.invertY(True)           # class 0 at the top, like a list
            ticks = [(i, self._name(i)) for i in range(n)] if n <= MAX_NAMED_BARS else None
            plot.getAxis("left").setTicks([ticks] if ticks else None)
            fit_axis_width(plot.getAxis("left"), [t for _, t in ticks or []])
            plot.getAxis("bottom").setTicks(None)
            plot.setLabel("bottom", "probability")
            plot.setLabel("left", "class")
            plot.setXRange(0, 1, padding=0.02)
            plot.setYRange(-0.6, n - 0.4, padding=0)
            true = "" if self._label is None else f", true {self._name(self._label)}"
            verdict = "" if self._label is None else ("  ✓" if guess == self._label else "  ✗")
            self.summary.setText(f"predicted {self._name(guess)} ({probs[guess] * 100:.0f} %)"
                                 f"{true}{verdict}  — green: true class, red: a wrong guess")
            plot.show()
        elif self._values is not None:
            values = self._values
            n = values.size
            self._set_bars(x=np.arange(n), y0=np.zeros(n), height=values, width=0.8,
                           brushes=[BAR_COLOR] * n)
            plot.invertY(False)
            plot.getAxis("left").setTicks(None)
            fit_axis_width(plot.getAxis("left"), [])
            plot.setLabel("bottom", "output index")
            plot.setLabel("left", "value")
            plot.autoRange()
            shown = ", ".join(f"{v:.3g}" for v in values[:6]) + (" …" if n > 6 else "")
            self.summary.setText(f"model output for the validation sample: {shown}")
            plot.show()
        else:
            self._set_bars()
            plot.hide()

    def _set_bars(self, **opts: Any) -> None:
        """A fresh bar item each time: BarGraphItem keeps stale x/x0/y/y0 options when it
        switches between horizontal and vertical bars."""
        if self.bars is not None:
            self.bar_plot.removeItem(self.bars)
            self.bars = None
        if opts:
            self.bars = pg.BarGraphItem(pen=None, **opts)
            self.bar_plot.addItem(self.bars)

    @staticmethod
    def _draw_image(plot: pg.PlotWidget, item: pg.ImageItem, image: np.ndarray | None,
                    title: str) -> None:
        if image is None:
            item.clear()
            plot.hide()
            return
        item.setImage(image, levels=(0.0, 1.0))
        plot.setTitle(f"<span style='font-size:9pt'>{title}</span>")
        plot.autoRange(padding=0.01)
        plot.show()
