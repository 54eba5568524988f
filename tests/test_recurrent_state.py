"""Recurrent layers' final hidden state as a second output `h` (state_output): its values,
its shapes, every export format, and old files (without the parameter) unchanged."""
from __future__ import annotations

import json

import onnx
import pytest
import torch

from graph.document import Document
from graph.fileformat import dumps
from graph.loader import loads
from runtime.check import check_document
from runtime.codegen import export_code
from runtime.compile import compile_document
from runtime.export import export_model
from tests.graph_builders import chain

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

STEPS, FEATURES, HIDDEN = 6, 3, 4


def with_state(kind: str, **params) -> tuple[Document, str]:
    """Input(6×3) → kind(state_output) → Output 'seq' (out) and Output 'h' (h)."""
    doc = Document(name=f"{kind} state")
    ids = chain(doc.graph, ("Input", {"shape": [STEPS, FEATURES]}),
                (kind, {"hidden_size": HIDDEN, "state_output": True, **params}),
                ("Output", {"name": "seq"}))
    h_out = doc.graph.add_node("Output", {"name": "h"})
    doc.graph.connect(ids[1], "h", h_out.id, "x")
    return doc, ids[1]


def run(doc: Document, batch: int = 5, seed: int = 0):
    model = compile_document(doc, seed=seed).module.eval()
    x = torch.randn(batch, STEPS, FEATURES, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_h_is_the_last_step_of_the_sequence_for_one_unidirectional_layer(kind):
    seq, h = run(with_state(kind)[0])
    assert seq.shape == (5, STEPS, HIDDEN) and h.shape == (5, HIDDEN)
    assert torch.equal(h, seq[:, -1, :])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_bidirectional_h_holds_the_forward_last_step_then_the_backward_first_step(kind):
    # The backward direction reads the sequence from its end: its final state is the
    # output at step 0. Two layers: h is the top layer's, which is what `seq` shows.
    seq, h = run(with_state(kind, bidirectional=True, num_layers=2)[0])
    assert seq.shape == (5, STEPS, 2 * HIDDEN) and h.shape == (5, 2 * HIDDEN)
    assert torch.equal(h[:, :HIDDEN], seq[:, -1, :HIDDEN])
    assert torch.equal(h[:, HIDDEN:], seq[:, 0, HIDDEN:])


def test_lstm_h_is_the_hidden_state_not_the_cell_state():
    doc, node = with_state("LSTM", num_layers=3)
    model = compile_document(doc, seed=0).module.eval()
    x = torch.randn(2, STEPS, FEATURES)
    with torch.no_grad():
        _, (h_n, c_n) = torch.nn.LSTM.forward(getattr(model, "lstm_1"), x)
        seq, h = model(x)
    assert torch.equal(h, h_n[-1]) and not torch.equal(h, c_n[-1])


def test_returns_last_with_state_output_gives_the_state_twice():
    last, h = run(with_state("GRU", returns="last")[0])
    assert last.shape == h.shape == (5, HIDDEN) and torch.equal(last, h)


def test_shapes_show_both_ports_and_the_port_goes_with_the_parameter():
    doc, node = with_state("GRU", bidirectional=True)
    report = check_document(doc)
    assert report.ok, [d.line() for d in report.diagnostics]
    outputs = report.shapes.nodes[node].outputs
    assert {port: tuple(meta.shape) for port, meta in outputs.items()} == {
        "out": (STEPS, 2 * HIDDEN), "h": (2 * HIDDEN,)}
    assert doc.graph.output_ports(node) == ["out", "h"]
    doc.graph.set_params(node, state_output=False)
    assert doc.graph.output_ports(node) == ["out"]
    # The edge from h now leads from a port the node no longer has: validation says so.
    problems = [(d.code, d.node_id, d.port) for d in check_document(doc).errors]
    assert problems == [("unknown_port", node, "h")]


OLD_FILE = {
    "format": "nodetorch.graph", "version": 1, "name": "old lstm",
    "graph": {"nodes": [
        {"id": "x", "type": "Input", "params": {"name": "x", "shape": [STEPS, FEATURES]}},
        {"id": "lstm", "type": "LSTM", "params": {"hidden_size": HIDDEN, "returns": "last"}},
        {"id": "y", "type": "Output", "params": {"name": "y"}}],
        "edges": [{"src": "x", "src_port": "out", "dst": "lstm", "dst_port": "x"},
                  {"src": "lstm", "src_port": "out", "dst": "y", "dst_port": "x"}]},
}


def test_an_old_file_without_the_parameter_loads_and_compiles_as_before():
    doc = loads(json.dumps(OLD_FILE), "old.json")
    assert doc.graph.output_ports("lstm") == ["out"]
    # Loading fills in the default, as for every parameter: off.
    assert json.loads(dumps(doc))["graph"]["nodes"][1]["params"]["state_output"] is False
    compiled = compile_document(doc, seed=0)
    x = torch.randn(3, STEPS, FEATURES)
    with torch.no_grad():
        y = compiled.module(x)
        _, (h_n, _) = torch.nn.LSTM.forward(compiled.module.lstm_1, x)
    assert isinstance(y, torch.Tensor) and y.shape == (3, HIDDEN)   # one tensor, not a tuple
    assert torch.equal(y, h_n[-1])
    assert sorted(compiled.module.state_dict()) == [
        "lstm_1.bias_hh_l0", "lstm_1.bias_ih_l0", "lstm_1.weight_hh_l0", "lstm_1.weight_ih_l0"]
    code = export_code(compiled.program)
    assert 'self.lstm_1 = LSTMLayer(input_size=3, hidden_size=4, returns="last")' in code
    assert "lstm_1 = self.lstm_1(x)" in code


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "python", "safetensors", "state_dict"])
def test_every_export_format_holds_both_outputs(fmt, tmp_path):
    doc, _ = with_state("LSTM", bidirectional=True)
    model = compile_document(doc, seed=3).module
    result = export_model(doc, model.state_dict(), fmt, tmp_path / "out" / f"model.{fmt}")
    assert result.files and result.files[0].is_file()
    if fmt in ("onnx", "torchscript", "python"):   # these compare outputs when they check
        assert "match" in result.check, result.check
    if fmt == "onnx":
        graph = onnx.load(str(result.files[0])).graph
        assert [o.name for o in graph.output] == ["seq", "h"]
        dims = [d.dim_value for d in graph.output[1].type.tensor_type.shape.dim]
        assert dims[1:] == [2 * HIDDEN]
    if fmt == "python":
        text = result.files[0].read_text()
        assert "lstm_1_out, lstm_1_h = self.lstm_1(x)" in text
        assert "return (lstm_1_out, lstm_1_h)" in text
