"""Image-folder dataset loader: one sub-folder of images per class (optionally split)."""
from __future__ import annotations

import contextlib
import logging
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.data import limits
from runtime.data.builtin import RawData
from runtime.data.bundle import DataError
from runtime.messages import first_line

log = logging.getLogger("runtime.data.files")   # the logger name these messages always had

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm",
                    ".pgm", ".pbm"}
_SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                "validation": "val", "test": "val", "testing": "val"}
DEFAULT_IMAGE_SIZE = (32, 32)
MAX_DEFAULT_SIDE = 128       # the automatic image size never exceeds this (set image.size)


def _class_folders(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


@contextlib.contextmanager
def _opened(path: Path):
    """The image at `path`, opened only if it is a regular file of bounded size whose header
    declares at most MAX_IMAGE_PIXELS pixels; nothing is decoded yet."""
    from PIL import Image

    with limits.open_data_file(path, what="an image") as fh:
        with warnings.catch_warnings():
            # Pillow warns from 89 M pixels; our own, lower cap refuses those below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                im = Image.open(fh)
            except Image.DecompressionBombError as exc:     # past twice Pillow's own cap
                raise DataError(f"{path}: declares more than the {limits.MAX_IMAGE_PIXELS:,} "
                                "pixels an image may have (a decompression bomb: "
                                f"{first_line(exc, limit=200)}); delete or replace it") from None
        with im:
            _check_pixels(path, im)
            yield im


def _check_pixels(path: Path, im) -> None:
    pixels = im.width * im.height
    if pixels > limits.MAX_IMAGE_PIXELS:
        raise DataError(f"{path}: declares {im.width}×{im.height} pixels ({pixels:,}), more "
                        f"than the {limits.MAX_IMAGE_PIXELS:,} an image may have (a "
                        "decompression bomb, or a photo to shrink first); delete or replace it")


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
            with _opened(f) as im:
                sizes[(im.height, im.width)] += 1
                colour = colour or im.mode not in ("1", "L", "LA", "I", "I;16", "F")
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DataError(f"{f}: not a readable image ({first_line(exc, limit=200)}); delete "
                            "or replace it") from None
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
                with _opened(f) as im:      # checked again: the file may have changed
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
                raise DataError(f"{f}: not a readable image ({first_line(exc, limit=200)}); "
                                "delete or replace it") from None
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
