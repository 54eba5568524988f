"""Find the weights and the graph a user points at: a run folder, a checkpoint folder or a
.safetensors file. Nothing is ever unpickled: weights are read from safetensors only."""
from __future__ import annotations

from pathlib import Path

import torch

from runtime.export.common import WeightsError
from runtime.training.checkpoint import (CheckpointError, load_weights, model_folder,
                                          newest_checkpoint)
from runtime.training.commit import is_final_name

WEIGHTS_FILE = "model.safetensors"
RUN_GRAPH = "graph.json"


def resolve_weights(path: str | Path,
                    model: str = "model") -> tuple[dict[str, torch.Tensor], str, Path]:
    """(state_dict, graph JSON, the weights file read).

    A run folder means its checkpoints/best (else last, else the newest epoch-*); a
    checkpoint folder means its model.safetensors. A model other than "model" (a GAN's
    generator) means that model's folders: best-generator, last-generator, ... The graph
    comes from the weights file's metadata, or else from the run folder's graph.json."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file or folder")
    weights = _weights_file(path, model)
    try:
        tensors, graph_json = load_weights(weights)
    except CheckpointError as exc:
        raise WeightsError(str(exc)) from None
    except Exception as exc:  # safetensors can raise its own kinds on damaged headers
        raise WeightsError(f"{weights}: not a readable safetensors file ({exc})") from None
    if graph_json is None:
        graph_file = _run_graph(weights)
        if graph_file is None:
            raise WeightsError(f"{weights}: has no graph in its metadata and is not inside a "
                               f"run folder with a {RUN_GRAPH}; export from the run folder, or "
                               "re-save the weights with NodeTorch")
        try:
            graph_json = graph_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise WeightsError(f"{graph_file}: cannot be read ({exc})") from None
    return tensors, graph_json, weights


def _weights_file(path: Path, model: str = "model") -> Path:
    if path.is_file():
        if path.suffix.lower() == ".json":
            raise WeightsError(f"{path}: is a graph file, not trained weights; export needs a "
                               "run folder, a checkpoint folder or a .safetensors file "
                               "(`export-code` writes code from a graph alone)")
        return path
    if (path / WEIGHTS_FILE).is_file():
        return path / WEIGHTS_FILE
    # A run folder, or its checkpoints/ folder itself.
    suffix = "" if model == "model" else f"-{model}"
    for checkpoints in (path / "checkpoints", path):
        for name in ("best", "last"):
            if (checkpoints / f"{name}{suffix}" / WEIGHTS_FILE).is_file():
                return checkpoints / f"{name}{suffix}" / WEIGHTS_FILE
        # The newest committed checkpoint; else weights a person put in an epoch folder.
        # Never a staging folder a killed run left (its name is not final).
        newest = newest_checkpoint(checkpoints, (model,)) if checkpoints.is_dir() else None
        if newest is not None and (model_folder(newest, model) / WEIGHTS_FILE).is_file():
            return model_folder(newest, model) / WEIGHTS_FILE
        epochs = sorted((p for p in checkpoints.glob(f"epoch-*{suffix}")
                         if is_final_name(p.name) and (p / WEIGHTS_FILE).is_file()),
                        key=lambda p: (len(p.name), p.name))
        if epochs:
            return epochs[-1] / WEIGHTS_FILE
    if (path / "checkpoints").is_dir():
        raise WeightsError(f"{path}: this run folder has no checkpoint yet "
                           f"(no {WEIGHTS_FILE} under checkpoints/best{suffix}, "
                           f"last{suffix} or epoch-*{suffix})")
    raise WeightsError(f"{path}: not a run folder, a checkpoint folder or a .safetensors file "
                       f"(no {WEIGHTS_FILE} and no checkpoints/ inside)")


def _run_graph(weights: Path) -> Path | None:
    """<run>/graph.json for <run>/checkpoints/<name>/model.safetensors (or a graph.json in
    the weights file's own folder)."""
    folder = weights.parent
    candidates = [folder / RUN_GRAPH]
    if folder.parent.name == "checkpoints":
        candidates.append(folder.parent.parent / RUN_GRAPH)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None
