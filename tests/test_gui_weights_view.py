"""WeightsView: histogram heat map over epochs, gradient norms, vanishing/exploding flags."""
from __future__ import annotations

import numpy as np
import pytest

from gui.insights.weights_view import MAX_POINTS, VALUE_ROWS, WeightsView, rebin
from tests.qt_pixels import pixels


def stats(values: np.ndarray) -> dict:
    hist, edges = np.histogram(values, bins=30)
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "hist": hist.astype(np.int64),
            "edges": edges.astype(np.float32)}


def weights_event(epoch: int, values: np.ndarray, node: str = "n2", model: str = "model") -> dict:
    return {"kind": "weights", "model": model, "epoch": epoch,
            "stats": {node: {"weight": stats(values), "bias": stats(values[:10] * 0.1)}}}


def grad_event(step: int, norms: dict, model: str = "model") -> dict:
    return {"kind": "gradients", "model": model, "global_step": step, "norms": norms}


@pytest.fixture
def view(qtbot):
    widget = WeightsView()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    return widget


def test_rebin_keeps_the_mass_and_its_place():
    hist = np.array([0, 10, 0])
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    grid = np.linspace(0.0, 4.0, 9)   # half-width bins over a wider range
    out = rebin(hist, edges, grid)
    assert out.sum() == pytest.approx(10)
    assert out[2] == pytest.approx(5) and out[3] == pytest.approx(5)
    assert out[:2].sum() == pytest.approx(0) and out[4:].sum() == pytest.approx(0)


def test_heatmap_columns_line_up_and_mass_moves_with_the_distribution(view):
    rng = np.random.default_rng(0)
    view.handle_event(weights_event(1, rng.normal(-1.0, 0.1, 5000)))
    view.handle_event(weights_event(2, rng.normal(0.0, 0.1, 5000)))
    view.handle_event(weights_event(3, rng.normal(+1.0, 0.1, 5000)))
    view.flush()
    image = view.heatmap()
    assert image.shape == (VALUE_ROWS, 3)
    np.testing.assert_allclose(image.sum(axis=0), 1.0)   # fractions per epoch
    rows = np.arange(VALUE_ROWS)
    centres = (image * rows[:, None]).sum(axis=0)
    assert centres[0] < centres[1] < centres[2]            # the mass climbs with the mean
    assert centres[0] < VALUE_ROWS / 3 and centres[2] > 2 * VALUE_ROWS / 3
    # the image spans the values of all epochs: epoch 1 ... 3, about -1.4 ... 1.4
    rect = view.image.mapRectToParent(view.image.boundingRect())
    assert rect.left() == pytest.approx(0.5) and rect.right() == pytest.approx(3.5)
    assert rect.top() < -1.2 and rect.bottom() > 1.2
    assert "mean 1" in view.stats_label.text() or "mean 0.9" in view.stats_label.text()


def test_pickers_list_nodes_and_params_and_switch_the_heat_map(view):
    rng = np.random.default_rng(1)
    view.handle_event(weights_event(1, rng.normal(0, 1, 1000), node="n2"))
    view.handle_event(weights_event(1, rng.normal(0, 1, 1000), node="n5"))
    view.flush()
    assert [view.node_combo.itemData(i) for i in range(view.node_combo.count())] == ["n2", "n5"]
    assert [view.param_combo.itemText(i) for i in range(view.param_combo.count())] == \
        ["weight", "bias"]
    view.select("n5", "bias")
    assert view.node_combo.currentData() == "n5" and view.param_combo.currentText() == "bias"
    assert view.heatmap().shape == (VALUE_ROWS, 1)
    assert "n5 · bias" in view.stats_label.text()


def test_session_labels_name_the_layers(qtbot):
    class Node:
        def __init__(self, id, type, label):
            self.id, self.type, self.label = id, type, label

    class Doc:   # the trained model is the document's main graph
        graph = [Node("n2", "Conv2d", "conv1"), Node("n3", "Linear", "")]

    class Session:
        doc = Doc

    widget = WeightsView(session=Session())
    qtbot.addWidget(widget)
    widget.handle_event(weights_event(1, np.arange(100.0), node="n2"))
    widget.handle_event(weights_event(1, np.arange(100.0), node="n3"))
    widget.flush()
    assert widget.node_combo.itemText(0) == "conv1 (Conv2d)"
    assert widget.node_combo.itemText(1) == "n3 (Linear)"


