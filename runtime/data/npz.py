"""NumPy .npz dataset loader. Nothing here unpickles: the zip is read member by member and
each .npy header is checked (plain numeric type, declared size within the member and the
cap) before its data is read."""
from __future__ import annotations

import io
import math
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.data import limits
from runtime.data.builtin import RawData
from runtime.data.bundle import DataError
from runtime.messages import first_line

_NPY_MAGIC = b"\x93NUMPY"


class _NpzArchive:
    """The arrays of an .npz file, each read only when asked for and only within bounds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = limits.open_data_file(path)
        try:
            if self._file.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise DataError(f"{path}: a single .npy array, not an .npz archive of x and y")
            self._file.seek(0)
            self._zip = zipfile.ZipFile(self._file)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            self._file.close()
            raise DataError(f"{path}: not a readable .npz file: the zip archive is damaged or "
                            f"cut short, e.g. saved only in part ({first_line(exc, limit=200)})") \
                from None
        except BaseException:
            self._file.close()
            raise
        self._members = {info.filename[:-4]: info for info in self._zip.infolist()
                         if info.filename.endswith(".npy")}
        self.files = list(self._members)

    def __enter__(self) -> "_NpzArchive":
        return self

    def __exit__(self, *exc) -> None:
        self._zip.close()
        self._file.close()

    def __getitem__(self, key: str) -> np.ndarray:
        info = self._members[key]
        where = f"{self.path}, array {key!r}"
        if info.file_size > limits.MAX_DECODED_BYTES:
            raise DataError(f"{where}: is {limits.size_text(info.file_size)} unpacked, more "
                            f"than the {limits.size_text(limits.MAX_DECODED_BYTES)} an array "
                            "may be")
        try:
            with self._zip.open(info) as member:
                data = limits.read_at_most(
                    member, info.file_size, f"{where}: unpacks to more than the "
                    f"{info.file_size} bytes the archive declares for it; refused there")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
                zlib.error) as exc:
            raise DataError(f"{where}: cannot be unpacked; the archive is damaged or cut short "
                            f"({first_line(exc, limit=200)})") from None
        return _npy_array(data, where)


def _npy_array(data: bytes, where: str) -> np.ndarray:
    """The array an .npy file's bytes hold, its header checked before the data is used."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise DataError(f"{where}: .npy format version {version[0]}.{version[1]} is not "
                            "read (it holds structured arrays); store plain numeric arrays")
    except ValueError as exc:
        raise DataError(f"{where}: not a readable .npy array ({first_line(exc, limit=200)})") \
            from None
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects, which are never unpickled; store plain "
                        "numeric arrays")
    count = math.prod(shape)
    needed = count * dtype.itemsize
    held = len(data) - fp.tell()
    if needed != held:
        raise DataError(f"{where}: its header declares {'×'.join(map(str, shape)) or 'one'} "
                        f"values of {dtype} ({needed} bytes) but it holds {held} bytes")
    array = np.frombuffer(data, dtype, count, offset=fp.tell())   # read-only: callers copy
    return array.reshape(shape, order="F" if fortran else "C")


def _npz_x(arr: np.ndarray, where: str) -> torch.Tensor:
    """Samples: float → float32 as is; uint8 N×H×W or N×H×W×C (C = 1, 3, 4) → images
    N×C×H×W in [0, 1]; other integers → int64 token ids. A 1-D array becomes N×1."""
    if arr.ndim == 0:
        raise DataError(f"{where}: a single number, not an array of samples")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.dtype == np.uint8 and arr.ndim == 3:
        return torch.from_numpy(arr.astype(np.float32) / 255.0).unsqueeze(1)
    if arr.dtype == np.uint8 and arr.ndim == 4:
        x = torch.from_numpy(arr.astype(np.float32) / 255.0)
        if arr.shape[-1] in (1, 3, 4) and arr.shape[1] not in (1, 3, 4):   # N×H×W×C
            x = x.permute(0, 3, 1, 2).contiguous()
        return x
    if arr.dtype == np.uint8 and arr.ndim == 5:                             # N×C×D×H×W
        return torch.from_numpy(arr.astype(np.float32) / 255.0)
    if arr.dtype == np.bool_:
        return torch.from_numpy(arr.astype(np.float32))
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and arr.min() < 0:
            raise DataError(f"{where}: integer samples are token ids and must be ≥ 0 (found "
                            f"{int(arr.min())}); store real-valued features as floats")
        return torch.from_numpy(arr.astype(np.int64))
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise DataError(f"{where}: entry {bad} is {arr[bad]} (not a finite number)")
        return torch.from_numpy(arr.astype(np.float32))
    raise DataError(f"{where}: arrays of type {arr.dtype} cannot be samples; use numbers")


def _npz_y(arr: np.ndarray, where: str) -> tuple[torch.Tensor, str]:
    if arr.ndim == 2 and arr.shape[1] == 1 and not np.issubdtype(arr.dtype, np.floating):
        arr = arr[:, 0]
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.ndim not in (1, 2):
            raise DataError(f"{where}: integer labels must be one class id per sample (N) or "
                            f"one per step (N×T, e.g. the next token), got shape "
                            f"{'×'.join(map(str, arr.shape))}")
        if arr.size and arr.min() < 0:
            raise DataError(f"{where}: class ids must be ≥ 0, found {int(arr.min())}")
        return torch.from_numpy(arr.astype(np.int64)), "classification"
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise DataError(f"{where}: entry {bad} is {arr[bad]} (not a finite number)")
        y = torch.from_numpy(arr.astype(np.float32))
        return (y.unsqueeze(1) if y.dim() == 1 else y), "regression"
    raise DataError(f"{where}: arrays of type {arr.dtype} cannot be targets; use integers "
                    "(classes) or floats (regression)")


