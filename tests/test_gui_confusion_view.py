"""ConfusionView: matrices per epoch, row normalisation, epoch slider, accuracies."""
from __future__ import annotations

import numpy as np
import pytest

from gui.insights.confusion_view import ConfusionView, normalise_rows, per_class_accuracy
from tests.qt_pixels import pixels

NAMES = ["cat", "dog", "bird"]
M1 = [[5, 5, 0], [2, 8, 0], [0, 0, 10]]
M2 = [[9, 1, 0], [0, 10, 0], [1, 0, 9]]


@pytest.fixture
def view(qtbot):
    widget = ConfusionView()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.handle_event({"kind": "started", "class_names": NAMES, "recipe": "classification"})
    return widget


def feed(view, *matrices, first=1):
    for i, m in enumerate(matrices):
        view.handle_event({"kind": "epoch", "epoch": first + i, "train_loss": 1.0,
                           "confusion": m})
    view.flush()


def test_stores_by_epoch_and_shows_the_latest(view):
    feed(view, M1, M2)
    assert view.epochs() == [1, 2]
    np.testing.assert_array_equal(view.matrix(), M2)
    np.testing.assert_array_equal(view.matrix(1), M1)
    assert view.shown_epoch() == 2
    np.testing.assert_array_equal(view.shown_matrix(), M2)
    assert "overall accuracy 93.3 % (28 of 30)" in view.accuracy_label.text()
    assert "cat 90 %, dog 100 %, bird 90 %" in view.accuracy_label.text()


def test_rows_are_true_classes_top_to_bottom_with_names_on_both_axes(view):
    feed(view, M1)
    left = view.plot.getAxis("left")._tickLevels[0]
    bottom = view.plot.getAxis("bottom")._tickLevels[0]
    assert [name for _, name in left] == NAMES
    assert [pos for pos, _ in left] == [0.5, 1.5, 2.5]
    assert len(bottom) == 3
    assert view.plot.getViewBox().yInverted()          # row 0 at the top
    assert "true" in view.plot.getAxis("left").labelText
    assert "predicted" in view.plot.getAxis("bottom").labelText
    # one number per cell, at its centre: row r (true) at y = r + .5, column c at x = c + .5
    cells = {(round(t.pos().y() - 0.5), round(t.pos().x() - 0.5)): t.textItem.toPlainText()
             for t in view._texts}
    assert len(cells) == 9 and cells[(1, 0)] == "2" and cells[(0, 1)] == "5"


def test_normalise_rows_sums_to_one(view):
    feed(view, M1)
    view.normalise.setChecked(True)
    shown = view.shown_matrix()
    np.testing.assert_allclose(shown.sum(axis=1), 1.0)
    np.testing.assert_allclose(shown[1], [0.2, 0.8, 0.0])
    assert any(t.textItem.toPlainText() == "0.80" for t in view._texts)
    np.testing.assert_array_equal(view.matrix(), M1)           # the stored counts are untouched
    view.normalise.setChecked(False)
    np.testing.assert_array_equal(view.shown_matrix(), M1)


def test_helpers_handle_empty_rows():
    m = np.array([[0, 0], [1, 3]])
    np.testing.assert_allclose(normalise_rows(m), [[0, 0], [0.25, 0.75]])
    acc = per_class_accuracy(m)
    assert np.isnan(acc[0]) and acc[1] == pytest.approx(0.75)


def test_slider_selects_an_earlier_epoch_and_stays_there(view):
    feed(view, M1, M2)
    assert view.slider.isEnabled() and view.slider.maximum() == 1
    view.slider.setValue(0)
    assert view.shown_epoch() == 1
    np.testing.assert_array_equal(view.shown_matrix(), M1)
    assert "epoch 1" in view.epoch_label.text() and "latest" not in view.epoch_label.text()
    assert "overall accuracy 76.7 %" in view.accuracy_label.text()
    feed(view, M2, first=3)                      # a new epoch does not yank the user forward
    assert view.shown_epoch() == 1
    view.show_epoch(3)                           # back at the end: follows new epochs again
    feed(view, M1, first=4)
    assert view.shown_epoch() == 4


def test_many_classes_skip_cell_numbers_and_long_lists(view):
    view.handle_event({"kind": "started", "class_names": [f"c{i}" for i in range(30)]})
    m = np.eye(30, dtype=int) * 5
    m[0, 1] = 5
    feed(view, m.tolist())
    assert view._texts == []
    assert "worst classes: c0 50 %" in view.accuracy_label.text()


def test_ignores_epochs_without_confusion_and_unknown_kinds(view):
    view.handle_event({"kind": "epoch", "epoch": 1, "train_loss": 0.3})
    view.handle_event({"kind": "weights", "epoch": 1, "stats": {}})
    view.flush()
    assert view.epochs() == [] and view.matrix().size == 0 and view.shown_epoch() is None


def test_reset_clears(view):
    feed(view, M1, M2)
    view.reset()
    assert view.epochs() == [] and view.matrix().size == 0 and view.shown_matrix().size == 0
    assert view._texts == [] and not view.slider.isEnabled()
    assert "No confusion matrix" in view.accuracy_label.text()


def test_redraws_wait_for_the_timer(view):
    view.handle_event({"kind": "epoch", "epoch": 1, "confusion": M1})
    assert view._timer.isActive() and view.shown_matrix().size == 0
    view.flush()
    assert view.shown_matrix().shape == (3, 3)


def test_renders_something(view):
    view.show()
    blank = pixels(view.plot)
    feed(view, M1)
    drawn = pixels(view.plot)
    assert drawn[..., :3].std() > 10
    assert (np.abs(drawn.astype(int) - blank).sum(axis=2) > 30).mean() > 0.3
