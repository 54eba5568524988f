"""Atomic file writes that leave nothing behind, and keep the file's own permissions.

A write goes to a temp file beside the target, named `.NAME.nodetorch-tmp-PID-TOKEN`, is
flushed to disk, then renamed over the target: a crash at any moment leaves the old file
or the new one, never half of either. A process killed between the write and the rename
leaves its temp file; the PID in the name says whose it was, so the next write of the same
file (and `remove_stale_temp_files` on a whole folder) deletes those whose process is gone.
A file is only ever deleted when its name has our marker, it is a plain file of this user,
and the process that made it no longer runs.

The new file keeps the mode (and, where allowed, the owner and group) of the file it
replaces; a new file gets the default mode the user's umask gives.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

TEMP_MARKER = ".nodetorch-tmp-"
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)" + re.escape(TEMP_MARKER) + r"(?P<pid>\d+)-[0-9a-f]+$")


def temp_name(target_name: str, pid: int | None = None) -> str:
    return f".{target_name}{TEMP_MARKER}{os.getpid() if pid is None else pid}-{secrets.token_hex(4)}"


def parse_temp_name(name: str) -> tuple[str, int] | None:
    """(target file name, pid) for one of our temp files, else None."""
    match = _TEMP_NAME.match(name)
    return (match["name"], int(match["pid"])) if match else None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine. When unsure, say yes: the caller then
    keeps a file rather than deleting one that may be in use."""
    if pid <= 0:
        return True
    if pid == os.getpid():
        return True
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:   # EPERM: it exists, it belongs to someone else
            return True
        return True
    return _windows_pid_alive(pid)


def _windows_pid_alive(pid: int) -> bool:
    # os.kill(pid, 0) on Windows would end the process; ask the kernel instead.
    try:
        import ctypes
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return not ok or code.value == 259  # STILL_ACTIVE
    except Exception:
        return True


def remove_stale_temp_files(folder: str | os.PathLike, target_name: str | None = None) -> list[Path]:
    """Delete the temp files in `folder` (of `target_name` only, when given) left by
    processes that no longer run. Returns what was deleted."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    for entry in entries:
        parsed = parse_temp_name(entry.name)
        if parsed is None or (target_name is not None and parsed[0] != target_name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
        except OSError:
            continue
        if pid_alive(parsed[1]):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path`: temp file in the same folder, fsync, rename over."""
    data = text.encode("utf-8")   # before anything is created: an error leaves nothing
    path = Path(path)
    if path.is_symlink():   # write where the link points, and keep the link
        path = Path(os.path.realpath(path))
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(folder, path.name)
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    tmp = folder / temp_name(path.name)
    # 0o666 here lets the umask decide a new file's mode, as for any file the user makes.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if existing is not None:
                _copy_owner_and_mode(f.fileno(), existing)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_folder(folder)


def _copy_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    if hasattr(os, "fchown"):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:   # only root may give a file away; the group may still be ours
            try:
                os.fchown(fd, -1, existing.st_gid)
            except OSError:
                pass
    if hasattr(os, "fchmod"):
        os.fchmod(fd, existing.st_mode & 0o7777)
    else:
        pass  # Windows: the read-only flag is the only mode there, and a new file has none


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename or a new entry in `folder` durable: POSIX puts it on disk only once
    the folder itself is fsynced. A no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