def _check_steps(x: torch.Tensor, y: torch.Tensor, where: str, x_key: str) -> None:
    """N×T labels (a class per step) need samples with the same T steps: N×T token ids or
    N×T×F features."""
    if y.dim() != 2 or y.dtype != torch.int64:
        return
    if x.dim() not in (2, 3) or x.shape[1] != y.shape[1]:
        raise DataError(f"{where}: {y.shape[1]} class ids per sample (one per step) need "
                        f"samples of {y.shape[1]} steps (N×{y.shape[1]} token ids or "
                        f"N×{y.shape[1]}×features), but {x_key!r} samples are "
                        f"{'×'.join(map(str, x.shape[1:]))}")


def _class_names(arr: np.ndarray, where: str) -> list[str]:
    """An optional 1-D array of text (numpy's fixed-width strings, never objects) naming
    the classes, in id order."""
    if arr.ndim != 1 or arr.dtype.kind not in "US":
        raise DataError(f"{where}: class names must be a 1-D array of text, got "
                        f"{'×'.join(map(str, arr.shape)) or 'one'} value(s) of {arr.dtype}")
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.tolist()]


def load_npz(path: Path, options: dict[str, Any]) -> RawData:
    """Arrays x and y (or x_train, y_train and optionally x_test/y_test or x_val/y_val; or the
    keys named in option npz: {"x": key, "y": key}). Integer y → classification (N class ids,
    or N×T: one per step, for next-token prediction or tagging; an optional text array
    class_names or vocab names them), float y → regression (a 1-D float y becomes N×1), no
    y → unlabelled. Never unpickles."""
    opts = dict(options.get("npz") or {})
    unknown = set(opts) - {"x", "y", "x_val", "y_val"}
    if unknown:
        raise DataError(f"unknown dataset.npz option(s) {sorted(unknown)}; options: x, y, "
                        "x_val, y_val")
    with _NpzArchive(path) as archive:
        keys = list(archive.files)
        get = archive.__getitem__

        def pick(*names: str) -> str | None:
            lower = {k.lower(): k for k in keys}
            return next((lower[n] for n in names if n in lower), None)

        if "x" in opts:
            if opts["x"] not in keys:
                raise DataError(f"{path}: no array {opts['x']!r}; it holds {', '.join(keys)}")
            xk, yk = opts["x"], opts.get("y")
            if yk is not None and yk not in keys:
                raise DataError(f"{path}: no array {yk!r}; it holds {', '.join(keys)}")
            xvk, yvk = opts.get("x_val"), opts.get("y_val")
        else:
            xk = pick("x", "x_train", "data", "features", "inputs")
            yk = pick("y", "y_train", "labels", "targets", "target")
            xvk = pick("x_test", "x_val", "x_valid")
            yvk = pick("y_test", "y_val", "y_valid")
            if xk is None:
                raise DataError(f"{path}: no array named x or x_train (it holds "
                                f"{', '.join(keys) or 'nothing'}); set dataset.npz.x and "
                                "dataset.npz.y to the names to use")
        x = _npz_x(get(xk), f"{path}, array {xk!r}")
        if yk is None:
            y, task = torch.zeros(len(x), dtype=torch.int64), "unlabelled"
        else:
            y, task = _npz_y(get(yk), f"{path}, array {yk!r}")
            if len(y) != len(x):
                raise DataError(f"{path}: {xk!r} has {len(x)} samples but {yk!r} has {len(y)}")
            _check_steps(x, y, f"{path}: {yk!r}", xk)
        x_val = y_val = None
        if xvk is not None and (yvk is not None or yk is None):
            x_val = _npz_x(get(xvk), f"{path}, array {xvk!r}")
            if yk is None:
                y_val = torch.zeros(len(x_val), dtype=torch.int64)
            else:
                y_val, vtask = _npz_y(get(yvk), f"{path}, array {yvk!r}")
                if vtask != task:
                    raise DataError(f"{path}: {yk!r} is {task} but {yvk!r} is {vtask}")
                if len(y_val) != len(x_val):
                    raise DataError(f"{path}: {xvk!r} has {len(x_val)} samples but {yvk!r} "
                                    f"has {len(y_val)}")
                _check_steps(x_val, y_val, f"{path}: {yvk!r}", xvk)
            if x_val.shape[1:] != x.shape[1:]:
                have = "×".join(map(str, x_val.shape[1:]))
                raise DataError(f"{path}: {xvk!r} samples are {have} but {xk!r} samples are "
                                f"{'×'.join(map(str, x.shape[1:]))}")
        names_key = pick("class_names", "vocab", "vocabulary") if task == "classification" \
            else None
        named = _class_names(get(names_key), f"{path}, array {names_key!r}") if names_key \
            else None
    class_names: list[str] = []
    if task == "classification":
        top = int(max(y.max() if len(y) else 0, y_val.max() if y_val is not None and len(y_val)
                      else 0))
        class_names = [str(i) for i in range(top + 1)]
        if named is not None:
            if len(named) <= top:
                raise DataError(f"{path}: array {names_key!r} names {len(named)} classes but "
                                f"the labels go up to class id {top}")
            class_names = named
    desc = f"{path.name}: {len(x)}{f' + {len(x_val)}' if x_val is not None else ''} samples " \
           f"of {'×'.join(map(str, x.shape[1:])) or 'scalars'}, {task}" \
           f"{' (a class per step)' if y.dim() == 2 and task == 'classification' else ''}"
    return RawData(x, y, task, class_names, desc, x_val, y_val)
