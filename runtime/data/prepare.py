"""From a graph file's `training.dataset` block to tensors that fit the graph's Input node.

load_dataset: built-in or file → split (seeded) → standardise with train-split statistics.
fit_to_input: resize / pad / flatten samples (and convert 1↔3 channels) to the Input shape.
batches: cut (x, y) batches by indexing a (shuffled) permutation.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F

from runtime.data.builtin import RawData, is_builtin, make_builtin, unknown_builtin_message
from runtime.data.bundle import DataBundle, DataError
from runtime.data.files import load_file
from runtime.data.masks import fit_masks

# The keys a dataset block may hold. resize_to_input is read by the trainer (fit_to_input).
DATASET_KEYS = ("name", "path", "format", "val_split", "samples", "normalize", "csv", "image",
                "npz", "resize_to_input")
DEFAULT_VAL_SPLIT = 0.2


def dataset_spec(text: str) -> dict[str, Any]:
    """A dataset given as text: a built-in's name if it is one, else a path."""
    return {"name": text} if is_builtin(text) else {"path": text}


def load_dataset(spec: dict[str, Any] | str, seed: int = 0,
                 base_dir: Path | str | None = None) -> DataBundle:
    """The dataset a `training.dataset` block names, split and (by default) normalised.

    spec: {"name": builtin, ...} or {"path": file or folder, "format": optional, ...}, or a
    string (a built-in name if it is one, else a path). Relative paths resolve against
    base_dir (the graph file's folder), then the working directory. Same seed → same tensors.
    """
    if isinstance(spec, (str, Path)):
        spec = dataset_spec(str(spec))
    if not isinstance(spec, dict):
        raise DataError(f"dataset must be a built-in name, a path or an object, got {spec!r}")
    unknown = [k for k in spec if k not in DATASET_KEYS]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), DATASET_KEYS, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(f"unknown dataset option {', '.join(hints)}; options: "
                        f"{', '.join(DATASET_KEYS)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DataError(f"the seed must be a whole number, got {seed!r}")
    val_split = spec.get("val_split", DEFAULT_VAL_SPLIT)
    if isinstance(val_split, bool) or not isinstance(val_split, (int, float)) \
            or not 0.0 <= val_split < 1.0:
        raise DataError(f"dataset.val_split must be a fraction in [0, 1), got {val_split!r}")
    normalize = spec.get("normalize", True)
    if not isinstance(normalize, bool):
        raise DataError(f"dataset.normalize must be true or false, got {normalize!r}")
    samples = spec.get("samples")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int)
                                or samples < 2):
        raise DataError(f"dataset.samples must be a whole number ≥ 2, got {samples!r}")

    name, path = spec.get("name"), spec.get("path")
    if isinstance(name, str) and path is None and not is_builtin(name):
        # {"name": "data/x.csv"} (e.g. a --dataset value wrapped as a name): a path if it
        # exists or looks like one; otherwise the unknown-built-in message below.
        looks_like_path = len(Path(name).parts) > 1 or bool(Path(name).suffix)
        if looks_like_path or _exists(name, base_dir):
            spec = {k: v for k, v in spec.items() if k != "name"}
            name, path = None, name
    if name is not None and path is not None:
        raise DataError("dataset: give either name (a built-in) or path (a file), not both")
    if name is not None:
        if not isinstance(name, str):
            raise DataError(f"dataset.name must be a text, got {name!r}")
        if spec.get("format") is not None:
            raise DataError(f"dataset.format applies to files, not to built-in {name!r}")
        raw = make_builtin(name, samples, seed)
        label = name
    elif path is not None:
        if not isinstance(path, (str, Path)) or not str(path).strip():
            raise DataError(f"dataset.path must be a file or folder name, got {path!r}")
        resolved = resolve_path(str(path), base_dir)
        raw = load_file(resolved, spec.get("format"), spec)
        if samples is not None:
            raw = _subset(raw, samples, seed)
        label = resolved.name
    else:
        raise DataError("dataset: give name (a built-in dataset) or path (a file or folder)")

    _check_raw(raw, label)
    x_train, y_train, x_val, y_val = split(raw, float(val_split), seed)
    bundle = DataBundle(name=label, task=raw.task, x_train=x_train, y_train=y_train,
                        x_val=x_val, y_val=y_val, class_names=list(raw.class_names),
                        description=raw.description)
    return normalize_bundle(bundle) if normalize else bundle


