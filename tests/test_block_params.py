"""Blocks with parameters and repeats: one definition, many differently-sized uses.

The definition declares parameters, inner nodes use them as "$name", each Block node sets
them; shapes, compile, code export, ONNX, undo and the file format all follow."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from torch import nn

from graph import blocks, snapshot
from graph.document import Document
from graph.fileformat import dumps
from graph.loader import load_file, loads
from graph.model import Graph, GraphRuleError
from graph.spec import ParamSpec
from graph.templates import TEMPLATES_DIR
from graph.validate import validate
from runtime.check import check_document
from runtime.codegen import export_code
from runtime.compile import compile_document
from runtime.export import export_model

from graph_builders import chain

WIDTH = ParamSpec("width", "int", 4, "Units of the hidden layer.", min=1)


def _mlp_block(doc: Document, declared=(WIDTH,)) -> Graph:
    """Input(3) → Linear($width) → ReLU → Linear(3) → Output: a block whose hidden width
    each use sets."""
    g = doc.add_block("Hidden", Graph())
    g.set_block_params(tuple(declared))
    chain(g, ("Input", {"shape": [3]}), ("Linear", {"out_features": "$width"}, "wide"),
          "ReLU", ("Linear", {"out_features": 3}, "back"), ("Output", {"name": "y"}))
    return g


def _doc_using(*uses: dict) -> Document:
    doc = Document(name="Uses")
    _mlp_block(doc)
    chain(doc.graph, ("Input", {"shape": [3]}),
          *(("Block", {"block": "Hidden", **use}) for use in uses), "Output")
    return doc


def _block_ids(doc: Document) -> list[str]:
    return [n.id for n in doc.graph if n.type == "Block"]


def test_each_use_gets_its_own_width_and_parameter_count():
    doc = _doc_using({"width": 5}, {"width": 50})
    check = check_document(doc)
    assert not check.errors
    a, b = _block_ids(doc)
    # 3→w→3 with biases: (3w + w) + (3w + 3) parameters.
    assert check.shapes.nodes[a].param_count == 7 * 5 + 3
    assert check.shapes.nodes[b].param_count == 7 * 50 + 3
    module = compile_document(doc).module
    assert tuple(module.get_submodule("hidden_1.wide").weight.shape) == (5, 3)
    assert tuple(module.get_submodule("hidden_2.wide").weight.shape) == (50, 3)


def test_an_unset_value_takes_the_declared_default():
    doc = _doc_using({})
    (a,) = _block_ids(doc)
    assert check_document(doc).shapes.nodes[a].param_count == 7 * WIDTH.default + 3


def test_repeat_chains_copies_each_with_its_own_weights():
    doc = _doc_using({"width": 6, "repeat": 3})
    check = check_document(doc)
    (a,) = _block_ids(doc)
    assert len(check.shapes.nodes[a].copies) == 3
    assert check.shapes.nodes[a].param_count == 3 * (7 * 6 + 3)
    module = compile_document(doc).module
    copies = module.get_submodule("hidden_1")
    assert isinstance(copies, nn.Sequential) and len(copies) == 3
    assert copies[0].wide.weight.data_ptr() != copies[2].wide.weight.data_ptr()
    x = torch.randn(4, 3)
    expected = copies[2](copies[1](copies[0](x)))
    assert torch.equal(module(x), expected)


def test_the_file_keeps_declarations_and_references():
    doc = _doc_using({"width": 9, "repeat": 2})
    text = dumps(doc)
    again = loads(text)
    assert again.blocks["Hidden"].block_params == (WIDTH,)
    wide = again.blocks["Hidden"].nodes[next(n.id for n in again.blocks["Hidden"] if n.label == "wide")]
    assert wide.params["out_features"] == "$width"
    assert dumps(again) == text
    assert not check_document(again).errors


@pytest.mark.parametrize("entry, words", [
    ({"name": "class", "kind": "int", "default": 1}, "name must be a Python name"),
    ({"name": "w", "kind": "tensor", "default": 1}, "kind must be one of"),
    ({"name": "w", "kind": "int", "default": 0, "min": 1}, "default: w must be at least 1"),
    ({"name": "repeat", "kind": "int", "default": 1}, "the Block node's own parameter"),
    ("w", "must be an object"),
])
def test_a_bad_declaration_is_reported_with_its_place_and_the_rest_loads(entry, words):
    doc = _doc_using({"width": 9})
    data = json.loads(dumps(doc))
    data["blocks"]["Hidden"]["params"].append(entry)
    again = loads(json.dumps(data))
    (problem,) = [p for p in again.load_problems if p.code == "block_param"]
    assert words in problem.message and problem.path == "$.blocks.Hidden.params[1]"
    assert [p.name for p in again.blocks["Hidden"].block_params] == ["width"]


def test_a_million_declared_parameters_keep_the_first_few_hundred():
    data = json.loads(dumps(_doc_using({})))
    data["blocks"]["Hidden"]["params"] = [{"name": f"p{i}", "kind": "int", "default": 1}
                                          for i in range(1000)]
    again = loads(json.dumps(data))
    assert len(again.blocks["Hidden"].block_params) == 256
    assert any("declares 1,000 parameters" in p.message for p in again.load_problems)


def test_validation_names_an_undeclared_parameter_on_the_node_that_uses_it():
    doc = Document()
    _mlp_block(doc, declared=())
    chain(doc.graph, ("Input", {"shape": [3]}), ("Block", {"block": "Hidden"}), "Output")
    problems = [d for d in validate(doc) if d.code == "undeclared_param"]
    assert len(problems) == 1
    assert problems[0].block == "Hidden" and "$width" in problems[0].message
    assert "declares no parameter 'width'" in problems[0].message


@pytest.mark.parametrize("type_id, key", [("Output", "name"), ("Block", "repeat")])
def test_what_shapes_the_definition_itself_cannot_be_a_parameter(type_id, key):
    doc = _doc_using({})
    inner = doc.blocks["Hidden"]
    if type_id == "Block":
        doc.add_block("Leaf", Graph())
        chain(doc.blocks["Leaf"], ("Input", {"shape": [3]}), "Output")
        node = inner.add_node("Block", {"block": "Leaf", "repeat": "$width"})
    else:
        node = next(n for n in inner if n.type == type_id)
        node.params[key] = "$width"
    problems = [d for d in validate(doc) if d.code == "fixed_param"]
    assert [(d.node_id, d.block) for d in problems] == [(node.id, "Hidden")]
    assert f"{key} cannot be a block parameter ($width)" in problems[0].message


def test_a_loss_term_inside_a_block_is_said_to_be_ignored():
    doc = _doc_using({})
    out = next(n for n in doc.blocks["Hidden"] if n.type == "Output")
    doc.blocks["Hidden"].set_params(out.id, loss_term=True)
    (warning,) = [d for d in validate(doc) if d.code == "loss_term_in_block"]
    assert warning.severity == "warning" and warning.node_id == out.id and warning.block == "Hidden"


def test_a_bad_value_is_an_error_on_the_block_node():
    doc = _doc_using({"width": 0})
    (a,) = _block_ids(doc)
    errors = [d for d in check_document(doc).errors if d.node_id == a]
    assert errors and "width must be at least 1, got 0" in errors[0].message
    assert errors[0].block is None


def test_a_value_the_inner_node_refuses_names_the_inner_node_and_the_value():
    # The declaration allows 0; the Linear inside does not.
    loose = ParamSpec("width", "int", 4, "", min=0)
    doc = Document()
    _mlp_block(doc, declared=(loose,))
    chain(doc.graph, ("Input", {"shape": [3]}), ("Block", {"block": "Hidden", "width": 0}), "Output")
    (a,) = _block_ids(doc)
    errors = [d for d in check_document(doc).errors if d.node_id == a]
    assert errors, check_document(doc).errors
    assert "inside block 'Hidden', wide: out_features must be at least 1" in errors[0].message
    assert "width=0" in errors[0].message


def test_repeat_needs_one_input_and_one_output():
    doc = Document()
    two = doc.add_block("Two", Graph())
    a = two.add_node("Input", {"name": "a", "shape": [3]})
    b = two.add_node("Input", {"name": "b", "shape": [3]})
    add = two.add_node("Add", {})
    out = two.add_node("Output", {"name": "y"})
    two.connect(a.id, "out", add.id, "x1")
    two.connect(b.id, "out", add.id, "x2")
    two.connect(add.id, "out", out.id, "x")
    x = doc.graph.add_node("Input", {"shape": [3]})
    node = doc.graph.add_node("Block", {"block": "Two", "repeat": 2})
    o = doc.graph.add_node("Output", {})
    doc.graph.connect(x.id, "out", node.id, "a")
    doc.graph.connect(x.id, "out", node.id, "b")
    doc.graph.connect(node.id, "y", o.id, "x")
    problems = [d for d in validate(doc) if d.code == "block_repeat"]
    assert problems and "needs one input and one output (it has 2 and 1)" in problems[0].message


def test_set_params_takes_declared_names_and_refuses_others():
    doc = _doc_using({"width": 2})
    (a,) = _block_ids(doc)
    doc.graph.set_params(a, width=12)
    assert check_document(doc).shapes.nodes[a].param_count == 7 * 12 + 3
    with pytest.raises(GraphRuleError, match="no parameter 'depth'"):
        doc.graph.set_params(a, depth=3)


def test_editing_the_definition_reaches_every_use():
    doc = _doc_using({"width": 2}, {"width": 3})
    check_document(doc)  # bound copies are now cached
    inner = doc.blocks["Hidden"]
    back = next(n.id for n in inner if n.label == "back")
    inner.set_params(back, bias=False)
    a, b = _block_ids(doc)
    shapes = check_document(doc).shapes
    assert shapes.nodes[a].param_count == 7 * 2
    assert shapes.nodes[b].param_count == 7 * 3


def test_undo_snapshot_restores_the_declaration():
    doc = _doc_using({"width": 2})
    taken = snapshot.take(doc)
    doc.blocks["Hidden"].set_block_params(())
    snapshot.restore(doc, taken)
    assert doc.blocks["Hidden"].block_params == (WIDTH,)


def test_expanding_a_repeated_block_inlines_every_copy_with_its_values():
    doc = _doc_using({"width": 7, "repeat": 2})
    x = torch.randn(5, 3)
    before = compile_document(doc, seed=0).module
    (a,) = _block_ids(doc)
    added = blocks.expand_block(doc, doc.graph, a)
    assert len(added) == 6 and not _block_ids(doc)
    widths = sorted(n.params["out_features"] for n in doc.graph if n.type == "Linear")
    assert widths == [3, 3, 7, 7]
    after = compile_document(doc, seed=0).module
    assert sum(p.numel() for p in after.parameters()) == sum(p.numel() for p in before.parameters())
    # Same layers in the same order: the first copy's weights, then the second's.
    with torch.no_grad():
        for new, old in zip(after.parameters(), before.parameters()):
            new.copy_(old)
    assert torch.equal(after(x), before(x))


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_code_export_writes_one_class_per_definition_with_constructor_arguments(tmp_path):
    doc = _doc_using({"width": 5}, {"width": 8, "repeat": 2})
    compiled = compile_document(doc)
    source = export_code(compiled.program)
    assert source.count("class Hidden") == 1
    assert "def __init__(self, width):" in source
    assert "nn.Linear(in_features=3, out_features=width)" in source
    assert "self.hidden_1 = Hidden(width=5)" in source
    assert "Hidden(width=8),\n            Hidden(width=8)," in source
    path = tmp_path / "uses.py"
    path.write_text(source)
    model = _import(path, "uses").Uses()
    model.load_state_dict(compiled.module.state_dict())
    x = torch.randn(4, 3)
    assert torch.equal(model(x), compiled.module(x))


# --- ResNet-18: the block definition used eight times ---------------------------------------

def _reference_resnet18_parameters() -> int:
    """torchvision's resnet18 layout, written out by hand: 11,689,512 parameters."""
    def block(cin, cout, stride):
        layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)]
        if stride != 1 or cin != cout:
            layers += [nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)]
        return layers
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += block(cin, cout, stride) + block(cout, cout, 1)
        cin = cout
    layers.append(nn.Linear(512, 1000))
    return sum(p.numel() for layer in layers for p in layer.parameters())