def test_flags_tiny_and_huge_norms_and_not_normal_ones(view):
    rng = np.random.default_rng(2)
    for step in range(1, 31):
        view.handle_event(grad_event(step, {
            "ok": 0.1 + 0.05 * rng.random(),
            "tiny": 3e-9,
            "small": 5e-6,                                   # < 1e-5 for 20+ readings
            "huge": 5e3,
            "spike": 0.2 if step < 30 else 50.0}))           # 250× its own median
    view.flush()
    assert view.flags() == {"tiny": "vanishing", "small": "vanishing", "huge": "exploding",
                            "spike": "exploding"}
    text = view.flags_label.text()
    assert "tiny: gradient norm 3.0e-09 — vanishing" in text and "ReLU" in text
    assert "huge" in text and "exploding" in text and "ok:" not in text


def test_no_flags_for_a_healthy_run_and_short_small_stretch(view):
    for step in range(1, 11):
        view.handle_event(grad_event(step, {"a": 0.5, "b": 5e-6}))  # only 10 small readings
    view.flush()
    assert view.flags() == {}
    assert "healthy" in view.flags_label.text()


def test_gradient_series_are_capped_by_even_decimation(view):
    for step in range(1, MAX_POINTS * 2 + 2):
        view.handle_event(grad_event(step, {"a": float(step)}))
    view.flush()
    steps, norms = view.gradient_series("a")
    assert MAX_POINTS // 2 <= len(steps) <= MAX_POINTS
    assert steps[0] == 1 and steps[-1] == MAX_POINTS * 2 + 1      # both ends survive
    gaps = np.diff(steps[:-1])                                    # the newest may be off-grid
    assert gaps.min() == gaps.max() == 4                          # evenly thinned
    np.testing.assert_array_equal(steps, norms)
    # off-grid readings show as a provisional tail that the next one replaces
    last = MAX_POINTS * 2 + 1
    view.handle_event(grad_event(last + 1, {"a": 0.0}))
    view.handle_event(grad_event(last + 2, {"a": 0.0}))
    steps, _ = view.gradient_series("a")
    assert list(steps[-2:]) == [last, last + 2]


def test_models_are_kept_apart_and_curves_drawn(view):
    view.handle_event(grad_event(1, {"n1": 1.0}, model="generator"))
    view.handle_event(grad_event(1, {"n1": 2.0}, model="discriminator"))
    view.flush()
    assert set(view._curves) == {"generator/n1", "discriminator/n1"}
    x, y = view._curves["discriminator/n1"].getData()
    assert list(x) == [1.0]


def test_unknown_events_are_ignored_and_reset_clears(view):
    view.handle_event({"kind": "log", "level": "info", "message": "hi"})
    view.handle_event({"kind": "step", "epoch": 1})
    view.handle_event(weights_event(1, np.arange(50.0)))
    view.handle_event(grad_event(1, {"n2": 1e-9}))
    view.flush()
    assert view.flags() and view.heatmap().size
    view.reset()
    assert view.flags() == {} and view.heatmap().size == 0
    assert view.node_combo.count() == 0 and not view._curves
    assert view.flags_label.text() == ""


def test_redraws_are_throttled_until_the_timer_or_flush(view):
    view.handle_event(weights_event(1, np.arange(50.0)))
    assert view._timer.isActive() and view.heatmap().size == 0
    view.flush()
    assert not view._timer.isActive() and view.heatmap().size


def test_renders_something(view):
    rng = np.random.default_rng(3)
    blank = pixels(view.hist_plot)
    for epoch in range(1, 5):
        view.handle_event(weights_event(epoch, rng.normal(0, epoch, 2000)))
        view.handle_event(grad_event(epoch, {"n2": 0.1 * epoch}))
    view.flush()
    drawn = pixels(view.hist_plot)
    assert drawn.shape == blank.shape and drawn[..., :3].std() > 10
    # the heat map covers much of the plot, not just a few labels changed
    assert (np.abs(drawn.astype(int) - blank).sum(axis=2) > 30).mean() > 0.3
    assert pixels(view.grad_plot)[..., :3].std() > 5
