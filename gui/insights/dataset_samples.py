"""The data side of the dataset preview, with no Qt: it runs in the editor's helper process
(gui/background.py), which then needs to import neither Qt nor pyqtgraph to run it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_SAMPLES = 12
MAX_POINTS = 2000          # a scatter of more points only hides the structure


@dataclass
class PreviewData:
    kind: str                    # "images", "sequences", "tokens" or "points"
    samples: list[np.ndarray]    # images: H×W or H×W×3 uint8; sequences / tokens: 1-D
    labels: list[str]
    caption: str
    description: str = ""
    points: np.ndarray | None = None           # N×2 (kind "points")
    point_classes: np.ndarray | None = None    # N class ids, None when not classification
    class_names: list[str] = field(default_factory=list)
    axis_names: tuple[str, str] = ("feature 0", "feature 1")


def prepare_preview(training: dict[str, Any] | None, base_dir: Path | str | None = None,
                    count: int = DEFAULT_SAMPLES) -> PreviewData:
    """Load the dataset a training block names and pick `count` samples to show.
    Raises runtime.data.DataError (or anything else) for the caller to report."""
    from runtime.data import dataset_spec, load_dataset
    from runtime.training.config import TrainConfig

    training = training if isinstance(training, dict) else {}
    spec = training.get("dataset", TrainConfig().dataset)
    if isinstance(spec, str):
        spec = dataset_spec(spec)
    if isinstance(spec, dict):
        # The data in its own units: a regression target reads as what it is, not in stds.
        spec = {**spec, "normalize": False}
    seed = training.get("seed", 0)
    bundle = load_dataset(spec, seed=seed if type(seed) is int else 0, base_dir=base_dir)
    x, y = bundle.x_train.numpy(), bundle.y_train.numpy()
    names = list(bundle.class_names)
    caption = _caption(bundle)
    shape = x.shape[1:]
    if len(shape) == 1 and not np.issubdtype(x.dtype, np.integer):
        return _points(x, y, bundle.task, names, caption, bundle.description)
    order = _pick(y, bundle.task, len(x), count)
    labels = [_label(y[i], bundle.task, names) for i in order]
    if len(shape) in (3, 4):
        kind, samples = "images", [_to_image(x[i]) for i in order]
    elif len(shape) == 1:
        kind, samples = "tokens", [x[i] for i in order]
    else:   # T×F (or anything else 2-D): the first feature over time
        kind, samples = "sequences", [x[i].reshape(x[i].shape[0], -1)[:, 0] for i in order]
    return PreviewData(kind, samples, labels, caption, bundle.description, class_names=names)


def _caption(bundle) -> str:
    n_train, n_val = len(bundle.x_train), len(bundle.x_val)
    shape = "×".join(str(s) for s in bundle.sample_shape)
    text = (f"{bundle.name}: {n_train + n_val} samples ({n_train} train, {n_val} val) · "
            f"sample {shape} {bundle.dtype} · {bundle.task}")
    names = bundle.class_names
    if names:
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        text += f"\n{len(names)} classes: {shown}"
    elif bundle.task == "regression":
        text += f" · target {'×'.join(str(s) for s in bundle.target_shape) or 'a number'}"
    return text


def _pick(y: np.ndarray, task: str, n: int, count: int) -> list[int]:
    """The first `count` samples, but for classification one class after another, so every
    class shows (and a class with no samples is noticed by its absence)."""
    if task != "classification" or y.ndim != 1:
        return list(range(min(n, count)))
    queues = [list(np.flatnonzero(y == c)[:count]) for c in np.unique(y)]
    out: list[int] = []
    while len(out) < min(n, count) and any(queues):
        for queue in queues:
            if queue and len(out) < count:
                out.append(int(queue.pop(0)))
    return out


def _label(target: np.ndarray, task: str, names: list[str]) -> str:
    if task == "classification" and np.ndim(target) == 1:   # a class per step
        return _per_step_label(target, names)
    if task == "classification":
        cls = int(target)
        return names[cls] if 0 <= cls < len(names) else str(cls)
    if task == "regression":
        flat = np.asarray(target, dtype=np.float64).ravel()
        if flat.size == 1:
            return f"{flat[0]:.3g}"
        return f"target {'×'.join(str(s) for s in np.shape(target))}"
    return ""   # unlabelled (autoencoder, GAN data)


def _per_step_label(target: np.ndarray, names: list[str], shown: int = 16) -> str:
    """The first steps' classes: as text when every class is one character (a character
    language model's next characters), else their names."""
    ids = [int(i) for i in np.asarray(target).ravel()[:shown]]
    words = [names[i] if 0 <= i < len(names) else str(i) for i in ids]
    more = "…" if np.size(target) > shown else ""
    if all(len(w) == 1 for w in words):
        return f"next: {''.join(words)}{more}"
    return f"next: {' '.join(words)}{more}"


def _to_image(sample: np.ndarray) -> np.ndarray:
    """C×H×W (or C×D×H×W: the brightest voxel along depth) → H×W or H×W×3 uint8, stretched
    to the sample's own min/max so faint and bright samples both read."""
    a = np.asarray(sample, dtype=np.float32)
    if a.ndim == 4:
        a = a.max(axis=1)
    a = a[:3].transpose(1, 2, 0) if a.shape[0] == 3 else a[0]
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    scaled = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.ascontiguousarray(np.nan_to_num(scaled) * 255 + 0.5).astype(np.uint8)


def _points(x, y, task, names, caption, description) -> PreviewData:
    n = min(len(x), MAX_POINTS)
    if x.shape[1] >= 2:
        pts, axes = x[:n, :2], ("feature 0", "feature 1")
    elif task == "regression" and y[:n].size == n:   # one feature: plot it against y
        pts, axes = np.stack([x[:n, 0], y[:n].ravel()], 1), ("feature 0", "target")
    else:
        pts, axes = np.stack([x[:n, 0], np.zeros(n)], 1), ("feature 0", "")
    classes = y[:n].astype(np.int64) if task == "classification" else None
    return PreviewData("points", [], [], caption, description, points=pts.astype(np.float64),
                       point_classes=classes, class_names=names, axis_names=axes)


# --- the widget ----------------------------------------------------------------------------


def prepare_or_error(training: dict[str, Any] | None, base_dir: str | None,
                     count: int) -> tuple[PreviewData | None, str]:
    """prepare_preview as a job for the helper process: the error as text, not raised."""
    try:
        return prepare_preview(training, base_dir, count), ""
    except Exception as exc:   # DataError says what is wrong; anything else too
        from runtime.data import DataError
        return None, str(exc) if isinstance(exc, DataError) else \
            f"could not load the dataset: {type(exc).__name__}: {exc}"
