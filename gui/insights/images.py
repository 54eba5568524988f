"""numpy → QImage helpers for the insight views and the canvas hover thumbnails.

No torch here: runs hand the editor plain numpy arrays. Colour maps are 256-entry lookup
tables interpolated from a few anchor colours, so matplotlib is not needed. Every image is
a deep copy, so it outlives the numpy buffer it was made from.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

# Anchor colours sampled evenly from the well-known maps; 256 entries are interpolated.
_ANCHORS = {
    "viridis": ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
                "#6ece58", "#b5de2b", "#fde725"],
    "magma": ["#000004", "#180f3e", "#451077", "#721f81", "#9f2f7f", "#cd4071", "#f1605d",
              "#fd9567", "#fec98d", "#fcfdbf"],
    "gray": ["#000000", "#ffffff"],
    "coolwarm": ["#3b4cc0", "#6282ea", "#8db0fe", "#b8d0f9", "#dddddd", "#f5c4ad", "#f49a7b",
                 "#de604d", "#b40426"],
}
COLORMAPS = tuple(_ANCHORS)
DIVERGING = {"coolwarm"}          # centred on 0: the sign of a value is its colour
NAN_COLOR = (255, 0, 255)         # magenta: no colour map uses it, so NaN/Inf stand out
BACKGROUND = (110, 110, 110)      # grid separators and padding: neutral on light and dark
STRIP_WIDTH = 64                  # long vectors wrap into rows of this many values
THUMB_CHANNELS = 16
MIN_STRIP_PX = 8                  # a thumbnail of a vector is never a 1-px line


def _lut(anchors: list[str]) -> np.ndarray:
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in anchors], dtype=float)
    at = np.linspace(0.0, 1.0, len(rgb))
    x = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(x, at, rgb[:, k]) for k in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


_LUTS = {name: _lut(anchors) for name, anchors in _ANCHORS.items()}


def colormap_lut(name: str) -> np.ndarray:
    """The 256×3 uint8 table of a colour map (unknown names fall back to viridis)."""
    return _LUTS.get(name, _LUTS["viridis"])


def _limits(values: np.ndarray, vmin, vmax, diverging: bool) -> tuple[float, float]:
    """The value range to colour: the given bounds, else the finite data's (a diverging
    map gets ±max|value| so 0 is its centre colour)."""
    finite = values[np.isfinite(values)]
    data_lo, data_hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    lo = data_lo if vmin is None else float(vmin)
    hi = data_hi if vmax is None else float(vmax)
    if diverging and vmin is None and vmax is None:
        bound = max(abs(lo), abs(hi))
        lo, hi = -bound, bound
    return lo, hi


def _indices(values: np.ndarray, lo: float, hi: float, diverging: bool) -> np.ndarray:
    """Map values to 0..255. A flat range (constant input) gives one colour, never NaN:
    the low end for sequential maps, the centre for diverging ones."""
    if not hi > lo:
        flat = 128 if diverging else 0
        return np.full(values.shape, flat, dtype=np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = (values - lo) * (255.0 / (hi - lo))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def colorize(array2d, colormap: str = "viridis", vmin=None, vmax=None) -> np.ndarray:
    """H×W values → H×W×3 uint8 through the colour map; NaN/Inf get NAN_COLOR."""
    values = np.atleast_2d(np.asarray(array2d, dtype=np.float64))
    diverging = colormap in DIVERGING
    lo, hi = _limits(values, vmin, vmax, diverging)
    rgb = colormap_lut(colormap)[_indices(values, lo, hi, diverging)]
    rgb[~np.isfinite(values)] = NAN_COLOR
    return rgb


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """H×W×3 uint8 → a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    if h == 0 or w == 0:
        return blank_qimage(1, 1)
    return QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format_RGB888).copy()


def blank_qimage(width: int, height: int) -> QImage:
    """An empty array still gets an image (background), so callers need no special case."""
    image = QImage(max(1, width), max(1, height), QImage.Format_RGB888)
    image.fill(QColor(*BACKGROUND))
    return image


