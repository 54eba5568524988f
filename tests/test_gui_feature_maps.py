"""gui/insights/feature_maps.py: the node list follows the graph, ticks are reported, and
fake "activations" events (plain numpy, as a run sends them) become grids, strips and a
sample picture, drawn at most a few times a second."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from graph.loader import load_file
from graph.templates import find_template
from gui.insights.feature_maps import WAITING, FeatureMapView
from gui.insights.images import colormap_lut
from gui.session import EditorSession


def make_view(qtbot, template: str = "lenet5") -> FeatureMapView:
    view = FeatureMapView(EditorSession(load_file(find_template(template))))
    qtbot.addWidget(view)
    return view


def activations(conv1=None, **extra) -> dict:
    rng = np.random.default_rng(0)
    nodes = {"conv1": rng.random((6, 28, 28), dtype=np.float32) if conv1 is None else conv1}
    nodes.update(extra)
    return {"kind": "activations", "epoch": 1, "global_step": 5, "label": 3,
            "sample": rng.random((1, 32, 32), dtype=np.float32), "nodes": nodes}


def list_ids(view: FeatureMapView) -> list[str]:
    return [view.node_list.item(i).data(Qt.UserRole + 1) for i in range(view.node_list.count())]


def test_lists_every_node_but_output_and_ticks_the_first_conv(qtbot):
    view = make_view(qtbot)
    ids = list_ids(view)
    assert "output" not in ids and ids[0] == "input" and len(ids) == 13   # 14 nodes less Output
    assert view.node_list.item(1).text() == "conv1 (Conv2d)"
    assert view.selected_nodes() == ["conv1"]


def test_without_a_conv_the_first_layer_after_the_input_is_ticked(qtbot):
    view = make_view(qtbot, "mlp")
    assert view.selected_nodes() == ["flatten"]


def test_ticking_emits_watch_changed(qtbot):
    view = make_view(qtbot)
    item = view.node_list.item(list_ids(view).index("fc1"))
    with qtbot.waitSignal(view.watch_changed) as signal:
        item.setCheckState(Qt.Checked)
    assert signal.args == [["conv1", "fc1"]]
    with qtbot.waitSignal(view.watch_changed) as signal:
        view.set_selected_nodes(["pool2"])
    assert signal.args == [["pool2"]] and view.selected_nodes() == ["pool2"]
    with qtbot.assertNotEmitted(view.watch_changed):
        view.set_selected_nodes(["pool2"])                  # no change, no signal


def test_list_follows_graph_changes_and_keeps_ticks(qtbot):
    view = make_view(qtbot)
    view.set_selected_nodes(["conv1", "fc2"])
    graph = view.session.doc.graph
    graph.set_label("fc2", "hidden")
    assert view.node_list.item(list_ids(view).index("fc2")).text() == "hidden (Linear)"
    assert view.selected_nodes() == ["conv1", "fc2"]
    new = graph.add_node("ReLU")
    assert new.id in list_ids(view) and view.selected_nodes() == ["conv1", "fc2"]
    with qtbot.waitSignal(view.watch_changed) as signal:
        graph.remove_node("fc2")
    assert signal.args == [["conv1"]]


def test_activations_event_draws_grid_sample_and_title(qtbot):
    view = make_view(qtbot)
    view.handle_event({"kind": "started", "class_names": [f"c{i}" for i in range(10)]})
    view.handle_event(activations())
    assert view.images() == {}                       # not drawn until the throttle fires
    view.flush()
    grid = view.images()["conv1"]
    assert (grid.width(), grid.height()) == (3 * 29 - 1, 2 * 29 - 1)
    sample = view.sample_image()
    assert (sample.width(), sample.height()) == (32, 32)
    assert "conv1 (Conv2d) · 6×28×28, showing 6" in view.caption("conv1")
    assert "label c3" in view.caption()
    shown = view._cells["conv1"].picture.pixmap()
    assert shown.width() >= 160 and shown.width() == 2 * grid.width()   # nearest ×2


def test_settings_redraw_the_last_event(qtbot):
    view = make_view(qtbot)
    conv = np.random.default_rng(4).random((40, 6, 6), dtype=np.float32)
    view.handle_event(activations(conv1=conv))
    view.flush()
    assert view.images()["conv1"].width() == 4 * 7 - 1 and "showing 16" in view.caption("conv1")
    view.cap_spin.setValue(4)
    assert view.images()["conv1"].width() == 2 * 7 - 1 and "showing 4" in view.caption("conv1")
    view.colormap_combo.setCurrentText("gray")
    pixel = view.images()["conv1"].pixelColor(0, 0)
    assert pixel.red() == pixel.green() == pixel.blue()


def test_two_events_then_flush_draw_once_with_the_latest(qtbot):
    view = make_view(qtbot)
    before = view.draw_count
    view.handle_event(activations(conv1=np.zeros((6, 4, 4), dtype=np.float32)))
    ramp = np.arange(6 * 16, dtype=np.float32).reshape(6, 4, 4)
    view.handle_event(activations(conv1=ramp))
    view.flush()
    assert view.draw_count == before + 1
    grid = view.images()["conv1"]
    assert grid.pixelColor(3, 3).getRgb()[:3] == tuple(colormap_lut("viridis")[255])
    view.flush()                                    # nothing new: no redraw
    assert view.draw_count == before + 1


def test_a_shown_view_draws_by_itself_within_the_throttle(qtbot):
    view = make_view(qtbot)
    view.show()
    qtbot.waitExposed(view)
    view.handle_event(activations())
    # It drew after 0.25 s (one throttle period); the limit is for a view that never draws.
    qtbot.waitUntil(lambda: "conv1" in view.images(), timeout=30_000)


def test_vectors_sequences_nan_and_missing_nodes(qtbot):
    view = make_view(qtbot)
    view.set_selected_nodes(["conv1", "fc1", "fc3", "pool2", "relu1"])
    conv = np.ones((6, 28, 28), dtype=np.float32)
    conv[0, 0, 0] = np.nan
    ev = activations(conv1=conv, fc1=np.linspace(-1, 1, 120, dtype=np.float32),
                     fc3=np.arange(10, dtype=np.float32),
                     pool2=np.zeros((5, 16), dtype=np.float32))   # a T×F output
    view.handle_event(ev)
    view.handle_event({"kind": "step", "loss": 1.0})               # ignored
    view.flush()
    images = view.images()
    assert set(images) == {"conv1", "fc1", "fc3", "pool2"}
    assert images["conv1"].pixelColor(0, 0).getRgb()[:3] == (255, 0, 255)
    assert "NaN" in view.caption("conv1")
    assert (images["fc1"].width(), images["fc1"].height()) == (64, 2)
    assert (images["fc3"].width(), images["fc3"].height()) == (10, 1)
    assert (images["pool2"].width(), images["pool2"].height()) == (16, 5)
    assert WAITING in view.caption("relu1")
    assert view._cells["fc3"].picture.pixmap().height() >= 16   # strips are not hairlines


def test_reset_clears_the_pictures(qtbot):
    view = make_view(qtbot)
    view.handle_event(activations())
    view.flush()
    assert view.images() and view.sample_image() is not None
    view.reset()
    assert view.images() == {} and view.sample_image() is None
    assert WAITING in view.caption("conv1")


@pytest.mark.parametrize("sample, size", [(np.zeros((3, 8, 8)), (8, 8)),
                                          (np.zeros(20), (20, 1)),
                                          (np.zeros((12, 4)), (4, 12))])
def test_sample_kinds(qtbot, sample, size):
    view = make_view(qtbot)
    ev = activations()
    ev.update(sample=sample.astype(np.float32), label=None,
              probabilities=np.array([0.1, 0.7, 0.2]))
    view.handle_event(ev)
    view.flush()
    image = view.sample_image()
    assert (image.width(), image.height()) == size
    assert "label" not in view.caption() and "predicted 1 (70%)" in view.caption()
