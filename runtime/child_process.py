"""Child processes die with the editor.

A spawn-started child (the preview helper, a training run) that outlives its parent keeps
running, holds multiprocessing's resource tracker open, and for a training run, the GPU.
`die_with_parent()`, called first thing in the child, starts a watchdog thread that ends
the child (os._exit, no clean-up: its parent is gone, nobody waits for its results) as
soon as the parent process is gone, however it went (kill -9 included).

How the watchdog knows: on Linux ≥ 5.3 it waits on a pidfd of the parent (woken at once,
no polling); elsewhere it checks every quarter second whether the parent still runs.

Why not prctl(PR_SET_PDEATHSIG): Linux sends that signal when the *thread* that started the
child ends, not the process. The editor starts its helper from a short-lived thread (so the
event loop does not pay for it), so the helper would be killed a moment after it started.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import select
import threading

POLL_SECONDS = 0.25
EXIT_CODE = 70   # EX_SOFTWARE: distinguishable from a normal end in the parent's log


def parent_pid() -> int:
    """The pid of the process that started this one: multiprocessing's record of it (made
    by the parent, so still right after the parent has died), else the OS's."""
    parent = mp.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getppid()


def die_with_parent(parent: int | None = None) -> threading.Thread | None:
    """Exit this process as soon as `parent` (default: our parent) is gone. Returns the
    watchdog thread, or None when the parent was already gone (then this does not return)."""
    pid = parent if parent is not None else parent_pid()
    watch = _pidfd_waiter(pid) or _poller(pid)
    if not _running(pid):
        os._exit(EXIT_CODE)
    thread = threading.Thread(target=_watch, args=(watch,), name="nodetorch-parent-watchdog",
                              daemon=True)
    thread.start()
    return thread


def _watch(wait) -> None:
    wait()
    os._exit(EXIT_CODE)


def _running(pid: int) -> bool:
    if os.name == "posix":
        # Our parent is gone once we have been handed to another (init or a subreaper).
        return os.getppid() == pid
    from graph.atomic_file import pid_alive
    return pid_alive(pid)


def _pidfd_waiter(pid: int):
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:   # no such process (then _running says so), or an old kernel
        return None

    def wait() -> None:
        # A pidfd reads as ready when its process has ended.
        select.select([fd], [], [])
    return wait


def _poller(pid: int):
    stop = threading.Event()

    def wait() -> None:
        while _running(pid):
            stop.wait(POLL_SECONDS)
    return wait
