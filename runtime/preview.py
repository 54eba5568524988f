"""Every node's output for one sample, computed in the editor's own process: the canvas's
hover thumbnails before any training, from the initial weights.

The sample is the one a run captures (the first of the validation split, fitted to the
Input exactly as training fits it), so the thumbnails carry on seamlessly once a run
starts sending its own. When the data cannot be had (a missing file, a graph with several
inputs), a seeded random input stands in and the caption says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph.document import Document
from runtime import targets
from runtime.compile import CompileError, compile_document
from runtime.data import fit_to_input, load_dataset
from runtime.training import observe
from runtime.training.config import parse_config


@dataclass
class NodePreviews:
    previews: dict[str, np.ndarray] = field(default_factory=dict)   # node id → small array
    sample: np.ndarray | None = None
    label: int | None = None
    source: str = ""          # where the sample came from, for the caption
    error: str | None = None  # why there are no previews (the graph does not compile)


class SampleCache:
    """The fixed sample per (dataset, seed, Input shape): loading a dataset takes far longer
    than a forward pass, and the graph changes far more often than the data."""

    def __init__(self) -> None:
        self._samples: dict[str, tuple[torch.Tensor, int | None, str]] = {}

    def get(self, training: dict[str, Any], shape: tuple[int, ...], dtype: str,
            base_dir: Path | None) -> tuple[torch.Tensor, int | None, str]:
        key = json.dumps([training.get("dataset"), training.get("seed"), shape, dtype,
                          str(base_dir)], sort_keys=True, default=str)
        if key not in self._samples:
            self._samples[key] = _dataset_sample(training, shape, dtype, base_dir)
        return self._samples[key]


_SAMPLES = SampleCache()   # per process: the editor's helper process keeps it between jobs


def previews_of_text(graph_json: str, base_dir: str | None) -> NodePreviews:
    """compute_previews for a graph given as file text (a job for a helper process)."""
    from graph.loader import loads
    return compute_previews(loads(graph_json), Path(base_dir) if base_dir else None, _SAMPLES)


def compute_previews(doc: Document, base_dir: Path | None = None,
                     cache: SampleCache | None = None) -> NodePreviews:
    try:
        compiled = compile_document(doc)
    except CompileError as exc:
        return NodePreviews(error=f"no previews while the graph has errors ({len(exc.diagnostics)})")
    except Exception as exc:   # e.g. an unknown init scheme: the problems panel says more
        return NodePreviews(error=f"no previews: {exc}")
    program = compiled.program
    inputs = [doc.graph.nodes[node_id] for node_id in program.input_nodes]
    cache = cache or SampleCache()
    samples, result = [], NodePreviews()
    for i, node in enumerate(inputs):
        shape, dtype = tuple(node.params["shape"]), node.params.get("dtype", "float32")
        if len(inputs) == 1:
            x, result.label, result.source = cache.get(doc.training or {}, shape, dtype, base_dir)
        else:
            x, result.source = _random_sample(shape, dtype, i), "random inputs (the graph has several)"
        samples.append(x)
    try:
        seen = observe.capture(compiled.module, program, tuple(samples), [], previews=True)
    except Exception as exc:   # a forward that fails on real values (the meta check passed)
        return NodePreviews(error=f"no previews: the forward pass failed: {exc}")
    result.previews = seen.previews
    if samples:
        result.sample = samples[0][0].float().numpy()
    return result


def _dataset_sample(training: dict[str, Any], shape: tuple[int, ...], dtype: str,
                    base_dir: Path | None) -> tuple[torch.Tensor, int | None, str]:
    try:
        cfg = parse_config(training)
        data = load_dataset(cfg.dataset, seed=cfg.seed, base_dir=base_dir)
        data = fit_to_input(data, shape, dtype, cfg.dataset.get("resize_to_input", False))
        if len(data.x_val) == 0:
            raise ValueError("its validation split is empty")
        label = int(data.y_val[0]) if data.task == "classification" else None
        name = data.class_names[label] if label is not None and label < len(data.class_names) else label
        what = f"{data.name}, validation sample 0" + (f" (label {name})" if label is not None else "")
        return data.x_val[:1].cpu(), label, what
    except Exception as exc:   # no data is no reason to show nothing
        return _random_sample(shape, dtype, 0), None, f"random input ({_first_line(exc)})"


def _random_sample(shape: tuple[int, ...], dtype: str, index: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1234 + index)
    torch_dtype = targets.torch_dtype(dtype)
    if torch_dtype.is_floating_point:
        return torch.randn((1, *shape), generator=generator).to(torch_dtype)
    return torch.zeros((1, *shape), dtype=torch_dtype)   # token ids: 0 is always in range


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
