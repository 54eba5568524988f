"""The Learning rate field typed into as a user does (issue 11, item 1): select all, type
at 12, 60 and 120 ms a key, Enter. The old spin box committed the first `0` of `0.003`,
reloaded it as `0.000000` and dropped the rest, and the run trained at lr 0."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from graph.loader import load_file
from graph.templates import find_template
from gui.session import EditorSession
from gui.training_settings import TrainingSettings


def make_settings(qtbot, template: str = "lenet5") -> TrainingSettings:
    settings = TrainingSettings(EditorSession(load_file(find_template(template))))
    qtbot.addWidget(settings)
    settings.show()
    qtbot.waitExposed(settings)
    return settings


def lr_of(settings) -> float:
    return settings.session.doc.training["optimizer"]["lr"]


def type_into(qtbot, field, text: str, delay_ms: int, key=Qt.Key_Return) -> None:
    qtbot.mouseClick(field, Qt.LeftButton)
    QTest.keyClick(field, Qt.Key_A, Qt.ControlModifier)   # select all: typing replaces it
    if not text:
        QTest.keyClick(field, Qt.Key_Delete)
    QTest.keyClicks(field, text, Qt.NoModifier, delay_ms)
    QTest.keyClick(field, key)


@pytest.mark.parametrize("delay_ms", [12, 60, 120])
def test_typed_rate_is_committed_exactly_once_at_enter(qtbot, delay_ms):
    settings = make_settings(qtbot)
    field, undo = settings.lr_edit, settings.session.undo
    assert lr_of(settings) == 0.001 and field.text() == "0.001"
    pushed = []
    undo.indexChanged.connect(pushed.append)
    qtbot.mouseClick(field, Qt.LeftButton)
    QTest.keyClick(field, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(field, "0.003", Qt.NoModifier, delay_ms)
    # While typing nothing is committed: not the "0", not the "0.00".
    assert lr_of(settings) == 0.001 and pushed == [] and field.text() == "0.003"
    QTest.keyClick(field, Qt.Key_Return)
    assert lr_of(settings) == 0.003 and field.text() == "0.003"
    assert len(pushed) == 1 and not settings.lr_message.isVisible()
    undo.undo()
    assert lr_of(settings) == 0.001 and field.text() == "0.001"
    undo.redo()
    assert lr_of(settings) == 0.003


@pytest.mark.parametrize("typed, value", [("3e-4", 3e-4), ("1e-2", 0.01), ("0.003", 0.003),
                                          (" 2.5E-3 ", 0.0025)])
def test_scientific_notation_is_taken_as_typed(qtbot, typed, value):
    settings = make_settings(qtbot)
    type_into(qtbot, settings.lr_edit, typed, 12)
    assert lr_of(settings) == value
    assert float(settings.lr_edit.text()) == value


@pytest.mark.parametrize("typed, why", [("0", "must be above 0"), ("abc", "'abc' is not a number"),
                                        ("", "is empty"), ("-1e-3", "must be above 0"),
                                        ("nan", "not a finite number")])
def test_zero_and_garbage_are_refused_with_a_message_keeping_the_value(qtbot, typed, why):
    settings = make_settings(qtbot)
    undo_count = settings.session.undo.count()
    field = settings.lr_edit
    qtbot.mouseClick(field, Qt.LeftButton)
    QTest.keyClick(field, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClick(field, Qt.Key_Delete)
    QTest.keyClicks(field, typed, Qt.NoModifier, 12)
    QTest.keyClick(field, Qt.Key_Return)
    assert lr_of(settings) == 0.001 and field.text() == "0.001"
    assert settings.session.undo.count() == undo_count
    message = settings.lr_message.text()
    assert settings.lr_message.isVisible() and message.startswith("Learning rate")
    assert why in message and message.endswith("kept 0.001.")
    type_into(qtbot, field, "0.02", 12)   # a good rate afterwards clears the message
    assert lr_of(settings) == 0.02 and not settings.lr_message.isVisible()


def test_leaving_the_field_commits_and_escape_gives_the_edit_up(qtbot):
    settings = make_settings(qtbot)
    field = settings.lr_edit
    type_into(qtbot, field, "0.004", 12, key=Qt.Key_Tab)   # focus moves on: committed
    assert lr_of(settings) == 0.004 and not field.hasFocus()
    type_into(qtbot, field, "0.9", 12, key=Qt.Key_Escape)
    assert field.text() == "0.004"
    QTest.keyClick(field, Qt.Key_Return)
    assert lr_of(settings) == 0.004


def test_enter_without_a_change_pushes_nothing(qtbot):
    settings = make_settings(qtbot, "lstm_waveforms")   # max_lr 0.009000000000000001
    count = settings.session.undo.count()
    qtbot.mouseClick(settings.max_lr_edit, Qt.LeftButton)
    QTest.keyClick(settings.max_lr_edit, Qt.Key_Return)
    QTest.keyClick(settings.lr_edit, Qt.Key_Return)
    assert settings.max_lr_edit.text() == "0.009"
    assert settings.session.undo.count() == count


def test_peak_rate_field_edits_max_lr_and_is_shown_for_one_cycle_only(qtbot):
    settings = make_settings(qtbot)   # lenet5: one-cycle, max_lr 0.005
    peak = settings.max_lr_edit
    assert peak.isVisible() and peak.text() == "0.005"
    type_into(qtbot, peak, "2e-3", 60)
    assert settings.session.doc.training["schedule"]["max_lr"] == 0.002
    assert "the peak is the Peak rate, 0.002, 2× the Learning rate" in settings.schedule_hint.text()
    type_into(qtbot, peak, "", 12)        # empty: not set, the Learning rate is the peak
    assert settings.session.doc.training["schedule"]["max_lr"] is None
    assert "the peak is the Learning rate, 0.001 (no Peak rate set)" in settings.schedule_hint.text()
    type_into(qtbot, peak, "0", 12)
    assert settings.lr_message.text().startswith("Peak rate 0 would not train")
    assert settings.session.doc.training["schedule"]["max_lr"] is None
    settings.schedule_combo.setCurrentText("cosine")
    assert not peak.isVisible()
    settings.session.undo.undo()          # back to one-cycle: the row comes back
    assert peak.isVisible()