def to_qimage(array2d, colormap: str = "viridis", vmin=None, vmax=None) -> QImage:
    """A 2-D array as a heat map (1-D input is one row)."""
    return rgb_to_qimage(colorize(array2d, colormap, vmin, vmax))


def sample_qimage(array, colormap: str = "viridis", image_2d: bool = False) -> QImage:
    """A dataset sample as the model sees it: C×H×W with 1 channel → gray, 3 → RGB (the
    three channels share one min/max so colours keep their balance), other channel
    counts → a gray channel grid; 1-D → a heat strip; 2-D → a T×F heat map (runs send
    images with their channel axis, so 2-D means a sequence), or gray if image_2d."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim == 1:
        return to_qimage(a[None, :], colormap)
    if a.ndim == 2:
        return to_qimage(a, "gray" if image_2d else colormap)
    a = a.reshape(-1, *a.shape[-2:]) if a.ndim > 3 else a
    if a.shape[0] == 1:
        return to_qimage(a[0], "gray")
    if a.shape[0] == 3:
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        channels = [_indices(c, lo, hi, False) for c in a]
        rgb = np.stack(channels, axis=-1)
        rgb[~np.isfinite(a).all(axis=0)] = NAN_COLOR
        return rgb_to_qimage(rgb)
    return channel_grid(a, cap=a.shape[0], colormap="gray")[0]


def _grid_shape(n: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def channel_grid(array, cap: int = 16, colormap: str = "viridis",
                 per_channel: bool = True) -> tuple[QImage, int]:
    """The first `cap` channels of C×H×W tiled near-square with 1-px separators. Each tile
    is scaled on its own (per_channel) so weak channels stay visible, or all share one
    range so their strengths compare. Returns the image and how many channels it shows."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    elif a.ndim != 3:
        a = a.reshape(-1, *a.shape[-2:]) if a.ndim > 3 else np.atleast_2d(a)[None]
    n = max(0, min(int(cap), a.shape[0]))
    if n == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        return blank_qimage(1, 1), 0
    shown = a[:n]
    rows, cols = _grid_shape(n)
    h, w = shown.shape[1:]
    out = np.empty((rows * (h + 1) - 1, cols * (w + 1) - 1, 3), dtype=np.uint8)
    out[:] = BACKGROUND
    shared = None if per_channel else _limits(shown, None, None, colormap in DIVERGING)
    for i, channel in enumerate(shown):
        r, c = divmod(i, cols)
        lo, hi = shared if shared else (None, None)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = \
            colorize(channel, colormap, lo, hi)
    return rgb_to_qimage(out), n


def vector_strip(array1d, colormap: str = "viridis", width: int = STRIP_WIDTH) -> QImage:
    """A vector as a heat strip, wrapped into rows of `width` values; the unused end of
    the last row is background (not a value)."""
    v = np.asarray(array1d, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return blank_qimage(1, 1)
    cols = min(v.size, max(1, width))
    rows = math.ceil(v.size / cols)
    padded = np.full(rows * cols, np.nan)
    padded[:v.size] = v
    lo, hi = _limits(v, None, None, colormap in DIVERGING)
    rgb = colorize(padded.reshape(rows, cols), colormap, lo, hi).reshape(-1, 3)
    rgb[v.size:] = BACKGROUND
    return rgb_to_qimage(rgb.reshape(rows, cols, 3))


def thumbnail(array, size: int = 96, colormap: str = "viridis") -> QImage:
    """A node output's hover preview, fitted into size×size keeping its aspect (nearest
    neighbour, so small maps stay crisp): C×H×W → grid of up to 16 channels, 1-D →
    strip, 2-D (T×F) → heat map."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim <= 1:
        image = vector_strip(a.reshape(-1), colormap)
    elif a.ndim == 2:
        image = to_qimage(a, colormap)
    else:
        image = channel_grid(a, THUMB_CHANNELS, colormap)[0]
    fitted = image.scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)
    if fitted.height() < MIN_STRIP_PX or fitted.width() < MIN_STRIP_PX:
        fitted = image.scaled(max(fitted.width(), MIN_STRIP_PX),
                              max(fitted.height(), MIN_STRIP_PX),
                              Qt.IgnoreAspectRatio, Qt.FastTransformation)
    return fitted
