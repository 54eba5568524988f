"""Every node's output for one sample, computed in the editor's helper process: the
canvas's hover thumbnails before any training, from the initial weights.

The weights are the ones a run starts from (the run's seed), and the sample is the one a
run captures: the first of the validation split, loaded and fitted to the Input by the
very functions a run uses. So the thumbnails carry on seamlessly once a run starts sending
its own. When the data cannot be had (a missing file, a graph with several inputs), a
seeded random input stands in and the caption says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph.document import Document
from graph.loader import loads
from runtime.compile import CompileError, compile_document
from runtime.export.common import example_inputs
from runtime.messages import first_line
from runtime.training import observe
from runtime.training.config import ConfigError, TrainConfig, parse_config
from runtime.training.setup import fit_to_graph, load_data

RANDOM_SEED = 1234


@dataclass
class NodePreviews:
    previews: dict[str, np.ndarray] = field(default_factory=dict)   # node id → small array
    source: str = ""          # where the sample came from, for the caption
    error: str | None = None  # why there are no previews (the graph does not compile)


class SampleCache:
    """The fixed sample per (dataset, seed, Input shape): loading a dataset takes far longer
    than a forward pass, and the graph changes far more often than the data."""

    def __init__(self) -> None:
        self._samples: dict[str, tuple[torch.Tensor, str] | None] = {}

    def get(self, doc: Document, cfg: TrainConfig, base_dir: Path | None):
        """(sample batch of 1, caption) for a one-Input graph, or None with the reason as
        caption when the data cannot be had."""
        node = next(n for n in doc.graph if n.type == "Input")
        key = json.dumps([cfg.dataset, cfg.seed, node.params.get("shape"),
                          node.params.get("dtype"), str(base_dir)], sort_keys=True, default=str)
        if key not in self._samples:
            self._samples[key] = _dataset_sample(doc, cfg, base_dir)
        return self._samples[key]


_SAMPLES = SampleCache()   # per process: the editor's helper process keeps it between jobs


def previews_of_text(graph_json: str, base_dir: str | None) -> NodePreviews:
    """compute_previews for a graph given as file text (a job for a helper process)."""
    return compute_previews(loads(graph_json), Path(base_dir) if base_dir else None, _SAMPLES)


def compute_previews(doc: Document, base_dir: Path | None = None,
                     cache: SampleCache | None = None) -> NodePreviews:
    try:
        cfg = parse_config(doc.training)
    except ConfigError:
        cfg = None   # the panel reports bad settings; previews still show
    try:
        compiled = compile_document(doc, seed=cfg.seed if cfg else None)
    except CompileError as exc:
        return NodePreviews(error=f"no previews while the graph has errors ({len(exc.diagnostics)})")
    except Exception as exc:   # e.g. an unknown init scheme: the problems panel says more
        return NodePreviews(error=f"no previews: {exc}")
    samples, source = None, "random inputs (the graph has several)"
    if len(compiled.program.input_nodes) == 1:
        sample, source = (cache or SampleCache()).get(doc, cfg, base_dir) if cfg else \
            (None, "random input (the training settings have problems)")
        samples = (sample,) if sample is not None else None
    if samples is None:
        samples = example_inputs(doc, compiled, 1, RANDOM_SEED)
    try:
        seen = observe.capture(compiled.module, compiled.program, samples, [], previews=True)
    except Exception as exc:   # a forward that fails on real values (the meta check passed)
        return NodePreviews(error=f"no previews: the forward pass failed: {exc}")
    return NodePreviews(seen.previews, source)


def _dataset_sample(doc: Document, cfg: TrainConfig, base_dir: Path | None) -> tuple[Any, str]:
    try:
        data = fit_to_graph(doc, load_data(cfg, base_dir), cfg, False, lambda *_: None,
                            "the graph")
        if len(data.x_val) == 0:
            raise ValueError("its validation split is empty")
    except Exception as exc:   # no data is no reason to show nothing
        return None, f"random input ({first_line(exc)})"
    label = int(data.y_val[0]) if data.task == "classification" else None
    name = data.class_names[label] if label is not None and label < len(data.class_names) else label
    what = f"{data.name}, validation sample 0" + (f" (label {name})" if label is not None else "")
    return data.x_val[:1].cpu(), what
