"""The training panel (gui/training_panel.py) driven through its real buttons: a short real
run of LeNet-5 (plots, accuracy, checkpoint), Stop on a long run, and a killed worker.

Each run spawns a worker that imports torch (a few seconds on a busy machine), so the
waits are generous; nothing is timed (the stop is counted in steps).
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from graph.loader import load_file
from graph.templates import find_template
from gui.session import EditorSession
from gui.training_panel import TrainingPanel

# One epoch took 11.8 s from the click on a busy 2-core machine; the limit is for a hang.
RUN_TIMEOUT_MS = 300_000


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
    assert panel.settings.epochs_spin.value() == 1 and panel.settings.dataset_combo.currentText() == "digits"
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
    panel.insights.flush()   # draw now, not on the views' next throttled redraw
    curves = panel.insights.curves
    x, y = curves.raw_curve.getData()
    assert len(x) >= 10 and len(y) == len(x)
    sx, _ = curves.smooth_curve.getData()
    assert len(sx) == len(x)
    ex, ey = curves.train_epoch_curve.getData()
    assert list(ex) == [1.0] and len(ey) == 1
    assert len(curves.val_epoch_curve.getData()[0]) == 1
    lx, ly = curves.lr_curve.getData()
    assert len(lx) >= 1 and (ly > 0).all()
    assert curves.best_epoch() == 1 and curves.best_line.isVisible()

    epoch = panel.epoch_events[-1]
    # one epoch, seeds 0-5 (in-process, same settings): 0.897–0.961; chance 0.1
    assert epoch["val_accuracy"] > 0.5
    shown = f"val accuracy {epoch['val_accuracy']:.1%}"
    assert shown in panel.status_label.text()
    # The Log holds the trainer's own epoch line (as its log.txt does), once.
    log = panel.log_view.toPlainText()
    assert f"val_accuracy {epoch['val_accuracy']:.4g}" in log
    assert log.count("epoch 1/1") == 1, log
    assert panel.progress.value() == 100

    run_dir = Path(panel.last_run_dir)
    assert run_dir.is_dir() and tmp_path in run_dir.parents
    best = run_dir / "checkpoints" / "best"
    assert best.is_dir() and any(best.iterdir())
    assert_idle(panel)


def test_stop_a_long_run(qtbot, tmp_path, monkeypatch):
    panel = make_panel(qtbot, tmp_path, epochs=50, batch_size=8,
                       dataset={"name": "shapes", "samples": 2000, "resize_to_input": True})
    handled: list[dict] = []
    handle = panel._handle
    monkeypatch.setattr(panel, "_handle", lambda ev: (handled.append(ev), handle(ev)))
    assert panel.settings.dataset_combo.currentText() == "shapes" and panel.settings.batch_spin.value() == 8
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.last_step is not None, timeout=RUN_TIMEOUT_MS)
    assert panel.running
    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert panel.pause_button.text() == "Resume" and panel.running
    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert panel.pause_button.text() == "Pause"

    # Counted in steps, not seconds (stop to idle took 0.04–0.07 s on an idle machine): the
    # batch in flight may finish, then the run ends.
    clicked_at = time.time()
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert not panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_TIMEOUT_MS)
    after_stop = [e["global_step"] for e in handled
                  if e["kind"] == "step" and e["time"] > clicked_at]
    assert len(after_stop) <= 1, f"steps ran after Stop: {after_stop}"
    assert panel.done_event["status"] == "stopped"
    assert panel.training.status == "stopped"
    assert panel.status_label.text().startswith("stopped")
    assert_idle(panel)


def test_killed_worker_shows_error(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path, epochs=50)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.running
    panel.training.kill()
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_TIMEOUT_MS)

    assert panel.done_event["status"] == "failed"
    assert "killed" in panel.status_label.text()
    assert "ERROR: the training process was killed" in panel.log_view.toPlainText()
    assert_idle(panel)


def test_settings_edit_the_training_block(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path)
    block = panel.session.doc.training
    panel.settings.epochs_spin.setValue(7)
    panel.settings.batch_spin.setValue(32)
    panel.settings.lr_edit.setText("0.01")
    panel.settings.lr_edit.editingFinished.emit()   # typed keys: tests/test_gui_lr_field.py
    panel.settings.optimizer_combo.setCurrentText("sgd")
    panel.settings.device_combo.setCurrentIndex(panel.settings.device_combo.findData("cpu"))
    panel.settings.dataset_combo.setCurrentText("moons")
    assert block["epochs"] == 7 and block["batch_size"] == 32 and block["device"] == "cpu"
    assert block["optimizer"]["lr"] == pytest.approx(0.01)
    assert block["optimizer"]["name"] == "sgd"
    assert block["optimizer"]["weight_decay"] == 0.0     # other optimizer keys kept
    assert block["dataset"] == {"name": "moons", "resize_to_input": True}
    panel.settings.dataset_combo.setCurrentText("data/my.csv")
    assert block["dataset"] == {"path": "data/my.csv", "resize_to_input": True}


def test_settings_are_undoable_and_mark_the_file_modified(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path)
    session, settings = panel.session, panel.settings
    block = session.doc.training
    initial = copy.deepcopy(block)
    assert session.undo.isClean()
    settings.recipe_combo.setCurrentText("regression")
    assert block["recipe"] == "regression" and block["loss"] == "mse"
    assert settings.loss_combo.currentText() == "mse"
    settings.schedule_combo.setCurrentText("cosine")
    settings.precision_combo.setCurrentText("bf16")
    settings.seed_spin.setValue(42)
    assert block["schedule"]["name"] == "cosine" and block["precision"] == "bf16"
    assert block["seed"] == 42 and not session.undo.isClean()
    for _ in range(4):
        session.undo.undo()
    assert block == initial and settings.seed_spin.value() == initial.get("seed", 0)
    assert settings.recipe_combo.currentText() == "classification"
    assert settings.loss_combo.currentText() == "cross_entropy"
    assert session.undo.isClean()


def test_device_picker_lists_what_the_machine_has(qtbot, tmp_path):
    from runtime.training.device import available_devices
    combo = make_panel(qtbot, tmp_path).settings.device_combo
    devices = [combo.itemData(i) for i in range(combo.count())]
    assert devices[0] == "auto" and set(available_devices()) <= set(devices)
    assert combo.itemText(0).startswith("auto — ")
    cpu = combo.itemText(devices.index("cpu"))
    assert "cores" in cpu


def test_a_nan_run_is_reported_with_its_step(qtbot, tmp_path):
    panel = make_panel(qtbot, tmp_path, optimizer={"name": "sgd", "lr": 1e6, "momentum": 0.9},
                       schedule={"name": "none"})
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.lock_banner.isVisibleTo(panel)
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_TIMEOUT_MS)
    assert panel.done_event["status"] == "failed"
    message = panel.error_event["message"]
    assert "epoch 1, step" in message and "Try a lower learning rate" in message
    assert "epoch 1, step" in panel.status_label.text()
    assert panel.insights.currentWidget() is panel.log_view
    assert not panel.lock_banner.isVisibleTo(panel)
    assert_idle(panel)


def test_start_refuses_a_broken_graph_and_shows_its_first_problem(qtbot, tmp_path):
    """The user broke the graph a moment ago (the check has not run yet) and clicks
    Start: nothing runs, the panel says why once, and the window puts the node in front."""
    from gui.main_window import MainWindow
    from PySide6.QtCore import QSettings

    doc = load_file(find_template("lenet5"))
    doc.training.update({"epochs": 1, "threads": 1})
    session = EditorSession(doc)
    win = MainWindow(session, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(win)
    win.show()
    refused = []
    win.training.refused.connect(refused.append)
    session.graph.set_params("conv2", kernel_size=[40, 40])   # cannot fit its 14×14 input
    assert session._check_timer.isActive()   # the check that would see it is still waiting
    qtbot.mouseClick(win.training.start_button, Qt.LeftButton)
    assert win.training.training is None and not win.training.running
    text = win.training.status_label.text()
    assert text.startswith("Cannot start: the graph has 1 error; first: ") and "conv2" in text
    assert [d.node_id for d in refused[0]] == ["conv2"]
    assert [i.node_id for i in win.scene.selectedItems()] == ["conv2"]
    assert_idle(win.training)
    assert "starting a training run" not in win.training.log_view.toPlainText()