def test_resnet18_is_one_basic_block_used_eight_times_with_torchvisions_parameters():
    doc = load_file(TEMPLATES_DIR / "resnet18.json")
    assert list(doc.blocks) == ["BasicBlock"]
    uses = sum(n.params.get("repeat", 1) for n in doc.graph if n.type == "Block")
    assert uses == 8
    check = check_document(doc)
    assert not check.errors
    assert check.shapes.total_params == _reference_resnet18_parameters() == 11_689_512
    out = check.shapes.nodes["fc"].outputs["out"]
    assert out.shape == (1000,)
    # The stages halve the feature maps: 56, 28, 14, 7.
    sizes = [check.shapes.nodes[n].outputs["y"].shape
             for n in ("layer1", "layer2_2", "layer3_2", "layer4_2")]
    assert sizes == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]


@pytest.fixture(scope="module")
def resnet_small():
    doc = load_file(TEMPLATES_DIR / "resnet18_small.json")
    compiled = compile_document(doc, seed=0)
    compiled.module.eval()
    return doc, compiled


def test_resnet_small_exports_the_basic_block_as_one_class(tmp_path, resnet_small):
    doc, compiled = resnet_small
    source = export_code(compiled.program)
    assert source.count("class BasicBlock") == 1
    assert "def __init__(self, channels, stride, in_channels):" in source
    path = tmp_path / "resnet_small.py"
    path.write_text(source)
    model = _import(path, "resnet_small").ResNet18Small()
    model.load_state_dict(compiled.module.state_dict())
    model.eval()
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(model(x), compiled.module(x))


