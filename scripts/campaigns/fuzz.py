"""The fuzz campaign: `count` generated graph files through the in-process path (a sample
also through the real CLI), then count // 10 random edit sequences through the editor's
undo commands. The checks are the ones tests/ runs in CI (tests/fuzz_harness.py), at
campaign size and with random seeds.

    .venv/bin/python -m scripts.campaigns.fuzz 10000
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.campaigns.result import CampaignResult

ROOT = Path(__file__).resolve().parents[2]
CASE_SECONDS = 60        # one in-process case past this is a hang
CLI_SECONDS = 120        # one CLI run past this is a hang (a process start is ~3 s)
CLI_EVERY = 50           # one case in CLI_EVERY also goes through the real CLI
MAX_EXAMPLES = 8         # examples kept in the result


class _CaseTimeout(Exception):
    pass


def run(count: int) -> CampaignResult:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    os.environ.setdefault("NODETORCH_FUZZ", "slow")
    result = CampaignResult("fuzz")
    started = time.perf_counter()
    _fuzz_files(count, result)
    _edit_sequences(max(count // 10, 1), result)
    result.seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result.peak_memory_mb = max(own, children) / 1024  # Linux reports kilobytes
    return result


def _note(result: CampaignResult, text: str) -> None:
    if len(result.examples) < MAX_EXAMPLES:
        result.examples.append(text[:2000])


def _fuzz_files(count: int, result: CampaignResult) -> None:
    from hypothesis import HealthCheck, given, settings
    from fuzz_harness import (assert_cli_contract, check_text, nodes_in_text, run_cli,
                              write_case)
    from graph_strategies import any_document_texts

    folder = Path(tempfile.mkdtemp(prefix="nodetorch-fuzz-"))

    def on_alarm(signum, frame):
        raise _CaseTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(any_document_texts())
    def one_case(text: str) -> None:
        result.cases += 1
        signal.alarm(CASE_SECONDS)
        try:
            check_text(text)
        except _CaseTimeout:
            result.hangs += 1
            _note(result, f"in-process case over {CASE_SECONDS} s: {text[:300]!r}")
        except BaseException as exc:  # noqa: BLE001 - every escape is a finding
            result.unhandled += 1
            _note(result, f"{type(exc).__name__}: {str(exc)[:600]} | file: {text[:300]!r}")
        finally:
            signal.alarm(0)
        if result.cases % CLI_EVERY:
            return
        path = write_case(folder / "case.json", text)
        try:
            code, output = run_cli(path, timeout=CLI_SECONDS)
            assert_cli_contract(code, output, nodes_in_text(text))
        except subprocess.TimeoutExpired:
            result.hangs += 1
            _note(result, f"CLI over {CLI_SECONDS} s: {text[:300]!r}")
        except AssertionError as exc:
            result.unhandled += 1
            _note(result, f"CLI: {str(exc)[:600]} | file: {text[:300]!r}")

    try:
        one_case()
    finally:
        signal.signal(signal.SIGALRM, previous)


def _edit_sequences(count: int, result: CampaignResult) -> None:
    from hypothesis.stateful import run_state_machine_as_test
    from fuzz_settings import fuzz_settings
    import test_edit_sequences

    runs = {"n": 0}

    class Counted(test_edit_sequences.EditSequence):
        def teardown(self):
            runs["n"] += 1
            super().teardown()

    try:
        run_state_machine_as_test(Counted, settings=fuzz_settings(
            fast=count, slow=count, stateful_step_count=30))
    except BaseException as exc:  # noqa: BLE001 - a failing sequence, already shrunk
        result.unhandled += 1
        _note(result, f"edit sequence: {type(exc).__name__}: {str(exc)[:1500]}")
    result.cases += runs["n"]


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 10_000
    outcome = run(count)
    print(outcome)
    return 1 if outcome.failed() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
