"""Looking inside a model while it trains: activations of chosen nodes for one fixed
sample, gradient norms per layer, weight and bias statistics. Everything leaves as numpy
arrays and floats, small enough to stream to the editor a few times a second."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import fx

from runtime.lower import Program

MAX_CHANNELS = 64        # feature maps sent per node; the editor shows a capped grid anyway
HISTOGRAM_BINS = 30


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


@torch.no_grad()
def capture_activations(module: fx.GraphModule, program: Program, sample: torch.Tensor,
                        node_ids: list[str]) -> dict[str, np.ndarray]:
    """Outputs of `node_ids` for one sample (a batch of 1), in eval mode, without the batch
    axis; images keep at most MAX_CHANNELS channels."""
    values = node_values(program)
    wanted = {values[n]: n for n in node_ids if n in values}
    if not wanted:
        return {}
    was_training = module.training
    module.eval()
    try:
        recorder = _Recorder(module, set(wanted))
        recorder.run(sample)
    finally:
        module.train(was_training)
    out = {}
    for value_name, node_id in wanted.items():
        t = recorder.values.get(value_name)
        if isinstance(t, (tuple, list)):
            t = t[0]
        if isinstance(t, torch.Tensor):
            t = t[0].detach().float().cpu()
            if t.dim() >= 2:
                t = t[:MAX_CHANNELS]
            out[node_id] = t.numpy()
    return out


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
