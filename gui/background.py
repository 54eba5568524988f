"""Heavy work the editor asks for (loading a dataset to preview it, running the graph for
the node previews) goes to one helper process, not a thread: a thread doing Python work
holds the interpreter lock in turns with the event loop and makes every repaint wait,
while a process leaves the editor's loop alone.

One spawn-started process serves the whole editor, started on first use. Jobs are plain
module-level functions with plain arguments (JSON text, dicts, paths); results are numpy
arrays and dataclasses that this program made. If the process dies, the job's future
fails with the reason and the next job starts a new one.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

_pool: ProcessPoolExecutor | None = None


def _start_worker() -> None:
    # The helper shares the machine with a training run: one thread is plenty for
    # previews and keeps it from competing with the run for cores.
    import torch
    torch.set_num_threads(1)


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"),
                                    initializer=_start_worker)
    try:
        return _pool.submit(fn, *args)
    except BrokenProcessPool:
        _pool = None
        return submit(fn, *args)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


atexit.register(shutdown)
