"""Compile to torch.fx: real modules, readable code, several inputs and outputs, init."""
from __future__ import annotations

import pytest
import torch

from graph.document import Document
from graph.loader import load_file
from graph.templates import find_template
from runtime.compile import CompileError, compile_document
from tests.graph_builders import chain, sequential


def two_in_two_out() -> Document:
    """image → conv → pool → flatten ┐
                                      concat → linear → logits
       meta  → linear ───────────────┘           └──→ features (second output)"""
    doc = Document(name="two heads")
    g = doc.graph
    img, conv, pool, flat, cat, fc, logits = chain(
        g, ("Input", {"name": "image", "shape": [1, 8, 8]}), ("Conv2d", {"out_channels": 2}),
        ("AdaptiveAvgPool2d", {"output_size": [2, 2]}), "Flatten", "Concat",
        ("Linear", {"out_features": 3}), ("Output", {"name": "logits"}))
    meta, dense = chain(g, ("Input", {"name": "meta", "shape": [5]}), ("Linear", {"out_features": 4}))
    g.connect(dense, "out", cat, "x2")
    features = g.add_node("Output", {"name": "features"}).id
    g.connect(cat, "out", features, "x")
    return doc


def test_compiled_lenet_is_a_real_module_with_readable_code():
    model = compile_document(load_file(find_template("lenet5"))).module
    assert isinstance(model, torch.nn.Module)
    assert type(model).__name__ == "LeNet5"
    assert sum(p.numel() for p in model.parameters()) == 61706
    assert model.conv1.weight.shape == (6, 1, 5, 5)
    assert "conv1 = self.conv1(x)" in model.code
    assert "fc3 = self.fc3(relu_4)" in model.code
    y = model(torch.randn(4, 1, 32, 32))
    assert y.shape == (4, 10)
    y.sum().backward()
    assert model.conv1.weight.grad is not None


def test_several_inputs_and_outputs():
    model = compile_document(two_in_two_out()).module
    logits, features = model(torch.randn(2, 1, 8, 8), torch.randn(2, 5))
    assert logits.shape == (2, 3)
    assert features.shape == (2, 2 * 2 * 2 + 4)
    assert "def forward(self, image, meta)" in model.code
    # Inputs are positional in Input-node order; outputs come back in Output-node order.
    assert torch.equal(model.linear_2(features), logits)


def test_skip_connection_adds_the_branches():
    doc = Document()
    g = doc.graph
    inp, relu, add, out = chain(g, ("Input", {"shape": [4]}), "ReLU", "Add", "Output")
    g.connect(inp, "out", add, "x2")
    model = compile_document(doc).module
    x = torch.tensor([[-1.0, 2.0, -3.0, 4.0]])
    assert torch.equal(model(x), torch.relu(x) + x)


@pytest.mark.parametrize("scheme", ["kaiming", "xavier", "orthogonal", "zeros", "default"])
def test_weight_init_schemes_are_seeded(scheme):
    doc = sequential(("Conv2d", {"out_channels": 8}), "Flatten", ("Linear", {"out_features": 16}))
    a = compile_document(doc, init=scheme, seed=7).module
    b = compile_document(doc, init=scheme, seed=7).module
    c = compile_document(doc, init=scheme, seed=8).module
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), name
        if scheme != "default":
            if name.endswith("bias"):
                assert not pa.any(), f"{scheme}: {name} should be zero"
        if scheme == "zeros":
            assert not pa.any()
        elif pa.dim() >= 2:
            assert not torch.equal(pa, pc), f"{scheme}: the seed should change {name}"
    w = a.linear_1.weight
    if scheme == "orthogonal":  # 16 × 288: rows orthonormal
        assert torch.allclose(w @ w.T, torch.eye(16), atol=1e-5)
    if scheme == "kaiming":  # std ≈ sqrt(2 / fan_in)
        assert abs(w.std().item() - (2 / 288) ** 0.5) < 0.01


def test_init_comes_from_the_files_training_block():
    doc = sequential(("Linear", {"out_features": 3}), shape=(4,))
    doc.training["init"] = {"scheme": "zeros", "seed": 0}
    model = compile_document(doc).module
    assert not model.linear_1.weight.any()
    with pytest.raises(ValueError, match="unknown weight init 'lecun'"):
        compile_document(doc, init="lecun")


def test_compile_refuses_a_broken_graph_with_the_diagnostics():
    doc = sequential(("Conv2d", {"kernel_size": [9, 9]}), shape=(1, 4, 4))
    with pytest.raises(CompileError) as info:
        compile_document(doc)
    [d] = info.value.diagnostics
    assert d.node_id == "n2"
    assert "kernel 9×9 does not fit the 4×4 input" in str(info.value)


def test_module_names_come_from_labels_and_types_without_clashes():
    doc = sequential(("ReLU", {}, "forward"), ("Linear", {"out_features": 4}, "my layer"),
                     ("Linear", {"out_features": 4}, "my layer"), "ReLU", shape=(4,))
    model = compile_document(doc).module
    assert [n for n, _ in model.named_children()] == ["forward_layer", "my_layer", "my_layer_2", "relu_1"]


@pytest.mark.parametrize("label", ["code", "graph", "recompile"])
def test_a_layer_labelled_like_a_graph_module_attribute_gets_its_own_name(label):
    # The compiled model is an fx.GraphModule: `code` and `graph` are its own.
    doc = sequential(("Linear", {"out_features": 4}, label), shape=(4,))
    model = compile_document(doc).module
    assert [n for n, _ in model.named_children()] == [f"{label}_layer"]
    assert model(torch.zeros(2, 4)).shape == (2, 4)
