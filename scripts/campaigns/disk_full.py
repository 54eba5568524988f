"""Training runs and exports of every format onto a small tmpfs with a random amount of room
left, each in a process of its own (an abort is a finding, not the end of the campaign):

    .venv/bin/python -m scripts.campaigns.disk_full 12

- unhandled: an exit code other than 0, 1, 2; a traceback; a failure that does not say the
  disk is full;
- corrupt_files: a committed checkpoint that does not read back, a staging folder or
  half-written file left, or an earlier export not exactly as it was after a refused one.
Skipped, saying why, where a tmpfs cannot be mounted (it needs root).
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.campaigns.result import CampaignResult, peak_memory_mb
from scripts.campaigns.training_checks import cli_process, corrupt_checkpoints, leftovers

FORMATS = ("state_dict", "safetensors", "torchscript", "onnx", "python")
DISK = "2m"
PREVIOUS = b"an export made earlier\n"
MAX_EXAMPLES = 10


def mount(folder: Path) -> str:
    """'' when a tmpfs is mounted at `folder`, else why not."""
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(folder)],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=60)


def fill(disk: Path, leave: int) -> None:
    st = os.statvfs(disk)
    with open(disk / "fill", "wb") as f:
        f.write(b"\0" * max(st.f_bavail * st.f_frsize - leave, 0))


def _said_disk_full(done: subprocess.CompletedProcess) -> bool:
    return "the disk is full (no space left on device)" in done.stderr


def _judge(done, result: CampaignResult, what: str) -> bool:
    """Count an unhandled ending; True when the process ended as it may."""
    if done.returncode not in (0, 1, 2) or "Traceback" in done.stderr + done.stdout or (
            done.returncode != 0 and not _said_disk_full(done)):
        result.unhandled += 1
        _example(result, f"{what}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
        return False
    return True


def training_case(disk: Path, leave: int, result: CampaignResult) -> None:
    fill(disk, leave)
    done = cli_process("train", "lenet5", "--epochs", "3", "--out", str(disk / "runs"), "--quiet")
    what = f"train with {leave} bytes free"
    _judge(done, result, what)
    for run in (disk / "runs").iterdir() if (disk / "runs").is_dir() else []:
        bad = corrupt_checkpoints(run) + leftovers(run)
        result.corrupt_files += len(bad)
        if bad:
            _example(result, f"{what}: {bad[:3]}")


def export_case(disk: Path, run: Path, fmt: str, leave: int, result: CampaignResult) -> None:
    folder = disk / fmt
    folder.mkdir()
    target = folder / ("model.py" if fmt == "python" else "model.bin")
    target.write_bytes(PREVIOUS)
    fill(disk, leave)
    done = cli_process("export", str(run), "--format", fmt, "--out", str(target))
    what = f"export {fmt} with {leave} bytes free"
    if not _judge(done, result, what):
        return
    staged = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    if done.returncode != 0 and target.read_bytes() != PREVIOUS:
        result.corrupt_files += 1
        _example(result, f"{what}: the earlier export was changed by a refused one")
    if staged:
        result.corrupt_files += len(staged)
        _example(result, f"{what}: left {staged}")


def run(count: int, seed: int = 0) -> CampaignResult:
    result = CampaignResult("disk_full")
    rng = random.Random(seed)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nodetorch-disk-full-") as tmp:
        trained = cli_process("train", "lenet5", "--epochs", "1", "--out", f"{tmp}/runs", "--quiet")
        if trained.returncode != 0:
            raise SystemExit(f"cannot train the model to export: {trained.stderr}")
        run_dir = next(Path(tmp, "runs").iterdir())
        for case in range(count):
            disk = Path(tmp, f"disk-{case}")
            disk.mkdir()
            why = mount(disk)
            if why:
                result.examples.append(f"skipped: cannot mount a {DISK} tmpfs ({why}); "
                                       "run as root where mount is allowed")
                break
            try:
                if case % (len(FORMATS) + 1) == 0:
                    training_case(disk, rng.randint(0, 2_000_000), result)
                else:
                    fmt = FORMATS[case % (len(FORMATS) + 1) - 1]
                    export_case(disk, run_dir, fmt, rng.randint(0, 400_000), result)
            finally:
                unmount(disk)
            result.cases += 1
    result.seconds = round(time.perf_counter() - began, 1)
    result.peak_memory_mb = peak_memory_mb()
    return result


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 12))
