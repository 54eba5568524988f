"""PredictionsView: class-probability bars, sample vs output, AE pairs and GAN grids."""
from __future__ import annotations

import numpy as np
import pytest

from gui.insights.predictions_view import (BAR_COLOR, TRUE_COLOR, WRONG_COLOR, PredictionsView,
                                           compose, to_display)
from tests.qt_pixels import pixels

CLASSES = ["zero", "one", "two", "three"]


@pytest.fixture
def view(qtbot):
    widget = PredictionsView()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    return widget


def started(recipe: str, names=()) -> dict:
    return {"kind": "started", "recipe": recipe, "class_names": list(names)}


def test_bars_show_the_probabilities_and_name_the_prediction(view):
    view.handle_event(started("classification", CLASSES))
    probs = np.array([0.05, 0.1, 0.8, 0.05], dtype=np.float32)
    view.handle_event({"kind": "activations", "epoch": 1, "probabilities": probs, "label": 2,
                       "sample": np.zeros((1, 4, 4), np.float32), "nodes": {}})
    view.flush()
    np.testing.assert_allclose(view.probabilities(), probs)
    np.testing.assert_allclose(view.bar_values(), probs)
    assert view.predicted() == 2
    assert view.bar_colors() == [BAR_COLOR, BAR_COLOR, TRUE_COLOR, BAR_COLOR]
    assert view.summary.text().startswith("predicted two (80 %), true two")
    ticks = view.bar_plot.getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == CLASSES


def test_a_wrong_guess_is_marked_apart_from_the_true_class(view):
    view.handle_event(started("classification", CLASSES))
    probs = np.array([0.7, 0.1, 0.1, 0.1])
    view.handle_event({"kind": "activations", "probabilities": probs, "label": 3})
    view.flush()
    assert view.predicted() == 0
    assert view.bar_colors() == [WRONG_COLOR, BAR_COLOR, BAR_COLOR, TRUE_COLOR]
    assert "predicted zero (70 %), true three" in view.summary.text()


def test_without_class_names_indices_are_used(view):
    view.handle_event({"kind": "activations", "probabilities": np.array([0.2, 0.8]),
                       "label": None})
    view.flush()
    assert view.summary.text().startswith("predicted 1 (80 %)") and "true" not in \
        view.summary.text().split("—")[0]


def test_to_display_scales_each_image_and_keeps_its_layout():
    gray = to_display(np.array([[[2.0, 4.0], [6.0, 10.0]]]))
    np.testing.assert_allclose(gray, [[0.0, 0.25], [0.5, 1.0]])
    rgb = to_display(np.stack([np.zeros((2, 3)), np.ones((2, 3)), 2 * np.ones((2, 3))]))
    assert rgb.shape == (2, 3, 3)
    np.testing.assert_allclose(rgb[0, 0], [0.0, 0.5, 1.0])
    strip = to_display(np.arange(32.0))
    assert strip.shape[1] == 32 and strip.shape[0] >= 2
    np.testing.assert_allclose(strip[0], np.arange(32.0) / 31)
    assert not to_display(np.full((1, 3, 3), 5.0)).any()   # a constant image: no division by 0


def test_autoencoder_pairs_inputs_over_reconstructions(view):
    view.handle_event(started("autoencoder"))
    inputs = np.random.default_rng(0).random((10, 1, 6, 5)).astype(np.float32)
    recon = 1.0 - inputs
    view.handle_event({"kind": "samples", "epoch": 3, "images": recon, "inputs": inputs,
                       "what": "reconstruction"})
    view.flush()
    grid = view.grid_image()
    gap = 1
    assert grid.shape == (2 * 6 + gap, 8 * (5 + gap) - gap)       # 8 pairs, 2 rows, gray
    for k in range(8):
        x = k * (5 + gap)
        np.testing.assert_allclose(grid[:6, x:x + 5], to_display(inputs[k]), atol=1e-6)
        np.testing.assert_allclose(grid[6 + gap:, x:x + 5], to_display(recon[k]), atol=1e-6)
    assert grid[6, 0] == pytest.approx(0.5)                          # the grey gap
    assert "inputs (top)" in view.grid_plot.plotItem.titleLabel.text
    assert view.grid_plot.isVisibleTo(view) and not view.bar_plot.isVisibleTo(view)


