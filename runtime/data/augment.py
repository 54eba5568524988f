"""Batch augmentation for images (N×C×H×W) and volumes (N×C×D×H×W), on any device.

Vectorised: one random draw per batch, no per-sample Python. Random numbers come from the
given torch.Generator (on its own device) and are moved to the batch's device, so the
result depends only on the generator's state, not on where the batch lives.
Applied after normalisation, so `noise` is in standardised units.
"""
from __future__ import annotations

from typing import Any

import torch

from runtime.data.bundle import DataError

AUGMENT_OPTIONS = {
    "flip": "mirror left-right with probability 0.5 (true), or the given probability",
    "shift": "translate each sample by up to this many pixels in every spatial axis, zero fill",
    "noise": "add gaussian noise with this standard deviation",
}


def check_options(options: dict[str, Any] | None) -> dict[str, float]:
    """Validated options as numbers: flip probability, shift pixels, noise std (0 = off)."""
    options = dict(options or {})
    unknown = set(options) - set(AUGMENT_OPTIONS)
    if unknown:
        raise DataError(f"unknown augment option(s) {sorted(unknown)}; options: "
                        f"{', '.join(AUGMENT_OPTIONS)}")
    flip = options.get("flip", False)
    flip = 0.5 if flip is True else (0.0 if flip in (False, None) else flip)
    if not isinstance(flip, (int, float)) or not 0.0 <= flip <= 1.0:
        raise DataError(f"augment.flip must be true, false or a probability, got {flip!r}")
    shift = options.get("shift", 0) or 0
    if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
        raise DataError(f"augment.shift must be a whole number of pixels ≥ 0, got {shift!r}")
    noise = options.get("noise", 0.0) or 0.0
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise DataError(f"augment.noise must be a standard deviation ≥ 0, got {noise!r}")
    return {"flip": float(flip), "shift": int(shift), "noise": float(noise)}


def is_image_batch(x: torch.Tensor) -> bool:
    return x.is_floating_point() and x.dim() in (4, 5)


def augment_batch(x: torch.Tensor, options: dict[str, Any] | None,
                  generator: torch.Generator) -> torch.Tensor:
    """A new augmented batch (x itself is not changed). No-op for non-image data (points,
    sequences, token ids) or empty options."""
    opts = check_options(options)
    if not is_image_batch(x) or not (opts["flip"] or opts["shift"] or opts["noise"]):
        return x
    n = x.shape[0]
    gdev = generator.device

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=gdev).to(x.device)

    if opts["flip"]:
        mask = (rand(n) < opts["flip"]).view(n, *([1] * (x.dim() - 1)))
        x = torch.where(mask, x.flip(-1), x)
    if opts["shift"]:
        x = _shift(x, opts["shift"], generator)
    if opts["noise"]:
        noise = torch.randn(x.shape, generator=generator, device=gdev, dtype=torch.float32)
        x = x + noise.to(device=x.device, dtype=x.dtype) * opts["noise"]
    return x


def _shift(x: torch.Tensor, limit: int, generator: torch.Generator) -> torch.Tensor:
    """Translate every sample by its own integer offset in [-limit, limit] per spatial axis;
    what comes in from outside is zero."""
    n, spatial = x.shape[0], x.dim() - 2
    offsets = torch.randint(-limit, limit + 1, (n, spatial), generator=generator,
                            device=generator.device).to(x.device)
    for k in range(spatial):
        axis = 2 + k
        size = x.shape[axis]
        src = torch.arange(size, device=x.device).view(1, size) - offsets[:, k:k + 1]   # N×S
        valid = (src >= 0) & (src < size)
        view = [n] + [1] * (x.dim() - 1)
        view[axis] = size
        index = src.clamp(0, size - 1).view(view).expand_as(x)
        x = x.gather(axis, index) * valid.view(view).to(x.dtype)
    return x
