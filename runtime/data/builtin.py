"""Built-in datasets: small, offline, learnable in seconds on a laptop CPU.

Every generator is a pure function of (samples, seed): numpy draws from
`np.random.default_rng(seed)`, so the same seed gives the same arrays, byte for byte.
Each returns a `RawData` (unsplit, unnormalised); `prepare.load_dataset` splits and
standardises it into a `DataBundle`.

Layouts (one sample, without the batch axis):
  images C×H×W, volumes C×D×H×W, points F, sequences T×F (batch first), tokens T (int64).
Targets: a class id per sample (int64), floats (regression), or an H×W int64 mask per
image (segmentation: a class id per pixel).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from runtime.data.bundle import DataError


@dataclass
class RawData:
    """One dataset before splitting and normalising. x_val/y_val: a split the source defines."""
    x: torch.Tensor
    y: torch.Tensor
    task: str
    class_names: list[str] = field(default_factory=list)
    description: str = ""
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None


@dataclass(frozen=True)
class _Builtin:
    make: Callable[[int, np.random.Generator], RawData]
    default_samples: int | None     # None: a fixed dataset (digits)
    description: str


def _f32(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _i64(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """n labels, as equal per class as n allows, in random order."""
    return rng.permutation(np.arange(n) % k)


# --- digits ------------------------------------------------------------------------------
def _digits_table() -> np.ndarray:
    """scikit-learn's bundled digits.csv.gz (1797 rows: 64 pixels 0..16, then the label).
    Read straight from the installed package (importing sklearn costs ~1 s); falls back to
    sklearn.datasets.load_digits if the file moved. Never downloads."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            if table.shape == (1797, 65):
                return table
    from sklearn.datasets import load_digits

    data = load_digits()
    return np.concatenate([data.data, data.target[:, None]], axis=1)


def _digits(n: int | None, rng: np.random.Generator) -> RawData:
    table = _digits_table()
    x = table[:, :64].reshape(-1, 8, 8).astype(np.float32) / 16.0   # 0..16 → [0, 1]
    y = table[:, 64].astype(np.int64)
    if n is not None and n < len(x):
        keep = np.sort(rng.permutation(len(x))[:n])
        x, y = x[keep], y[keep]
    return RawData(_f32(x[:, None]), _i64(y), "classification", [str(i) for i in range(10)],
                   "8×8 grey handwritten digits (scikit-learn's copy of the UCI set)")


# --- shapes ------------------------------------------------------------------------------
SHAPE_CLASSES = ["circle", "ring", "square", "triangle", "cross", "star"]


def _draw_shapes(n: int, rng: np.random.Generator, size: int,
                 kinds: tuple[str, ...] = tuple(SHAPE_CLASSES)):
    """(labels N: indices into `kinds`, signed distance N×H×W: ≤ 0 inside the shape,
    images N×1×H×W in [0, 1])."""
    y = _balanced_labels(n, len(kinds), rng)
    cx = rng.uniform(size * 0.36, size * 0.64, n)[:, None, None]
    cy = rng.uniform(size * 0.36, size * 0.64, n)[:, None, None]
    radius = rng.uniform(size * 0.18, size * 0.32, n)[:, None, None]
    angle = rng.uniform(0, 2 * np.pi, n)[:, None, None]
    thick = rng.uniform(1.3, 3.2, n)[:, None, None]
    grid = np.arange(size, dtype=np.float32) + 0.5
    dx = grid[None, None, :] - cx                           # N×1×W
    dy = grid[None, :, None] - cy                           # N×H×1
    c, s = np.cos(angle), np.sin(angle)
    u = dx * c + dy * s                                     # rotated frame, N×H×W
    v = -dx * s + dy * c
    r = np.sqrt(u * u + v * v)
    phi = np.arctan2(v, u)

    # Signed distance-like value per class: ≤ 0 inside the stroke or the filled area.
    dist = np.empty_like(r)
    for k, name in enumerate(kinds):
        m = y == k
        if not m.any():
            continue
        rr, tt = radius[m], thick[m]
        if name == "circle":
            d = r[m] - rr
        elif name == "ring":
            d = np.abs(r[m] - rr) - tt / 2
        elif name == "square":
            d = np.abs(np.maximum(np.abs(u[m]), np.abs(v[m])) - rr * 0.8) - tt / 2
        elif name == "triangle":
            tri = np.max([u[m] * np.cos(2 * np.pi * j / 3) + v[m] * np.sin(2 * np.pi * j / 3)
                          for j in range(3)], axis=0)
            d = np.abs(tri - rr * 0.5) - tt / 2
        elif name == "cross":
            au, av = np.abs(u[m]), np.abs(v[m])
            d = np.maximum(np.minimum(au, av) - tt / 2 - 0.3, np.maximum(au, av) - rr)
        else:  # star: five points, filled
            d = r[m] - rr * (0.62 + 0.38 * np.cos(5 * phi[m]))
        dist[m] = d
    ink = np.clip(0.5 - dist, 0.0, 1.0)                     # one pixel of antialiasing
    ink *= rng.uniform(0.65, 1.0, n)[:, None, None]
    noise_std = rng.uniform(0.02, 0.1, n)[:, None, None]
    ink += rng.normal(0.0, 1.0, ink.shape).astype(np.float32) * noise_std
    return y, dist, np.clip(ink, 0.0, 1.0)[:, None]


