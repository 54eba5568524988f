"""Folders that appear whole or not at all, names that move atomically, and the clean-up of
what a killed writer left behind.

A folder is written under a hidden staging name, fsynced, and renamed to its final name:
any folder with a final name is complete. `last` and `best` are relative symlinks replaced
with one rename (os.replace), so there is no instant without them; where symlinks are not
available they are copies, committed like any folder.

Hidden names say who made them, so that only a writer that is gone has its leftovers
removed, never one still writing (another run on the same folder, or a torchrun job):
  .NAME.PID@HOST.partial   a folder being written
  .NAME.PID@HOST.old       the folder NAME replaced, removed once the new one is in place
  .NAME.PID@HOST.link      a new link before it takes the name
(the kind last, so that tools which skip *.partial and *.old go on skipping them)
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path

from graph.atomic_file import fsync_folder

HOST = re.sub(r"[^0-9A-Za-z_-]+", "-", socket.gethostname()) or "host"
STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)@(?P<host>[^.]*)\.(?P<kind>partial|old|link)$")
LEGACY = re.compile(r"^(?P<name>[^.].*)\.(?P<kind>partial|old)$")   # written before owners
FOREIGN_STALE_S = 24 * 3600   # another machine's leftovers: we cannot ask whether it lives
STARTED = time.time()         # leftovers of the old naming older than this are no one's


def staging_folder(final: Path, kind: str = "partial") -> Path:
    """The hidden name `final` is written under by this process."""
    return final.with_name(f".{final.name}.{os.getpid()}@{HOST}.{kind}")


def commit_folder(tmp: Path, final: Path) -> None:
    """Give the complete folder `tmp` the name `final`, replacing what had it."""
    if os.path.lexists(final):
        old = staging_folder(final, "old")
        os.rename(final, old)
        os.rename(tmp, final)
        _remove(old)
    else:
        os.rename(tmp, final)
    fsync_folder(final.parent)


def point(folder: Path, name: str, target: str) -> None:
    """Make folder/name lead to folder/target in one step: a relative symlink replaced by
    os.replace (a copy, committed like a folder, where there are no symlinks)."""
    link, tmp = folder / name, staging_folder(folder / name, "link")
    try:
        os.symlink(target, tmp, target_is_directory=True)
    except (OSError, NotImplementedError):
        copy = staging_folder(link)
        shutil.rmtree(copy, ignore_errors=True)
        try:
            shutil.copytree(folder / target, copy)
            for entry in copy.iterdir():
                with open(entry, "rb") as f:
                    os.fsync(f.fileno())
            commit_folder(copy, link)
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise
        return
    try:
        if link.is_symlink() or not os.path.lexists(link):
            os.replace(tmp, link)
        else:   # a real folder (a run from before links, or a copy): swap it out
            commit_folder(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(folder)


def is_final_name(name: str) -> bool:
    return not name.startswith(".") and LEGACY.match(name) is None


def clear_stale(folder: Path) -> list[str]:
    """Remove what writers that are gone left in `folder`: staging folders, swapped-out
    folders (put back when their name is free: the swap was cut short) and new links.
    Returns what was removed or restored, in words."""
    done: list[str] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return done
    for entry in entries:
        found = STAGING.match(entry.name) or LEGACY.match(entry.name)
        if found is None or _owner_may_be_writing(entry, found):
            continue
        final = folder / found["name"]
        if found["kind"] == "old" and not os.path.lexists(final):
            os.rename(entry, final)
            done.append(f"restored {final.name} from {entry.name}")
        else:
            _remove(entry)
            done.append(f"removed {entry.name}")
    if done:
        fsync_folder(folder)
    return done


def _owner_may_be_writing(entry: Path, found: re.Match) -> bool:
    try:
        mtime = entry.lstat().st_mtime
    except OSError:
        return True
    if "pid" not in found.groupdict():
        return mtime >= STARTED
    pid = int(found["pid"])
    if found["host"] != HOST or os.name == "nt":   # os.kill on Windows would end the process
        return time.time() - mtime < FOREIGN_STALE_S
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # alive, another user's
    except OSError:
        return False
    started = _process_start(pid)
    # The writer was alive when it last touched the folder; a process that started later
    # only reuses its number.
    return started is None or started <= mtime + 1.0


def _process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), where /proc tells."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)
