"""The training panel: settings bound to the document's training block, Start / Pause /
Stop, progress, a log, and live loss plots.

A run goes to a worker process (runtime.training.worker.TrainingSession); a ~30 Hz timer
drains its events with poll(), which never blocks, so the editor stays responsive. While a
run is going the panel says so through `running_changed(bool)` (the main window locks the
graph).

Settings edits write straight into `session.doc.training` (a plain dict edit, not an undo
command, and the session is not marked modified): simple for now.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPlainTextEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from graph.fileformat import dumps
from runtime.data import BUILTIN_DATASETS
from runtime.training.config import OPTIMIZERS
from runtime.training.worker import TrainingSession

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

POLL_MS = 33           # ~30 Hz
EMA_ALPHA = 0.05       # weight of the newest step in the smoothed loss


def _ema(values: np.ndarray, alpha: float = EMA_ALPHA) -> np.ndarray:
    out = np.empty_like(values)
    acc = float(values[0]) if len(values) else 0.0
    for i, v in enumerate(values):
        acc = alpha * float(v) + (1 - alpha) * acc
        out[i] = acc
    return out


class TrainingPanel(QWidget):
    running_changed = Signal(bool)

    def __init__(self, session, runs_dir: str | Path | None = None, parent=None) -> None:
        super().__init__(parent)
        self.session = session                 # the EditorSession
        self.runs_dir = Path(runs_dir) if runs_dir else Path("runs")
        self.training: TrainingSession | None = None   # the worker session of the run
        self._running = False
        self._last_run_dir: str | None = None
        self._paused = False
        self.started_event: dict[str, Any] | None = None
        self.epoch_events: list[dict[str, Any]] = []
        self.last_step: dict[str, Any] | None = None
        self.done_event: dict[str, Any] | None = None
        self._error: str | None = None
        self.step_losses: list[float] = []
        self._run_started = 0.0
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._build()
        self._load_settings()
        self._set_idle_buttons()

    # --- building ------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.dataset_combo = QComboBox(editable=True)
        self.dataset_combo.addItems(list(BUILTIN_DATASETS))
        self.dataset_combo.setToolTip("a built-in dataset, or a path to a data file or folder")
        form.addRow("Dataset", self.dataset_combo)
        self.epochs_spin = QSpinBox(minimum=1, maximum=100_000)
        form.addRow("Epochs", self.epochs_spin)
        self.batch_spin = QSpinBox(minimum=1, maximum=1 << 20)
        form.addRow("Batch size", self.batch_spin)
        self.lr_spin = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=1e6, singleStep=1e-4)
        form.addRow("Learning rate", self.lr_spin)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        form.addRow("Optimizer", self.optimizer_combo)
        self.device_combo = QComboBox()
        self.device_combo.addItems(self._devices())
        form.addRow("Device", self.device_combo)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)

        self.progress = QProgressBar(minimum=0, maximum=100)
        layout.addWidget(self.progress)
        self.status_label = QLabel("idle")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        self.loss_plot = pg.PlotWidget(title="loss per step")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.addLegend()
        self.raw_curve = self.loss_plot.plot([], [], pen=pg.mkPen((120, 160, 220, 110)), name="loss")
        self.smooth_curve = self.loss_plot.plot([], [], pen=pg.mkPen((40, 90, 200), width=2),
                                                name="smoothed")
        self.loss_plot.setMinimumHeight(150)
        layout.addWidget(self.loss_plot, 3)
        self.epoch_plot = pg.PlotWidget(title="loss per epoch")
        self.epoch_plot.setLabel("bottom", "epoch")
        self.epoch_plot.addLegend()
        self.train_epoch_curve = self.epoch_plot.plot([], [], pen=pg.mkPen((40, 90, 200), width=2),
                                                      symbol="o", symbolSize=6, name="train")
        self.val_epoch_curve = self.epoch_plot.plot([], [], pen=pg.mkPen((220, 120, 40), width=2),
                                                    symbol="o", symbolSize=6, name="val")
        self.epoch_plot.setMinimumHeight(150)
        layout.addWidget(self.epoch_plot, 2)

        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        layout.addWidget(self.log_view, 1)

        self.dataset_combo.currentTextChanged.connect(self._write_dataset)
        self.epochs_spin.valueChanged.connect(lambda v: self._write("epochs", v))
        self.batch_spin.valueChanged.connect(lambda v: self._write("batch_size", v))
        self.lr_spin.valueChanged.connect(lambda v: self._write_optimizer("lr", v))
        self.optimizer_combo.currentTextChanged.connect(lambda t: self._write_optimizer("name", t))
        self.device_combo.currentTextChanged.connect(lambda t: self._write("device", t))

    @staticmethod
    def _devices() -> list[str]:
        try:
            from runtime.training.device import available_devices
            extra = [d for d in available_devices() if d != "cpu"]
        except Exception:  # no torch: still offer the basics
            extra = []
        return ["auto", "cpu", *extra]

    # --- settings <-> session.doc.training --------------------------------------------------
    @property
    def block(self) -> dict[str, Any]:
        doc = self.session.doc
        if not isinstance(getattr(doc, "training", None), dict):
            doc.training = {}
        return doc.training

    def _load_settings(self) -> None:
        """Show the document's training block (no writes while loading)."""
        self._loading = True
        try:
            block = self.block
            dataset = block.get("dataset", "digits")
            if isinstance(dataset, dict):
                dataset = dataset.get("name", dataset.get("path", ""))
            self.dataset_combo.setCurrentText(str(dataset))
            self.epochs_spin.setValue(int(block.get("epochs", 10)))
            self.batch_spin.setValue(int(block.get("batch_size", 64)))
            opt = block.get("optimizer") if isinstance(block.get("optimizer"), dict) else {}
            self.lr_spin.setValue(float(opt.get("lr", 1e-3)))
            name = str(opt.get("name", "adam")).lower()
            if name in OPTIMIZERS:
                self.optimizer_combo.setCurrentText(name)
            device = str(block.get("device", "auto"))
            if self.device_combo.findText(device) < 0:
                self.device_combo.addItem(device)
            self.device_combo.setCurrentText(device)
        finally:
            self._loading = False

    def reload_settings(self) -> None:
        self._load_settings()

    def _write(self, key: str, value: Any) -> None:
        if not self._loading:
            self.block[key] = value

    def _write_optimizer(self, key: str, value: Any) -> None:
        if self._loading:
            return
        opt = self.block.get("optimizer")
        opt = dict(opt) if isinstance(opt, dict) else {}
        opt[key] = value
        self.block["optimizer"] = opt

    def _write_dataset(self, text: str) -> None:
        if self._loading or not text.strip():
            return
        text = text.strip()
        current = self.block.get("dataset")
        current = dict(current) if isinstance(current, dict) else {}
        current.pop("name", None)
        current.pop("path", None)
        key = "name" if text in BUILTIN_DATASETS else "path"
        self.block["dataset"] = {key: text, **current}

    # --- state ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def last_run_dir(self) -> str | None:
        return self._last_run_dir

    def _set_running(self, running: bool) -> None:
        if running == self._running:
            return
        self._running = running
        for w in (self.dataset_combo, self.epochs_spin, self.batch_spin, self.lr_spin,
                  self.optimizer_combo, self.device_combo):
            w.setEnabled(not running)
        if running:
            self.start_button.setEnabled(False)
            self.pause_button.setEnabled(True)
            self.stop_button.setEnabled(True)
        else:
            self._set_idle_buttons()
        self.running_changed.emit(running)

    def _set_idle_buttons(self) -> None:
        self._paused = False
        self.start_button.setEnabled(True)
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        self.stop_button.setEnabled(False)

    # --- actions -------------------------------------------------------------------------
    def start(self) -> None:
        if self._running:
            return
        if self.training is not None:
            self.training.close()
        self.started_event, self.last_step, self.done_event = None, None, None
        self._error = None
        self.epoch_events, self.step_losses = [], []
        self._refresh_plots()
        self.progress.setValue(0)
        self.log_view.clear()
        source = str(self.session.path) if getattr(self.session, "path", None) else "<editor>"
        base_dir = self.session.path.parent if getattr(self.session, "path", None) else None
        self.training = TrainingSession(dumps(self.session.doc), dict(self.block),
                                        runs_dir=self.runs_dir, base_dir=base_dir, source=source)
        self._run_started = time.monotonic()
        self._append_log("starting a training run…")
        self.status_label.setText("starting…")
        self._set_running(True)
        self.training.start()
        self._timer.start()

    def toggle_pause(self) -> None:
        if not self._running or self.training is None:
            return
        if self._paused:
            self.training.resume()
            self._paused = False
            self.pause_button.setText("Pause")
            self._append_log("resumed")
        else:
            self.training.pause()
            self._paused = True
            self.pause_button.setText("Resume")
            self._append_log("paused")
            self.status_label.setText("paused — " + self.status_label.text())

    def stop(self) -> None:
        if self._running and self.training is not None:
            self.training.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self._append_log("stopping…")

    def shutdown(self) -> None:
        """End any run (closing the editor)."""
        self._timer.stop()
        if self.training is not None:
            self.training.close()
        self._set_running(False)

    # --- events --------------------------------------------------------------------------
    def _poll(self) -> None:
        if self.training is None:
            self._timer.stop()
            return
        got = self.training.poll()
        steps_changed = epochs_changed = False
        for ev in got:
            kind = ev.get("kind")
            if kind == "step":
                self.last_step = ev
                losses = ev.get("losses") or ([ev["loss"]] if "loss" in ev else [])
                self.step_losses.extend(float(x) for x in losses)
                steps_changed = True
            elif kind == "epoch":
                self.epoch_events.append(ev)
                epochs_changed = True
                self._append_log(self._epoch_text(ev))
            elif kind == "started":
                self.started_event = ev
                self._last_run_dir = ev.get("run_dir") or self._last_run_dir
                self._append_log(f"run folder: {ev.get('run_dir')} (device {ev.get('device')}, "
                                 f"{ev.get('params', 0):,} parameters, dataset {ev.get('dataset')})")
            elif kind == "log":
                self._append_log(f"[{ev.get('level', 'info')}] {ev.get('message', '')}")
            elif kind == "error":
                text = f"ERROR: {ev.get('message', '')}"
                if ev.get("traceback"):
                    text += "\n" + str(ev["traceback"]).rstrip()
                self._append_log(text)
                self._error = ev.get("message", "")
            elif kind == "done":
                self._finish(ev)
        if steps_changed or epochs_changed:
            self._refresh_plots()
        if self.done_event is None:
            self._update_status()

    def _finish(self, ev: dict[str, Any]) -> None:
        self.done_event = ev
        self._timer.stop()
        if ev.get("run_dir"):
            self._last_run_dir = ev["run_dir"]
        status = ev.get("status", "?")
        text = f"{status}"
        if self.epoch_events:
            text += " — " + self._epoch_text(self.epoch_events[-1])
        if ev.get("error"):
            text += f" — error: {ev['error']}"
        self.status_label.setText(text)
        self._append_log(f"run {status}" + (f": {ev['error']}" if ev.get("error") else ""))
        if status == "finished":
            self.progress.setValue(100)
        self._set_running(False)

    def _epoch_text(self, ev: dict[str, Any]) -> str:
        total = self.started_event.get("epochs") if self.started_event else None
        parts = [f"epoch {ev.get('epoch')}" + (f"/{total}" if total else "")]
        for key, label in (("train_loss", "train loss"), ("val_loss", "val loss")):
            if isinstance(ev.get(key), (int, float)):
                parts.append(f"{label} {ev[key]:.4f}")
        if isinstance(ev.get("val_accuracy"), (int, float)):
            parts.append(f"val accuracy {ev['val_accuracy']:.1%}")
        if ev.get("best"):
            parts.append("best")
        return ", ".join(parts)

    def _update_status(self) -> None:
        step = self.last_step
        if step is None:
            return
        epochs = (self.started_event or {}).get("epochs") or 1
        steps = step.get("steps") or (self.started_event or {}).get("steps_per_epoch") or 1
        start_epoch = (self.started_event or {}).get("start_epoch") or 0
        done = (step["epoch"] - 1) * steps + step["step"]
        total = epochs * steps
        self.progress.setValue(int(100 * min(1.0, done / max(1, total))))
        text = f"epoch {step['epoch']}/{epochs}, step {step['step']}/{steps}"
        rate = step.get("samples_per_s")
        if isinstance(rate, (int, float)) and rate > 0:
            text += f", {rate:,.0f} samples/s"
        done_here = done - start_epoch * steps
        elapsed = time.monotonic() - self._run_started
        if done_here > 0 and total > done:
            eta = elapsed / done_here * (total - done)
            text += f", ETA {self._duration(eta)}"
        if self.epoch_events:
            text += " — " + self._epoch_text(self.epoch_events[-1])
        if self._paused:
            text = "paused — " + text
        self.status_label.setText(text)

    @staticmethod
    def _duration(seconds: float) -> str:
        if not math.isfinite(seconds):
            return "?"
        seconds = int(seconds)
        if seconds >= 3600:
            return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        return f"{seconds // 60}:{seconds % 60:02d}"

    def _refresh_plots(self) -> None:
        y = np.asarray(self.step_losses, dtype=float)
        if len(y):
            x = np.arange(1, len(y) + 1, dtype=float)
            finite = np.where(np.isfinite(y), y, np.nan)
            self.raw_curve.setData(x, finite, connect="finite")
            self.smooth_curve.setData(x, _ema(np.nan_to_num(finite, nan=0.0)))
        else:
            self.raw_curve.setData([], [])
            self.smooth_curve.setData([], [])
        ex = [float(e["epoch"]) for e in self.epoch_events]
        train = [float(e.get("train_loss", np.nan)) for e in self.epoch_events]
        val = [float(e.get("val_loss", np.nan)) for e in self.epoch_events]
        self.train_epoch_curve.setData(np.asarray(ex), np.asarray(train))
        self.val_epoch_curve.setData(np.asarray(ex), np.asarray(val))

    def _append_log(self, text: str) -> None:
        self.log_view.appendPlainText(text)
