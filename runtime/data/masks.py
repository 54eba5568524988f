"""Segmentation masks follow their images when fit_to_input resizes or pads them.

A mask holds one class id per pixel (N×H×W or N×D×H×W int64), so it is resized by nearest
pixel (interpolating ids would invent classes) and padded with 0, the background.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def fit_masks(y: torch.Tensor, x: torch.Tensor, mode: str) -> torch.Tensor:
    """Masks `y` sized like the spatial axes of the fitted images `x`; `mode` is "resize" or
    "pad", as the images were. Unchanged when the sizes already agree or when `x` has no
    spatial axes left (a flat Input: the recipe then says the output does not fit)."""
    axes = y.dim() - 1
    if x.dim() - 1 < axes:
        return y
    want, have = tuple(x.shape[-axes:]), tuple(y.shape[1:])
    if want == have:
        return y
    if mode == "pad":
        pads: list[int] = []
        for w, h in reversed(list(zip(want, have))):
            before = (w - h) // 2
            pads += [before, w - h - before]
        return F.pad(y, pads, value=0)
    out = torch.empty((len(y), *want), dtype=y.dtype, device=y.device)
    for start in range(0, len(y), 4096):
        chunk = y[start:start + 4096, None].float()   # ids < 2^24 are exact in float32
        out[start:start + 4096] = F.interpolate(chunk, size=want, mode="nearest-exact")[:, 0] \
            .round().to(y.dtype)
    return out
