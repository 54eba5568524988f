"""kill -9 a real `main.py train` (MLP on digits) at random moments, then check what a user
would find: every committed checkpoint loads, `--resume` continues from the newest one and
finishes, `export` reads a committed one and writes exactly its tensors, and no staging
folder is left after the resume.

    .venv/bin/python -m scripts.campaigns.training_kills 20

Half the kills come after a random delay once the run has started training (wherever it
happens to be), half at a moment chosen at random among the ones that used to break it
(a checkpoint staged but not renamed, committed but `last` not moved, mid-epoch).
- unhandled: resume or export exits non-zero, or says nothing sensible;
- corrupt_files: a committed checkpoint that does not read back;
- partials_left: staging folders or links still there after the resume cleaned up;
- hangs: a run that never reached its kill point within START_TIMEOUT_S.
"""
from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.campaigns.result import CampaignResult, peak_memory_mb
from scripts.campaigns.training_checks import (corrupt_checkpoints, export_problems, kill,
                                               leftovers, resume, run_folder, start_training,
                                               wait_for)

EPOCHS = 4
STEPS_PER_EPOCH = 45
MAX_EXAMPLES = 10


@dataclass
class TrainingKillsResult(CampaignResult):
    partials_left: int = 0        # staging folders the resume did not clear
    killed_before_a_checkpoint: int = 0
    partials_made: int = 0        # staging folders a kill left (then cleared by the resume)

    def failed(self) -> bool:
        return super().failed() or bool(self.partials_left)


def _hold(rng: random.Random) -> str:
    epoch = rng.randint(1, EPOCHS - 1)
    return rng.choice([f"staged:epoch-{epoch:03d}", f"point:last=epoch-{epoch:03d}",
                       f"step:{rng.randint(1, STEPS_PER_EPOCH * (EPOCHS - 1))}"])


def one_kill(case: int, rng: random.Random, work: Path, result: TrainingKillsResult) -> None:
    out, marker = work / "runs", work / "held"
    timed = rng.random() < 0.5
    hold = "none" if timed else _hold(rng)
    proc = start_training(out, hold, marker, EPOCHS)
    if timed:
        started = lambda: (run := run_folder(out)) is not None and (run / "log.txt").exists()  # noqa: E731
        reached = wait_for(started, proc)
        if reached:
            time.sleep(rng.uniform(0.0, 0.6))   # the random moment itself, not a proof
    else:
        reached = wait_for(marker.exists, proc)
    printed = kill(proc)
    what = f"case {case} ({'random delay' if timed else hold})"
    run = run_folder(out)
    if not reached or run is None:
        if proc.returncode == 0 and run is not None:
            return   # the run finished before the random moment came: nothing to check
        result.hangs += 1
        _example(result, f"{what}: never reached its kill point: {printed[-300:]}")
        return
    result.corrupt_files += len(bad := corrupt_checkpoints(run))
    if bad:
        _example(result, f"{what}: {bad[:2]}")
    result.partials_made += len(leftovers(run))
    if not (run / "checkpoints" / "epoch-001").exists():
        result.killed_before_a_checkpoint += 1
    resumed = resume(run, EPOCHS)
    if resumed.returncode != 0 or "Traceback" in resumed.stderr:
        result.unhandled += 1
        _example(result, f"{what}: resume exit {resumed.returncode}: {resumed.stderr[-300:]}")
        return
    left = leftovers(run)
    result.partials_left += len(left)
    if left:
        _example(result, f"{what}: left after resume: {left}")
    if (run / "checkpoints" / "last").resolve().name != f"epoch-{EPOCHS:03d}":
        result.unhandled += 1
        _example(result, f"{what}: the resumed run did not reach epoch {EPOCHS}")
    problems = export_problems(run, work / "model.safetensors")
    if problems:
        result.unhandled += 1
        _example(result, f"{what}: {problems[0]}")


def _example(result: CampaignResult, text: str) -> None:
    if len(result.examples) < MAX_EXAMPLES:
        result.examples.append(text)


def run(count: int, seed: int = 0) -> TrainingKillsResult:
    result = TrainingKillsResult("training_kills")
    rng = random.Random(seed)
    began = time.perf_counter()
    for case in range(count):
        work = Path(tempfile.mkdtemp(prefix="nodetorch-kills-"))
        try:
            one_kill(case, rng, work, result)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result.cases += 1
    result.seconds = round(time.perf_counter() - began, 1)
    result.peak_memory_mb = peak_memory_mb()
    return result


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
