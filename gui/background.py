"""Heavy work the editor asks for (loading a dataset to preview it, running the graph for
the node previews) goes to one helper process, not a thread: a thread doing Python work
holds the interpreter lock in turns with the event loop and makes every repaint wait,
while a process leaves the editor's loop alone.

One spawn-started process serves the whole editor, started on first use. Jobs are plain
module-level functions with plain arguments (JSON text, dicts, paths); results are numpy
arrays and dataclasses that this program made. If the process dies, the job's future
fails with the reason and the next job starts a new one. If the editor dies, so does the
helper (runtime/child_process.py), whatever killed the editor.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _start_worker() -> None:
    from runtime.child_process import die_with_parent
    die_with_parent()   # first: an orphaned helper would keep the resource tracker alive too
    # The helper shares the machine with the editor and a training run: one thread at a
    # lower priority is plenty for previews, and leaves the cores to those two.
    if hasattr(os, "nice"):
        os.nice(10)
    import torch
    torch.set_num_threads(1)


def _noop() -> None:
    pass


def start() -> None:
    """Start the helper process now, from a thread: starting a process costs the calling
    thread tens of milliseconds, which the event loop should not pay on a first preview."""
    threading.Thread(target=submit, args=(_noop,), name="nodetorch-helper-start",
                     daemon=True).start()


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    global _pool
    with _lock:   # start() may be creating it on its own thread
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"),
                                        initializer=_start_worker)
        pool = _pool
    try:
        return pool.submit(fn, *args)
    except BrokenProcessPool:
        with _lock:
            if _pool is pool:
                _pool = None
        return submit(fn, *args)


class _Relay(QObject):
    # Emitted on the pool's result thread; Qt queues it to the GUI thread the relay lives in.
    done = Signal(object, object)   # (callback, future)

    def __init__(self) -> None:
        super().__init__()
        self.done.connect(self._call)

    @staticmethod
    def _call(callback, future) -> None:
        try:
            callback(future)
        except RuntimeError:
            pass   # its widget was closed while the job ran: nobody to tell


_relay: _Relay | None = None


def submit_to(callback: Callable[[Future], None], fn: Callable[..., Any], *args: Any) -> Future:
    """submit(), then `callback(future)` on the GUI thread once the job is done (call it
    from the GUI thread)."""
    global _relay
    if _relay is None:
        _relay = _Relay()
    relay = _relay
    future = submit(fn, *args)
    future.add_done_callback(lambda done: relay.done.emit(callback, done))
    return future


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


atexit.register(shutdown)
