"""Which processes a process started, and whether they still run: read from /proc (Linux),
so that neither the tests nor the campaigns need psutil.

A process is named by (pid, start time): a pid alone may be reused by an unrelated process
once the first one is gone.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

PROC = Path("/proc")


class Proc(NamedTuple):
    pid: int
    start: int         # clock ticks after boot (field 22 of /proc/PID/stat)
    cmdline: str


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces and parentheses
    return [text[:text.index(" ")], "comm"] + text[text.rindex(")") + 2:].split()


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace").strip()
    except OSError:
        return ""


def proc(pid: int) -> Proc | None:
    fields = _stat_fields(pid)
    return Proc(pid, int(fields[21]), _cmdline(pid)) if fields else None


def descendants(root: int) -> list[Proc]:
    """Every process below `root` (children, their children, ...), now."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                parents.setdefault(int(fields[3]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for pid in parents.get(todo.pop(), []):
            p = proc(pid)
            if p is not None:
                found.append(p)
                todo.append(pid)
    return found


def running(p: Proc) -> bool:
    """Still the same process, and not a zombie."""
    fields = _stat_fields(p.pid)
    return fields is not None and int(fields[21]) == p.start and fields[2] != "Z"


def wait_gone(procs: list[Proc], timeout: float, step: float = 0.05) -> list[Proc]:
    """Wait until none of `procs` runs (or `timeout` seconds); those still running."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in procs if running(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(step)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident size so far (VmHWM), in MB; 0 when unknown."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def has_loaded(pid: int, library: str) -> bool:
    """Whether a shared library whose path contains `library` is mapped in the process."""
    try:
        return library in (PROC / str(pid) / "maps").read_text()
    except OSError:
        return False


def kill_all(procs: list[Proc]) -> None:
    """SIGKILL those still running (clean-up after a failed check)."""
    import signal
    for p in procs:
        if running(p):
            try:
                os.kill(p.pid, signal.SIGKILL)
            except OSError:
                pass
