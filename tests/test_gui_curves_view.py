"""The curves tab: loss per step (raw and smoothed), learning rate, per-epoch loss and
metrics, the best epoch marked, and overfitting found, marked and explained."""
from __future__ import annotations

import numpy as np
import pytest

from gui.insights.curves_view import CurvesView, ema
from gui.insights.overfitting import find_overfitting


def epochs(train, val, **extra):
    return [{"kind": "epoch", "epoch": i + 1, "train_loss": t, "val_loss": v,
             "best": v == min(val[:i + 1]), **{k: vals[i] for k, vals in extra.items()}}
            for i, (t, v) in enumerate(zip(train, val))]


def test_overfitting_is_found_where_validation_rises_and_training_falls():
    found = find_overfitting(epochs([1.0, 0.6, 0.4, 0.3, 0.2], [0.9, 0.5, 0.45, 0.5, 0.6]))
    assert found is not None and found.epoch == 3
    assert (found.best_val, found.last_val, found.train_then, found.train_now) == (0.45, 0.6, 0.4, 0.2)
    assert "rose from 0.45 to 0.6" in found.explanation
    assert "Dropout" in found.explanation and "epoch 3" in found.headline


@pytest.mark.parametrize("train, val", [
    ([1.0, 0.6, 0.4, 0.3], [0.9, 0.5, 0.4, 0.35]),          # both still falling
    ([1.0, 0.6, 0.4, 0.3], [0.9, 0.5, 0.45, 0.5]),          # one bump only: noise
    ([1.0, 0.6, 0.7, 0.8], [0.9, 0.5, 0.6, 0.7]),           # both rising: diverging, not overfitting
    ([1.0, 0.6, 0.4, 0.3], [0.9, 0.5, 0.505, 0.506]),       # within 2 %
    ([1.0, 0.6], [0.9, 1.0]),                                # too short
])
def test_no_overfitting_claimed_without_the_pattern(train, val):
    assert find_overfitting(epochs(train, val)) is None


def test_nan_losses_are_skipped():
    assert find_overfitting(epochs([float("nan"), 0.6, 0.4, 0.3, 0.2],
                                   [0.9, 0.5, float("nan"), 0.6, 0.7])).epoch == 2


def test_smoothing_ignores_non_finite_steps():
    out = ema(np.array([np.nan, 1.0, np.inf, 3.0]), alpha=0.5)
    assert np.isnan(out[0]) and out[1] == 1.0 and out[2] == 1.0 and out[3] == 2.0


def test_steps_lr_and_epochs_are_drawn(qtbot):
    view = CurvesView()
    qtbot.addWidget(view)
    view.handle_event({"kind": "step", "losses": [2.0, 1.0, float("nan")], "lr": 0.01, "global_step": 3})
    view.handle_event({"kind": "step", "losses": [0.5], "lr": 0.005, "global_step": 4})
    for ev in epochs([1.0, 0.5], [0.9, 0.6], val_accuracy=[0.5, 0.8]):
        view.handle_event(ev)
    view.flush()
    x, y = view.raw_curve.getData()
    assert list(x) == [1, 2, 3, 4] and y[0] == 2.0 and np.isnan(y[2])
    sx, sy = view.smooth_curve.getData()
    # the incremental smoothing equals smoothing the whole series at once
    np.testing.assert_allclose(sy, ema(np.array([2.0, 1.0, np.nan, 0.5])))
    assert list(view.lr_curve.getData()[1]) == [0.01, 0.005]
    assert list(view.val_epoch_curve.getData()[1]) == [0.9, 0.6]
    assert list(view.metric_curves) == ["val_accuracy"]
    assert list(view.metric_curves["val_accuracy"].getData()[1]) == [0.5, 0.8]
    assert view.best_epoch() == 2 and view.best_line.value() == 2
    assert view.best_line.isVisible() and not view.overfit_line.isVisible()
    view.reset()
    assert len(view.raw_curve.getData()[0] if view.raw_curve.getData()[0] is not None else []) == 0
    assert not view.metric_curves and view.best_epoch() is None


def test_overfitting_is_marked_with_a_tooltip(qtbot):
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    for ev in epochs([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [0.9, 0.5, 0.45, 0.5, 0.6, 0.7]):
        view.handle_event(ev)
    view.flush()
    assert view.overfit_line.isVisible() and view.overfit_line.value() == 3
    assert view.overfit_region.getRegion() == (3, 6)
    assert "rose from 0.45 to 0.7" in view.overfit_line.toolTip()
    assert "overfitting after epoch 3" in view.note.text()
    assert view.best_epoch() == 3
    image = view.grab().toImage()
    assert image.width() > 800   # rendered, with plots: a blank widget would be one colour
    colours = {image.pixel(x, y) for x in range(0, image.width(), 13) for y in range(0, image.height(), 13)}
    assert len(colours) > 10
