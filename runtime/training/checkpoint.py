"""Checkpoints without pickles: tensors in safetensors, everything else in JSON.

A checkpoint folder holds
  model.safetensors      the model's state_dict; its metadata carries the graph JSON, so a
                         weights file alone is enough to rebuild and export the model
  optimizer.safetensors  the optimizer's tensors (moments, step counts)
  state.json             epoch, step, metrics, optimizer hyper-parameters, scheduler state

A run's checkpoints/ folder (see commit.py for how each name is written safely):
  epoch-NNN/             the end of epoch NNN
  step-NNNNNNN/          a run stopped in the middle of an epoch, at that global step
  last, best             links to one of those (copies where there are no symlinks)
A model other than "model" (a GAN's generator, ...) adds its name: epoch-001-generator.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as serialise_tensors

from graph.atomic_file import remove_stale_temp_files, temp_name
from runtime.training.commit import commit_folder, is_final_name, staging_folder
from graph.atomic_file import fsync_folder
from runtime.training.durable import write_bytes

GRAPH_KEY = "nodetorch.graph"
FORMAT_KEY = "nodetorch.format"
FORMAT = "nodetorch.weights.v1"
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state.json"


class CheckpointError(Exception):
    """A checkpoint or weights file cannot be used; the message names the file."""


@dataclass
class CheckpointState:
    epoch: int = 0              # epochs completed
    global_step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    best_metric: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def save_weights(path: str | os.PathLike, module: torch.nn.Module, graph_json: str,
                 metadata: dict[str, str] | None = None) -> Path:
    """state_dict → safetensors with the graph in its metadata. Atomic: a temp file in the
    same folder, fsynced, renamed over; on a full disk an OSError naming the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The editor's temp-file naming: one killed mid-write is cleared at the next save.
    remove_stale_temp_files(path.parent, path.name)
    tmp = path.with_name(temp_name(path.name))
    write_bytes(tmp, weights_bytes(module, graph_json, metadata))
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def weights_bytes(module: torch.nn.Module, graph_json: str,
                  metadata: dict[str, str] | None = None) -> bytes:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    return serialise_tensors(tensors, {FORMAT_KEY: FORMAT, GRAPH_KEY: graph_json,
                                       **(metadata or {})})


def load_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str | None]:
    """(state_dict, graph JSON or None)."""
    path = Path(path)
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    return tensors, meta.get(GRAPH_KEY)


