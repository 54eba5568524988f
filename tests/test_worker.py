"""Training in a worker process (runtime/training/worker.py): the events a listener sees,
stop, pause, a killed worker, and runs that fail (NaN loss, missing data, bad settings).

Each test spawns a fresh interpreter that imports torch (about 2 s), so every wait below is
generous, and only a hang reaches them; nothing is timed (a stop is counted in steps, a
full pipe is read from the pipe itself).
"""
from __future__ import annotations

import array
import fcntl
import json
import math
import mmap
import signal
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from graph.loader import loads
from runtime.compile import compile_document
from runtime.training.checkpoint import CheckpointState, load_checkpoint, load_weights
from runtime.training.config import ConfigError, parse_config
from runtime.training.worker import TrainingSession

ROOT = Path(__file__).resolve().parents[1]
MLP = (ROOT / "templates" / "mlp.json").read_text(encoding="utf-8")
LENET = (ROOT / "templates" / "lenet5.json").read_text(encoding="utf-8")

# Spawn + import torch + build the run: 3–8 s to the first step on a busy 2-core machine,
# a whole short run 16 s. The limits are for a hang.
START_TIMEOUT = 120.0
RUN_TIMEOUT = 300.0


def training(text: str, **changes) -> dict:
    """The template's training block with `changes`, one torch thread per worker."""
    block = json.loads(text)["training"]
    block.update({"threads": 1, "schedule": "none"})
    block.update(changes)
    return block


def lenet_on_shapes(**changes) -> dict:
    """LeNet-5 on 2000 built-in shapes, batch 8: ~2 ms a step, ~0.5 s an epoch here."""
    return training(LENET, dataset={"name": "shapes", "samples": 2000, "resize_to_input": True},
                    batch_size=8, log_every=1, report_interval=0, **changes)


class Watch:
    """Polls a session the way the editor's timer does, keeping every event."""

    def __init__(self, session: TrainingSession) -> None:
        self.session = session
        self.events: list[dict] = []

    def poll(self) -> list[dict]:
        got = self.session.poll()
        self.events.extend(got)
        return got

    def until(self, predicate, timeout: float, what: str) -> dict:
        """Poll until an event matches; returns it (its arrival time in `_seen`)."""
        deadline = time.perf_counter() + timeout
        while True:
            for event in self.poll():
                if predicate(event):
                    event["_seen"] = time.perf_counter()
                    return event
            if self.session.finished:
                kinds = [(e["kind"], e.get("message", e.get("status"))) for e in self.events
                         if e["kind"] in ("error", "done")]
                pytest.fail(f"the run ended before {what}: {kinds}")
            if time.perf_counter() > deadline:
                recent = [e["kind"] for e in self.events][-20:]
                pytest.fail(f"no {what} within {timeout} s; last events: {recent}")
            time.sleep(0.005)

    def done(self, timeout: float = RUN_TIMEOUT) -> dict:
        return self.until(lambda e: e["kind"] == "done", timeout, "done event")

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]


@pytest.fixture
def start(tmp_path):
    """start(training_block, **session_options) → a Watch on a running session; every session
    is closed (stopped, then killed) at teardown."""
    sessions: list[TrainingSession] = []

    def _start(block: dict, text: str = MLP, **options) -> Watch:
        options.setdefault("runs_dir", tmp_path / "runs")
        session = TrainingSession(text, block, **options)
        sessions.append(session)
        session.start()
        return Watch(session)

    yield _start
    for session in sessions:
        session.close()
        session.join(5)
        assert not session._process.is_alive()


def unread_bytes(session: TrainingSession) -> int:
    """Bytes of events the worker has written to its pipe that no one has read yet."""
    waiting = array.array("i", [0])
    fcntl.ioctl(session._queue._reader.fileno(), termios.FIONREAD, waiting)
    return waiting[0]


