"""Binary image formats: MNIST / Fashion-MNIST IDX files and the CIFAR-10 binary version.

CIFAR-10 is read only in its binary version (`data_batch_N.bin`), never the pickled one.
"""
from __future__ import annotations

import gzip
import math
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.data.builtin import RawData
from runtime.data import limits
from runtime.data.bundle import DataError
from runtime.messages import first_line

_IDX_IMAGES = re.compile(r"images[.-]idx3[.-]ubyte(\.gz)?$", re.IGNORECASE)
_IDX_LABELS = re.compile(r"labels[.-]idx1[.-]ubyte(\.gz)?$", re.IGNORECASE)
_IDX_ANY = re.compile(r"idx\d[.-]ubyte(\.gz)?$", re.IGNORECASE)

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


# --- MNIST IDX ---------------------------------------------------------------------------
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (raw or gzip): magic 0 0 type ndim, ndim big-endian uint32 sizes, data.

    The header declares the data's size, so no more than that is read (or decompressed):
    a gzip that inflates past it is refused at that point, not after inflating it all."""
    with limits.open_data_file(path) as fh:
        try:
            if path.name.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=fh, mode="rb") as stream:
                    return _read_idx_stream(stream, path, None)
            return _read_idx_stream(fh, path, os.fstat(fh.fileno()).st_size)
        except (OSError, EOFError, zlib.error) as exc:    # gzip.BadGzipFile is an OSError
            raise DataError(f"{path}: cannot read: {first_line(exc, limit=200)}") from None


def _read_idx_stream(stream, path: Path, file_size: int | None) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(magic)} bytes)")
    zero1, zero2, code, ndim = struct.unpack(">BBBB", magic)
    if zero1 or zero2 or code not in _IDX_TYPES or not 1 <= ndim <= 4:
        raise DataError(f"{path}: not an IDX file (magic bytes {magic.hex()}; expected "
                        "00 00 <type> <dims>, e.g. 00000803 for images)")
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: the IDX header is cut short")
    dims = struct.unpack(f">{ndim}I", sizes)
    dtype = np.dtype(_IDX_TYPES[code])
    expected = math.prod(dims) * dtype.itemsize
    declared = f"the header says {'×'.join(map(str, dims))} values ({expected} bytes)"
    if expected > limits.MAX_DECODED_BYTES:
        raise DataError(f"{path}: {declared}, more than the "
                        f"{limits.size_text(limits.MAX_DECODED_BYTES)} a dataset file may hold")
    if file_size is not None and file_size - 4 - 4 * ndim != expected:
        raise DataError(f"{path}: {declared} but the file holds {file_size - 4 - 4 * ndim} "
                        "bytes of data")
    body = limits.read_at_most(stream, expected, f"{path}: {declared} but the data goes on "
                               "past that; refused there, before reading the rest")
    if len(body) != expected:
        raise DataError(f"{path}: {declared} but the file holds {len(body)} bytes of data")
    return np.frombuffer(body, dtype).reshape(dims)


def _idx_partner(path: Path) -> Path | None:
    """The labels file for an images file, or the other way round (raw or .gz)."""
    name = path.name
    if _IDX_IMAGES.search(name):
        other = re.sub(r"images([.-])idx3", r"labels\1idx1", name, flags=re.IGNORECASE)
    elif _IDX_LABELS.search(name):
        other = re.sub(r"labels([.-])idx1", r"images\1idx3", name, flags=re.IGNORECASE)
    else:
        return None
    base = other[:-3] if other.lower().endswith(".gz") else other
    for candidate in (base, base + ".gz"):
        if (path.parent / candidate).exists():
            return path.parent / candidate
    return None


def _idx_pair(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    img, lab = read_idx(images), read_idx(labels)
    if img.ndim != 3:
        raise DataError(f"{images}: IDX images must be N×H×W, this file is "
                        f"{'×'.join(map(str, img.shape))}")
    if lab.ndim != 1:
        raise DataError(f"{labels}: IDX labels must be one number per image, this file is "
                        f"{'×'.join(map(str, lab.shape))}")
    if len(img) != len(lab):
        raise DataError(f"{images.name} holds {len(img)} images but {labels.name} holds "
                        f"{len(lab)} labels (in {images.parent})")
    if lab.size and lab.min() < 0:
        raise DataError(f"{labels}: negative label {int(lab.min())}")
    x = torch.from_numpy(img.astype(np.float32))
    if img.dtype == np.uint8:
        x /= 255.0
    return x.unsqueeze(1).contiguous(), torch.from_numpy(lab.astype(np.int64))


def load_idx(path: Path, options: dict[str, Any]) -> RawData:
    """MNIST / Fashion-MNIST: a `*-images-idx3-ubyte[.gz]` file (its labels file beside it),
    or a folder with train-* and t10k-* pairs: t10k becomes the validation split."""
    pairs: dict[str, tuple[Path, Path]] = {}
    if path.is_dir():
        for f in sorted(path.iterdir()):
            if _IDX_IMAGES.search(f.name):
                partner = _idx_partner(f)
                if partner is None:
                    expected = re.sub("images", "labels", f.name.replace("idx3", "idx1"))
                    raise DataError(f"{f}: no labels file beside it (expected {expected})")
                split = "val" if f.name.lower().startswith(("t10k", "test")) else "train"
                if split in pairs:
                    raise DataError(f"{path} holds more than one {split} images file: "
                                    f"{pairs[split][0].name} and {f.name}")
                pairs[split] = (f, partner)
        if not pairs:
            raise DataError(f"{path}: no *-images-idx3-ubyte files found")
        if "train" not in pairs:
            pairs = {"train": pairs["val"]}
    else:
        partner = _idx_partner(path)
        if partner is None:
            raise DataError(f"{path}: cannot find the matching "
                            f"{'labels' if _IDX_IMAGES.search(path.name) else 'images'} file "
                            "beside it (e.g. train-images-idx3-ubyte with "
                            "train-labels-idx1-ubyte)")
        pairs["train"] = (path, partner) if _IDX_IMAGES.search(path.name) else (partner, path)
    x, y = _idx_pair(*pairs["train"])
    x_val = y_val = None
    if "val" in pairs:
        x_val, y_val = _idx_pair(*pairs["val"])
        if x_val.shape[1:] != x.shape[1:]:
            raise DataError(f"{pairs['val'][0]}: images are {x_val.shape[2]}×{x_val.shape[3]} "
                            f"but the training images are {x.shape[2]}×{x.shape[3]}")
    top = int(max(y.max() if len(y) else 0, y_val.max() if y_val is not None and len(y_val)
                  else 0))
    if "fashion" in str(path).lower() and top < len(FASHION_CLASSES):
        classes = FASHION_CLASSES
    else:
        classes = [str(i) for i in range(top + 1)]
    h, w = x.shape[2], x.shape[3]
    n = len(x) + (len(x_val) if x_val is not None else 0)
    desc = f"{path.name}: {n} grey images {h}×{w}, {len(classes)} classes (IDX)"
    return RawData(x, y, "classification", list(classes), desc, x_val, y_val)


# --- CIFAR-10 binary ---------------------------------------------------------------------
_CIFAR_RECORD = 1 + 3 * 32 * 32


def _cifar_folder(path: Path) -> Path | None:
    """The folder holding the .bin batches: path itself or its cifar-10-batches-bin child."""
    for folder in (path, path / "cifar-10-batches-bin"):
        if folder.is_dir() and (any(folder.glob("data_batch_*.bin"))
                                or (folder / "test_batch.bin").exists()):
            return folder
    return None


def _read_cifar(path: Path, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    with limits.open_data_file(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if not size or size % _CIFAR_RECORD:      # judged by its size, before reading it
            extra = " (CIFAR-100 binary files, with 2 label bytes, are not supported)" \
                if size and size % (_CIFAR_RECORD + 1) == 0 else ""
            raise DataError(f"{path}: {size} bytes is not a whole number of CIFAR-10 records "
                            f"(1 label byte + 3072 pixel bytes each){extra}")
        try:
            raw = limits.read_at_most(fh, size, f"{path}: grew while being read; refused")
        except OSError as exc:
            raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) != size:
        raise DataError(f"{path}: {len(raw)} of its {size} bytes could be read (the file "
                        "shrank while being read)")
    rec = np.frombuffer(raw, np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise DataError(f"{path}, record {bad + 1}: label {int(labels[bad])} but there are only "
                        f"{num_classes} classes")
    x = torch.from_numpy(rec[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels)


def load_cifar10(path: Path, options: dict[str, Any]) -> RawData:
    """CIFAR-10 binary version: a folder with data_batch_1..5.bin (training) and
    test_batch.bin (validation), or a single .bin file. Class names come from
    batches.meta.txt beside the batches if it is there, else the standard ten."""
    if path.is_dir():
        folder = _cifar_folder(path)
        if folder is None:
            raise DataError(f"{path}: no CIFAR-10 data_batch_*.bin or test_batch.bin files")
        train_files = sorted(folder.glob("data_batch_*.bin"))
        val_files = [folder / "test_batch.bin"] if (folder / "test_batch.bin").exists() else []
        if not train_files:
            train_files, val_files = val_files, []
    else:
        folder, train_files, val_files = path.parent, [path], []
    classes = list(CIFAR10_CLASSES)
    meta = folder / "batches.meta.txt"
    if meta.exists():
        try:
            text = limits.read_data_file(meta, limits.MAX_TEXT_BYTES, "a class-names file")
            names = [line.strip() for line in text.decode("utf-8").splitlines()]
        except UnicodeDecodeError as exc:
            raise DataError(f"{meta}: cannot read: {first_line(exc, limit=200)}") from None
        names = [n for n in names if n]
        if names:
            classes = names

    def read_all(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [_read_cifar(f, len(classes)) for f in files]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    x, y = read_all(train_files)
    x_val = y_val = None
    if val_files:
        x_val, y_val = read_all(val_files)
    n = len(x) + (len(x_val) if x_val is not None else 0)
    desc = f"{path.name}: {n} colour images 32×32, {len(classes)} classes (CIFAR-10 binary)"
    return RawData(x, y, "classification", classes, desc, x_val, y_val)
