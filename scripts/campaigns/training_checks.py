"""What a kill -9 during training must leave: checkpoints that load, a run that resumes from
the newest of them, an export that picks a complete one, no staging folders after either.
Shared by tests/test_fault_training_kills.py and the training_kills campaign."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "mlp"          # digits, 9k parameters: an epoch takes a few hundredths of a second
START_TIMEOUT_S = 300     # a busy machine may take long to import torch; never the proof


def environment() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("RANK", None)
    return env


def start_training(out: Path, hold: str, marker: Path, epochs: int) -> subprocess.Popen:
    """`main.py train` under the driver, stopping at `hold` (see training_driver)."""
    cmd = [sys.executable, "-m", "scripts.campaigns.training_driver", hold, str(marker), "--",
           "train", TEMPLATE, "--epochs", str(epochs), "--out", str(out), "--quiet"]
    return subprocess.Popen(cmd, cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen,
             timeout: float = START_TIMEOUT_S) -> bool:
    """Poll until `condition` holds (True) or the process ended or time ran out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.01)
    return False


def kill(proc: subprocess.Popen) -> str:
    """SIGKILL and reap; returns what it printed."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    return out or ""


def run_folder(out: Path) -> Path | None:
    runs = [p for p in out.iterdir() if p.is_dir()] if out.is_dir() else []
    return runs[0] if len(runs) == 1 else None


def leftovers(run: Path) -> list[str]:
    """Names in checkpoints/ that are not committed checkpoints or links to them."""
    from runtime.training.checkpoint import is_checkpoint
    from runtime.training.commit import is_final_name

    folder = run / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if not is_final_name(p.name) or not is_checkpoint(p))


def corrupt_checkpoints(run: Path) -> list[str]:
    """Committed names whose files do not read back."""
    from runtime.training.checkpoint import is_checkpoint, load_weights, read_state
    from runtime.training.commit import is_final_name

    bad = []
    folder = run / "checkpoints"
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not is_final_name(entry.name) or not is_checkpoint(entry):
            continue
        try:
            load_weights(entry / "model.safetensors")
        except Exception as exc:   # noqa: BLE001 - any failure to read is the finding
            bad.append(f"{entry.name}: {exc}")
            continue
        if read_state(entry) is None:
            bad.append(f"{entry.name}: state.json unreadable")
    return bad


def cli(*argv: str) -> subprocess.CompletedProcess:
    """`main.py ARGV` in this process (only the killed run needs a process of its own, and
    importing torch again for every check would triple the time)."""
    import main as entry

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = entry.main(list(argv))
    return subprocess.CompletedProcess(["main.py", *argv], code, out.getvalue(), err.getvalue())


def cli_process(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`main.py ARGV` in a process of its own: one that aborts (exit 134) is a finding, not
    the end of the campaign."""
    return subprocess.run([sys.executable, "main.py", *argv], cwd=ROOT, env=environment(),
                          capture_output=True, text=True, timeout=timeout)


def resume(run: Path, epochs: int) -> subprocess.CompletedProcess:
    return cli("train", TEMPLATE, "--resume", str(run), "--epochs", str(epochs), "--quiet")


def export(run: Path, out: Path, fmt: str = "safetensors") -> subprocess.CompletedProcess:
    return cli("export", str(run), "--format", fmt, "--out", str(out))


def exported_from(result: subprocess.CompletedProcess) -> Path | None:
    """The weights file an export read ('weights: PATH')."""
    for line in result.stdout.splitlines():
        if line.startswith("weights: "):
            return Path(line.removeprefix("weights: "))
    return None


def export_problems(run: Path, out: Path) -> list[str]:
    """Export the run; it must read a committed checkpoint and write exactly its tensors."""
    import torch

    from runtime.training.checkpoint import is_checkpoint, load_weights
    from runtime.training.commit import is_final_name

    result = export(run, out)
    if result.returncode != 0:
        return [f"export exit {result.returncode}: {result.stderr.strip()[-300:]}"]
    source = exported_from(result)
    if source is None:
        return [f"export did not say what it read: {result.stdout[-300:]}"]
    folder = source.parent
    if not is_final_name(folder.name) or not is_checkpoint(folder):
        return [f"export read {source}, not a committed checkpoint"]
    written, _ = load_weights(out)
    expected, _ = load_weights(source)
    if set(written) != set(expected) or any(not torch.equal(written[k], expected[k])
                                            for k in expected):
        return [f"export of {source} wrote other tensors"]
    return []
