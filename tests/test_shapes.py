"""Shapes come from torch's meta device; problems read like advice to a beginner."""
from __future__ import annotations

from graph.document import Document
from graph.loader import load_file
from graph.templates import find_template
from runtime.check import check_document
from runtime.shapes import ShapeInference, TensorMeta
from tests.graph_builders import chain, sequential


def shape_errors(doc):
    return [d for d in check_document(doc).diagnostics if d.code == "shape"]


def test_lenet_shapes_on_every_edge():
    doc = load_file(find_template("lenet5"))
    report = check_document(doc).shapes
    text = {node_id: s.outputs["out"].text() for node_id, s in report.nodes.items() if s.outputs}
    assert text["conv1"] == "N×6×28×28"
    assert text["pool1"] == "N×6×14×14"
    assert text["conv2"] == "N×16×10×10"
    assert text["flatten"] == "N×400"
    assert text["fc3"] == "N×10"
    assert report.nodes["conv2"].inferred == {"in_channels": 6}
    assert report.nodes["fc1"].inferred == {"in_features": 400}
    assert report.nodes["fc1"].param_count == 400 * 120 + 120


def test_add_with_different_branches_says_how_they_differ():
    doc = Document()
    g = doc.graph
    inp, conv_a, add, out = chain(g, ("Input", {"shape": [3, 8, 8]}),
                                  ("Conv2d", {"out_channels": 64, "padding": [1, 1]}), "Add", "Output")
    conv_b = g.add_node("Conv2d", {"out_channels": 128, "stride": [2, 2], "padding": [1, 1]}).id
    g.connect(inp, "out", conv_b, "x")
    g.connect(conv_b, "out", add, "x2")
    [d] = shape_errors(doc)
    assert d.node_id == add
    assert d.message == "Add: its inputs differ, N×64×8×8 and N×128×4×4"
    assert d.hint == "Make both branches end with the same channels and size."


def test_pool_kernel_larger_than_its_input():
    doc = sequential(("MaxPool2d", {"kernel_size": [2, 2]}, "pool"), shape=(3, 1, 1))
    [d] = shape_errors(doc)
    assert d.message == "pool: kernel 2×2 does not fit the 1×1 input"
    assert "smaller kernel" in d.hint


def test_conv_on_a_flat_input_asks_for_the_missing_axes():
    doc = sequential(("Conv2d", {"out_channels": 4}), shape=(10,))
    [d] = shape_errors(doc)
    assert d.message == "Conv2d expects an input with 4 axes (batch included), got N×10"


def test_only_the_first_broken_node_is_reported_downstream_is_skipped():
    doc = sequential(("Conv2d", {"kernel_size": [9, 9]}), "ReLU", "Flatten", shape=(1, 8, 8))
    errors = shape_errors(doc)
    assert [d.message for d in errors] == ["Conv2d: kernel 9×9 does not fit the 8×8 input"]
    report = check_document(doc).shapes
    relu = next(n.id for n in doc.graph if n.type == "ReLU")
    assert relu not in report.nodes


def test_edit_reruns_only_downstream_nodes():
    doc = load_file(find_template("lenet5"))
    inference = ShapeInference()
    inference.infer(doc)
    first_runs = inference.runs
    assert first_runs == 12  # every layer once (Input and Output are not run on meta)
    inference.infer(doc)
    assert inference.runs == first_runs  # nothing changed, nothing re-run
    doc.graph.set_params("fc2", out_features=50)
    report = inference.infer(doc)
    # fc2 changed; relu4 and fc3 see a new input shape; everything upstream is reused.
    assert inference.runs - first_runs == 3
    assert report.nodes["fc3"].inferred == {"in_features": 50}
    assert report.nodes["fc3"].outputs["out"] == TensorMeta((10,), "float32")


def test_int64_tokens_through_embedding_and_lstm():
    doc = sequential(("Embedding", {"num_embeddings": 50, "embedding_dim": 16}),
                     ("LSTM", {"hidden_size": 24, "returns": "last"}),
                     ("Linear", {"out_features": 3}), shape=(12,))
    next(n for n in doc.graph if n.type == "Input").params["dtype"] = "int64"
    result = check_document(doc)
    assert result.ok, [d.line() for d in result.diagnostics]
    metas = [s.outputs["out"] for s in result.shapes.nodes.values() if s.outputs]
    assert [m.text() for m in metas] == ["N×12", "N×12×16", "N×24", "N×3"]
    assert metas[0].dtype == "int64" and metas[1].dtype == "float32"


def test_linear_on_int_tokens_is_explained():
    doc = sequential(("Linear", {"out_features": 3}), shape=(12,))
    next(n for n in doc.graph if n.type == "Input").params["dtype"] = "int64"
    [d] = shape_errors(doc)
    assert d.message.startswith("Linear cannot take an input of this type (N×12 int64)")