def wait_until_the_pipe_is_full(session: TrainingSession) -> None:
    """Without reading: until the pipe holds as much as it can (the worker then blocks on
    its next send). Linux reports the pipe's capacity (elsewhere 16 KB is its smallest);
    a full pipe may leave part of its last page empty (62,632 of 65,536 bytes seen)."""
    fd = session._queue._reader.fileno()
    capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) if hasattr(fcntl, "F_GETPIPE_SZ") else 16384
    deadline = time.perf_counter() + START_TIMEOUT
    while unread_bytes(session) < capacity - mmap.PAGESIZE:
        assert time.perf_counter() < deadline, f"the pipe holds {unread_bytes(session)} bytes"
        assert session._process.is_alive(), "the worker exited"
        time.sleep(0.01)


def run_folders(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir()) if runs.exists() else []


def assert_checkpoint_loads(folder: Path, text: str) -> CheckpointState:
    """The checkpoint folder loads into the graph's compiled model; weights are finite."""
    tensors, graph_json = load_weights(folder / "model.safetensors")
    assert graph_json and loads(graph_json, "<checkpoint>").name == loads(text, "t").name
    module = compile_document(loads(graph_json, "<checkpoint>"), seed=0).module
    state, _ = load_checkpoint(folder, module)
    assert set(tensors) == set(module.state_dict())
    assert all(torch.isfinite(t).all() for t in tensors.values()), f"{folder}: non-finite weights"
    return state



# --- a whole run ---------------------------------------------------------------------------
def test_a_short_run_reports_everything_in_order(start, tmp_path):
    watch = start(training(MLP, epochs=2, watch_nodes=["fc1", "fc3"]))
    done = watch.done()
    assert done["status"] == "finished", done
    assert watch.session.status == "finished" and watch.session.finished
    assert not watch.of("error"), watch.of("error")

    # started → step … → epoch → step … → epoch → done
    kinds = [e["kind"] for e in watch.events if e["kind"] in ("started", "step", "epoch", "done")]
    assert kinds[0] == "started" and kinds[-1] == "done" and kinds.count("done") == 1
    assert kinds.count("started") == 1 and kinds.count("epoch") == 2
    first_epoch, second_epoch = [i for i, k in enumerate(kinds) if k == "epoch"]
    assert "step" in kinds[1:first_epoch] and "step" in kinds[first_epoch + 1:second_epoch]
    assert second_epoch == len(kinds) - 2
    started = watch.of("started")[0]
    steps = watch.of("step")
    assert [s["global_step"] for s in steps] == sorted(s["global_step"] for s in steps)
    assert steps[-1]["global_step"] == 2 * started["steps_per_epoch"]
    assert all(math.isfinite(s["loss"]) for s in steps)

    epochs = watch.of("epoch")
    assert [e["epoch"] for e in epochs] == [1, 2]
    # seeds 0-5 (in-process, same settings): every epoch's val acc 0.919–0.972; chance 0.1
    assert all(e["val_accuracy"] > 0.5 for e in epochs), epochs
    assert done["epochs_done"] == 2 and done["best"]["epoch"] in (1, 2)

    activations = watch.of("activations")
    assert activations
    for a in activations:
        assert isinstance(a["sample"], np.ndarray) and a["sample"].shape == (1, 8, 8)
        assert set(a["nodes"]) == {"fc1", "fc3"}
        assert isinstance(a["nodes"]["fc1"], np.ndarray) and a["nodes"]["fc1"].shape == (64,)
        assert a["nodes"]["fc3"].shape == (10,)
        assert np.isfinite(a["nodes"]["fc1"]).all()

    gradients = watch.of("gradients")
    assert gradients
    for g in gradients:
        assert set(g["norms"]) == {"fc1", "fc2", "fc3"}, g["norms"]  # graph node ids
        assert all(math.isfinite(v) and v > 0 for v in g["norms"].values()), g["norms"]

    weights = watch.of("weights")
    assert [w["epoch"] for w in weights] == [1, 2]
    for w in weights:
        assert set(w["stats"]) == {"fc1", "fc2", "fc3"}
        fc1 = w["stats"]["fc1"]["weight"]
        assert isinstance(fc1["hist"], np.ndarray) and isinstance(fc1["edges"], np.ndarray)
        assert fc1["hist"].sum() == 64 * 64 and len(fc1["edges"]) == len(fc1["hist"]) + 1
        assert w["stats"]["fc3"]["bias"]["hist"].sum() == 10

    run_dir = Path(done["run_dir"])
    assert run_dir == Path(started["run_dir"]) and run_dir.parent == tmp_path / "runs"
    assert run_folders(tmp_path / "runs") == [run_dir]
    best = run_dir / "checkpoints" / "best"
    assert (best / "model.safetensors").is_file()
    assert assert_checkpoint_loads(best, MLP).epoch == done["best"]["epoch"]
    assert assert_checkpoint_loads(run_dir / "checkpoints" / "last", MLP).epoch == 2
    watch.session.join(10)
    assert not watch.session.running


