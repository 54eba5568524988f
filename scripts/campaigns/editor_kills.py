"""kill -9 the editor at random moments while it edits, saves and autosaves; then check
what a user would find: the graph file old or new (never half), the autosaved edits
recovered, no temp file left for good, no child process left running.

    .venv/bin/python -m scripts.campaigns.editor_kills 100

Rounds come in chains of CHAIN on one graph file: each round's editor starts on what the
killed one left, restores its recovery file, and goes on editing (scripts/campaigns/
editor_driver.py). After each kill:
- corrupt_files: the file does not load, or is not exactly a version a save began writing;
- lost_edits: edits the journal says were autosaved or saved, missing from both the file
  and the recovery file;
- temp_files_left: temp files of an earlier round still there after this round started
  (the recovery folder is cleaned at start) or saved (the graph's folder at each save);
- children_left (at the end, after CHILD_GRACE_S): helper, tracker or worker processes of
  a killed editor still running;
- hangs: an editor that did not start editing within START_TIMEOUT_S;
- unhandled: an editor that ended by itself (an exception, a dialog left open counts too).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.campaigns.process_tree import Proc, descendants, kill_all, peak_rss_mb, wait_gone
from scripts.campaigns.result import CampaignResult

ROOT = Path(__file__).resolve().parents[2]
CHAIN = 5
START_TIMEOUT_S = 120.0
CHILD_GRACE_S = 60.0
# after the editor starts editing: mostly soon (mid-edit, mid-save), some once its helper runs
KILL_SOON_S, KILL_LATE_S, LATE_SHARE = (0.05, 1.5), (1.5, 5.0), 0.25
MAX_EXAMPLES = 10


@dataclass
class EditorKillsResult(CampaignResult):
    temp_files_left: int = 0       # temp files never cleaned up (see the module's doc)
    temp_files_made: int = 0       # left by kills (then cleaned by the next start or save)
    children_left: int = 0
    kills_with_helper: int = 0     # kills while the editor's helper process ran
    edits_restored: int = 0        # edits recovered from recovery files at the next start

    def failed(self) -> bool:
        return super().failed() or bool(self.temp_files_left or self.children_left)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _journal(path: Path) -> list[tuple[str, list[str]]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [(w[0], w[1:]) for w in (line.split(" ") for line in lines) if w and w[0]]


def _temps(*folders: Path) -> dict[Path, int]:
    from graph.atomic_file import parse_temp_name
    found = {}
    for folder in folders:
        if folder.is_dir():
            for entry in folder.iterdir():
                parsed = parse_temp_name(entry.name)
                if parsed:
                    found[entry] = parsed[1]
    return found


class Zygote:
    """The warm editor process that forks one editor per round."""

    def __init__(self) -> None:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "scripts.campaigns.editor_driver"],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, args: dict) -> int:
        self.proc.stdin.write(f"RUN {json.dumps(args)}\n")
        self.proc.stdin.flush()
        word, pid = self.proc.stdout.readline().split()
        assert word == "PID", word
        return int(pid)

    def wait_exit(self) -> int:
        word, _pid, status = self.proc.stdout.readline().split()
        assert word == "EXIT", word
        return int(status)

    def close(self) -> None:
        try:
            self.proc.stdin.write("QUIT\n")
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def _wait_started(journal: Path, pid: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        events = _journal(journal)
        if any(kind == "start" for kind, _ in events) or any(k == "exception" for k, _ in events):
            return True
        time.sleep(0.02)
    return False


def run(count: int, seed: int = 0) -> EditorKillsResult:
    from graph.loader import load_file
    from graph.templates import find_template
    from gui.autosave import recovery_dir
    from scripts.campaigns.editor_driver import edits_in

    result = EditorKillsResult(name="editor_kills")
    rng = random.Random(seed)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="nodetorch-editor-kills-"))
    zygote = Zygote()
    children: list[Proc] = []

    def example(text: str) -> None:
        if len(result.examples) < MAX_EXAMPLES:
            result.examples.append(text)
    try:
        for chain in range(0, count, CHAIN):
            folder = work / f"chain-{chain // CHAIN:03d}"
            config = folder / "config"
            folder.mkdir()
            path = folder / "net.json"
            shutil.copy(find_template("mlp"), path)
            versions = {_sha(path)}          # the file may be any of these
            durable = 0                     # edits saved or autosaved so far
            recoverable = 0                 # edits the last check found on disk
            earlier_pids: set[int] = set()
            for round_no in range(chain, min(chain + CHAIN, count)):
                journal = folder / f"journal-{round_no}.txt"
                pid = zygote.run({"folder": str(folder), "path": str(path), "config": str(config),
                                  "journal": str(journal), "seed": rng.randrange(2**31)})
                result.cases += 1
                if not _wait_started(journal, pid):
                    result.hangs += 1
                    example(f"round {round_no}: the editor did not start in {START_TIMEOUT_S} s")
                time.sleep(rng.uniform(*(KILL_LATE_S if rng.random() < LATE_SHARE else KILL_SOON_S)))
                kids = descendants(pid)
                if any("spawn_main" in k.cmdline for k in kids):
                    result.kills_with_helper += 1
                children += kids
                result.peak_memory_mb = max(result.peak_memory_mb, peak_rss_mb(pid))
                os.kill(pid, signal.SIGKILL)
                status = zygote.wait_exit()
                events = _journal(journal)
                if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                    result.unhandled += 1
                    example(f"round {round_no}: the editor ended by itself ({status}): "
                            f"{[e for e in events if e[0] == 'exception']}")
                for kind, words in events:
                    if kind == "save-begin":
                        versions.add(words[1])
                    elif kind == "dialog":
                        result.unhandled += 1
                        example(f"round {round_no}: a dialog: {' '.join(words)[:200]}")
                    elif kind in ("saved", "autosaved", "start"):
                        durable = max(durable, int(words[0]))
                restored = [int(w[0]) for k, w in events if k == "start"]
                if restored and restored[0] < recoverable:
                    result.lost_edits += recoverable - restored[0]
                    example(f"round {round_no}: started with {restored[0]} edits of the "
                            f"{recoverable} left recoverable")

                # what is on disk now, as the next start will find it
                temps = _temps(folder, recovery_dir(config))
                result.temp_files_made += sum(1 for p in temps.values() if p == pid)
                saved_this_round = any(k == "saved" for k, _ in events)
                for temp, owner in temps.items():
                    in_recovery = temp.parent == recovery_dir(config)
                    if owner in earlier_pids and (restored and in_recovery or
                                                  saved_this_round and not in_recovery):
                        result.temp_files_left += 1
                        example(f"round {round_no}: {temp.name} of an earlier editor still there")
                earlier_pids.add(pid)
                try:
                    on_disk = edits_in(load_file(path))
                except Exception as exc:  # noqa: BLE001 - any failure to read is a corrupt file
                    on_disk = 0
                    result.corrupt_files += 1
                    example(f"round {round_no}: {path} does not load: {exc}")
                if _sha(path) not in versions:
                    result.corrupt_files += 1
                    example(f"round {round_no}: {path} is no version a save wrote")
                recovered = max([on_disk] + [edits_in(load_file_text(r.document)) for r in
                                              _recoveries(config, result, example)
                                              if r.original_path == path])
                if durable > recovered:
                    result.lost_edits += durable - recovered
                    example(f"round {round_no}: edits up to {durable} were autosaved or saved, "
                            f"only {recovered} can be recovered")
                result.edits_restored += max(0, recovered - on_disk)
                recoverable = recovered
        left = wait_gone(children, CHILD_GRACE_S)
        result.children_left = len(left)
        for p in left[:3]:
            example(f"still running {CHILD_GRACE_S} s after its editor was killed: {p.cmdline[:120]}")
        kill_all(left)
    finally:
        zygote.close()
        result.seconds = round(time.monotonic() - started, 1)
        shutil.rmtree(work, ignore_errors=True)
    return result


def _recoveries(config: Path, result: EditorKillsResult, example) -> list:
    """The recovery files as the next start will read them. Not find_recoveries: that
    also removes stale temp files, which is for the editor to do, not for this check."""
    from gui.autosave import read_recovery, recovery_dir
    found = []
    for file in sorted(recovery_dir(config).glob("*.json")):
        try:
            found.append(read_recovery(file))
        except ValueError as exc:
            result.corrupt_files += 1
            example(f"{file.name}: {exc}")
    return found


def load_file_text(text: str):
    from graph.loader import loads
    return loads(text)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 100
    result = run(count)
    for key, value in vars(result).items():
        print(f"{key}: {value}")
    return 1 if result.failed() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
