"""How much a dataset file may make us read, checked before reading.

Datasets live in memory as float32 tensors (runtime.data.bundle), four times the bytes of
the uint8 pixels most files hold. The caps are far above every standard set we read
(CIFAR-10 is 0.18 GB, MNIST 0.05 GB) and far below what takes a desktop down; a device,
a FIFO or /dev/zero is refused by its kind, since its size says nothing about its length.
Readers use the module's caps at call time, so a test can lower them.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from runtime.data.bundle import DataError

# A dataset file on disk (IDX, CIFAR .bin, .npz, an image): 2 GB becomes 8 GB of float32.
MAX_FILE_BYTES = 2_000_000_000
# What one file may decompress to: a gzip IDX body or one .npz member (the same reasoning).
MAX_DECODED_BYTES = 2_000_000_000
# A CSV is parsed cell by cell into Python objects, ~20× its size in memory.
MAX_CSV_BYTES = 200_000_000
# One image's pixels: 64 M (8000 × 8000) decode to 256 MB as RGBA; a PNG that declares more
# is a decompression bomb, refused from its header before any pixel is decoded.
MAX_IMAGE_PIXELS = 64_000_000
# Small side files such as CIFAR's batches.meta.txt (ten class names).
MAX_TEXT_BYTES = 1_000_000

CHUNK_BYTES = 1 << 20   # read (and decompress) in steps of this, checking the cap at each


def size_text(n: int) -> str:
    """'1,073,741,824 bytes' → '1,073.7 MB' (decimal, as file managers show sizes)."""
    return f"{n:,} bytes" if n < 1_000_000 else f"{n / 1e6:,.1f} MB"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise DataError(f"{path}: is {_kind(mode)}, not a regular file; a dataset is read only "
                        "from files on disk")


def open_data_file(path: Path, cap: int | None = None, what: str = "a dataset file") -> BinaryIO:
    """`path` opened for binary reading, if it is a regular file of at most `cap` bytes
    (default MAX_FILE_BYTES). Opened without blocking, so a FIFO is refused, not waited on."""
    cap = MAX_FILE_BYTES if cap is None else cap
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        check_regular(path, info.st_mode)
        if info.st_size > cap:
            raise DataError(f"{path}: is {size_text(info.st_size)}, more than the "
                            f"{size_text(cap)} {what} may be")
        if flags & getattr(os, "O_NONBLOCK", 0) and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)   # only the open had to not wait
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_at_most(stream, limit: int, too_much: str) -> bytes:
    """All of `stream`, raising DataError(too_much) as soon as it passes `limit` bytes (a
    file that grows, or a stream that inflates past what its header or the cap allows)."""
    parts, total = [], 0
    while True:
        chunk = stream.read(min(CHUNK_BYTES, limit + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            raise DataError(too_much)


def read_data_file(path: Path, cap: int | None = None, what: str = "a dataset file") -> bytes:
    """The whole of a regular file of at most `cap` bytes."""
    cap = MAX_FILE_BYTES if cap is None else cap
    with open_data_file(path, cap, what) as fh:
        try:
            return read_at_most(fh, cap, f"{path}: grew past {size_text(cap)} while being "
                                         "read; refused there")
        except OSError as exc:
            raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def check_path_kind(path: Path) -> None:
    """Refuse a dataset path that is neither a folder nor a regular file, by its kind."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(mode):
        check_regular(path, mode)
