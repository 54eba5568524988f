"""Loaders for dataset files: CSV, image folders, MNIST IDX, CIFAR-10 binary and NumPy .npz.

Nothing here unpickles: .npz files are read with allow_pickle=False, and CIFAR-10 is read
only in its binary version (`data_batch_N.bin`), never the pickled Python version.
Every error is a DataError whose message names the file (and the row, column or entry).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from runtime.data.builtin import RawData
from runtime.data.bundle import DataError
# The format modules' public names are this module's too (see __all__).
from runtime.data.csv_table import MAX_CATEGORIES, load_csv
from runtime.data.idx_cifar import (_IDX_ANY, _IDX_IMAGES, CIFAR10_CLASSES, FASHION_CLASSES,
                                    _cifar_folder, load_cifar10, load_idx, read_idx)
from runtime.data.image_folder import (DEFAULT_IMAGE_SIZE, IMAGE_EXTENSIONS, MAX_DEFAULT_SIDE,
                                       load_image_folder)
from runtime.data.limits import check_path_kind
from runtime.data.npz import load_npz

log = logging.getLogger(__name__)

FILE_FORMATS: dict[str, str] = {
    "csv": "a table with a header row; one target column, numeric or categorical",
    "imagefolder": "a folder with one sub-folder of images per class (optionally inside "
                   "train/ and val/ or test/)",
    "idx": "MNIST / Fashion-MNIST IDX files (images + labels, raw or .gz), or a folder of them",
    "cifar10": "CIFAR-10 binary version: data_batch_*.bin / test_batch.bin, or their folder",
    "npz": "a NumPy .npz archive with arrays x and y (or x_train, y_train[, x_test, y_test])",
}
_FORMAT_ALIASES = {"images": "imagefolder", "image_folder": "imagefolder", "folder": "imagefolder",
                   "mnist": "idx", "fashion-mnist": "idx", "fashion_mnist": "idx",
                   "cifar": "cifar10", "cifar-10": "cifar10", "numpy": "npz"}


# --- detection ---------------------------------------------------------------------------
def canonical_format(name: str) -> str:
    key = str(name).strip().lower()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in FILE_FORMATS:
        raise DataError(f"unknown dataset format {name!r}; formats: {', '.join(FILE_FORMATS)}")
    return key


def detect_format(path: Path) -> str:
    """The format of a dataset file or folder, from its name and contents."""
    if path.is_dir():
        names = [p.name for p in path.iterdir() if not p.name.startswith(".")]
        if any(_IDX_IMAGES.search(n) for n in names):
            return "idx"
        if _cifar_folder(path) is not None:
            return "cifar10"
        if any(p.is_dir() for p in path.iterdir() if not p.name.startswith(".")):
            return "imagefolder"
        npz = [n for n in names if n.lower().endswith(".npz")]
        csvs = [n for n in names if n.lower().endswith(".csv")]
        hint = f" (it holds {', '.join(sorted(npz + csvs)[:3])}: point at a file)" \
            if npz or csvs else ""
        raise DataError(f"cannot tell which dataset format folder {path} holds{hint}; expected "
                        "one sub-folder of images per class, MNIST IDX files or CIFAR-10 .bin "
                        "files")
    name = path.name.lower()
    if name.endswith(".csv") or name.endswith(".tsv"):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    if _IDX_ANY.search(name):
        return "idx"
    if name.endswith(".bin"):
        return "cifar10"
    if name.endswith(".npy"):
        raise DataError(f"{path}: a single .npy array has no labels; save x and y together with "
                        "numpy.savez('data.npz', x=x, y=y)")
    if name.endswith((".pkl", ".pickle", ".pt", ".pth")) or name.startswith("data_batch_") \
            and "." not in name:
        raise DataError(f"{path}: pickled files are never loaded (they can run code); use the "
                        "CIFAR-10 binary version (.bin files), .npz, .csv or an image folder")
    raise DataError(f"cannot tell the dataset format of {path} from its name; set "
                    f"dataset.format to one of {', '.join(FILE_FORMATS)}")


def load_file(path: Path, fmt: str | None, options: dict[str, Any]) -> RawData:
    check_path_kind(path)     # /dev/zero, a FIFO or a socket: refused before any reading
    fmt = canonical_format(fmt) if fmt else detect_format(path)
    loader = {"csv": load_csv, "imagefolder": load_image_folder, "idx": load_idx,
              "cifar10": load_cifar10, "npz": load_npz}[fmt]
    return loader(path, options)



__all__ = [
    "CIFAR10_CLASSES", "DEFAULT_IMAGE_SIZE", "FASHION_CLASSES", "FILE_FORMATS", "IMAGE_EXTENSIONS",
    "MAX_CATEGORIES", "MAX_DEFAULT_SIDE", "canonical_format", "detect_format", "load_cifar10",
    "load_csv", "load_file", "load_idx", "load_image_folder", "load_npz", "read_idx",
]
