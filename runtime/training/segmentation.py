"""The segmentation recipe: a class for every pixel.

The model outputs N×C×H×W scores (one channel per class), the data holds N×H×W class ids.
Loss: per-pixel cross-entropy. Metrics: pixel accuracy and intersection over union (IoU)
per class, from a pixel confusion matrix summed over the whole validation split:
IoU_c = |pred c ∩ true c| / |pred c ∪ true c|; the mean is over the classes present (a class
neither in the masks nor in the predictions has no IoU and does not count).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from runtime.data.bundle import DataBundle
from runtime.training.config import TrainConfig
from runtime.training.loss_terms import OutputRoles
from runtime.training.observe import eval_mode
from runtime.training.recipes import RecipeError, confusion_counts
from runtime.training.stepper import Stepper


# k×k pixel counts: the classification recipe's confusion, counted over every pixel.
pixel_confusion = confusion_counts


def iou_per_class(confusion: torch.Tensor) -> torch.Tensor:
    """IoU of each class from a confusion matrix; NaN for a class with an empty union."""
    cm = confusion.double()
    intersection = cm.diag()
    union = cm.sum(0) + cm.sum(1) - intersection
    return torch.where(union > 0, intersection / union.clamp_min(1), torch.nan)


def mean_iou(confusion: torch.Tensor) -> float:
    """The mean IoU over the classes present (NaN when there are no pixels at all)."""
    return float(torch.nanmean(iou_per_class(confusion)))


def pixel_accuracy(confusion: torch.Tensor) -> float:
    total = int(confusion.sum())
    return float(confusion.diag().sum()) / total if total else float("nan")


class Segmentation:
    """Per-pixel classification: N×C×H×W scores against N×H×W masks."""

    monitor = "val_loss"
    kind = "segmentation"

    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, data: DataBundle,
                 roles: OutputRoles | None = None) -> None:
        self.cfg, self.model, self.data = cfg, model, data
        self.roles = roles or OutputRoles()   # which Output predicts; loss-term Outputs
        if data.task != "segmentation":
            raise RecipeError(f"the segmentation recipe needs a mask (a class id per pixel) for "
                              f"every sample, but dataset {data.name!r} is a {data.task} set: "
                              "choose dataset segments, or the recipe that fits the data")
        if cfg.loss not in ("cross_entropy", "nll"):
            raise RecipeError(f"loss {cfg.loss!r} does not fit segmentation (a class per "
                              "pixel); use cross_entropy")
        moving = [k for k in ("flip", "shift") if cfg.augment.get(k)]
        if moving:
            raise RecipeError(f"training.augment {' and '.join(moving)} would move the images "
                              "but not their masks; remove it (noise is fine)")
        self.steppers: dict[str, Stepper] = {}
        self._reset()
        sample = data.x_val[:1] if len(data.x_val) else data.x_train[:1]
        if len(sample):
            self.check_output(self._forward_one(sample), data.target_shape)

    def models(self) -> dict[str, torch.nn.Module]:
        return {"model": self.model}

    @torch.no_grad()
    def _forward_one(self, x: torch.Tensor) -> torch.Tensor:
        """One sample through the model before training, in eval mode: BatchNorm's running
        statistics and the weights stay as they are."""
        device = next(iter(self.model.parameters()), x).device
        with eval_mode(self.model):
            return self.roles.split(self.model(x.to(device)))[0]

    def check_output(self, scores: torch.Tensor, mask_shape: tuple[int, ...]) -> None:
        """Say how to fix a model whose scores cannot be read as N×classes×(mask shape)."""
        k, names = self.data.num_classes, self.data.class_names
        classes = f"{k} ({', '.join(names[:8])}{', …' if len(names) > 8 else ''})"
        spatial = "×".join(map(str, mask_shape))
        if scores.dim() != len(mask_shape) + 2:
            raise RecipeError(f"segmentation needs N×classes×{spatial} scores (a channel per "
                              f"class, a score per pixel), but the model outputs "
                              f"N×{_dims(scores)}: keep the feature maps (no Flatten or "
                              f"Linear) and end with a 1×1 Conv2d with out_channels {k}")
        if scores.shape[1] != k:
            raise RecipeError(f"the model outputs {scores.shape[1]} score channels but dataset "
                              f"{self.data.name!r} has {classes} classes: set the last "
                              f"Conv2d's out_channels to {k}")
        if tuple(scores.shape[2:]) != tuple(mask_shape):
            got = "×".join(map(str, scores.shape[2:]))
            raise RecipeError(f"the model's score maps are {got} but the masks are {spatial}: "
                              "every pooling or stride-2 step needs an upsampling back (e.g. "
                              "ConvTranspose2d with kernel 2, stride 2), and 3×3 convolutions "
                              "need padding 1 to keep the size")

    # --- training ------------------------------------------------------------------------
    def _loss(self, scores: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_output(scores, tuple(y.shape[1:]))
        scores = scores.float()
        loss = F.nll_loss(scores, y) if self.cfg.loss == "nll" else F.cross_entropy(scores, y)
        return loss, scores

    def train_step(self, x: torch.Tensor, y: torch.Tensor, where: str) -> dict[str, Any]:
        stepper = self.steppers["model"]
        with stepper.autocast():
            out, terms = self.roles.split(self.model(x))
            loss, scores = self._loss(out, y)
            loss, parts = self.roles.add_terms(loss, terms)
        norm = stepper.step(loss, where)
        cm = pixel_confusion(scores.detach().argmax(1), y, self.data.num_classes)
        metrics: dict[str, Any] = {"loss": stepper.last_loss, **parts,
                                   "pixel_accuracy": pixel_accuracy(cm), "iou": mean_iou(cm)}
        if norm is not None:
            metrics["grad_norm"] = norm
        return metrics

    # --- validation ----------------------------------------------------------------------
    def _reset(self) -> None:
        self._sum_loss, self._count = 0.0, 0
        k = max(self.data.num_classes, 1)
        self._confusion = torch.zeros(k, k, dtype=torch.long)

    @torch.no_grad()
    def eval_batch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        with self.steppers["model"].autocast():
            out, terms = self.roles.split(self.model(x))
            loss, scores = self._loss(out, y)
            loss, _ = self.roles.add_terms(loss, terms)   # val_loss: the total, as trained
        self._sum_loss += float(loss) * len(y)
        self._count += len(y)
        self._confusion += pixel_confusion(scores.argmax(1), y, self.data.num_classes)

    def eval_summary(self) -> dict[str, Any]:
        cm = self._confusion
        ious = iou_per_class(cm).tolist()
        result: dict[str, Any] = {
            "val_loss": self._sum_loss / max(self._count, 1),
            "val_pixel_accuracy": pixel_accuracy(cm),
            "val_iou": mean_iou(cm),
            # None, not NaN, for a class with no pixels: the events and metrics are JSON.
            "per_class_iou": {name: (None if iou != iou else iou)
                              for name, iou in zip(self.data.class_names, ious)},
            "confusion": cm.tolist(),   # pixel counts: the confusion view draws them
        }
        self._reset()
        return result


def _dims(t: torch.Tensor) -> str:
    return "×".join(str(d) for d in t.shape[1:]) or "(scalar)"
