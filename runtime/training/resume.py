"""Which checkpoint `--resume PATH` continues from, whatever a kill left behind.

A run folder continues from its newest committed checkpoint; a checkpoint folder from
exactly that one, except `last`, which means the newest and which a kill can leave behind
or missing. Stale staging folders are cleared on the way (by the main rank only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runtime.training.checkpoint import (CheckpointError, is_checkpoint, model_folder,
                                          newest_checkpoint)
from runtime.training.commit import clear_stale


@dataclass
class ResumePoint:
    run: Path | None            # the run folder the resumed run writes into
    in_run_folder: bool         # PATH was the run folder itself (not one of its checkpoints)
    checkpoint: Path | None     # what to load; None: train from epoch 1
    notices: list[str] = field(default_factory=list)


def is_run_folder(path: Path) -> bool:
    """One of our run folders, even one killed before its first checkpoint (never a user's
    project folder that happens to hold a graph.json: resuming writes into it)."""
    return (path / "checkpoints").is_dir() or all(
        (path / name).is_file() for name in ("graph.json", "config.json", "log.txt"))


def resume_point(path: Path, models: tuple[str, ...], main: bool) -> ResumePoint:
    if is_run_folder(path):
        checkpoints = path / "checkpoints"
        notices = [f"{checkpoints}: {done} (left by a run that ended early)"
                   for done in (clear_stale(checkpoints) if main else ())]
        found = newest_checkpoint(checkpoints, models)
        if found is None:
            notices.append(f"{path} has no complete checkpoint yet: training it from epoch 1")
        return ResumePoint(path, True, found, notices)
    point = ResumePoint(None, False, path)
    if path.parent.name == "checkpoints":
        point.run = path.parent.parent
        if main:
            clear_stale(path.parent)
        if path.name == "last" and not is_checkpoint(model_folder(path, models[0])):
            found = newest_checkpoint(path.parent, models)
            if found is not None:
                point.notices.append(f"{path} is not a complete checkpoint: resuming from "
                                     f"{found}, the newest complete one")
                point.checkpoint = found
    return point


def check_whole(folder: Path, models: tuple[str, ...]) -> None:
    """Refuse a checkpoint folder that is not complete, naming the newest one that is."""
    if not is_checkpoint(folder) and folder.parent.name == "checkpoints":
        newest = newest_checkpoint(folder.parent, models)
        hint = (f"; the newest complete one is {newest}" if newest else
                "; there is no complete checkpoint there")
        raise CheckpointError(f"{folder}: not a complete checkpoint{hint}")
