"""Checkpoint commits and their clean-up: what counts as committed, which leftovers are
cleared (only those whose writer is gone), and extending a finished run."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import main as entry
from runtime.training.checkpoint import CheckpointState, newest_checkpoint, save_checkpoint
from runtime.training.commit import HOST, clear_stale, point
from runtime.training.config import ScheduleConfig
from runtime.training.optim import Schedule


def checkpoint(folder: Path, step: int, epoch: int) -> Path:
    return save_checkpoint(folder, torch.nn.Linear(2, 2), "{}", CheckpointState(epoch, step))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_newest_committed_checkpoint_is_the_one_with_most_steps(tmp_path):
    ck = tmp_path / "checkpoints"
    checkpoint(ck / "epoch-001", 45, 1)
    checkpoint(ck / "step-0000060", 60, 1)
    checkpoint(ck / "epoch-002", 90, 2)
    point(ck, "last", "epoch-001")   # behind: a kill before it moved on
    for hidden in (f".epoch-003.1@{HOST}.partial", "epoch-003.partial"):
        checkpoint(ck / "x", 135, 3).rename(ck / hidden)
    assert newest_checkpoint(ck) == ck / "epoch-002"
    assert (ck / "last").is_symlink() and (ck / "last").resolve() == (ck / "epoch-001").resolve()


def test_a_multi_model_checkpoint_counts_only_when_every_model_is_whole(tmp_path):
    ck = tmp_path / "checkpoints"
    for model in ("generator", "discriminator"):
        checkpoint(ck / f"epoch-001-{model}", 10, 1)
    checkpoint(ck / "epoch-002-generator", 20, 2)   # killed before its discriminator
    assert newest_checkpoint(ck, ("generator", "discriminator")) == ck / "epoch-001"


def test_leftovers_of_writers_that_are_gone_are_cleared_and_live_ones_kept(tmp_path):
    ck = tmp_path / "checkpoints"
    checkpoint(ck / "epoch-001", 45, 1)
    gone = ck / f".epoch-002.{dead_pid()}@{HOST}.partial"
    gone.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live = ck / f".epoch-002.{writer.pid}@{HOST}.partial"
        live.mkdir()
        old_link = ck / f".last.{dead_pid()}@{HOST}.link"
        os.symlink("epoch-001", old_link)
        done = clear_stale(ck)
        assert sorted(done) == sorted([f"removed {gone.name}", f"removed {old_link.name}"])
        assert live.is_dir() and not gone.exists() and not os.path.lexists(old_link)
        if Path(f"/proc/{writer.pid}/stat").exists():
            # The same number, but the process started after the folder was last written:
            # not its writer (a pid reused).
            hour_ago = time.time() - 3600
            os.utime(live, (hour_ago, hour_ago))
            assert clear_stale(ck) == [f"removed {live.name}"]
    finally:
        writer.kill()
        writer.wait()
    assert sorted(p.name for p in ck.iterdir()) == ["epoch-001"]


def test_a_swap_cut_short_puts_the_old_folder_back(tmp_path):
    ck = tmp_path / "checkpoints"
    checkpoint(ck / "epoch-001", 45, 1)
    checkpoint(ck / "x", 45, 1).rename(ck / f".best.{dead_pid()}@{HOST}.old")
    checkpoint(ck / "y", 45, 1).rename(ck / "last.old")          # the naming before owners
    checkpoint(ck / "z", 90, 2).rename(ck / "epoch-002.partial")
    long_ago = time.time() - 3600
    for name in ("last.old", "epoch-002.partial"):
        os.utime(ck / name, (long_ago, long_ago))
    done = clear_stale(ck)
    assert len(done) == 3 and "removed epoch-002.partial" in done
    assert sorted(p.name for p in ck.iterdir()) == ["best", "epoch-001", "last"]
    assert newest_checkpoint(ck) is not None and newest_checkpoint(ck).name != "epoch-002"


def test_extending_a_finished_one_cycle_run_continues_to_the_new_epoch_count(tmp_path, capsys):
    assert entry.main(["train", "lenet5", "--epochs", "1", "--out", str(tmp_path)]) == 0
    run = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert entry.main(["train", "lenet5", "--resume", str(run), "--epochs", "4",
                       "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("epoch ")] == \
        ["2/4", "3/4", "4/4"]
    note = ("the one-cycle learning-rate schedule was planned for 90 steps and 90 are done; "
            "this run ends at 360, so a new one-cycle schedule runs over the 270 steps that remain")
    assert note in out and note in (run / "log.txt").read_text()
    assert (run / "checkpoints" / "last").resolve().name == "epoch-004"
    lrs = [float(line.split(" lr ")[1].split()[0]) for line in out.splitlines()
           if line.startswith("epoch ")]
    assert lrs[-1] < 1e-4 < lrs[0]   # a whole new cycle: it rose again and annealed
    # Resumed again at the same length: the saved schedule goes on, nothing to rebuild.
    assert entry.main(["train", "lenet5", "--resume", str(run), "--epochs", "4"]) == 0
    again = capsys.readouterr().out
    assert "done: 4 epoch(s)" in again and "schedule was planned" not in again


def test_a_cosine_schedule_restored_into_a_longer_run_anneals_over_what_remains():
    def schedule(epochs: int):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        return opt, Schedule(opt, ScheduleConfig(name="cosine", min_lr=0.001), epochs, 10)
    opt, first = schedule(2)
    for _ in range(2):
        opt.step()
        first.after_epoch(None)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.001)
    opt2, longer = schedule(5)
    opt2.load_state_dict(opt.state_dict())
    longer.load_state_dict(first.state_dict())
    assert "planned for 2 epochs and 2 are done; this run ends at 5" in longer.note
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1)
    for _ in range(3):
        opt2.step()
        longer.after_epoch(None)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.001)
    same = schedule(5)[1]
    same.load_state_dict(longer.state_dict())
    assert same.note == "" and same.start == 2
