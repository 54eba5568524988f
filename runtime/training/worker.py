"""Training in a worker process, so that the editor never waits on it and a crash there
never takes the editor down.

The worker (spawn context: a fresh interpreter, no inherited Qt or CUDA state) gets the
graph as JSON text plus the settings, runs the ordinary Trainer, and puts its events on a
queue. The owner drains the queue on a timer with `poll()`; stop and pause are events the
trainer checks between batches. If the worker dies without saying "done", `poll()` reports
it as an error event, so a listener always sees the run end.
"""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import time
import traceback
from pathlib import Path
from typing import Any

from runtime.training import events
from runtime.training.control import Control

_CONTEXT = mp.get_context("spawn")


def _worker_main(graph_json: str, training: dict[str, Any], overrides: dict[str, Any],
                 options: dict[str, Any], out, control: Control) -> None:
    from runtime.child_process import die_with_parent
    die_with_parent()   # an orphaned run would train on for nobody, holding the device
    emit = out.put
    try:
        from graph.loader import loads
        from runtime.training.config import ConfigError, parse_config
        from runtime.training.trainer import Trainer

        doc = loads(graph_json, options.get("source", "<editor>"))
        try:
            cfg = parse_config(training, overrides)
        except ConfigError as exc:
            for ev in events.failed(str(exc)):
                emit(ev)
            return
        base_dir = Path(options["base_dir"]) if options.get("base_dir") else None
        Trainer(doc, cfg, emit=emit, control=control,
                runs_dir=options.get("runs_dir", "runs"), resume=options.get("resume"),
                base_dir=base_dir, adapt_input=options.get("adapt_input", False)).fit()
    except BaseException as exc:  # the last word must reach the owner, whatever happened
        error, done = events.failed(f"the training process failed: {exc}", traceback.format_exc())
        emit(error)
        emit({**done, "error": str(exc)})


class TrainingSession:
    """One training run in its own process."""

    def __init__(self, graph_json: str, training: dict[str, Any] | None = None,
                 overrides: dict[str, Any] | None = None, *, runs_dir: str | Path = "runs",
                 base_dir: str | Path | None = None, resume: str | Path | None = None,
                 adapt_input: bool = False, source: str = "<editor>") -> None:
        self._args = (graph_json, dict(training or {}), dict(overrides or {}),
                      {"runs_dir": str(runs_dir), "base_dir": str(base_dir) if base_dir else None,
                       "resume": str(resume) if resume else None, "adapt_input": adapt_input,
                       "source": source})
        self._queue = _CONTEXT.Queue()
        # Stop, pause, resume and the watched nodes go to the run through this.
        self.control = Control.for_processes(_CONTEXT)
        self._process: mp.process.BaseProcess | None = None
        self.finished = False     # a "done" event has been delivered
        self.status: str | None = None

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("this session has already started")
        self._process = _CONTEXT.Process(target=_worker_main, name="nodetorch-training",
                                         args=(*self._args, self._queue, self.control),
                                         daemon=True)
        self._process.start()
        # The worker now has its own copy of the queue's writing end; close ours. A worker
        # that dies halfway through sending an event (killed, or crashed while the pipe was
        # full) then leaves an end of file that reading reports (EOFError), not a pipe
        # that still has a writer, where poll() would wait forever for the missing rest.
        writer = getattr(self._queue, "_writer", None)
        if writer is not None:
            writer.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive() and not self.finished

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def kill(self) -> None:
        """End the worker at once (it gets no chance to save)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def poll(self, limit: int = 10_000) -> list[dict[str, Any]]:
        """Events that arrived since the last call; never blocks."""
        got = self._drain(limit, wait=0.0)
        if not self.finished and self._process is not None and not self._process.is_alive():
            # The process is gone: what it put last may still be in the pipe. Read on
            # briefly; if no "done" comes, it died.
            got += self._drain(limit, wait=0.5)
            if not self.finished:
                got += self._died()
        return got

    def _drain(self, limit: int, wait: float) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while len(got) < limit and not self.finished:
            try:
                item = self._queue.get(timeout=wait) if wait else self._queue.get_nowait()
            except (queue_module.Empty, EOFError, OSError):
                break
            got.append(item)
            if item.get("kind") == "done":
                self.finished, self.status = True, item.get("status")
        return got

    def _died(self) -> list[dict[str, Any]]:
        code = self._process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else \
            f"exited with code {code}"
        message = (f"the training process {how} before finishing; the graph is untouched and "
                   "the run folder keeps its last checkpoint")
        self.finished, self.status = True, "failed"
        return events.failed(message)

    def join(self, timeout: float | None = None) -> None:
        if self._process is not None:
            self._process.join(timeout)

    def close(self) -> None:
        """Stop the run, wait up to 5 s for it to save and exit, then kill it. Events that
        arrive meanwhile are dropped: a worker cannot exit while its last events wait in a
        full pipe, so they are read here rather than left there."""
        self.control.stop()
        deadline = time.monotonic() + 5.0
        while self._process is not None and self._process.is_alive() \
                and time.monotonic() < deadline:
            if not self.finished:
                self._drain(10_000, wait=0.05)
            self._process.join(0.05)
        self.kill()
        self.join(1)
        self._queue.close()
        self.control.close()
