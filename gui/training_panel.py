"""The training panel: settings and a dataset preview, Start / Pause / Stop, progress, and
the run's live views in tabs (gui/insights).

A run goes to a worker process (runtime.training.worker.TrainingSession) with a copy of
the graph taken at Start: the graph stays editable and edits apply to the next run, which
a banner says for as long as the run goes. A ~30 Hz timer drains the worker's events with
poll(), which never blocks, and hands each to the views and to the node previews.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from graph.fileformat import dumps
from gui.insights.dataset_preview import DatasetPreview
from gui.insights.tabs import InsightTabs
from gui.training_settings import TrainingSettings
from runtime.training.worker import TrainingSession

POLL_MS = 33                 # ~30 Hz
MAX_EVENTS_PER_POLL = 200    # a burst is drained over several ticks, never in one stall
CAPTURE_INTERVAL_S = 0.3     # feature maps and previews: a few per second at most
DATASET_PREVIEW_DELAY_MS = 500
LOCK_TEXT = ("Training a copy of the graph taken at Start: edits you make now apply to the "
             "next run.")


class TrainingPanel(QWidget):
    running_changed = Signal(bool)
    refused = Signal(list)              # Start found these errors (Diagnostics) and did not run

    def __init__(self, session, runs_dir: str | Path | None = None, previews=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.session = session                 # the EditorSession
        self.previews = previews               # NodePreviewService, fed the run's previews
        self._runs_dir = Path(runs_dir) if runs_dir else None
        self.training: TrainingSession | None = None   # the worker session of the run
        self._running = False
        self._last_run_dir: str | None = None
        self._paused = False
        self.started_event: dict[str, Any] | None = None
        self.epoch_events: list[dict[str, Any]] = []
        self.last_step: dict[str, Any] | None = None
        self.done_event: dict[str, Any] | None = None
        self.error_event: dict[str, Any] | None = None
        self._run_started = 0.0
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._dataset_timer = QTimer(self, singleShot=True, interval=DATASET_PREVIEW_DELAY_MS)
        self._dataset_timer.timeout.connect(self._show_dataset)
        self._dataset_pending = True   # loaded when the Dataset tab is first seen
        self._build()
        self._set_idle_buttons()

    # --- building ------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QHBoxLayout(self)
        side = QVBoxLayout()
        self.settings = TrainingSettings(self.session)
        self.settings.dataset_changed.connect(self._dataset_timer.start)
        if self.previews is not None:   # the preview sample comes from the dataset too
            self.settings.dataset_changed.connect(self.previews.schedule)
        side.addWidget(self.settings)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("▶ Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("■ Stop")
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        side.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar(minimum=0, maximum=100)
        side.addWidget(self.progress)
        self.status_label = QLabel("idle")
        self.status_label.setWordWrap(True)
        side.addWidget(self.status_label)
        self.lock_banner = QLabel(LOCK_TEXT, wordWrap=True, visible=False)
        self.lock_banner.setStyleSheet("background: #7a5a00; color: white; padding: 4px; "
                                       "border-radius: 3px")
        side.addWidget(self.lock_banner)
        side.addStretch(1)
        column = QWidget()
        column.setLayout(side)
        # The settings scroll on their own: a short dock keeps its plots, not a scroll bar.
        scroller = QScrollArea(widgetResizable=True, frameShape=QFrame.NoFrame)
        scroller.setWidget(column)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroller.setFixedWidth(column.sizeHint().width() + 24)
        layout.addWidget(scroller)
        self.insights = InsightTabs(self.session, self.runs_dir, lambda: self.session.doc.name or "")
        self.insights.feature_maps.watch_changed.connect(self._watch_changed)
        self.dataset_preview = DatasetPreview()
        self.dataset_preview.installEventFilter(self)
        self.insights.setTabToolTip(self.insights.insertTab(0, self.dataset_preview, "Dataset"),
                                    "a few samples of the chosen dataset, with their labels")
        self.insights.setCurrentIndex(0)
        layout.addWidget(self.insights, 1)
        self.log_view = self.insights.log_view
        # A dock may be made small: the views squeeze rather than forcing the window to grow.
        self.setMinimumSize(240, 160)

    # --- settings ------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        """Where runs go: as set, else `runs/` beside the graph file (beside the working
        folder for a file never saved, as the command line does)."""
        if self._runs_dir is not None:
            return self._runs_dir
        path = getattr(self.session, "path", None)
        return Path(path).parent / "runs" if path else Path("runs")

    def set_runs_dir(self, path: str | Path | None) -> None:
        self._runs_dir = Path(path) if path else None
        self.sync_runs_dir()

    def sync_runs_dir(self) -> None:
        if self.insights.runs.runs_dir != self.runs_dir:
            self.insights.runs.runs_dir = self.runs_dir
            self.insights.runs.refresh_when_seen()

    @property
    def block(self) -> dict[str, Any]:
        return self.settings.block

    def reload_settings(self) -> None:
        self.settings.load()
        self.sync_runs_dir()
        self._dataset_timer.start()

    def _show_dataset(self) -> None:
        """Load the dataset preview now if it can be seen, else when it is first shown: a
        file dataset can take seconds to read, for nobody if the tab stays closed."""
        self._dataset_pending = not self.dataset_preview.isVisible()
        if not self._dataset_pending:
            base_dir = self.session.path.parent if getattr(self.session, "path", None) else None
            self.dataset_preview.show_dataset(dict(self.block), base_dir)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.dataset_preview and event.type() == QEvent.Show \
                and self._dataset_pending:
            self._show_dataset()   # seen now: load at once
        return super().eventFilter(watched, event)

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
        for w in self.settings.widgets():
            w.setEnabled(not running)
        self.lock_banner.setVisible(running)
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
        errors = self.session.checked_now().errors
        if errors:
            # A run of a broken graph only fails later, in the Log; say it here, once, and
            # let the window show the first problem on its node.
            first = errors[0]
            count = f"{len(errors)} error" + ("s" if len(errors) > 1 else "")
            self.status_label.setText(f"Cannot start: the graph has {count}; first: "
                                      f"{first.message}. They are marked on the nodes and "
                                      "listed in Problems.")
            self.refused.emit(errors)
            return
        if self.training is not None:
            self.training.close()
        self.started_event, self.last_step, self.done_event, self.error_event = None, None, None, None
        self.epoch_events = []
        self.insights.reset()
        if self.insights.currentWidget() is self.dataset_preview:
            self.insights.setCurrentWidget(self.insights.curves)
        self.progress.setValue(0)
        source = str(self.session.path) if getattr(self.session, "path", None) else "<editor>"
        base_dir = self.session.path.parent if getattr(self.session, "path", None) else None
        # What the views need from the run, asked for here rather than saved in the file.
        live = {"watch_nodes": self.insights.feature_maps.selected_nodes(),
                "previews": self.previews is not None,
                "activation_interval": CAPTURE_INTERVAL_S}
        self.sync_runs_dir()
        self.training = TrainingSession(dumps(self.session.doc), dict(self.block), live,
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
            self.training.control.resume()
            self._paused = False
            self.pause_button.setText("Pause")
            self._append_log("resumed")
        else:
            self.training.control.pause()
            self._paused = True
            self.pause_button.setText("Resume")
            self._append_log("paused")
            self.status_label.setText("paused — " + self.status_label.text())

    def stop(self) -> None:
        if self._running and self.training is not None:
            self.training.control.stop()
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self._append_log("stopping…")

    def shutdown(self) -> None:
        """End any run (closing the editor)."""
        self._timer.stop()
        if self.training is not None:
            self.training.close()
        self._set_running(False)

    def _watch_changed(self, node_ids: list[str]) -> None:
        if self._running and self.training is not None:
            self.training.control.watch(node_ids)

    # --- events --------------------------------------------------------------------------
    def _poll(self) -> None:
        if self.training is None:
            self._timer.stop()
            return
        for ev in self.training.poll(MAX_EVENTS_PER_POLL):
            self._handle(ev)
        if self.done_event is None:
            self._update_status()

    def _handle(self, ev: dict[str, Any]) -> None:
        kind = ev.get("kind")
        if kind == "step":
            self.last_step = ev
        elif kind == "epoch":
            # Not logged here: the trainer's own "epoch N/M: ..." log event (the line its
            # log.txt holds) already says it, and logging both doubled each epoch line.
            self.epoch_events.append(ev)
        elif kind == "started":
            self.started_event = ev
            self._last_run_dir = ev.get("run_dir") or self._last_run_dir
            self._append_log(f"run folder: {ev.get('run_dir')} (device {ev.get('device')}, "
                             f"{ev.get('params', 0):,} parameters, dataset {ev.get('dataset')})")
        elif kind == "log":
            self._append_log(f"[{ev.get('level', 'info')}] {ev.get('message', '')}")
        elif kind == "error":
            self.error_event = ev
            text = f"ERROR: {ev.get('message', '')}"
            if ev.get("traceback"):
                text += "\n" + str(ev["traceback"]).rstrip()
            self._append_log(text)
        self.insights.handle_event(ev)
        if self.previews is not None:
            self.previews.handle_event(ev)
        if kind == "done":
            self._finish(ev)

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
            self.insights.setCurrentWidget(self.log_view)
        self.status_label.setText(text)
        self._append_log(f"run {status}" + (f": {ev['error']}" if ev.get("error") else ""))
        if status == "finished":
            self.progress.setValue(100)
        # The views draw their last data on their own throttle; the run list is read from
        # disk in its own turn of the event loop, not in this one.
        QTimer.singleShot(0, self.insights.runs, self.insights.runs.refresh_when_seen)
        self._set_running(False)

    def _epoch_text(self, ev: dict[str, Any]) -> str:
        total = self.started_event.get("epochs") if self.started_event else None
        parts = [f"epoch {ev.get('epoch')}" + (f"/{total}" if total else "")]
        for key, label in (("train_loss", "train loss"), ("val_loss", "val loss")):
            if isinstance(ev.get(key), (int, float)):
                parts.append(f"{label} {ev[key]:.4f}")
        if isinstance(ev.get("val_accuracy"), (int, float)):
            parts.append(f"val accuracy {ev['val_accuracy']:.1%}")
        if isinstance(ev.get("val_iou"), (int, float)):
            parts.append(f"val IoU {ev['val_iou']:.3f}")
        if ev.get("best"):
            parts.append("best")
        return ", ".join(parts)

    def _update_status(self) -> None:
        step = self.last_step
        if step is None:
            return
        started = self.started_event or {}
        epochs = started.get("epochs") or 1
        steps = step.get("steps") or started.get("steps_per_epoch") or 1
        start_epoch = started.get("start_epoch") or 0
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
            text += f", ETA {self._duration(elapsed / done_here * (total - done))}"
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

    def _append_log(self, text: str) -> None:
        self.log_view.appendPlainText(text)
