"""Composite blocks: group a selection, use it as a node, nest it, expand it back."""
from __future__ import annotations

import json

import pytest
import torch

from graph.blocks import expand_block, group_into_block
from graph.document import Document
from graph.fileformat import dumps
from graph.loader import loads
from graph.model import Graph, GraphRuleError
from runtime.check import check_document
from runtime.compile import compile_document
from tests.graph_builders import chain


def residual_net() -> tuple[Document, dict[str, str]]:
    """Input → stem conv → [conv → relu → add(skip)] → flatten → linear → Output."""
    doc = Document(name="Tiny ResNet")
    g = doc.graph
    ids = dict(zip(["inp", "stem", "conv", "relu", "add", "flat", "fc", "out"], chain(
        g, ("Input", {"shape": [3, 8, 8]}), ("Conv2d", {"out_channels": 4, "padding": [1, 1]}),
        ("Conv2d", {"out_channels": 4, "padding": [1, 1]}), "ReLU", "Add", "Flatten",
        ("Linear", {"out_features": 5}), "Output")))
    g.connect(ids["stem"], "out", ids["add"], "x2")
    return doc, ids


def test_group_into_block_keeps_the_network_the_same():
    doc, ids = residual_net()
    before = compile_document(doc, seed=3).module
    x = torch.randn(2, 3, 8, 8)
    expected = before(x)
    block_node = group_into_block(doc, doc.graph, [ids["conv"], ids["relu"], ids["add"]], "Res")
    assert set(doc.graph.nodes) == {ids["inp"], ids["stem"], block_node.id, ids["flat"],
                                    ids["fc"], ids["out"]}
    assert doc.graph.ports_of(block_node) == (["x"], ["y"])
    inner = doc.blocks["Res"]
    assert sorted(n.type for n in inner) == ["Add", "Conv2d", "Input", "Output", "ReLU"]
    assert check_document(doc).ok
    after = compile_document(doc, seed=3).module
    # Same layers, same init order → same weights under new names.
    assert sum(p.numel() for p in after.parameters()) == sum(p.numel() for p in before.parameters())
    assert list(after.state_dict()) == ["conv2d_1.weight", "conv2d_1.bias", "res_1.conv2d_1.weight",
                                        "res_1.conv2d_1.bias", "linear_1.weight", "linear_1.bias"]
    after.load_state_dict(_renamed(before, after))
    assert torch.equal(after(x), expected)


def _renamed(before, after):
    """Map the flat model's weights onto the grouped one by order (same layers, same order)."""
    return dict(zip(after.state_dict().keys(), before.state_dict().values()))


def test_block_node_survives_a_save_and_load():
    doc, ids = residual_net()
    group_into_block(doc, doc.graph, [ids["conv"], ids["relu"], ids["add"]], "Res")
    text = dumps(doc)
    assert json.loads(text)["blocks"]["Res"]["nodes"]
    again = loads(text)
    assert dumps(again) == text
    assert check_document(again).ok


def test_block_used_twice_gets_two_sets_of_weights_and_nested_modules():
    doc, ids = residual_net()
    block_node = group_into_block(doc, doc.graph, [ids["conv"], ids["relu"], ids["add"]], "Res")
    second = doc.graph.add_node("Block", {"block": "Res"})
    edge = doc.graph.edges_out_of(block_node.id)[0]
    doc.graph.disconnect(edge)
    doc.graph.connect(block_node.id, "y", second.id, "x")
    doc.graph.connect(second.id, "y", edge.dst, edge.dst_port)
    model = compile_document(doc).module
    names = [name for name, _ in model.named_children()]
    assert names == ["conv2d_1", "res_1", "res_2", "flatten_1", "linear_1"]
    assert isinstance(model.res_1, torch.fx.GraphModule)
    assert model.res_1.conv2d_1.weight.shape == (4, 4, 3, 3)
    assert not torch.equal(model.res_1.conv2d_1.weight, model.res_2.conv2d_1.weight)
    assert "res_2 = self.res_2(res_1)" in model.code


def test_blocks_nest():
    doc = Document(name="Nested")
    inner = doc.add_block("Unit", Graph())
    chain(inner, ("Input", {"shape": [6]}), ("Linear", {"out_features": 6}), "Tanh", "Output")
    outer = doc.add_block("Pair", Graph())
    chain(outer, ("Input", {"shape": [6]}), ("Block", {"block": "Unit"}),
          ("Block", {"block": "Unit"}), "Output")
    chain(doc.graph, ("Input", {"shape": [6]}), ("Block", {"block": "Pair"}), "Output")
    result = check_document(doc)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.shapes.total_params == 2 * (6 * 6 + 6)
    model = compile_document(doc).module
    assert model.pair_1.unit_2.linear_1.weight.shape == (6, 6)
    assert model(torch.randn(3, 6)).shape == (3, 6)


def test_shape_error_inside_a_block_points_at_the_block_node():
    doc = Document()
    inner = doc.add_block("Pool", Graph())
    chain(inner, ("Input", {"shape": [1, 8, 8]}), ("MaxPool2d", {"kernel_size": [4, 4]}), "Output")
    _, block_id, _ = chain(doc.graph, ("Input", {"shape": [1, 2, 2]}), ("Block", {"block": "Pool"}),
                           "Output")
    [d] = [d for d in check_document(doc).diagnostics if d.code == "shape"]
    assert d.node_id == block_id
    assert d.message == "Block: inside block 'Pool', node n2: MaxPool2d: kernel 4×4 does not fit the 2×2 input"


def test_expand_block_restores_an_equivalent_flat_graph():
    doc, ids = residual_net()
    flat = compile_document(doc, seed=1).module
    block_node = group_into_block(doc, doc.graph, [ids["conv"], ids["relu"], ids["add"]], "Res")
    added = expand_block(doc, doc.graph, block_node.id)
    assert sorted(added) == sorted([ids["conv"], ids["relu"], ids["add"]])
    assert check_document(doc).ok
    again = compile_document(doc, seed=1).module
    x = torch.randn(2, 3, 8, 8)
    again.load_state_dict(_renamed(flat, again))
    assert torch.equal(again(x), flat(x))


@pytest.mark.parametrize("pick, reason", [
    ([], "select the nodes to group first"),
    (["inp", "stem"], "Input cannot go inside a block"),
    # Named as the canvas shows it: the conv between them, not its id.
    (["stem", "add"], "^Conv2d lies between selected nodes"),
])
def test_grouping_refuses_what_cannot_be_a_block(pick, reason):
    doc, ids = residual_net()
    with pytest.raises(GraphRuleError, match=reason):
        group_into_block(doc, doc.graph, [ids[p] for p in pick], "Res")
    assert len(doc.graph) == 8 and not doc.blocks  # nothing changed