def _exists(text: str, base_dir: Path | str | None) -> bool:
    try:
        resolve_path(text, base_dir)
    except DataError:
        return False
    return True


def resolve_path(text: str, base_dir: Path | str | None = None) -> Path:
    """A dataset path: absolute, or relative to base_dir, then to the working directory."""
    p = Path(text).expanduser()
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = ([Path(base_dir) / p] if base_dir is not None else []) + [Path.cwd() / p]
    for c in candidates:
        if c.exists():
            return c
    places = list(dict.fromkeys(str(c.parent) for c in candidates))
    message = f"dataset path {text} does not exist (looked in {', '.join(places)})"
    if not p.is_absolute() and len(p.parts) == 1 and not p.suffix:
        message += f", and {unknown_builtin_message(text)}"
    raise DataError(message)


def _check_raw(raw: RawData, label: str) -> None:
    if len(raw.x) == 0:
        raise DataError(f"dataset {label} has no samples")
    if len(raw.x) != len(raw.y):
        raise DataError(f"dataset {label}: {len(raw.x)} samples but {len(raw.y)} targets")
    if raw.task == "segmentation" and (raw.y.dim() != raw.x.dim() - 1
                                       or raw.y.shape[1:] != raw.x.shape[2:]):
        raise DataError(f"dataset {label}: segmentation masks must be N×H×W like the images' "
                        f"spatial axes ({_dims(raw.x.shape[2:])}), got N×{_dims(raw.y.shape[1:])}")
    if raw.task in ("classification", "segmentation"):
        top = int(raw.y.max())
        if raw.y_val is not None and len(raw.y_val):
            top = max(top, int(raw.y_val.max()))
        if top >= len(raw.class_names):
            raise DataError(f"dataset {label}: class id {top} but only "
                            f"{len(raw.class_names)} class names")


def _subset(raw: RawData, samples: int, seed: int) -> RawData:
    """At most `samples` training samples, chosen at random; a given validation split shrinks
    by the same fraction."""
    g = torch.Generator().manual_seed(seed + 7919)
    n = len(raw.x)
    if samples >= n:
        return raw
    keep = torch.randperm(n, generator=g)[:samples].sort().values
    out = dataclasses.replace(raw, x=raw.x[keep], y=raw.y[keep])
    if raw.x_val is not None and raw.y_val is not None and len(raw.x_val):
        m = max(1, math.ceil(len(raw.x_val) * samples / n))
        keep = torch.randperm(len(raw.x_val), generator=g)[:m].sort().values
        out.x_val, out.y_val = raw.x_val[keep], raw.y_val[keep]
    return out


def split(raw: RawData, val_split: float, seed: int):
    """(x_train, y_train, x_val, y_val): the source's own split if it has one, else a seeded
    random `val_split` fraction held out (at least one sample each side when > 0)."""
    if raw.x_val is not None and raw.y_val is not None:
        return raw.x, raw.y, raw.x_val, raw.y_val
    n = len(raw.x)
    n_val = int(round(n * val_split))
    if val_split > 0:
        if n < 2:
            raise DataError(f"a validation split needs at least 2 samples; the dataset has {n}")
        n_val = min(max(n_val, 1), n - 1)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = perm[:n_val].sort().values, perm[n_val:].sort().values
    return raw.x[train_idx], raw.y[train_idx], raw.x[val_idx], raw.y[val_idx]


# --- normalisation -----------------------------------------------------------------------
def _reduce_dims(x: torch.Tensor) -> tuple[int, ...] | None:
    """Axes to pool statistics over: all but the channel (images) or the feature axis."""
    if not x.is_floating_point() or x.dim() < 2:
        return None
    rank = x.dim() - 1
    if rank <= 2:                    # vectors F, sequences T×F: per feature (last axis)
        return tuple(range(x.dim() - 1))
    return (0, *range(2, x.dim()))   # C×H×W, C×D×H×W: per channel


def feature_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(mean, std) of the training samples, shaped to broadcast against one sample;
    a constant feature gets std 1. None for data that is not standardised (token ids)."""
    dims = _reduce_dims(x)
    if dims is None or len(x) == 0:
        return None
    count = x.numel() // math.prod(x.shape[d] for d in range(x.dim()) if d not in dims)
    # Two passes over chunks in float64: exact enough, and no float64 copy of a big set.
    total = sum(c.double().sum(dims, keepdim=True) for c in x.split(4096))
    mean = total / count
    sq = sum((c.double() - mean).square().sum(dims, keepdim=True) for c in x.split(4096))
    std = (sq / count).sqrt()
    std = torch.where(std < 1e-6, torch.ones_like(std), std)
    mean, std = mean[0], std[0]
    if x.dim() == 3:                 # sequences: one value per feature, F
        mean, std = mean.reshape(-1), std.reshape(-1)
    return mean.to(x.dtype), std.to(x.dtype)


def _standardise(train: torch.Tensor, val: torch.Tensor):
    """(train, val, mean, std) standardised with the train split's statistics, or None."""
    stats = feature_stats(train)
    if stats is None:
        return None
    mean, std = stats
    return (train - mean) / std, (val - mean) / std, mean, std