def _shapes(n: int, rng: np.random.Generator, size: int = 28) -> RawData:
    y, _, x = _draw_shapes(n, rng, size)
    return RawData(_f32(x), _i64(y), "classification", list(SHAPE_CLASSES),
                   f"{size}×{size} grey drawings of {', '.join(SHAPE_CLASSES)} with random "
                   "position, size, rotation, stroke width and noise")


# What each drawing's pixels are labelled: a filled shape or an outline (a stroke). Telling
# the two apart needs context (a stroke has background a pixel or two away on both sides;
# a filled shape's edge has ink on its inner side), and so does every edge's exact place.
# The cross is left out: its thin arms are neither. Measured: labelling the five shapes by
# name made a CPU-sized U-Net miss IoU 0.8 after a minute on some seeds (the outline shapes
# stayed background until the net could tell them apart).
SEGMENT_SHAPES = {"circle": 1, "ring": 2, "square": 2, "triangle": 2, "star": 1}
SEGMENT_CLASSES = ["background", "filled", "outline"]


def _segments(n: int, rng: np.random.Generator, size: int = 32) -> RawData:
    """`shapes` drawings at 32×32 (three 2× poolings fit) with their pixel masks: 0 for
    background, else the drawing's kind (filled 1, outline 2) where its distance is ≤ 0
    (ink ≥ half)."""
    kinds = tuple(SEGMENT_SHAPES)
    y, dist, x = _draw_shapes(n, rng, size, kinds)
    label = np.array([SEGMENT_SHAPES[k] for k in kinds])[y]
    masks = np.where(dist <= 0.0, label[:, None, None], 0)
    return RawData(_f32(x), _i64(masks), "segmentation", list(SEGMENT_CLASSES),
                   f"{size}×{size} grey drawings of a circle, ring, square, triangle or star, "
                   "with H×W int64 masks: 0 background, 1 filled shape (circle, star), "
                   "2 outline (ring, square, triangle)")


# --- points ------------------------------------------------------------------------------
def _spirals(n: int, rng: np.random.Generator, arms: int = 3) -> RawData:
    y = _balanced_labels(n, arms, rng)
    t = np.sqrt(rng.uniform(0.0, 1.0, n))                   # even density along the radius
    theta = t * 3.0 * np.pi + y * (2 * np.pi / arms)
    radius = 0.1 + 0.9 * t
    pts = np.stack([radius * np.cos(theta), radius * np.sin(theta)], 1)
    pts += rng.normal(0.0, 0.025, pts.shape)
    return RawData(_f32(pts), _i64(y), "classification", [f"arm {i}" for i in range(arms)],
                   f"2-D points on {arms} interleaved spiral arms (1.5 turns): not linearly "
                   "separable")


def _moons(n: int, rng: np.random.Generator) -> RawData:
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, n)
    pts = np.where(y[:, None] == 0,
                   np.stack([np.cos(t), np.sin(t)], 1),
                   np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], 1))
    pts = pts + rng.normal(0.0, 0.12, pts.shape)
    return RawData(_f32(pts), _i64(y), "classification", ["upper", "lower"],
                   "2-D points on two interleaving half circles, with noise")


# --- sequences ---------------------------------------------------------------------------
WAVE_CLASSES = ["sine", "square", "triangle", "sawtooth"]


def _waveforms(n: int, rng: np.random.Generator, length: int = 32) -> RawData:
    y = _balanced_labels(n, len(WAVE_CLASSES), rng)
    t = np.arange(length, dtype=np.float64)[None, :]
    cycles = rng.uniform(1.0, 3.0, n)[:, None]               # periods per window
    phase = 2 * np.pi * cycles * t / length + rng.uniform(0, 2 * np.pi, n)[:, None]
    frac = (phase / (2 * np.pi)) % 1.0
    waves = np.stack([np.sin(phase),
                      np.where(frac < 0.5, 1.0, -1.0),
                      4.0 * np.abs(frac - 0.5) - 1.0,
                      2.0 * frac - 1.0])                    # class × N × T
    x = waves[y, np.arange(n)]
    x = x * rng.uniform(0.6, 1.4, n)[:, None] + rng.uniform(-0.3, 0.3, n)[:, None]
    x = x + rng.normal(0.0, 0.1, x.shape)
    return RawData(_f32(x[:, :, None]), _i64(y), "classification", list(WAVE_CLASSES),
                   f"noisy {length}-step waves (batch first, T×1): sine, square, triangle or "
                   "sawtooth with random frequency, phase, amplitude and offset")


