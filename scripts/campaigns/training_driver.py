"""`main.py` with a place to stop at, for kill tests: the process runs the command given
after `--` until it reaches HOLD, then writes MARKER (its pid) and waits there to be killed.

    python -m scripts.campaigns.training_driver HOLD MARKER -- train mlp --out D

HOLD is one of
  staged:NAME          checkpoint NAME written into its staging folder, not yet renamed
  point:LINK=TARGET    checkpoint TARGET committed, LINK (last, best) not yet moved to it
  step:N               before global step N (in the middle of an epoch)
  none                 nowhere: the caller kills it whenever it likes
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def hold(marker: Path) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, marker)
    while True:   # until SIGKILL
        time.sleep(60)


def install(where: str, marker: Path) -> None:
    kind, _, arg = where.partition(":")
    if kind == "staged":
        import runtime.training.checkpoint as checkpoint
        commit = checkpoint.commit_folder

        def held_commit(tmp, final):
            if final.name == arg:
                hold(marker)
            return commit(tmp, final)
        checkpoint.commit_folder = held_commit
    elif kind == "point":
        import runtime.training.trainer as trainer
        link, _, target = arg.partition("=")
        point = trainer.point

        def held_point(folder, name, to):
            if name == link and to == target:
                hold(marker)
            return point(folder, name, to)
        trainer.point = held_point
    elif kind == "step":
        from runtime.training.trainer import Trainer
        step, at = Trainer.training_step, int(arg)

        def held_step(self, *args, **kwargs):
            if self.state.global_step + 1 == at:
                hold(marker)
            return step(self, *args, **kwargs)
        Trainer.training_step = held_step
    elif kind != "none":
        raise SystemExit(f"unknown hold {where!r}")


def main(argv: list[str]) -> int:
    where, marker, dashes, *command = argv
    if dashes != "--":
        raise SystemExit("usage: training_driver HOLD MARKER -- COMMAND ...")
    install(where, Path(marker))
    import main as entry
    return entry.main(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
