"""kill -9 of a real `main.py train` at the moments that used to break it: a checkpoint
written but not yet renamed, committed but `last` not yet moved to it, the middle of an
epoch, before any checkpoint. Afterwards `--resume` continues from the newest committed
checkpoint, `export` reads a committed one, and nothing half-written is left.

The run stops at each moment by itself (scripts/campaigns/training_driver.py) and says so
with a marker file; the test polls for it and only then sends SIGKILL."""
from __future__ import annotations

import sys

import pytest

from scripts.campaigns.training_checks import (corrupt_checkpoints, export, export_problems,
                                               exported_from, kill, leftovers, resume,
                                               run_folder, start_training, wait_for)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

EPOCHS = 3
STEPS_PER_EPOCH = 45   # digits: 1438 training samples in batches of 32


def killed_at(tmp_path, hold: str):
    out, marker = tmp_path / "runs", tmp_path / "held"
    proc = start_training(out, hold, marker, EPOCHS)
    reached = wait_for(marker.exists, proc)
    if not reached:
        pytest.fail(f"the run never reached {hold}: {kill(proc)[-2000:]}")
    return proc, run_folder(out)


@pytest.mark.parametrize("hold, resumed_from", [
    ("staged:epoch-002", "epoch-001"),        # written into staging, not renamed
    ("point:last=epoch-001", "epoch-001"),    # committed; `last` does not exist yet
    (f"step:{STEPS_PER_EPOCH + 5}", "epoch-001"),   # the middle of epoch 2
    ("point:last=epoch-002", "epoch-002"),    # committed; `last` still at epoch-001
])
def test_after_a_kill_resume_and_export_use_the_newest_committed_checkpoint(
        tmp_path, hold, resumed_from):
    proc, run = killed_at(tmp_path, hold)
    kill(proc)
    assert corrupt_checkpoints(run) == []

    assert export_problems(run, tmp_path / "before.safetensors") == []

    resumed = resume(run, EPOCHS)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resumed from {run / 'checkpoints' / resumed_from} after epoch" in resumed.stdout
    assert leftovers(run) == []
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names[-2:] == [f"epoch-{EPOCHS:03d}", "last"]
    assert (run / "checkpoints" / "last").resolve().name == f"epoch-{EPOCHS:03d}"
    assert corrupt_checkpoints(run) == []
    assert export_problems(run, tmp_path / "after.safetensors") == []


def test_a_partial_checkpoint_is_kept_while_its_writer_lives_and_cleared_after(tmp_path):
    proc, run = killed_at(tmp_path, "staged:epoch-002")
    try:
        partial = [name for name in leftovers(run)
                   if name.startswith(".epoch-002.") and name.endswith(".partial")]
        assert len(partial) == 1, leftovers(run)
        # An export while the run is still writing: it reads a committed checkpoint and
        # leaves the live writer's folder alone.
        during = export(run, tmp_path / "during.safetensors")
        assert during.returncode == 0, during.stderr
        assert exported_from(during).resolve().parent.name == "epoch-001"
        assert leftovers(run) == partial
    finally:
        kill(proc)
    after = export(run, tmp_path / "after.safetensors")
    assert after.returncode == 0, after.stderr
    assert f"removed {partial[0]}" in after.stdout
    assert leftovers(run) == []


def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(tmp_path):
    proc, run = killed_at(tmp_path, "staged:epoch-001")
    kill(proc)
    refused = export(run, tmp_path / "m.safetensors")
    assert refused.returncode == 2 and "has no checkpoint yet" in refused.stderr
    resumed = resume(run, 2)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "has no complete checkpoint yet: training it from epoch 1" in resumed.stdout
    assert "epoch 1/2" in resumed.stdout and "epoch 2/2" in resumed.stdout
    assert leftovers(run) == []
    assert export_problems(run, tmp_path / "m.safetensors") == []


def test_a_kill_at_no_chosen_moment_leaves_a_run_that_resumes(tmp_path):
    out, marker = tmp_path / "runs", tmp_path / "never"
    proc = start_training(out, "none", marker, 50)

    def second_epoch_committed() -> bool:
        run = run_folder(out)
        return run is not None and (run / "checkpoints" / "epoch-002" / "state.json").exists()
    assert wait_for(second_epoch_committed, proc), kill(proc)
    kill(proc)
    run = run_folder(out)
    assert corrupt_checkpoints(run) == []
    resumed = resume(run, 50)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resumed from" in resumed.stdout and leftovers(run) == []
    assert (run / "checkpoints" / "last").resolve().name == "epoch-050"
