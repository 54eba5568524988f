"""Loaders for dataset files: CSV, image folders, MNIST IDX, CIFAR-10 binary and NumPy .npz.

Nothing here unpickles: .npz files are read with allow_pickle=False, and CIFAR-10 is read
only in its binary version (`data_batch_N.bin`), never the pickled Python version.
Every error is a DataError whose message names the file (and the row, column or entry).
"""
from __future__ import annotations

import csv
import gzip
import logging
import math
import re
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.data.builtin import RawData
from runtime.data.bundle import DataError

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

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm",
                    ".pgm", ".pbm"}
_IDX_IMAGES = re.compile(r"images[.-]idx3[.-]ubyte(\.gz)?$", re.IGNORECASE)
_IDX_LABELS = re.compile(r"labels[.-]idx1[.-]ubyte(\.gz)?$", re.IGNORECASE)
_IDX_ANY = re.compile(r"idx\d[.-]ubyte(\.gz)?$", re.IGNORECASE)
_SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                "validation": "val", "test": "val", "testing": "val"}

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
MAX_CATEGORIES = 50          # a categorical CSV feature with more values is an id, not a feature
DEFAULT_IMAGE_SIZE = (32, 32)
MAX_DEFAULT_SIDE = 128       # the automatic image size never exceeds this (set image.size)


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
    fmt = canonical_format(fmt) if fmt else detect_format(path)
    loader = {"csv": load_csv, "imagefolder": load_image_folder, "idx": load_idx,
              "cifar10": load_cifar10, "npz": load_npz}[fmt]
    return loader(path, options)


