"""Looking inside a model while it trains: activations of chosen nodes for one fixed
sample, gradient norms per layer, weight and bias statistics. Everything leaves as numpy
arrays and floats, small enough to stream to the editor a few times a second."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import fx

from runtime.lower import Program

MAX_CHANNELS = 64        # feature maps sent per node; the editor shows a capped grid anyway
HISTOGRAM_BINS = 30
PREVIEW_CHANNELS = 16     # hover thumbnails: a few channels, small
PREVIEW_SIDE = 32
PREVIEW_VALUES = 256


def node_values(program: Program) -> dict[str, str]:
    """Graph node id → the fx value name holding its (first) output."""
    names = {node_id: name for node_id, name in zip(program.input_nodes, program.inputs)}
    for step in program.steps:
        names[step.node_id] = step.outputs[0]
    return names


def layer_nodes(program: Program) -> dict[str, str]:
    """Module attribute name → graph node id, for layers that own parameters."""
    return {step.name: step.node_id for step in program.steps if step.kind in ("module", "block")}


class _Recorder(fx.Interpreter):
    def __init__(self, module: fx.GraphModule, wanted: set[str]) -> None:
        super().__init__(module)
        self.wanted, self.values = wanted, {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if n.name in self.wanted:
            self.values[n.name] = result
        return result


@dataclass
class Capture:
    """What one pass over the fixed sample shows: full outputs of the watched nodes, small
    previews of every node, and the model's own output."""
    nodes: dict[str, np.ndarray] = field(default_factory=dict)
    previews: dict[str, np.ndarray] = field(default_factory=dict)
    output: np.ndarray | None = None


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module):
    """Run `module` in eval mode (dropout off, batch-norm running stats) and put back the
    mode it had."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def capture(module: fx.GraphModule, program: Program, samples: tuple[torch.Tensor, ...],
            node_ids: list[str], previews: bool = False) -> Capture:
    """Run `samples` (each a batch of 1) in eval mode and keep the outputs of `node_ids`
    (images capped at MAX_CHANNELS channels) and, with `previews`, a downsampled output of
    every node. Arrays have no batch axis."""
    values = node_values(program)
    watched = {values[n]: n for n in node_ids if n in values}
    every = {name: n for n, name in values.items()} if previews else {}
    with eval_mode(module):
        recorder = _Recorder(module, set(watched) | set(every))
        output = recorder.run(*samples)
    result = Capture()
    for value_name, t in recorder.values.items():
        t = _first_tensor(t)
        if t is None:
            continue
        t = t[0].detach().float().cpu() if t.dim() else t.detach().float().cpu().reshape(1)
        if value_name in watched:
            result.nodes[watched[value_name]] = (t[:MAX_CHANNELS] if t.dim() >= 2 else t).numpy()
        if value_name in every:
            result.previews[every[value_name]] = preview_array(t)
    out = _first_tensor(output)
    if out is not None:
        result.output = out[0].detach().float().cpu().numpy()
    return result


def preview_array(t: torch.Tensor) -> np.ndarray:
    """A node output made small enough to send for every node a few times a second: at most
    PREVIEW_CHANNELS channels of at most PREVIEW_SIDE² pixels (a volume shows its middle
    slice), or PREVIEW_VALUES values of a vector, or a PREVIEW_SIDE-capped sequence."""
    if t.dim() == 4:                        # C×D×H×W: the middle depth slice
        t = t[:, t.shape[1] // 2]
    if t.dim() == 3:
        t = t[:PREVIEW_CHANNELS]
        if t.shape[1] > PREVIEW_SIDE or t.shape[2] > PREVIEW_SIDE:
            size = (min(t.shape[1], PREVIEW_SIDE), min(t.shape[2], PREVIEW_SIDE))
            t = torch.nn.functional.adaptive_avg_pool2d(t.unsqueeze(0), size)[0]
    elif t.dim() == 2:
        t = t[:PREVIEW_SIDE * 2, :PREVIEW_SIDE * 2]
    elif t.dim() == 1:
        t = t[:PREVIEW_VALUES]
    else:
        t = t.reshape(-1)[:PREVIEW_VALUES]
    return t.contiguous().numpy().astype(np.float32)


def _first_tensor(value: Any) -> torch.Tensor | None:
    while isinstance(value, (tuple, list)) and value:
        value = value[0]
    return value if isinstance(value, torch.Tensor) else None


class GradientProbe:
    """L2 norm of each layer's gradients (all its parameters together), by node id. The
    parameter lists are gathered once; each reading is one fused norm over all of them."""

    def __init__(self, module: torch.nn.Module, layers: dict[str, str]) -> None:
        self.groups = [(node_id, list(module.get_submodule(name).parameters()))
                       for name, node_id in layers.items()]
        self.groups = [(node_id, params) for node_id, params in self.groups if params]

    def norms(self) -> dict[str, float]:
        grads, owners = [], []
        for node_id, params in self.groups:
            for p in params:
                if p.grad is not None:
                    grads.append(p.grad)
                    owners.append(node_id)
        if not grads:
            return {}
        squares: dict[str, float] = {}
        for owner, norm in zip(owners, torch.stack(torch._foreach_norm(grads)).tolist()):
            squares[owner] = squares.get(owner, 0.0) + norm * norm
        return {node_id: total ** 0.5 for node_id, total in squares.items()}


def weight_stats(module: torch.nn.Module, layers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per node id and parameter ("weight", "bias", …): mean, std, min, max and a histogram."""
    stats: dict[str, dict[str, Any]] = {}
    for name, node_id in layers.items():
        sub = module.get_submodule(name)
        for pname, p in sub.named_parameters():
            values = p.detach().float().cpu().reshape(-1).numpy()
            if values.size == 0:
                continue
            counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
            stats.setdefault(node_id, {})[pname] = {
                "mean": float(values.mean()), "std": float(values.std()),
                "min": float(values.min()), "max": float(values.max()),
                "hist": counts.astype(np.int64), "edges": edges.astype(np.float32)}
    return stats
