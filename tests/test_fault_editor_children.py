"""Children die with the editor: kill -9 the editor (or a training run's owner) and the
preview helper, the training worker and multiprocessing's resource tracker all end too.

Measured here (2 busy cores): children gone 0.05–0.3 s after the kill; the waits below
are 60 s. Starting the editor and its helper takes 5–25 s; the start waits are 240 s.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

from scripts.campaigns.process_tree import (descendants, has_loaded, kill_all,  # noqa: E402
                                            wait_gone)

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 240.0
GONE_TIMEOUT = 60.0


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = condition()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended (code {proc.returncode}) before {what}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def kill_and_check_children_end(proc: subprocess.Popen, children) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    left = wait_gone(children, GONE_TIMEOUT)
    kill_all(left)
    assert left == [], f"still running {GONE_TIMEOUT} s after the kill: {left}"


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
def test_die_with_parent_ends_the_child_when_its_parent_is_killed(tmp_path, pidfd):
    child = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from runtime import child_process
        if not {pidfd}:
            child_process._pidfd_waiter = lambda pid: None
        child_process.die_with_parent(int(sys.argv[1]))
        print("watching", flush=True)
        time.sleep(3600)
    """)
    parent = textwrap.dedent(f"""
        import os, subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", {child!r}, str(os.getpid())],
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "watching\\n"
        print(p.pid, flush=True)
        time.sleep(3600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(proc.stdout.readline())
        [grandchild] = [p for p in descendants(proc.pid) if p.pid == child_pid]
        kill_and_check_children_end(proc, [grandchild])
    finally:
        proc.kill()


def test_die_with_parent_exits_at_once_when_the_parent_is_already_gone():
    # the parent named is not our parent: as after it died and we were handed on
    code = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from runtime.child_process import die_with_parent, EXIT_CODE
        die_with_parent(2**22 + 17)
        print("still here")
    """)], capture_output=True, text=True, timeout=60)
    assert code.returncode == 70 and "still here" not in code.stdout


def editor_env(tmp_path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NODETORCH_CONFIG_DIR=str(tmp_path / "config"),
               XDG_CONFIG_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT))
    return env


def test_killing_the_editor_ends_its_helper_and_the_resource_tracker(tmp_path):
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=tmp_path,
                            env=editor_env(tmp_path), stderr=subprocess.PIPE, text=True)
    try:
        def helper_ready():
            kids = descendants(proc.pid)
            helpers = [p for p in kids if "spawn_main" in p.cmdline]
            # torch is imported after the watchdog starts: once it is mapped, it watches
            ready = [p for p in helpers if has_loaded(p.pid, "libtorch")]
            return kids if ready and any("resource_tracker" in p.cmdline for p in kids) else None
        children = wait_for(helper_ready, START_TIMEOUT, "the editor's helper process", proc)
        kill_and_check_children_end(proc, children)
    finally:
        proc.kill()
        proc.wait()


def test_killing_a_training_runs_owner_ends_the_worker(tmp_path):
    owner = textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from runtime.training.worker import TrainingSession
        text = open({str(ROOT / "templates" / "mlp.json")!r}, encoding="utf-8").read()
        training = json.loads(text)["training"]
        training.update(threads=1, schedule="none", epochs=1000, log_every=1)
        session = TrainingSession(text, training, runs_dir={str(tmp_path / "runs")!r})
        session.start()
        # the worker speaks only after die_with_parent; wait until it is training
        while True:
            kinds = [e["kind"] for e in session.poll()]
            if "error" in kinds or "done" in kinds:
                print("the run ended:", kinds, flush=True)
                sys.exit(1)
            if "step" in kinds or "epoch" in kinds or "batch" in kinds:
                break
            time.sleep(0.05)
        print(session.pid, flush=True)
        time.sleep(3600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", owner], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = wait_for(proc.stdout.readline, START_TIMEOUT, "the training worker", proc)
        assert line.strip().isdigit(), f"{line} {proc.stderr.read() if 'ended' not in line else ''}"
        worker_pid = int(line)
        children = descendants(proc.pid)
        assert worker_pid in {p.pid for p in children}
        assert any("resource_tracker" in p.cmdline for p in children)
        kill_and_check_children_end(proc, children)
    finally:
        proc.kill()
        proc.wait()