# --- stop, pause ---------------------------------------------------------------------------
def test_stop_mid_epoch_ends_at_the_next_batch_and_keeps_a_checkpoint(start):
    # Counted in steps, not seconds: stop() lets the batch in flight finish (its step event
    # is stamped after stop()) and the run ends before the next one, however busy the
    # machine. (The panel's stop takes 0.04–0.07 s on an idle machine.)
    watch = start(lenet_on_shapes(epochs=50), text=LENET)
    watch.until(lambda e: e["kind"] == "step", START_TIMEOUT, "first step")
    stopped_at = time.time()
    watch.session.control.stop()
    done = watch.done()
    assert done["status"] == "stopped", done
    after_stop = [s["global_step"] for s in watch.of("step") if s["time"] > stopped_at]
    assert len(after_stop) <= 1, f"steps ran after stop(): {after_stop}"
    assert done["epochs_done"] == 0
    last = Path(done["run_dir"]) / "checkpoints" / "last"
    assert (last / "model.safetensors").is_file()
    state = assert_checkpoint_loads(last, LENET)
    assert state.extra.get("partial_epoch") is True
    assert state.global_step == watch.of("step")[-1]["global_step"] >= 1   # where it stopped
    watch.session.join(10)
    assert watch.session._process.exitcode == 0


def test_pause_and_resume_reach_the_worker_and_the_run_finishes(start):
    # That a pause holds the steps is shown in-process, where the pause loop is observable
    # (tests/test_training.py::test_pause_holds_the_steps_until_resume); here: the controls
    # cross the process boundary and a paused-then-resumed run loses no step.
    watch = start(lenet_on_shapes(epochs=2), text=LENET)
    watch.until(lambda e: e["kind"] == "step", START_TIMEOUT, "first step")
    watch.session.control.pause()
    watch.session.control.resume()
    done = watch.done()
    assert done["status"] == "finished" and done["epochs_done"] == 2, done
    steps = [s["global_step"] for s in watch.of("step")]
    assert steps == list(range(1, steps[-1] + 1)), "log_every 1, report_interval 0: one step event per step"
    assert steps[-1] == 2 * watch.of("started")[0]["steps_per_epoch"]


def test_close_lets_a_worker_with_a_full_pipe_save_and_exit(start):
    # Unread events fill the pipe; the worker cannot exit until they are read. close() reads
    # them while it waits, so the worker stops cleanly instead of being killed after 5 s.
    watch = start(lenet_on_shapes(epochs=50, watch_nodes=["conv1"], activation_interval=0),
                  text=LENET)
    started = watch.until(lambda e: e["kind"] == "started", START_TIMEOUT, "started")
    # Events of every step, unread, until the pipe is full (the worker blocks on a send).
    watch.until(lambda e: e["kind"] == "step", START_TIMEOUT, "first step")
    wait_until_the_pipe_is_full(watch.session)
    watch.session.close()
    # close() kills a worker that has not exited 5 s after stop(): exit code 0 means it
    # saved and exited on its own.
    assert watch.session._process.exitcode == 0, "the worker was killed, not stopped"
    last = Path(started["run_dir"]) / "checkpoints" / "last"
    assert assert_checkpoint_loads(last, LENET).extra.get("partial_epoch") is True