def test_resnet_small_runs_in_onnxruntime_like_torch(tmp_path, resnet_small):
    import onnxruntime
    doc, compiled = resnet_small
    result = export_model(doc, compiled.module.state_dict(), "onnx", tmp_path / "r.onnx")
    assert result.files[0].exists() and result.max_abs_diff is not None
    session = onnxruntime.InferenceSession(str(result.files[0]), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 1, 28, 28)
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(got, compiled.module(x).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_resnet_small_state_dict_reads_like_torchvision(resnet_small):
    _, compiled = resnet_small
    keys = set(compiled.module.state_dict())
    assert "layer1.0.conv1.weight" in keys and "layer1.1.bn2.running_mean" in keys
    assert "layer2_1.shortcut.conv.weight" in keys       # the stage's first block projects
    assert not any(k.startswith("layer2_2.shortcut.") for k in keys)  # the second does not


def test_a_parameter_that_sets_ports_cannot_be_a_block_parameter():
    # Concat's num_inputs and a GRU's state_output decide the ports the definition is
    # wired with: every use must have the same.
    doc = _doc_using({})
    inner = doc.blocks["Hidden"]
    cat = inner.add_node("Concat", {"num_inputs": "$width"})
    gru = inner.add_node("GRU", {"state_output": "$width"})
    problems = {d.node_id: d.message for d in validate(doc) if d.code == "fixed_param"}
    assert set(problems) == {cat.id, gru.id}
    assert "num_inputs cannot be a block parameter ($width)" in problems[cat.id]
    assert "state_output cannot be a block parameter" in problems[gru.id]