def save_checkpoint(folder: str | os.PathLike, module: torch.nn.Module, graph_json: str,
                    state: CheckpointState, optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    schedulers: dict[str, Any] | None = None) -> Path:
    """Write a whole checkpoint folder; it appears complete or not at all. Everything is
    serialised before the first byte is written, and written into a hidden staging folder
    that takes the final name only once its files and itself are on disk."""
    folder = Path(folder)
    model = weights_bytes(module, graph_json,
                          {"epoch": str(state.epoch), "global_step": str(state.global_step)})
    opt_tensors: dict[str, torch.Tensor] = {}
    opt_meta: dict[str, Any] = {}
    for name, opt in (optimizers or {}).items():
        tensors, meta = _flatten_optimizer(opt.state_dict())
        opt_tensors.update({f"{name}.{k}": v for k, v in tensors.items()})
        opt_meta[name] = meta
    sched_meta = {name: _jsonable(s.state_dict()) for name, s in (schedulers or {}).items()}
    doc = {"epoch": state.epoch, "global_step": state.global_step,
           "metrics": _jsonable(state.metrics), "best_metric": _jsonable(state.best_metric),
           "extra": _jsonable(state.extra), "optimizers": opt_meta, "schedulers": sched_meta}
    state_text = json.dumps(doc, indent=2).encode("utf-8")

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_folder(folder)
    tmp.mkdir()
    try:
        write_bytes(tmp / WEIGHTS_FILE, model)
        if opt_tensors:
            write_bytes(tmp / "optimizer.safetensors", serialise_tensors(opt_tensors))
        write_bytes(tmp / STATE_FILE, state_text)   # last: a folder with it is whole
        fsync_folder(tmp)
        commit_folder(tmp, folder)
    except OSError as exc:   # named by the checkpoint it was to be, not the staging folder
        shutil.rmtree(tmp, ignore_errors=True)
        raise OSError(exc.errno, exc.strerror, str(folder)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def is_checkpoint(folder: Path) -> bool:
    """A committed checkpoint: its final name and both files that make it whole."""
    return (folder / STATE_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def read_state(folder: Path) -> dict[str, Any] | None:
    """state.json as a dict, or None when it is missing or unreadable."""
    try:
        doc = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def model_folder(base: Path, model: str) -> Path:
    """checkpoints/epoch-001 for the model "model", checkpoints/epoch-001-generator else."""
    return base if model == "model" else base.with_name(f"{base.name}-{model}")


def newest_checkpoint(checkpoints: Path, models: tuple[str, ...] = ("model",)) -> Path | None:
    """The committed checkpoint with the most steps behind it (every model's folder whole,
    all at the same step), or None. A link (last, best) is chosen only over nothing: the
    folder it leads to names the same checkpoint."""
    first = models[0]
    suffix = "" if first == "model" else f"-{first}"
    chosen, chosen_key = None, None
    try:
        entries = sorted(checkpoints.iterdir())
    except OSError:
        return None
    for entry in entries:
        if not is_final_name(entry.name) or not entry.name.endswith(suffix):
            continue
        base = entry.with_name(entry.name[:len(entry.name) - len(suffix)])
        folders = [model_folder(base, m) for m in models]
        if not all(is_checkpoint(f) for f in folders):
            continue
        states = [read_state(f) for f in folders]
        if any(s is None for s in states):
            continue
        steps = {(s.get("global_step"), s.get("epoch")) for s in states}
        if len(steps) != 1:
            continue
        step, epoch = steps.pop()
        if not isinstance(step, int) or not isinstance(epoch, int):
            continue
        key = (step, epoch, not entry.is_symlink())
        if chosen_key is None or key > chosen_key:
            chosen, chosen_key = base, key
    return chosen


def load_checkpoint(folder: str | os.PathLike, module: torch.nn.Module | None = None,
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    schedulers: dict[str, Any] | None = None) -> tuple[CheckpointState, str | None]:
    """Restore into the given objects; returns the saved state and the graph JSON."""
    folder = Path(folder)
    state_path = folder / STATE_FILE
    if not state_path.is_file():
        raise CheckpointError(f"{folder}: not a checkpoint folder (no {STATE_FILE})")
    try:
        doc = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{state_path}: unreadable ({exc})") from None
    tensors, graph_json = load_weights(folder / WEIGHTS_FILE)
    if module is not None:
        try:
            module.load_state_dict(tensors)
        except RuntimeError as exc:
            raise CheckpointError(f"{folder}: the weights do not fit this graph: "
                                  f"{str(exc).splitlines()[0]}") from None
    if optimizers:
        opt_tensors, _ = load_weights(folder / "optimizer.safetensors") \
            if (folder / "optimizer.safetensors").exists() else ({}, None)
        for name, opt in optimizers.items():
            meta = doc.get("optimizers", {}).get(name)
            if meta is None:
                continue
            prefix = f"{name}."
            mine = {k[len(prefix):]: v for k, v in opt_tensors.items() if k.startswith(prefix)}
            opt.load_state_dict(_unflatten_optimizer(mine, meta))
    for name, sched in (schedulers or {}).items():
        saved = doc.get("schedulers", {}).get(name)
        if saved is not None:
            sched.load_state_dict(saved)
    state = CheckpointState(doc.get("epoch", 0), doc.get("global_step", 0),
                            doc.get("metrics", {}), doc.get("best_metric"), doc.get("extra", {}))
    return state, graph_json


def _flatten_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": _jsonable(sd["param_groups"]), "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    for idx, entries in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(entries)
    return {"state": state, "param_groups": meta["param_groups"]}


def _jsonable(value: Any) -> Any:
    """JSON for what optimizers and schedulers keep: numbers, lists, tuples, dicts."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return None  # callables and the like cannot be restored; the owner rebuilds them
