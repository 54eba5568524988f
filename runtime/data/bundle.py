"""What every dataset becomes: in-memory tensors, split into train and validation.

Our data sets are small (the largest built-in is a few MB), so they live as tensors and
batches are cut by indexing: no DataLoader worker processes, no per-sample Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


class DataError(Exception):
    """A dataset cannot be used: the message names the file (and row, column or entry)."""


@dataclass
class DataBundle:
    name: str
    # "classification": y holds int64 class ids; "regression": y holds float targets;
    # "unlabelled": y is a placeholder (autoencoder and GAN use only x); "segmentation": y
    # holds an int64 class id per pixel (N×H×W), class_names[0] usually "background".
    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    class_names: list[str] = field(default_factory=list)
    # Per-feature statistics of the training split, used to normalise (and saved with runs).
    # Shaped to broadcast against one sample: C×1×1 (images, per channel), C×1×1×1 (volumes),
    # F (vectors, and sequences T×F: per feature). None when not normalised (token ids).
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    description: str = ""
    # Regression targets are standardised too (y = (raw - target_mean) / target_std), shaped
    # like mean/std; None for classification or when not normalised. Raw = y * std + mean.
    target_mean: torch.Tensor | None = None
    target_std: torch.Tensor | None = None
    # True once standardised (load_dataset does it unless dataset.normalize is false).
    normalized: bool = False

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        return tuple(self.y_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def dtype(self) -> str:
        return str(self.x_train.dtype).removeprefix("torch.")

    def denormalize_targets(self, y: torch.Tensor) -> torch.Tensor:
        """Regression outputs or targets back in the data's own units."""
        if self.target_mean is None or self.target_std is None:
            return y
        return y * self.target_std.to(y.device, y.dtype) + self.target_mean.to(y.device, y.dtype)

    def __len__(self) -> int:
        return len(self.x_train) + len(self.x_val)