def _series(n: int, rng: np.random.Generator, length: int = 32) -> RawData:
    t = np.arange(length + 1, dtype=np.float64)[None, :]
    p1 = rng.uniform(10.0, 24.0, n)[:, None]
    p2 = rng.uniform(3.0, 7.0, n)[:, None]
    a1 = rng.uniform(0.6, 1.2, n)[:, None]
    a2 = rng.uniform(0.1, 0.5, n)[:, None]
    s = (a1 * np.sin(2 * np.pi * t / p1 + rng.uniform(0, 2 * np.pi, n)[:, None])
         + a2 * np.sin(2 * np.pi * t / p2 + rng.uniform(0, 2 * np.pi, n)[:, None]))
    s = s + rng.normal(0.0, 0.05, s.shape)
    return RawData(_f32(s[:, :-1, None]), _f32(s[:, 1:, None]), "regression", [],
                   f"next-step prediction: x is a {length}×1 window of a noisy sum of two sines, "
                   "y the same window one step later (many-to-many regression)")


# --- tokens ------------------------------------------------------------------------------
TOKEN_VOCAB = [*"abcdefghi", "X", "Y", "Z"]
TOKEN_CLASSES = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


def _tokens(n: int, rng: np.random.Generator, length: int = 16) -> RawData:
    """Which order do the markers X, Y, Z come in?

    Each sequence holds X, Y and Z exactly once, at random positions, among filler letters
    a–i drawn at random; the label is the order of the three markers (6 classes). Every
    sequence has the same marker counts, so a bag-of-words model is at chance (1/6); a model
    that sees positions (attention with positional encoding, an LSTM) can reach ~100%.
    """
    y = _balanced_labels(n, len(TOKEN_CLASSES), rng)
    seq = rng.integers(0, 9, (n, length))                   # filler a..i
    pos = np.argsort(rng.random((n, length)), axis=1)[:, :3]
    pos.sort(axis=1)                                        # first, second, third slot
    orders = np.array([[TOKEN_VOCAB.index(ch) for ch in name] for name in TOKEN_CLASSES])
    seq[np.arange(n)[:, None], pos] = orders[y]
    return RawData(_i64(seq), _i64(y), "classification", list(TOKEN_CLASSES),
                   f"int64 token sequences of length {length} over {len(TOKEN_VOCAB)} symbols "
                   f"({''.join(TOKEN_VOCAB)}); the class is the order in which X, Y and Z "
                   "appear (needs positions: a bag of words is at chance)")


def _corpus(n: int, rng: np.random.Generator) -> RawData:
    from runtime.data.corpus import corpus   # its own module (it imports RawData from here)

    return corpus(n, rng)


# --- volumes -----------------------------------------------------------------------------
VOLUME_CLASSES = ["sphere", "cube", "cylinder", "cone", "torus"]


def _random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def _volumes(n: int, rng: np.random.Generator, size: int = 16) -> RawData:
    y = _balanced_labels(n, len(VOLUME_CLASSES), rng)
    centre = rng.uniform(size * 0.42, size * 0.58, (n, 3)).astype(np.float32)
    scale = rng.uniform(size * 0.22, size * 0.32, n).astype(np.float32)
    rot = _random_rotations(n, rng).astype(np.float32)
    level = rng.uniform(0.65, 1.0, n).astype(np.float32)
    noise_std = rng.uniform(0.02, 0.08, n).astype(np.float32)
    grid = np.stack(np.meshgrid(*[np.arange(size, dtype=np.float32) + 0.5] * 3,
                                indexing="ij"), -1).reshape(-1, 3)       # V×3 (d, h, w)
    out = np.empty((n, size ** 3), np.float32)
    for start in range(0, n, 256):                          # chunks keep memory small
        sl = slice(start, min(start + 256, n))
        p = np.einsum("nvi,nij->nvj", grid[None] - centre[sl, None], rot[sl])
        a, b, c = p[..., 0], p[..., 1], p[..., 2]
        R = scale[sl, None]
        rho = np.sqrt(b * b + c * c)
        d = np.empty_like(a)
        for k, name in enumerate(VOLUME_CLASSES):
            m = y[sl] == k
            if not m.any():
                continue
            Rm, am, rm = R[m], a[m], rho[m]
            if name == "sphere":
                d[m] = np.sqrt(am * am + rm * rm) - Rm
            elif name == "cube":
                d[m] = np.max(np.abs(p[m]), axis=-1) - Rm * 0.75
            elif name == "cylinder":
                d[m] = np.maximum(rm - Rm * 0.55, np.abs(am) - Rm)
            elif name == "cone":                            # apex at a = +R, base at a = -R
                d[m] = np.maximum(rm - Rm * 0.8 * (Rm - am) / (2 * Rm), np.abs(am) - Rm)
            else:  # torus around axis a
                d[m] = np.sqrt((rm - Rm * 0.65) ** 2 + am * am) - Rm * 0.3
        vox = np.clip(0.5 - d, 0.0, 1.0) * level[sl, None]
        vox += rng.normal(0.0, 1.0, vox.shape).astype(np.float32) * noise_std[sl, None]
        out[sl] = np.clip(vox, 0.0, 1.0)
    x = out.reshape(n, 1, size, size, size)
    return RawData(_f32(x), _i64(y), "classification", list(VOLUME_CLASSES),
                   f"1×{size}×{size}×{size} voxel grids of a {', '.join(VOLUME_CLASSES)} with "
                   "random position, size, 3-D rotation and noise")


