"""Checkpoints without pickles: tensors in safetensors, everything else in JSON.

A checkpoint folder holds
  model.safetensors      the model's state_dict; its metadata carries the graph JSON, so a
                         weights file alone is enough to rebuild and export the model
  optimizer.safetensors  the optimizer's tensors (moments, step counts)
  state.json             epoch, step, metrics, optimizer hyper-parameters, scheduler state
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
from safetensors.torch import load_file, save_file

GRAPH_KEY = "nodetorch.graph"
FORMAT_KEY = "nodetorch.format"
FORMAT = "nodetorch.weights.v1"


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
    """state_dict → safetensors with the graph in its metadata. Atomic."""
    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    meta = {FORMAT_KEY: FORMAT, GRAPH_KEY: graph_json, **(metadata or {})}
    _atomic(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    return path


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
    """Write a whole checkpoint folder; it appears complete or not at all."""
    folder = Path(folder)
    tmp = _staging(folder)
    tmp.mkdir(parents=True)
    save_weights(tmp / "model.safetensors", module, graph_json,
                 {"epoch": str(state.epoch), "global_step": str(state.global_step)})
    opt_tensors: dict[str, torch.Tensor] = {}
    opt_meta: dict[str, Any] = {}
    for name, opt in (optimizers or {}).items():
        tensors, meta = _flatten_optimizer(opt.state_dict())
        opt_tensors.update({f"{name}.{k}": v for k, v in tensors.items()})
        opt_meta[name] = meta
    if opt_tensors:
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    sched_meta = {name: _jsonable(s.state_dict()) for name, s in (schedulers or {}).items()}
    doc = {"epoch": state.epoch, "global_step": state.global_step,
           "metrics": _jsonable(state.metrics), "best_metric": _jsonable(state.best_metric),
           "extra": _jsonable(state.extra), "optimizers": opt_meta, "schedulers": sched_meta}
    (tmp / "state.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    _fsync_dir(tmp)
    _swap_into(tmp, folder)
    return folder


def copy_checkpoint(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy a checkpoint folder over another (epoch-003 → best), as atomically as a save."""
    target = Path(target)
    tmp = _staging(target)
    shutil.copytree(source, tmp)
    _swap_into(tmp, target)


def _staging(folder: Path) -> Path:
    """The empty place a new `folder` is written before it takes the name."""
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def _swap_into(tmp: Path, folder: Path) -> None:
    # Swap by renames: at every instant one complete copy exists under a known name.
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: str | os.PathLike, module: torch.nn.Module | None = None,
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    schedulers: dict[str, Any] | None = None) -> tuple[CheckpointState, str | None]:
    """Restore into the given objects; returns the saved state and the graph JSON."""
    folder = Path(folder)
    state_path = folder / "state.json"
    if not state_path.is_file():
        raise CheckpointError(f"{folder}: not a checkpoint folder (no state.json)")
    try:
        doc = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{state_path}: unreadable ({exc})") from None
    tensors, graph_json = load_weights(folder / "model.safetensors")
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


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        # safetensors creates its files private (0600); weights are ordinary user files.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    for p in folder.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
