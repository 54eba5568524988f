"""Segmentation: the built-in `segments` set (shape drawings with pixel masks), the recipe's
per-pixel cross-entropy and IoU, its messages when the graph's output does not fit, and the
U-Net template learning through the trainer and the command line."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import main as entry
from graph.loader import load_file
from graph.templates import find_template
from runtime.data import DataError, fit_to_input, load_dataset, make_builtin
from runtime.data.builtin import SEGMENT_CLASSES, SEGMENT_SHAPES
from runtime.data.bundle import DataBundle
from runtime.data.prepare import _check_raw
from runtime.training.config import parse_config
from runtime.training.recipes import RecipeError, Supervised
from runtime.training.segmentation import (Segmentation, iou_per_class, mean_iou,
                                           pixel_accuracy, pixel_confusion)
from runtime.training.stepper import Stepper
from runtime.training.trainer import Trainer


# --- the dataset -------------------------------------------------------------------------
def test_segments_are_grey_images_with_a_class_id_per_pixel():
    raw = make_builtin("segments", 60, seed=0)
    assert raw.task == "segmentation"
    assert raw.class_names == ["background", "filled", "outline"]
    assert raw.x.shape == (60, 1, 32, 32) and raw.x.dtype == torch.float32
    assert raw.y.shape == (60, 32, 32) and raw.y.dtype == torch.int64
    assert 0.0 <= float(raw.x.min()) and float(raw.x.max()) <= 1.0
    assert set(raw.y.unique().tolist()) == set(range(len(SEGMENT_CLASSES)))
    # One drawing per image: each mask holds background and one kind. The five shapes are
    # balanced (12 each of 60): circle and star filled (24), ring, square, triangle outlines.
    kind_of = []
    for mask in raw.y:
        present = set(mask.unique().tolist())
        assert 0 in present and len(present) == 2, present
        kind_of.append(max(present))
    assert np.bincount(kind_of, minlength=3)[1:].tolist() == [24, 36]
    assert sorted(SEGMENT_SHAPES.values()) == [1, 1, 2, 2, 2]


def test_masks_cover_the_ink_of_their_images():
    raw = make_builtin("segments", 100, seed=3)
    for i, (image, mask) in enumerate(zip(raw.x[:, 0], raw.y)):
        inside, outside = image[mask > 0], image[mask == 0]
        assert len(inside) >= 15, i                       # the smallest ring still has pixels
        # Ink is 0.65..1 (times the stroke's coverage) inside, noise around 0 outside.
        assert float(inside.mean()) > 0.45 and float(outside.mean()) < 0.12, i
        assert float(inside.mean()) - float(outside.mean()) > 0.4, i


def test_segments_are_deterministic_per_seed():
    a, b, c = (make_builtin("segments", 40, seed=s) for s in (5, 5, 6))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x) and not torch.equal(a.y, c.y)


def test_split_and_normalise_leave_the_masks_as_class_ids():
    bundle = load_dataset({"name": "segments", "samples": 50}, seed=1)
    assert bundle.task == "segmentation" and bundle.num_classes == 3
    assert bundle.class_names == SEGMENT_CLASSES
    assert (len(bundle.x_train), len(bundle.x_val)) == (40, 10)
    assert bundle.sample_shape == (1, 32, 32) and bundle.target_shape == (32, 32)
    assert bundle.y_train.dtype == torch.int64 and bundle.target_mean is None
    assert bundle.mean.shape == (1, 1, 1)                  # images: per channel
    raw = make_builtin("segments", 50, seed=1)
    # The split keeps each image with its own mask: the same pairs, in some order.
    pairs = {(raw.x[i] * 1e4).round().int().sum().item(): int(raw.y[i].sum()) for i in range(50)}
    restored = bundle.x_val * bundle.std + bundle.mean
    for image, mask in zip(restored, bundle.y_val):
        assert pairs[(image * 1e4).round().int().sum().item()] == int(mask.sum())


def test_resizing_or_padding_to_the_input_takes_the_masks_along():
    bundle = load_dataset({"name": "segments", "samples": 20}, seed=0)
    big = fit_to_input(bundle, (1, 64, 64), "float32", "resize")
    assert big.x_train.shape == (16, 1, 64, 64) and big.y_train.shape == (16, 64, 64)
    assert big.y_train.dtype == torch.int64
    assert torch.equal(big.y_train[:, ::2, ::2], bundle.y_train)   # nearest: each pixel 2×2
    padded = fit_to_input(bundle, (1, 40, 40), "float32", "pad")
    assert padded.y_val.shape == (4, 40, 40)
    assert torch.equal(padded.y_val[:, 4:36, 4:36], bundle.y_val)
    assert int(padded.y_val[:, :4].abs().sum()) == 0              # the border is background
    with pytest.raises(DataError, match=r"expects 1×64×64 but segments samples are 1×32×32"):
        fit_to_input(bundle, (1, 64, 64), "float32", False)


def test_masks_that_do_not_match_their_images_are_refused():
    raw = make_builtin("segments", 10, seed=0)
    raw.y = raw.y[:, :16]
    with pytest.raises(DataError, match=r"masks must be N×H×W like the images' spatial axes "
                                        r"\(32×32\), got N×16×32"):
        _check_raw(raw, "mine")
    raw = make_builtin("segments", 10, seed=0)
    raw.y[0, 0, 0] = 9
    with pytest.raises(DataError, match="class id 9 but only 3 class names"):
        _check_raw(raw, "mine")


# --- the metrics on hand-made tensors ------------------------------------------------------
def test_a_perfect_prediction_has_iou_one_and_absent_classes_do_not_count():
    target = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [3, 3, 3, 3], [0, 0, 0, 0]]])
    cm = pixel_confusion(target, target, 4)
    ious = iou_per_class(cm)
    assert ious[[0, 1, 3]].tolist() == [1.0, 1.0, 1.0] and math.isnan(ious[2])
    assert mean_iou(cm) == 1.0 and pixel_accuracy(cm) == 1.0
    assert int(cm.sum()) == 16 and cm.diag().tolist() == [8, 4, 0, 4]


def test_iou_of_a_known_partial_overlap():
    # Class 1 is the left half; the prediction says the top half. Each class: intersection
    # 4 pixels (one quadrant), union 12: IoU 1/3; half the pixels right.
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[:, :, :2] = 1
    pred = torch.zeros(1, 4, 4, dtype=torch.long)
    pred[:, :2, :] = 1
    cm = pixel_confusion(pred, target, 3)
    assert cm.tolist() == [[4, 4, 0], [4, 4, 0], [0, 0, 0]]
    assert iou_per_class(cm)[:2].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert mean_iou(cm) == pytest.approx(1 / 3) and pixel_accuracy(cm) == 0.5


def test_a_class_only_predicted_counts_as_iou_zero():
    target = torch.zeros(1, 2, 2, dtype=torch.long)
    pred = torch.tensor([[[0, 0], [0, 2]]])
    ious = iou_per_class(pixel_confusion(pred, target, 3))
    assert ious[0].item() == 0.75 and ious[2].item() == 0.0 and math.isnan(ious[1])
    assert mean_iou(pixel_confusion(pred, target, 3)) == pytest.approx(0.375)


def _bundle(n: int = 6, k: int = 3, size: int = 4) -> DataBundle:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, size, size, generator=g)
    y = torch.randint(0, k, (n, size, size), generator=g)
    return DataBundle("hand", "segmentation", x[:4], y[:4], x[4:], y[4:],
                      class_names=[f"c{i}" for i in range(k)])


def _recipe(model: torch.nn.Module, data: DataBundle, **training) -> Segmentation:
    cfg = parse_config({"recipe": "segmentation", **training})
    recipe = Segmentation(cfg, model, data)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    recipe.steppers["model"] = Stepper(opt, torch.device("cpu"))
    return recipe


class _Fixed(torch.nn.Module):
    """Returns scores[i] for the sample inputs[i] (one weight, so it has parameters)."""

    def __init__(self, scores: torch.Tensor, inputs: torch.Tensor) -> None:
        super().__init__()
        self.scores, self.keys = scores, inputs.reshape(len(inputs), -1)
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        rows = [int((self.keys == s).all(1).nonzero()) for s in x.reshape(len(x), -1)]
        return self.scores[rows] + self.w


def test_loss_is_per_pixel_cross_entropy_and_validation_sums_whole_batches():
    data = _bundle()
    both = torch.cat([data.x_train, data.x_val])
    recipe = _recipe(_Fixed(torch.zeros(6, 3, 4, 4), both), data)
    metrics = recipe.train_step(data.x_train, data.y_train, "step 1")
    assert metrics["loss"] == pytest.approx(math.log(3))    # equal scores: log K per pixel
    # Scores that are right everywhere but one pixel, by a margin of 10.
    right = torch.nn.functional.one_hot(data.y_val, 3).permute(0, 3, 1, 2).float() * 10
    right[0, :, 0, 0] = torch.tensor([0.0, 0.0, 0.0])
    right[0, (int(data.y_val[0, 0, 0]) + 1) % 3, 0, 0] = 10.0
    recipe = _recipe(_Fixed(right, data.x_val), data)
    recipe.eval_batch(data.x_val[:1], data.y_val[:1])
    recipe.eval_batch(data.x_val[1:], data.y_val[1:])
    summary = recipe.eval_summary()
    expected = torch.nn.functional.cross_entropy(right, data.y_val).item()
    assert summary["val_loss"] == pytest.approx(expected, rel=1e-5)
    assert summary["val_pixel_accuracy"] == pytest.approx(31 / 32)
    cm = torch.tensor(summary["confusion"])
    assert int(cm.sum()) == 32 and int(cm.diag().sum()) == 31
    assert summary["val_iou"] == pytest.approx(mean_iou(cm))
    assert set(summary["per_class_iou"]) == {"c0", "c1", "c2"}
    assert 0.8 < min(summary["per_class_iou"].values()) < 1.0
    assert recipe.eval_summary()["confusion"] == [[0] * 3] * 3   # reset after each summary


# --- messages when the graph or the settings do not fit ----------------------------------
@pytest.mark.parametrize("model, message", [
    (torch.nn.Conv2d(1, 5, 1), r"outputs 5 score channels but dataset 'hand' has 3 \(c0, c1, "
                               r"c2\) classes: set the last Conv2d's out_channels to 3"),
    (torch.nn.Conv2d(1, 3, 3), r"score maps are 2×2 but the masks are 4×4: every pooling or "
                               r"stride-2 step needs an upsampling back"),
    (torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)),
     r"needs N×classes×4×4 scores .* outputs N×3: keep the feature maps \(no Flatten or "
     r"Linear\) and end with a 1×1 Conv2d with out_channels 3"),
])
def test_an_output_that_does_not_fit_says_how_to_fix_it(model, message):
    with pytest.raises(RecipeError, match=message):
        _recipe(model, _bundle())


@pytest.mark.parametrize("training, message", [
    ({"loss": "mse"}, r"loss 'mse' does not fit segmentation .* use cross_entropy"),
    ({"augment": {"flip": True, "shift": 2}}, r"augment flip and shift would move the images "
                                              r"but not their masks"),
])
def test_settings_that_do_not_fit_segmentation_are_refused(training, message):
    with pytest.raises(RecipeError, match=message):
        _recipe(torch.nn.Conv2d(1, 3, 1), _bundle(), **training)


def test_data_and_recipe_that_do_not_match_name_the_other():
    cfg = parse_config({"recipe": "classification"})
    with pytest.raises(RecipeError, match="holds a mask .* choose recipe segmentation"):
        Supervised(cfg, torch.nn.Conv2d(1, 3, 1), _bundle())
    digits = load_dataset("digits")
    with pytest.raises(RecipeError, match=r"dataset 'digits' is a classification set: choose "
                                          r"dataset segments"):
        _recipe(torch.nn.Conv2d(1, 10, 1), digits)


# --- the U-Net learning -------------------------------------------------------------------
@pytest.fixture(scope="module")
def unet_run(tmp_path_factory):
    """Two epochs of the U-Net template on 480 images (seed 0), with every event it sent."""
    doc = load_file(find_template("unet"))
    cfg = parse_config(doc.training, {"epochs": 2, "threads": 1,
                                      "dataset": {"name": "segments", "samples": 600}})
    events: list[dict] = []
    result = Trainer(doc, cfg, runs_dir=tmp_path_factory.mktemp("runs"),
                     emit=events.append).fit()
    assert result.status == "finished", result.error
    return doc, result, events


def test_the_unet_learns_beyond_all_background(unet_run):
    # Predicting background everywhere scores IoU 0.88 on it and 0 on filled and outline: a
    # mean of 0.29. Two epochs on 480 images, seeds 0-4: val_iou 0.48-0.77 after the first,
    # 0.84-0.95 after the second (each seed higher); asserted: above 0.7 and rising.
    _, result, events = unet_run
    ious = [e["val_iou"] for e in result.history]
    assert ious[-1] > 0.7 and ious[-1] > ious[0], ious
    epoch = [e for e in events if e["kind"] == "epoch"][-1]
    assert epoch["per_class_iou"]["background"] > 0.9
    assert np.asarray(epoch["confusion"]).sum() == 120 * 32 * 32      # every val pixel
    assert 0.9 < epoch["val_pixel_accuracy"] <= 1.0
    assert (result.run_dir / "checkpoints" / "best").exists()
    lines = (result.run_dir / "metrics.jsonl").read_text().splitlines()
    logged = [json.loads(line) for line in lines if '"kind": "epoch"' in line]
    assert [r["val_iou"] for r in logged] == pytest.approx(ious)
    assert set(logged[-1]["per_class_iou"]) == set(SEGMENT_CLASSES)


def test_the_run_views_take_the_segmentation_events(unet_run, qtbot, tmp_path):
    from gui.insights.tabs import InsightTabs
    from gui.session import EditorSession

    doc, result, events = unet_run
    tabs = InsightTabs(EditorSession(doc), tmp_path, lambda: doc.name)
    qtbot.addWidget(tabs)
    for ev in events:
        tabs.handle_event(ev)
    tabs.flush()
    last = [e for e in events if e["kind"] == "epoch"][-1]
    # The confusion view draws the pixel confusion matrix, one row per class.
    assert tabs.confusion.matrix().tolist() == last["confusion"]
    assert tabs.confusion.shown_epoch() == 2


def test_main_py_train_runs_the_unet_file(tmp_path, capsys):
    data = json.loads(find_template("unet").read_text())
    data["training"].update({"epochs": 1, "threads": 1,
                             "dataset": {"name": "segments", "samples": 200}})
    path = tmp_path / "unet.json"
    path.write_text(json.dumps(data))
    code = entry.main(["train", str(path), "--out", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[-2].startswith("done: 1 epoch(s); best val_loss") and "val_iou" in lines[-2]
    iou = float(lines[-2].split("val_iou ")[1].split(",")[0])
    assert 0.0 < iou <= 1.0
    assert (tmp_path / "runs" / lines[-1].rsplit("/", 1)[-1] / "checkpoints" / "best").exists()
