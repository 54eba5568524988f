"""What the Learning rate means under each schedule (issue 11: one-cycle peaked at 5× the
field unexplained), checked against the scheduler the run really builds; and each epoch
line in the Log once (it appeared twice)."""
from __future__ import annotations

import pytest
import torch

from graph.loader import load_file
from graph.templates import find_template
from gui.schedule_hint import schedule_hint
from gui.session import EditorSession
from gui.training_panel import TrainingPanel
from gui.training_settings import TrainingSettings
from runtime.training.config import parse_config
from runtime.training.optim import Schedule
from runtime.training.trainer import Trainer


def rates(block: dict, epochs: int = 4, steps: int = 10) -> list[float]:
    """The learning rate of every step of a run with this block, from optim.py itself."""
    cfg = parse_config(block)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optimizer.lr)
    schedule = Schedule(optimizer, cfg.schedule, epochs, steps)
    seen = []
    for _ in range(epochs):
        for _ in range(steps):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.after_step()
        schedule.after_epoch(1.0)   # a validation loss that never improves
    return seen


def test_one_cycle_hint_names_the_peak_start_and_end_the_run_really_has():
    block = load_file(find_template("lenet5")).training   # lr 0.001, max_lr 0.005
    hint = schedule_hint(block)
    assert hint == ("One-cycle: the peak is the Peak rate, 0.005, 5× the Learning rate; the "
                    "Learning rate itself is then not used. The run starts at peak/25 = 0.0002, "
                    "rises to the peak over the first 30% of the steps, then falls to 2e-08 "
                    "at the end.")
    seen = rates(block)
    assert seen[0] == pytest.approx(0.0002) and max(seen) == pytest.approx(0.005, rel=1e-3)
    assert seen.index(max(seen)) in (11, 12)      # 30 % of 40 steps
    # The last step before the end; the end itself (2e-08) is where the schedule lands.
    assert seen[-1] < 1e-4

    no_peak = {**block, "schedule": {"name": "onecycle"}}
    assert schedule_hint(no_peak).startswith(
        "One-cycle: the peak is the Learning rate, 0.001 (no Peak rate set). "
        "The run starts at peak/25 = 4e-05")
    assert max(rates(no_peak)) == pytest.approx(0.001, rel=1e-3)


def test_hints_of_the_other_schedules_match_their_rates():
    base = {"optimizer": {"name": "adam", "lr": 0.01}}
    none = {**base, "schedule": "none"}
    assert schedule_hint(none) == "Constant: every step trains at 0.01."
    assert set(rates(none)) == {0.01}

    step = {**base, "schedule": {"name": "step", "step_size": 2, "gamma": 0.5}}
    assert schedule_hint(step) == "Step: starts at 0.01 and is multiplied by 0.5 every 2 epochs."
    assert rates(step)[::10] == pytest.approx([0.01, 0.01, 0.005, 0.005])

    cosine = {**base, "schedule": {"name": "cosine", "min_lr": 0.001}}
    assert schedule_hint(cosine) == ("Cosine: starts at 0.01 and falls along a half cosine to "
                                     "0.001 (min_lr) at the last epoch, lowered once per epoch.")
    per_epoch = rates(cosine)[::10]
    assert per_epoch[0] == 0.01 and per_epoch[1] < per_epoch[0] and per_epoch[-1] > 0.001

    plateau = {**base, "schedule": {"name": "plateau", "patience": 1, "gamma": 0.1}}
    assert schedule_hint(plateau) == (
        "Plateau: starts at 0.01; multiplied by 0.1 each time the validation loss has not "
        "improved for more than 1 epochs, never below 0 (min_lr).")
    # torch lowers it when the epochs without improvement exceed the patience: epoch 3.
    assert rates(plateau)[::10] == pytest.approx([0.01, 0.01, 0.01, 0.001])


def test_the_hint_beside_the_field_follows_the_schedule_and_the_rate(qtbot):
    settings = TrainingSettings(EditorSession(load_file(find_template("lenet5"))))
    qtbot.addWidget(settings)
    settings.show()
    assert settings.schedule_hint.text().startswith("One-cycle: the peak is the Peak rate, 0.005")
    for name, start in (("none", "Constant"), ("step", "Step"), ("cosine", "Cosine"),
                        ("plateau", "Plateau"), ("onecycle", "One-cycle")):
        settings.schedule_combo.setCurrentText(name)
        assert settings.schedule_hint.text() == schedule_hint(settings.block)
        assert settings.schedule_hint.text().startswith(start)
        assert settings.schedule_hint.text() in settings.lr_edit.toolTip()
    settings.schedule_combo.setCurrentText("none")
    settings.lr_edit.setText("0.02")
    settings.lr_edit.editingFinished.emit()
    assert settings.schedule_hint.text() == "Constant: every step trains at 0.02."


def test_each_epoch_line_is_in_the_log_once(qtbot, tmp_path):
    doc = load_file(find_template("mlp"))
    block = {**doc.training, "epochs": 2, "threads": 1}
    emitted = []
    Trainer(doc, parse_config(block), runs_dir=tmp_path, emit=emitted.append).fit()
    assert [e["epoch"] for e in emitted if e["kind"] == "epoch"] == [1, 2]

    panel = TrainingPanel(EditorSession(doc), runs_dir=tmp_path)
    qtbot.addWidget(panel)
    for event in emitted:   # what the poll hands the panel, in the order the run sent it
        panel._handle(event)
    lines = panel.log_view.toPlainText().splitlines()
    for epoch in (1, 2):
        assert sum(f"epoch {epoch}/2" in line for line in lines) == 1, lines
    assert len(panel.epoch_events) == 2