def normalize_bundle(bundle: DataBundle) -> DataBundle:
    """Standardise samples (and regression targets) with the training split's statistics.
    Idempotent: a bundle that is already normalised comes back as it is."""
    if bundle.normalized:
        return bundle
    out = dataclasses.replace(bundle, normalized=True)
    stats = _standardise(bundle.x_train, bundle.x_val)
    if stats is not None:
        out.x_train, out.x_val, out.mean, out.std = stats
    if bundle.task == "regression":
        stats = _standardise(bundle.y_train, bundle.y_val)
        if stats is not None:
            out.y_train, out.y_val, out.target_mean, out.target_std = stats
    return out


# --- fitting samples to the Input node ---------------------------------------------------
_FLOAT_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
                 "bfloat16": torch.bfloat16}


def _dims(shape: Sequence[int]) -> str:
    return "×".join(str(d) for d in shape) or "a scalar"


def _fit_mode(mode: str | bool | None) -> str | None:
    if mode is True:
        return "resize"
    if mode in (False, None, "", "none", "off", "no"):
        return None
    if mode in ("resize", "pad"):
        return mode
    raise DataError(f"dataset.resize_to_input must be true, false, \"resize\" or \"pad\", "
                    f"got {mode!r}")


def fit_to_input(bundle: DataBundle, input_shape: Sequence[int], input_dtype: str = "float32",
                 mode: str | bool | None = False) -> DataBundle:
    """Samples shaped and typed as the graph's Input node wants (shape without batch).

    mode "resize" (or True): images C×H×W / volumes C×D×H×W are resized (bilinear with
    antialiasing / trilinear) to the Input's spatial size; "pad": centred zero padding (the
    Input may not be smaller). In both, 1↔3 channels convert (repeat / luminance), a 1×H×W
    sample may feed an H×W Input, and any sample may feed a flat Input of the same size.
    False/None: the shapes must already match, else a DataError says how to fix it.
    mean/std stay those of the data as loaded (before fitting). Grey → colour samples are
    an expanded view (the three channels share memory): index or .to() them, never write
    into them in place.
    """
    want = tuple(int(d) for d in input_shape)
    have = bundle.sample_shape
    fit = _fit_mode(mode)
    wanted_dtype = _check_dtype(bundle, input_dtype)
    x_train, x_val = bundle.x_train, bundle.x_val
    y_train, y_val = bundle.y_train, bundle.y_val
    if have != want:
        if fit is None:
            message = (f"the Input node expects {_dims(want)} but {bundle.name} samples are "
                       f"{_dims(have)}: set the Input shape to {_dims(have)}")
            if _fittable(bundle.x_train, have, want):
                message += ", or set dataset.resize_to_input"
            raise DataError(message)
        x_train = _fit(x_train, have, want, fit, bundle.name)
        x_val = _fit(x_val, have, want, fit, bundle.name)
        if bundle.task == "segmentation":   # the masks follow their images
            y_train, y_val = fit_masks(y_train, x_train, fit), fit_masks(y_val, x_val, fit)
    if wanted_dtype is not None and x_train.dtype != wanted_dtype:
        x_train, x_val = x_train.to(wanted_dtype), x_val.to(wanted_dtype)
    if x_train is bundle.x_train and x_val is bundle.x_val and y_train is bundle.y_train:
        return bundle
    return dataclasses.replace(bundle, x_train=x_train, x_val=x_val, y_train=y_train,
                               y_val=y_val)


