"""Writing bytes so that a full disk is a clear error naming the file, never a crash.

Every writer that checkpoints and exports use (safetensors, torch.save, torch.jit.save)
serialises into memory first and the bytes are written here: on a full disk torch.save
says "[enforce fail …] unexpected pos" and torch.jit.save aborts the whole process, while
os.write raises ENOSPC, which we can name and recover from.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Create `path` holding `data`, fsynced. On failure the half-written file is removed
    and the OSError names `path`."""
    path = Path(path)
    view = memoryview(data)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _unlink(path)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        _unlink(path)
        raise
    return path


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def free_bytes(folder: str | os.PathLike) -> int | None:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
