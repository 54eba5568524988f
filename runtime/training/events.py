"""Events a training run reports: small plain dicts (numbers, strings, numpy arrays), so
they cross a process queue cheaply and a listener needs no torch to read them.

kinds: started, step, epoch, activations, gradients, weights, samples, log, error, done
"""
from __future__ import annotations

import time
from typing import Any, Callable

Emit = Callable[[dict[str, Any]], None]


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "time": time.time(), **fields}


def log(message: str, level: str = "info") -> dict[str, Any]:
    return event("log", level=level, message=message)


def failed(message: str, traceback: str = "") -> list[dict[str, Any]]:
    """The last two events of a run that failed before the trainer could report progress."""
    return [event("error", message=message, traceback=traceback, global_step=0, epoch=0),
            event("done", status="failed", run_dir="", epochs_done=0, best=None, error=message)]


def ignore(_: dict[str, Any]) -> None:
    """The emit of a run nobody watches."""