# --- CSV ---------------------------------------------------------------------------------
def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def load_csv(path: Path, options: dict[str, Any]) -> RawData:
    """A table with a header row. Feature columns: numbers, or categories (one-hot encoded).

    Option `csv`: {"features": [names or indices] | null (all but the target),
    "target": name or index (default: the last column), "task": "auto" | "classification"
    | "regression", "delimiter": "," (";" and tabs too; .tsv files default to tab)}.
    Rows are numbered as a spreadsheet shows them: the header is row 1.
    """
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file")
    opts = dict(options.get("csv") or {})
    unknown = set(opts) - {"features", "target", "task", "delimiter"}
    if unknown:
        raise DataError(f"unknown dataset.csv option(s) {sorted(unknown)}; options: features, "
                        "target, task, delimiter")
    delimiter = opts.get("delimiter", "\t" if path.suffix.lower() == ".tsv" else ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DataError(f"dataset.csv.delimiter must be one character, got {delimiter!r}")
    task = opts.get("task", "auto")
    if task not in ("auto", "classification", "regression"):
        raise DataError(f"dataset.csv.task must be auto, classification or regression, "
                        f"got {task!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            records = list(enumerate(csv.reader(fh, delimiter=delimiter), start=1))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") \
            from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    records = [(n, row) for n, row in records if any(cell.strip() for cell in row)]
    if not records:
        raise DataError(f"{path} is empty: a CSV dataset needs a header row and data rows")
    header_row, header = records[0]
    header = [h.strip() for h in header]
    rows = records[1:]
    if not rows:
        raise DataError(f"{path} has a header but no data rows")
    width = len(header)
    for number, row in rows:
        if len(row) != width:
            raise DataError(f"{path}, row {number}: {len(row)} cells, but the header (row "
                            f"{header_row}) has {width} columns")

    def column(ref: Any, what: str) -> int:
        if isinstance(ref, bool):
            ref = str(ref)
        if isinstance(ref, int):
            if -width <= ref < width:
                return ref % width
            raise DataError(f"{path}: {what} column index {ref} is out of range; the file has "
                            f"{width} columns")
        if isinstance(ref, str) and ref.strip() in header:
            return header.index(ref.strip())
        raise DataError(f"{path}: there is no {what} column {ref!r}; columns: "
                        f"{', '.join(header)}")

    target = column(opts.get("target", -1), "target")
    features = opts.get("features")
    if features is None:
        feature_cols = [i for i in range(width) if i != target]
    elif isinstance(features, (list, tuple)):
        feature_cols = [column(f, "feature") for f in features]
    else:
        raise DataError(f"dataset.csv.features must be a list of column names, got {features!r}")
    if target in feature_cols:
        raise DataError(f"{path}: column {header[target]!r} is both the target and a feature")
    if not feature_cols:
        raise DataError(f"{path}: no feature columns (the file has only the target column)")

    def cells(col: int) -> list[tuple[int, str]]:
        return [(number, row[col].strip()) for number, row in rows]

    def numeric(col: int, reason: str) -> np.ndarray:
        out = np.empty(len(rows), np.float64)
        for i, (number, text) in enumerate(cells(col)):
            value = _number(text)
            if value is None or not math.isfinite(value):
                if text == "":
                    what = "the cell is empty"
                elif value is None:
                    what = f"{text!r} is not a number"
                else:
                    what = f"{text!r} is not a finite number"
                raise DataError(f"{path}, row {number}, column {header[col]!r}: {what} "
                                f"({reason})")
            out[i] = value
        return out

    def is_numeric_column(col: int) -> bool:
        values = [t for _, t in cells(col)]
        parsed = sum(_number(t) is not None for t in values if t != "")
        filled = sum(t != "" for t in values)
        return filled > 0 and parsed * 2 >= filled       # mostly numbers: a numeric column

    parts: list[np.ndarray] = []
    names: list[str] = []
    for col in feature_cols:
        if is_numeric_column(col):
            parts.append(numeric(col, "a numeric column")[:, None])
            names.append(header[col])
            continue
        values = [t for _, t in cells(col)]
        for number, text in cells(col):
            if text == "":
                raise DataError(f"{path}, row {number}, column {header[col]!r}: the cell is "
                                "empty (a categorical column)")
        cats = sorted(set(values))
        if len(cats) > MAX_CATEGORIES:
            raise DataError(f"{path}: column {header[col]!r} holds text with {len(cats)} "
                            f"different values; categorical columns are one-hot encoded and "
                            f"may have at most {MAX_CATEGORIES}: leave it out with "
                            "dataset.csv.features")
        index = {c: i for i, c in enumerate(cats)}
        onehot = np.zeros((len(rows), len(cats)), np.float64)
        onehot[np.arange(len(rows)), [index[v] for v in values]] = 1.0
        parts.append(onehot)
        names.extend(f"{header[col]}={c}" for c in cats)
    x = np.concatenate(parts, axis=1)

    target_name = header[target]
    target_numeric = is_numeric_column(target)
    if task == "auto":
        if not target_numeric:
            task = "classification"
        else:
            values = numeric(target, "the target column")
            whole = np.all(values == np.round(values))
            task = "classification" if whole and len(np.unique(values)) <= 20 else "regression"
    if task == "regression":
        y = torch.from_numpy(numeric(target, "a regression target").astype(np.float32))[:, None]
        class_names: list[str] = []
    else:
        if target_numeric:
            values = numeric(target, "the target column")
            uniq = np.unique(values)
            y_np = np.searchsorted(uniq, values)
            class_names = [_number_name(v) for v in uniq]
        else:
            texts = [t for _, t in cells(target)]
            for number, text in cells(target):
                if text == "":
                    raise DataError(f"{path}, row {number}, column {target_name!r}: the target "
                                    "cell is empty")
            class_names = sorted(set(texts))
            index = {c: i for i, c in enumerate(class_names)}
            y_np = np.array([index[t] for t in texts])
        y = torch.from_numpy(y_np.astype(np.int64))
    desc = (f"{path.name}: {len(rows)} rows, {x.shape[1]} features "
            f"({', '.join(names[:6])}{', …' if len(names) > 6 else ''}), target {target_name!r}")
    return RawData(torch.from_numpy(x.astype(np.float32)), y, task, class_names, desc)


def _number_name(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(float(value))


# --- image folders -----------------------------------------------------------------------
def _class_folders(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def load_image_folder(path: Path, options: dict[str, Any]) -> RawData:
    """root/<class>/<image>, or root/train/<class>/… with root/val (or test)/<class>/….

    Option `image`: {"color": "grayscale" | "rgb" (default: rgb if any image has colour),
    "size": [h, w] (default: the size most images have, if at least half of them share it,
    else 32×32; never larger than 128 on a side unless set)}. Pixels scale to [0, 1].
    A file with an image extension that Pillow cannot read is an error naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    if not path.is_dir():
        raise DataError(f"{path} is not a folder; an image dataset is a folder with one "
                        "sub-folder of images per class")
    opts = dict(options.get("image") or {})
    unknown = set(opts) - {"color", "size"}
    if unknown:
        raise DataError(f"unknown dataset.image option(s) {sorted(unknown)}; options: color, size")
    color = opts.get("color")
    if color not in (None, "grayscale", "gray", "grey", "rgb"):
        raise DataError(f"dataset.image.color must be grayscale or rgb, got {color!r}")
    size = opts.get("size")
    if size is not None:
        if isinstance(size, int) and not isinstance(size, bool):
            size = [size, size]
        if not (isinstance(size, (list, tuple)) and len(size) == 2
                and all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 4096
                        for s in size)):
            raise DataError(f"dataset.image.size must be [height, width], got {size!r}")
        size = (int(size[0]), int(size[1]))

    subdirs = _class_folders(path)
    split_dirs = {_SPLIT_NAMES.get(p.name.lower()): p for p in subdirs}
    if subdirs and all(p.name.lower() in _SPLIT_NAMES for p in subdirs) and "train" in split_dirs:
        splits = {"train": split_dirs["train"], "val": split_dirs.get("val")}
    else:
        splits = {"train": path, "val": None}

    classes = [p.name for p in _class_folders(splits["train"])]
    if not classes:
        raise DataError(f"{splits['train']} has no class sub-folders; put the images of each "
                        "class in a folder named after the class")
    files: dict[str, list[tuple[Path, int]]] = {}
    for split, root in splits.items():
        if root is None:
            continue
        entries: list[tuple[Path, int]] = []
        for folder in _class_folders(root):
            if folder.name not in classes:
                raise DataError(f"{folder}: class {folder.name!r} is not among the training "
                                f"classes ({', '.join(classes)})")
            label = classes.index(folder.name)
            entries.extend((f, label) for f in _images_in(folder))
        files[split] = entries
    if not files["train"]:
        exts = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"no images found in the class folders of {splits['train']} "
                        f"(looked for {exts})")

    every = files["train"] + files.get("val", [])
    sizes: Counter = Counter()
    colour = False
    for f, _ in every:                                      # header pass: size and mode
        try:
            with Image.open(f) as im:
                sizes[(im.height, im.width)] += 1
                colour = colour or im.mode not in ("1", "L", "LA", "I", "I;16", "F")
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DataError(f"{f}: not a readable image ({_why(exc)}); delete or replace it") \
                from None
    if color is None:
        color = "rgb" if colour else "grayscale"
    mode = "RGB" if color == "rgb" else "L"
    if size is None:
        (common, count), = sizes.most_common(1)
        size = common if count * 2 >= sum(sizes.values()) else DEFAULT_IMAGE_SIZE
        if max(size) > MAX_DEFAULT_SIDE:
            scale = MAX_DEFAULT_SIDE / max(size)
            size = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
            log.warning("images in %s are large; resizing them to %d×%d (set dataset.image.size "
                        "to choose)", path, *size)

    def read(entries: list[tuple[Path, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        channels = 3 if mode == "RGB" else 1
        x = np.empty((len(entries), size[0], size[1], channels), np.uint8)
        for i, (f, _) in enumerate(entries):
            try:
                with Image.open(f) as im:
                    im.load()
                    if im.mode in ("I", "I;16", "F") and mode == "L":
                        arr = np.asarray(im, np.float64)
                        top = arr.max() if arr.max() > 255 else 255
                        im = Image.fromarray((arr / max(top, 1) * 255).astype(np.uint8))
                    if im.mode in ("P", "LA", "RGBA", "PA"):
                        im = im.convert("RGBA")
                        background = Image.new("RGBA", im.size, (0, 0, 0, 255))
                        im = Image.alpha_composite(background, im)
                    im = im.convert(mode)
                    if (im.height, im.width) != size:
                        im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR,
                                       reducing_gap=None)
                    arr = np.asarray(im, np.uint8)
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise DataError(f"{f}: not a readable image ({_why(exc)}); delete or replace "
                                "it") from None
            x[i] = arr.reshape(size[0], size[1], channels)
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
        return xt, torch.tensor([label for _, label in entries], dtype=torch.int64)

    x, y = read(files["train"])
    x_val = y_val = None
    if files.get("val"):
        x_val, y_val = read(files["val"])
    n = len(every)
    desc = (f"{path.name}: {n} {'colour' if mode == 'RGB' else 'grey'} images "
            f"{size[0]}×{size[1]} in {len(classes)} classes")
    return RawData(x, y, "classification", classes, desc, x_val, y_val)


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("\n")[0][:200] if text else type(exc).__name__


# --- MNIST IDX ---------------------------------------------------------------------------
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (raw or gzip): magic 0 0 type ndim, ndim big-endian uint32 sizes, data."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read: {_why(exc)}") from None
    if len(raw) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero1, zero2, code, ndim = struct.unpack(">BBBB", raw[:4])
    if zero1 or zero2 or code not in _IDX_TYPES or not 1 <= ndim <= 4:
        raise DataError(f"{path}: not an IDX file (magic bytes {raw[:4].hex()}; expected "
                        "00 00 <type> <dims>, e.g. 00000803 for images)")
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: the IDX header is cut short")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DataError(f"{path}: the header says {'×'.join(map(str, dims))} values "
                        f"({expected} bytes) but the file holds {len(body)} bytes of data")
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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not raw or len(raw) % _CIFAR_RECORD:
        extra = " (CIFAR-100 binary files, with 2 label bytes, are not supported)" \
            if raw and len(raw) % (_CIFAR_RECORD + 1) == 0 else ""
        raise DataError(f"{path}: {len(raw)} bytes is not a whole number of CIFAR-10 records "
                        f"(1 label byte + 3072 pixel bytes each){extra}")
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
            names = [line.strip() for line in meta.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{meta}: cannot read: {_why(exc)}") from None
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


# --- NumPy .npz --------------------------------------------------------------------------
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
        if arr.ndim != 1:
            raise DataError(f"{where}: integer labels must be one class id per sample, got shape "
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


def load_npz(path: Path, options: dict[str, Any]) -> RawData:
    """Arrays x and y (or x_train, y_train and optionally x_test/y_test or x_val/y_val; or the
    keys named in option npz: {"x": key, "y": key}). Integer y → classification, float y →
    regression (a 1-D float y becomes N×1), no y → unlabelled. Never unpickles."""
    opts = dict(options.get("npz") or {})
    unknown = set(opts) - {"x", "y", "x_val", "y_val"}
    if unknown:
        raise DataError(f"unknown dataset.npz option(s) {sorted(unknown)}; options: x, y, "
                        "x_val, y_val")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({_why(exc)})") from None
    if not hasattr(archive, "files"):
        raise DataError(f"{path}: a single .npy array, not an .npz archive of x and y")
    with archive:
        keys = list(archive.files)

        def get(key: str) -> np.ndarray:
            try:
                return archive[key]
            except ValueError as exc:       # object arrays need pickle: refused
                raise DataError(f"{path}: array {key!r} holds Python objects, which are never "
                                f"unpickled; store plain numeric arrays ({_why(exc)})") from None

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
            if x_val.shape[1:] != x.shape[1:]:
                have = "×".join(map(str, x_val.shape[1:]))
                raise DataError(f"{path}: {xvk!r} samples are {have} but {xk!r} samples are "
                                f"{'×'.join(map(str, x.shape[1:]))}")
    class_names: list[str] = []
    if task == "classification":
        top = int(max(y.max() if len(y) else 0, y_val.max() if y_val is not None and len(y_val)
                      else 0))
        class_names = [str(i) for i in range(top + 1)]
    desc = f"{path.name}: {len(x)}{f' + {len(x_val)}' if x_val is not None else ''} samples " \
           f"of {'×'.join(map(str, x.shape[1:])) or 'scalars'}, {task}"
    return RawData(x, y, task, class_names, desc, x_val, y_val)