# --- a worker that dies ----------------------------------------------------------------------
def test_a_killed_worker_is_reported_and_its_checkpoints_still_load(start):
    # Activations of conv1 on every step (18 KB each) and no polling for a while: the pipe
    # fills and the worker is killed halfway through sending an event, the worst case.
    watch = start(lenet_on_shapes(epochs=50, watch_nodes=["conv1"], activation_interval=0),
                  text=LENET)
    watch.until(lambda e: e["kind"] == "epoch", START_TIMEOUT, "first epoch")
    wait_until_the_pipe_is_full(watch.session)
    watch.session.kill()
    watch.session.join(10)

    polled: list[list[dict]] = []
    reader = threading.Thread(target=lambda: polled.append(watch.session.poll()), daemon=True)
    reader.start()
    reader.join(15)
    assert not reader.is_alive(), "poll() hangs after the worker was killed"
    tail = polled[0]
    assert [e["kind"] for e in tail[-2:]] == ["error", "done"], [e["kind"] for e in tail]
    error, done = tail[-2:]
    assert f"killed by signal {int(signal.SIGKILL)}" in error["message"], error["message"]
    assert done["status"] == "failed" and watch.session.status == "failed"
    assert watch.session.finished and not watch.session.running
    assert watch.session.poll() == []      # nothing more, and no second "done"

    # The caller goes on; what the run wrote before it died still loads.
    run_dir = Path(watch.of("started")[0]["run_dir"])
    checkpoints = run_dir / "checkpoints"
    assert_checkpoint_loads(checkpoints / "epoch-001", LENET)
    # Staging and swap folders are hidden (a leading dot); every other entry is whole.
    complete = [p for p in checkpoints.iterdir() if not p.name.startswith(".")]
    assert complete
    for folder in complete:
        assert_checkpoint_loads(folder, LENET)


def test_a_nan_loss_fails_the_run_naming_the_step_and_keeps_earlier_checkpoints(start, tmp_path):
    # SGD at 0.05 learns in epoch 1; a cosine schedule whose floor (min_lr) lies far above
    # the learning rate then raises it to 2.5e5 for epoch 2, where the loss blows up.
    block = training(MLP, epochs=3, optimizer={"name": "sgd", "lr": 0.05},
                     schedule={"name": "cosine", "min_lr": 1e6})
    watch = start(block)
    done = watch.done()
    assert done["status"] == "failed" and done["epochs_done"] == 1, done
    errors = watch.of("error")
    assert len(errors) == 1
    message = errors[0]["message"]
    assert "the loss became nan at epoch 2, step" in message, message
    assert "lower learning rate" in message and errors[0]["traceback"] == ""
    assert [e["epoch"] for e in watch.of("epoch")] == [1]

    checkpoints = Path(watch.of("started")[0]["run_dir"]) / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best", "epoch-001", "last"]
    for name in ("epoch-001", "best", "last"):
        assert assert_checkpoint_loads(checkpoints / name, MLP).epoch == 1


# --- runs that cannot start ----------------------------------------------------------------
def test_a_missing_dataset_path_fails_with_the_path_and_writes_nothing(start, tmp_path):
    runs = tmp_path / "runs"
    watch = start(training(MLP, dataset={"path": "data/missing.csv"}), base_dir=tmp_path)
    done = watch.done()
    assert done["status"] == "failed" and done["epochs_done"] == 0 and done["run_dir"] == ""
    errors = watch.of("error")
    assert len(errors) == 1
    assert "data/missing.csv" in errors[0]["message"], errors[0]["message"]
    assert "does not exist" in errors[0]["message"] and str(tmp_path) in errors[0]["message"]
    assert not watch.of("started") and not watch.of("step")
    assert not runs.exists() or not any(runs.iterdir())


def test_bad_settings_fail_with_the_config_error(start, tmp_path):
    block = training(MLP, epochs="x")
    with pytest.raises(ConfigError) as expected:
        parse_config(block)
    watch = start(block)
    done = watch.done()
    assert done["status"] == "failed" and done["epochs_done"] == 0
    errors = watch.of("error")
    assert [e["message"] for e in errors] == [str(expected.value)]
    assert "training.epochs" in errors[0]["message"] and "'x'" in errors[0]["message"]
    assert done["error"] == str(expected.value)
    assert not (tmp_path / "runs").exists()