def test_gan_grid_of_rgb_images(view):
    view.handle_event(started("gan"))
    images = np.zeros((70, 3, 4, 4), np.float32)
    images[:, 0, 0, 0] = 1.0            # one red pixel in each image's corner
    view.handle_event({"kind": "samples", "epoch": 5, "images": images, "what": "generated"})
    view.flush()
    grid = view.grid_image()
    assert grid.shape == (8 * 5 - 1, 8 * 5 - 1, 3)                    # 64 kept, 8×8 tiles
    np.testing.assert_allclose(grid[0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(grid[5 * 7, 5 * 7], [1.0, 0.0, 0.0])  # the last tile's corner
    np.testing.assert_allclose(grid[1, 1], [0.0, 0.0, 0.0])
    assert view.grid_plot.plotItem.titleLabel.text.endswith(
        "epoch 5: generated from fixed noise</span>")


def test_generated_without_what_and_1d_outputs_become_strips(view):
    vectors = np.tile(np.arange(16.0, dtype=np.float32), (3, 1))
    view.handle_event({"kind": "samples", "epoch": 1, "images": vectors})
    view.flush()
    grid = view.grid_image()
    assert grid.ndim == 2 and grid.shape[1] == 2 * 16 + 1            # 3 strips in 2 columns
    np.testing.assert_allclose(grid[0, :16], np.arange(16) / 15)


def test_compose_mixes_gray_into_rgb():
    grid = compose([[np.ones((2, 2)), np.zeros((2, 2, 3))]])
    assert grid.shape == (2, 5, 3) and grid[0, 0].tolist() == [1.0, 1.0, 1.0]


def test_non_classification_output_as_pair_or_bars(view):
    view.handle_event(started("autoencoder"))
    sample = np.arange(16.0, dtype=np.float32).reshape(1, 4, 4)
    view.handle_event({"kind": "activations", "sample": sample, "output": -sample, "label": None})
    view.flush()
    pair = view.pair_image()
    assert pair.shape == (4, 9)
    np.testing.assert_allclose(pair[:, :4], to_display(sample))
    np.testing.assert_allclose(pair[:, 5:], to_display(-sample))
    assert view.pair_plot.isVisibleTo(view) and not view.bar_plot.isVisibleTo(view)

    view.handle_event({"kind": "activations", "sample": sample, "output": np.array([1.5, -2.0]),
                       "label": None})
    view.flush()
    assert view.pair_image() is None and not view.pair_plot.isVisibleTo(view)
    np.testing.assert_allclose(view.bar_values(), [1.5, -2.0])
    assert view.bar_plot.isVisibleTo(view) and "1.5, -2" in view.summary.text()
    assert view.probabilities().size == 0 and view.predicted() is None


def test_unknown_events_ignored_and_reset_clears(view):
    view.handle_event({"kind": "gradients", "norms": {"a": 1.0}})
    view.flush()
    assert view.grid_image() is None and view.probabilities().size == 0
    view.handle_event({"kind": "activations", "probabilities": np.array([0.5, 0.5]), "label": 0})
    view.handle_event({"kind": "samples", "epoch": 1, "images": np.ones((4, 1, 3, 3))})
    view.flush()
    view.reset()
    assert view.grid_image() is None and view.probabilities().size == 0
    assert view.predicted() is None and view.bar_values().size == 0
    assert not view.grid_plot.isVisibleTo(view) and "No predictions" in view.summary.text()


def test_redraws_wait_for_the_timer(view):
    view.handle_event({"kind": "activations", "probabilities": np.array([0.5, 0.5]), "label": 0})
    assert view._timer.isActive() and view.bar_values().size == 0
    view.flush()
    assert view.bar_values().size == 2


def test_renders_something(view):
    view.show()
    view.handle_event(started("classification", CLASSES))
    view.handle_event({"kind": "activations", "probabilities": np.array([0.1, 0.2, 0.6, 0.1]),
                       "label": 1})
    view.flush()
    assert pixels(view.bar_plot)[..., :3].std() > 10
    view.reset()
    yy, xx = np.mgrid[0:16, 0:16]
    blob = np.exp(-((xx - 8) ** 2 + (yy - 8) ** 2) / 20.0)[None].astype(np.float32)
    view.handle_event({"kind": "samples", "epoch": 1, "images": np.stack([blob] * 4)})
    view.flush()
    assert pixels(view.grid_plot)[..., :3].std() > 10
