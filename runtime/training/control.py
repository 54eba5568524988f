"""Cooperative control of a run: stop and pause, checked between batches, and a mailbox of
settings the owner may change mid-run (which nodes to watch). No torch here: the editor
holds one for a worker process and must not pay for torch to do so."""
from __future__ import annotations

import queue
import threading
from typing import Any


class Control:
    """Cooperative stop and pause, checked between batches, and a mailbox of settings the
    owner may change mid-run (which nodes to watch), read when the run next captures."""

    def __init__(self, stop=None, pause=None, commands=None) -> None:
        # Any event objects with set/clear/is_set and a queue: in-process runs use threading
        # ones; a worker process gets multiprocessing ones (see Control.for_processes).
        self._stop = stop if stop is not None else threading.Event()
        self._pause = pause if pause is not None else threading.Event()
        self._commands = commands if commands is not None else queue.SimpleQueue()

    @classmethod
    def for_processes(cls, context) -> "Control":
        """One that works across processes of `context`: hand it to the worker with
        the process's arguments, keep it to steer the run."""
        return cls(context.Event(), context.Event(), context.Queue())

    def close(self) -> None:
        close = getattr(self._commands, "close", None)
        if close is not None:
            close()

    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def watch(self, node_ids: list[str]) -> None:
        self._commands.put({"watch_nodes": list(node_ids)})

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def pause_requested(self) -> bool:
        return self._pause.is_set()

    def changes(self) -> dict[str, Any]:
        """Settings sent since the last call, the newest value of each."""
        merged: dict[str, Any] = {}
        while True:
            try:
                merged.update(self._commands.get_nowait())
            except (queue.Empty, EOFError, OSError):
                return merged
