"""The training panel (gui/training_panel.py) driven through its real buttons: a short real
run of LeNet-5 (plots, accuracy, checkpoint), Stop on a long run, and a killed worker.

Each run spawns a worker that imports torch (a few seconds on a busy machine), so the
waits are generous; only the stop latency is timed, from the click on.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from graph.loader import load_file
from graph.templates import find_template
from gui.session import EditorSession
from gui.training_panel import TrainingPanel

RUN_TIMEOUT_MS = 120_000


def make_panel(qtbot, tmp_path, **changes) -> TrainingPanel:
    doc = load_file(find_template("lenet5"))
    doc.training.update({"epochs": 1, "threads": 1, **changes})
    session = EditorSession(doc)
    panel = TrainingPanel(session, runs_dir=tmp_path / "runs")
    qtbot.addWidget(panel)
    panel.show()
    return panel


def assert_idle(panel: TrainingPanel) -> None:
    assert not panel.running
    assert panel.start_button.isEnabled()
    assert not panel.pause_button.isEnabled()
    assert not panel.stop_button.isEnabled()


def test_short_run_plots_accuracy_and_checkpoint(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path)
    assert panel.epochs_spin.value() == 1 and panel.dataset_combo.currentText() == "digits"
    assert_idle(panel)
    seen = []
    panel.running_changed.connect(seen.append)

    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.running and seen == [True]
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert panel.pause_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_TIMEOUT_MS)

    assert seen == [True, False]
    assert panel.done_event["status"] == "finished", panel.log_view.toPlainText()
    x, y = panel.raw_curve.getData()
    assert len(x) >= 10 and len(y) == len(x)
    sx, _ = panel.smooth_curve.getData()
    assert len(sx) == len(x)
    ex, ey = panel.train_epoch_curve.getData()
    assert list(ex) == [1.0] and len(ey) == 1
    assert len(panel.val_epoch_curve.getData()[0]) == 1

    epoch = panel.epoch_events[-1]
    assert epoch["val_accuracy"] > 0.3
    shown = f"val accuracy {epoch['val_accuracy']:.1%}"
    assert shown in panel.status_label.text()
    assert shown in panel.log_view.toPlainText()
    assert panel.progress.value() == 100

    run_dir = Path(panel.last_run_dir)
    assert run_dir.is_dir() and tmp_path in run_dir.parents
    best = run_dir / "checkpoints" / "best"
    assert best.is_dir() and any(best.iterdir())
    assert_idle(panel)


def test_stop_a_long_run(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path, epochs=50, batch_size=8,
                       dataset={"name": "shapes", "samples": 2000, "resize_to_input": True})
    assert panel.dataset_combo.currentText() == "shapes" and panel.batch_spin.value() == 8
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.last_step is not None, timeout=RUN_TIMEOUT_MS)
    assert panel.running
    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert panel.pause_button.text() == "Resume" and panel.running
    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert panel.pause_button.text() == "Pause"

    began = time.monotonic()
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert not panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert time.monotonic() - began < 2.5
    assert panel.done_event["status"] == "stopped"
    assert panel.training.status == "stopped"
    assert panel.status_label.text().startswith("stopped")
    assert_idle(panel)


def test_killed_worker_shows_error(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path, epochs=50)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.running
    panel.training.kill()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)

    assert panel.done_event["status"] == "failed"
    assert "killed" in panel.status_label.text()
    assert "ERROR: the training process was killed" in panel.log_view.toPlainText()
    assert_idle(panel)


def test_settings_edit_the_training_block(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path)
    block = panel.session.doc.training
    panel.epochs_spin.setValue(7)
    panel.batch_spin.setValue(32)
    panel.lr_spin.setValue(0.01)
    panel.optimizer_combo.setCurrentText("sgd")
    panel.device_combo.setCurrentText("cpu")
    panel.dataset_combo.setCurrentText("moons")
    assert block["epochs"] == 7 and block["batch_size"] == 32 and block["device"] == "cpu"
    assert block["optimizer"]["lr"] == pytest.approx(0.01)
    assert block["optimizer"]["name"] == "sgd"
    assert block["optimizer"]["weight_decay"] == 0.0     # other optimizer keys kept
    assert block["dataset"] == {"name": "moons", "resize_to_input": True}
    panel.dataset_combo.setCurrentText("data/my.csv")
    assert block["dataset"] == {"path": "data/my.csv", "resize_to_input": True}