def _check_dtype(bundle: DataBundle, input_dtype: str) -> torch.dtype | None:
    dtype = str(input_dtype).removeprefix("torch.")
    tokens = not bundle.x_train.is_floating_point()
    if dtype == "int64":
        if not tokens:
            raise DataError(f"the Input node's dtype is int64 (token ids) but {bundle.name} "
                            f"samples are {bundle.dtype} numbers: set the Input dtype to float32")
        return None
    if dtype not in _FLOAT_DTYPES:
        raise DataError(f"the Input node's dtype {input_dtype!r} is not one the data can take "
                        "(float32, float64 or int64)")
    if tokens:
        raise DataError(f"{bundle.name} samples are {bundle.dtype} token ids but the Input node's "
                        f"dtype is {dtype}: set the Input dtype to int64 (and follow it with an "
                        "Embedding)")
    return _FLOAT_DTYPES[dtype]


def _fittable(x: torch.Tensor, have: tuple[int, ...], want: tuple[int, ...]) -> bool:
    try:
        _fit(torch.zeros((1, *have), dtype=x.dtype), have, want, "resize", "")
    except DataError:
        return False
    return True


def _fit(x: torch.Tensor, have: tuple[int, ...], want: tuple[int, ...], mode: str,
         name: str) -> torch.Tensor:
    if have == want:
        return x
    if len(want) == 1 and math.prod(have) == want[0]:
        return x.reshape(len(x), want[0])
    if len(have) == len(want) + 1 and have[0] == 1 and len(want) in (2, 3):
        return _fit(x, have, (1, *want), mode, name)[:, 0]
    cannot = (f"cannot {'resize' if mode == 'resize' else 'pad'} {name} samples of "
              f"{_dims(have)} to the Input's {_dims(want)}")
    if not x.is_floating_point():
        raise DataError(f"{cannot}: token ids keep their length; set the Input shape to "
                        f"{_dims(have)}")
    if len(have) not in (3, 4) or len(want) != len(have):
        raise DataError(f"{cannot}: only images C×H×W and volumes C×D×H×W can be fitted; set "
                        f"the Input shape to {_dims(have)}")
    if have[0] != want[0] and {have[0], want[0]} != {1, 3}:
        raise DataError(f"{cannot}: {have[0]} channels cannot become {want[0]} (only 1↔3 "
                        f"convert); set the Input's channels to {have[0]}")
    spatial_have, spatial_want = tuple(x.shape[2:]), want[1:]
    if mode == "pad" and any(w < h for w, h in zip(spatial_want, spatial_have)):
        raise DataError(f"{cannot}: padding cannot make samples smaller; use "
                        f"resize_to_input \"resize\" or set the Input shape to {_dims(have)}")
    if have[0] == 3 and want[0] == 1:      # to grey first: less to resize
        x = _to_grey(x)
    if spatial_have != spatial_want and mode == "pad":
        pads: list[int] = []
        for w, h in reversed(list(zip(spatial_want, spatial_have))):
            before = (w - h) // 2
            pads += [before, w - h - before]
        x = F.pad(x, pads)
    elif spatial_have != spatial_want:
        interp = "bilinear" if len(spatial_want) == 2 else "trilinear"
        out = x.new_empty((len(x), x.shape[1], *spatial_want))
        for start in range(0, len(x), 4096):
            out[start:start + 4096] = F.interpolate(
                x[start:start + 4096], size=spatial_want, mode=interp, align_corners=False,
                antialias=interp == "bilinear")
        x = out
    if have[0] == 1 and want[0] == 3:      # grey to colour last, as a view: no 3× copy
        x = x.expand(-1, 3, *x.shape[2:])
    return x


def _to_grey(x: torch.Tensor) -> torch.Tensor:
    """Luminance (ITU-R 601): 0.299 R + 0.587 G + 0.114 B."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device)
    return (x * weights.view(1, 3, *([1] * (x.dim() - 2)))).sum(1, keepdim=True)


# --- batches -----------------------------------------------------------------------------
def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False,
            generator: torch.Generator | None = None,
            indices: torch.Tensor | Sequence[int] | None = None
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(xb, yb) batches covering every sample (or every one of `indices`, e.g. one rank's
    shard) exactly once; the last partial batch included. shuffle permutes with `generator`."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch_size must be a whole number ≥ 1, got {batch_size!r}")
    if indices is None and not shuffle:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
        return
    order = torch.arange(len(x)) if indices is None else \
        torch.as_tensor(indices, dtype=torch.long).reshape(-1).cpu()
    if shuffle:
        device = generator.device if generator is not None else torch.device("cpu")
        perm = torch.randperm(len(order), generator=generator, device=device).cpu()
        order = order[perm]
    x_order, y_order = order.to(x.device), order.to(y.device)
    for start in range(0, len(order), batch_size):
        yield x[x_order[start:start + batch_size]], y[y_order[start:start + batch_size]]
