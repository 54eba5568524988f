"""Shape inference builds every node on the meta device: no constructor allocates real
memory in proportion to its size, and a node that would hold more than MAX_NODE_BYTES
(parameters and buffers, any node type) is refused, naming the budget, before compile
builds anything for real."""
from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from graph.catalog import SPECS
from graph_builders import sequential
from runtime.check import check_document
from runtime.node_checks import MAX_NODE_BYTES
from runtime.targets import infer_values, instantiate

LAYERS = sorted(t for t in SPECS if t not in ("Input", "Output", "Block"))


class RealTensors(TorchDispatchMode):
    """Records every tensor an operation produces off the meta device."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self.sizes.append(t.numel())
        return out


def _build_on_meta(type_id: str, params: dict, example: dict) -> tuple[torch.nn.Module, list[int]]:
    spec = SPECS[type_id]
    shapes = {port: (2, *shape) for port, shape in example.items()}
    with RealTensors() as seen:
        fn = instantiate(spec, {**spec.defaults(), **params}, infer_values(spec, shapes),
                         device="meta")
    return fn, seen.sizes


@pytest.mark.parametrize("type_id", LAYERS)
def test_building_any_node_on_meta_allocates_no_real_tensor_of_any_size(type_id):
    spec = SPECS[type_id]
    fn, sizes = _build_on_meta(type_id, {}, spec.example or {"x": (3, 8, 8)})
    assert max(sizes, default=0) <= 1, f"{type_id} made real tensors of {sorted(sizes)[-3:]} values"
    if isinstance(fn, torch.nn.Module):
        assert all(t.is_meta for t in [*fn.parameters(), *fn.buffers()])


@pytest.mark.parametrize("encoding", ["sinusoidal", "learned"])
def test_a_16m_step_positional_table_costs_nothing_on_meta(encoding):
    fn, sizes = _build_on_meta("PositionalEncoding", {"max_len": 16_777_216, "encoding": encoding},
                               {"x": (8, 64)})
    assert max(sizes, default=0) <= 1
    assert fn.pe.shape == (16_777_216, 64) and fn.pe.is_meta


@pytest.mark.parametrize("layer, shape, words", [
    (("PositionalEncoding", {"max_len": 16_777_216}), (8, 64), "1,073,741,824 values (4 GiB)"),
    (("Linear", {"out_features": 20_000}), (20_000,), "400,020,000 values (1.5 GiB)"),
    (("Embedding", {"num_embeddings": 1 << 24, "embedding_dim": 64}), (8,), "(4 GiB)"),
    (("Conv2d", {"out_channels": 20_000, "kernel_size": 3}), (2000, 8, 8), "(1.3 GiB)"),
])
def test_a_node_past_the_budget_is_refused_naming_it(layer, shape, words):
    doc = sequential(layer, shape=shape)
    if layer[0] == "Embedding":
        next(n for n in doc.graph if n.type == "Input").params["dtype"] = "int64"
    [error] = check_document(doc).errors
    node = next(n for n in doc.graph if n.type == layer[0])
    assert error.node_id == node.id and error.code == "shape"
    assert words in error.message and "MAX_NODE_BYTES" in error.message, error.message
    assert error.hint


def test_a_node_just_within_the_budget_is_fine():
    # 4,095 × 65,535 weights + 65,535 biases: just under 1 GiB of float32.
    doc = sequential(("Linear", {"out_features": 65_535}), shape=(4095,))
    result = check_document(doc)
    assert result.ok, [d.line() for d in result.errors]
    assert result.shapes.total_params * 4 <= MAX_NODE_BYTES
