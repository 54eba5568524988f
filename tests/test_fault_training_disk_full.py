"""A full disk during training and export: the message says so and names the file, what
was there stays intact, nothing half-written or staged is left.

The simulated variant always runs (os.write and open fail with ENOSPC for one folder);
the real one trains and exports into a 2 MB tmpfs and is skipped where mount is refused."""
from __future__ import annotations

import errno
import io
import os
import subprocess
from pathlib import Path

import pytest

import main as entry
from runtime.training.checkpoint import load_checkpoint, load_weights
from runtime.training.config import parse_config
from runtime.training.trainer import Trainer
from scripts.campaigns.training_checks import leftovers
from graph.loader import load_file
from graph.templates import find_template

FORMATS = ("state_dict", "safetensors", "torchscript", "onnx", "python")
PREVIOUS = b"an export made earlier\n"


def full(path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@pytest.fixture
def writes_fail_under(monkeypatch):
    """Make os.write fail with ENOSPC for files opened (os.open) under a path containing
    `where`: what the checkpoint and export writers write with."""
    def install(where: str) -> None:
        doomed: set[int] = set()
        real_open, real_write, real_close = os.open, os.write, os.close

        def opening(path, flags, mode=0o777, *args, **kwargs):
            fd = real_open(path, flags, mode, *args, **kwargs)
            if where in str(path) and flags & (os.O_WRONLY | os.O_RDWR):
                doomed.add(fd)
            return fd

        def writing(fd, data):
            if fd in doomed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        def closing(fd):
            doomed.discard(fd)
            return real_close(fd)
        monkeypatch.setattr(os, "open", opening)
        monkeypatch.setattr(os, "write", writing)
        monkeypatch.setattr(os, "close", closing)
    return install


def template(name: str):
    return load_file(find_template(name))


def train(tmp_path, epochs=3, name="mlp"):
    doc = template(name)
    cfg = parse_config({**doc.training, "epochs": epochs, "threads": 1})
    return Trainer(doc, cfg, runs_dir=tmp_path).fit()


def assert_epoch_one_kept(run: Path) -> None:
    checkpoints = run / "checkpoints"
    state, _ = load_checkpoint(checkpoints / "epoch-001")
    assert state.epoch == 1
    assert (checkpoints / "last").resolve().name == "epoch-001"
    assert leftovers(run) == []


# --- simulated: always runs -------------------------------------------------------------------
def test_a_checkpoint_that_does_not_fit_stops_the_run_and_keeps_the_one_before(
        tmp_path, writes_fail_under):
    writes_fail_under("epoch-002")
    result = train(tmp_path)
    assert result.status == "failed"
    run = result.run_dir
    assert result.error.startswith(f"cannot write {run / 'checkpoints' / 'epoch-002'}: "
                                   "the disk is full (no space left on device)")
    assert "the last complete checkpoint (epoch-001, epoch 1) is kept" in result.error
    assert f"--resume {run}" in result.error
    assert result.error in (run / "log.txt").read_text()
    assert_epoch_one_kept(run)


class FullFile(io.StringIO):
    """metrics.jsonl on a disk that filled: writes are buffered, flushing fails."""

    def __init__(self, path) -> None:
        super().__init__()
        self.path = path

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self) -> None:
        if not self.closed:
            super().close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_metrics_that_cannot_be_flushed_end_the_run_with_a_message_not_a_traceback(
        tmp_path, monkeypatch):
    import builtins

    import runtime.training.run_folder as run_folder
    real_open = builtins.open
    monkeypatch.setattr(run_folder, "open", lambda path, *a, **k: FullFile(path)
                        if str(path).endswith("metrics.jsonl") else real_open(path, *a, **k),
                        raising=False)
    seen: list[dict] = []
    doc = template("mlp")
    cfg = parse_config({**doc.training, "epochs": 3, "threads": 1})
    result = Trainer(doc, cfg, runs_dir=tmp_path, emit=seen.append).fit()
    assert result.status == "failed"
    assert result.error.startswith(f"cannot write {result.run_dir / 'metrics.jsonl'}: the disk "
                                   "is full")
    error = next(e for e in seen if e["kind"] == "error")
    assert error["traceback"] == ""
    assert seen[-1]["kind"] == "done" and seen[-1]["status"] == "failed"
    assert_epoch_one_kept(result.run_dir)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = train(out, epochs=1, name="lenet5")   # 250 KB of weights: no disk left fits them
    assert result.status == "finished", result.error
    return result.run_dir


def export_over_previous(run: Path, folder: Path, fmt: str, capsys):
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / {"python": "model.py"}.get(fmt, "model.bin")
    target.write_bytes(PREVIOUS)
    if fmt == "python":
        (folder / "model.pt").write_bytes(PREVIOUS)
    code = entry.main(["export", str(run), "--format", fmt, "--out", str(target)])
    out, err = capsys.readouterr()
    return code, out, err, target


def assert_refused_and_kept(code, err, target: Path, named: Path) -> None:
    assert code == 2, err
    assert f"error: cannot write {named}" in err
    assert "the disk is full (no space left on device); no file was replaced" in err
    assert "Traceback" not in err
    assert target.read_bytes() == PREVIOUS
    assert sorted(p.name for p in target.parent.iterdir()) == \
        sorted({target.name, "model.pt"} if target.suffix == ".py" else {target.name})


@pytest.mark.parametrize("fmt", ["state_dict", "safetensors", "torchscript"])
def test_an_export_that_does_not_fit_keeps_the_file_that_was_there(
        trained_run, tmp_path, fmt, capsys, writes_fail_under):
    writes_fail_under(str(tmp_path / "disk"))
    code, _, err, target = export_over_previous(trained_run, tmp_path / "disk", fmt, capsys)
    assert_refused_and_kept(code, err, target, target)


# --- real: a 2 MB tmpfs -----------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                                 capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the simulated tests above cover "
                    "the same logic")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'refused'}); the "
                    "simulated tests above cover the same logic")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=60)


def fill(disk: Path, leave: int) -> None:
    """Take all but about `leave` bytes of the disk."""
    st = os.statvfs(disk)
    with open(disk / "fill", "wb") as f:
        f.write(b"\0" * max(st.f_bavail * st.f_frsize - leave, 0))


def test_training_onto_a_full_tmpfs_says_so_and_keeps_its_checkpoints(small_disk, capsys):
    fill(small_disk, 1_100_000)   # room for epoch 1 of LeNet-5 (0.75 MB), not epoch 2
    code = entry.main(["train", "lenet5", "--epochs", "3", "--out", str(small_disk / "runs")])
    _, err = capsys.readouterr()
    assert code == 1, err
    run = next((small_disk / "runs").iterdir())
    assert f"error: cannot write {run / 'checkpoints' / 'epoch-002'}: the disk is full" in err
    assert "the last complete checkpoint (epoch-001, epoch 1) is kept" in err
    assert "Traceback" not in err
    tensors, graph = load_weights(run / "checkpoints" / "epoch-001" / "model.safetensors")
    assert tensors and graph
    assert_epoch_one_kept(run)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_format_onto_a_full_tmpfs_keeps_the_file_that_was_there(
        trained_run, small_disk, fmt, capsys):
    fill(small_disk, 64_000)   # LeNet-5's weights alone are 250 KB
    code, _, err, target = export_over_previous(trained_run, small_disk / fmt, fmt, capsys)
    named = target.parent if fmt == "python" else target
    assert_refused_and_kept(code, err, target, named)