_BUILTINS: dict[str, _Builtin] = {
    "digits": _Builtin(_digits, None, "8×8 handwritten digits, 1797 images 1×8×8, 10 classes "
                                      "(scikit-learn, offline)"),
    "shapes": _Builtin(_shapes, 5000, "28×28 grey drawings of 6 shapes (circle, ring, square, "
                                      "triangle, cross, star), 1×28×28, 6 classes"),
    "segments": _Builtin(_segments, 2000, "32×32 shape drawings with pixel masks (H×W int64: "
                                          "0 background, 1 filled shape, 2 outline), "
                                          "3 classes (segmentation, U-Net)"),
    "spirals": _Builtin(_spirals, 3000, "2-D points on 3 interleaved spiral arms, 3 classes "
                                        "(not linearly separable)"),
    "moons": _Builtin(_moons, 2000, "2-D points on two interleaving half circles, 2 classes"),
    "waveforms": _Builtin(_waveforms, 4000, "noisy 32-step waves (T×1): sine, square, triangle, "
                                            "sawtooth; 4 classes (sequence → class)"),
    "series": _Builtin(_series, 3000, "32×1 windows of a noisy two-sine series; target: the "
                                      "window one step ahead (sequence regression)"),
    "tokens": _Builtin(_tokens, 4000, "int64 sequences of 16 tokens (vocab 12); class: the order "
                                      "of markers X, Y, Z (6 classes, for Embedding + "
                                      "Transformer/LSTM)"),
    "corpus": _Builtin(_corpus, 2000, "character-level English-like text, int64 windows of 32 "
                                      "characters (vocab 28); target: the next character at "
                                      "every step (N×32, language model)"),
    "volumes": _Builtin(_volumes, 2000, "1×16×16×16 voxel shapes (sphere, cube, cylinder, cone, "
                                        "torus), 5 classes (Conv3d)"),
}

BUILTIN_DATASETS: dict[str, str] = {name: b.description for name, b in _BUILTINS.items()}
TOKEN_VOCAB_SIZE = len(TOKEN_VOCAB)


def is_builtin(name: str) -> bool:
    return name in _BUILTINS


def unknown_builtin_message(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), list(_BUILTINS), n=1, cutoff=0.5)
    file_only = name.lower().replace("-", "").replace("_", "") in _FILE_ONLY
    hint = f" (did you mean {close[0]!r}?)" if close and not file_only else ""
    message = f"there is no built-in dataset {name!r}{hint}; built-ins: {', '.join(_BUILTINS)}"
    if file_only:
        message += (". MNIST, Fashion-MNIST and CIFAR-10 are read from their files (nothing is "
                    "downloaded): put the IDX files or the CIFAR-10 binary .bin files in a "
                    "folder and set dataset.path to it")
    return message


_FILE_ONLY = {"mnist", "fashionmnist", "fashion", "cifar", "cifar10"}


def make_builtin(name: str, samples: int | None = None, seed: int = 0) -> RawData:
    """The built-in dataset `name`, unsplit; `samples` overrides the default size."""
    if name not in _BUILTINS:
        raise DataError(unknown_builtin_message(name))
    entry = _BUILTINS[name]
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int)
                                or samples < 2):
        raise DataError(f"dataset.samples must be a whole number ≥ 2, got {samples!r}")
    rng = np.random.default_rng(seed)
    if entry.default_samples is None:                       # a fixed dataset: samples subsets
        return entry.make(samples, rng)
    return entry.make(samples or entry.default_samples, rng)
