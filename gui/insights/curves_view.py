"""Live training curves: loss per step (raw and smoothed), learning rate per step, loss and
metrics per epoch, the best epoch marked and, where validation loss turns up while training
loss keeps falling, the overfitting point marked and explained.

Events come in through handle_event(); drawing is coalesced to at most REDRAWS_PER_S so a
fast run never floods the event loop with repaints.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from gui.insights.lazy_redraw import LazyRedraw
from gui.insights.overfitting import Overfitting, find_overfitting

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

EMA_ALPHA = 0.05          # weight of the newest step in the smoothed loss
REDRAWS_PER_S = 4
MAX_STEP_POINTS = 20_000  # beyond this the step curves are decimated for drawing
METRIC_COLOURS = [(46, 160, 90), (160, 80, 200), (200, 60, 60), (30, 150, 170)]


def ema(values, alpha: float = EMA_ALPHA, start: float | None = None) -> np.ndarray:
    """Exponential moving average, skipping non-finite values (a NaN step keeps the last);
    `start` continues an average already running."""
    out = np.empty(len(values), dtype=float)
    acc = start
    for i, v in enumerate(values):
        if np.isfinite(v):
            acc = float(v) if acc is None else alpha * float(v) + (1 - alpha) * acc
        out[i] = np.nan if acc is None else acc
    return out


class CurvesView(LazyRedraw, QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.step_losses: list[float] = []
        self.step_lr: list[tuple[int, float]] = []      # (global step, lr) at each report
        self.epochs: list[dict[str, Any]] = []
        self.overfitting: Overfitting | None = None
        self.smoothed: list[float] = []                  # ema of step_losses, kept in step
        self._ema_acc: float | None = None                # its last finite value
        self._epochs_drawn = 0
        self._timer = self._make_redraw_timer(1000 // REDRAWS_PER_S)
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        grid = QGridLayout()
        self.loss_plot = pg.PlotWidget(title="loss per step")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.raw_curve = self.loss_plot.plot([], [], pen=pg.mkPen((120, 160, 220, 110)), name="loss")
        self.smooth_curve = self.loss_plot.plot([], [], pen=pg.mkPen((40, 90, 200), width=2),
                                                name="smoothed")
        self.lr_plot = pg.PlotWidget(title="learning rate")
        self.lr_plot.setLabel("bottom", "step")
        self.lr_curve = self.lr_plot.plot([], [], pen=pg.mkPen((200, 140, 30), width=2))
        self.lr_plot.setXLink(self.loss_plot)
        self.epoch_plot = pg.PlotWidget(title="loss per epoch")
        self.epoch_plot.setLabel("bottom", "epoch")
        self.epoch_plot.addLegend(offset=(-10, 10))
        self.train_epoch_curve = self.epoch_plot.plot(
            [], [], pen=pg.mkPen((40, 90, 200), width=2), symbol="o", symbolSize=6, name="train")
        self.val_epoch_curve = self.epoch_plot.plot(
            [], [], pen=pg.mkPen((220, 120, 40), width=2), symbol="o", symbolSize=6, name="validation")
        self.metric_plot = pg.PlotWidget(title="metrics per epoch")
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.addLegend(offset=(-10, 10))
        self.metric_plot.setXLink(self.epoch_plot)
        self.metric_curves: dict[str, pg.PlotDataItem] = {}
        for plot in (self.loss_plot, self.lr_plot, self.epoch_plot, self.metric_plot):
            # No grid: its lines cost more to paint than the curves (≈45 ms a redraw)
            plot.getAxis("left").enableAutoSIPrefix(False)   # 0.001, not "1 (x0.001)"
            plot.getAxis("left").setWidth(52)                # room for "0.0005"
            plot.setMinimumHeight(140)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.epoch_plot, 0, 1)
        grid.addWidget(self.lr_plot, 1, 0)
        grid.addWidget(self.metric_plot, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        layout.addLayout(grid, 1)
        self.best_line = pg.InfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen((40, 170, 90), width=2, style=pg.QtCore.Qt.DashLine),
                                         label="best", labelOpts={"position": 0.1, "color": (40, 170, 90),
                                                    "anchors": [(1.05, 1), (1.05, 0)]})
        self.overfit_line = pg.InfiniteLine(angle=90, movable=False,
                                            pen=pg.mkPen((210, 50, 50), width=2, style=pg.QtCore.Qt.DotLine),
                                            label="overfitting", labelOpts={"position": 0.25, "color": (210, 50, 50),
                                                       "anchors": [(-0.05, 1), (-0.05, 0)]})
        self.overfit_region = pg.LinearRegionItem(brush=pg.mkBrush(210, 50, 50, 30), movable=False)
        for item in (self.overfit_region, self.best_line, self.overfit_line):
            item.setVisible(False)
            self.epoch_plot.addItem(item, ignoreBounds=True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout.addWidget(self.note)

    # --- events --------------------------------------------------------------------------
    def reset(self) -> None:
        self.step_losses, self.step_lr, self.epochs = [], [], []
        self.smoothed, self._ema_acc = [], None
        self._epochs_drawn = -1   # draw the empty epoch plots once
        self.overfitting = None
        for curve in self.metric_curves.values():
            self.metric_plot.removeItem(curve)
        self.metric_curves.clear()
        self.flush()

    def handle_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("kind")
        if kind == "step":
            losses = ev.get("losses") or ([ev["loss"]] if "loss" in ev else [])
            self._extend_steps([float(x) for x in losses])
            if isinstance(ev.get("lr"), (int, float)):
                self.step_lr.append((int(ev.get("global_step", len(self.step_losses))), float(ev["lr"])))
        elif kind == "epoch":
            self.epochs.append(ev)
            self.overfitting = find_overfitting(self.epochs)
        else:
            return
        self._schedule()

    def _extend_steps(self, losses: list[float]) -> None:
        # The smoothed curve grows with the steps: recomputing it over the whole run on
        # each redraw would cost more the longer the run goes.
        self.step_losses.extend(losses)
        tail = ema(losses, start=self._ema_acc)
        self.smoothed.extend(tail.tolist())
        finite = tail[np.isfinite(tail)]
        if len(finite):
            self._ema_acc = float(finite[-1])

    # --- drawing -------------------------------------------------------------------------
    def flush(self) -> None:
        self._timer.stop()
        y = np.asarray(self.step_losses, dtype=float)
        x = np.arange(1, len(y) + 1, dtype=float)
        stride = max(1, len(y) // MAX_STEP_POINTS)
        finite = np.where(np.isfinite(y), y, np.nan)
        self.raw_curve.setData(x[::stride], finite[::stride], connect="finite")
        smoothed = np.asarray(self.smoothed, dtype=float)
        self.smooth_curve.setData(x[::stride], smoothed[::stride], connect="finite")
        if self.step_lr:
            lx, ly = zip(*self.step_lr)
            self.lr_curve.setData(np.asarray(lx, float), np.asarray(ly, float))
        else:
            self.lr_curve.setData([], [])
        if len(self.epochs) != self._epochs_drawn:   # epoch plots change once an epoch
            self._epochs_drawn = len(self.epochs)
            self._draw_epochs()

    def _draw_epochs(self) -> None:
        ex = np.asarray([float(e["epoch"]) for e in self.epochs])
        for plot in (self.epoch_plot, self.metric_plot):
            # whole epochs only: "epoch 2.5" means nothing
            axis = plot.getAxis("bottom")
            if len(ex) <= 20:
                axis.setTickSpacing(major=1, minor=1)
            else:
                axis.setTickSpacing()
        self.train_epoch_curve.setData(ex, self._column("train_loss"))
        self.val_epoch_curve.setData(ex, self._column("val_loss"))
        for i, key in enumerate(self._metric_keys()):
            curve = self.metric_curves.get(key)
            if curve is None:
                colour = METRIC_COLOURS[i % len(METRIC_COLOURS)]
                curve = self.metric_plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o",
                                              symbolSize=5, symbolBrush=colour,
                                              name=key.replace("_", " "))
                self.metric_curves[key] = curve
            curve.setData(ex, self._column(key))
        best = self.best_epoch()
        self.best_line.setVisible(best is not None)
        if best is not None:
            self.best_line.setValue(best)
            self.best_line.label.setFormat(f"best: epoch {best}")
            self.best_line.setToolTip(f"epoch {best} has the lowest validation loss so far; its "
                                      "weights are kept as checkpoints/best")
        self._draw_overfitting()

    def _draw_overfitting(self) -> None:
        over = self.overfitting
        for item in (self.overfit_line, self.overfit_region):
            item.setVisible(over is not None)
        if over is None:
            self.note.setText("")
            self.note.setToolTip("")
            return
        last = float(self.epochs[-1]["epoch"])
        self.overfit_line.setValue(over.epoch)
        self.overfit_region.setRegion((over.epoch, last))
        for item in (self.overfit_line, self.overfit_region, self.note):
            item.setToolTip(over.explanation)
        self.note.setText(f"<span style='color:#d23232'>⚠ {over.headline}</span> "
                          "(hover the red line for what it means)")

    def _column(self, key: str) -> np.ndarray:
        return np.asarray([float(e[key]) if isinstance(e.get(key), (int, float)) else np.nan
                           for e in self.epochs])

    def _metric_keys(self) -> list[str]:
        """Per-epoch numbers other than the loss, learning rate and timing (accuracy, MAE…).
        A graph with loss-term Outputs (the epoch event lists them) also gets the recipe's
        own loss (main_loss) and each term as a curve, whatever the term is called."""
        keys: list[str] = []
        for e in self.epochs:
            terms = {f"{split}_{name}" for name in e.get("loss_terms") or ()
                     for split in ("train", "val")}
            for key, value in e.items():
                shown = not key.endswith("loss") or key in terms or \
                    bool(terms) and key.endswith("_main_loss")
                if isinstance(value, float) and key not in keys and shown \
                        and key not in ("lr", "seconds", "time"):
                    keys.append(key)
        return keys

    def best_epoch(self) -> int | None:
        best = [int(e["epoch"]) for e in self.epochs if e.get("best")]
        return best[-1] if best else None
