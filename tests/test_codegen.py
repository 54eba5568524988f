"""Standalone .py export: readable, needs only torch, bit-identical to the compiled model."""
from __future__ import annotations

import subprocess
import sys

import torch

from graph.document import Document
from graph.model import Graph
from runtime.codegen import export_code
from runtime.compile import compile_document
from tests.graph_builders import chain

FRESH_RUN = """
import sys, torch
sys.path.insert(0, '.')
from exported import {cls}
model = {cls}()
model.load_state_dict(torch.load('weights.pt', weights_only=True))
model.eval()
inputs = torch.load('inputs.pt', weights_only=True)
with torch.no_grad():
    out = model(*inputs)
torch.save(out if isinstance(out, tuple) else (out,), 'outputs.pt')
print(sorted(m for m in sys.modules if m.split('.')[0] in ('graph', 'runtime', 'cli', 'gui')))
"""


def sequence_model() -> Document:
    """Tokens → embedding → positional encoding → [block: attention + norm, used twice] →
    LSTM (last step) ─┬→ Linear → logits
    a second Input ───┘ concat, and a Chunk whose halves are two more outputs."""
    doc = Document(name="seq classifier")
    block = doc.add_block("Attend", Graph())
    inp, attn, add, norm, out = chain(
        block, ("Input", {"shape": [10, 16]}), ("MultiheadAttention", {"num_heads": 4}), "Add",
        "LayerNorm", "Output")
    block.connect(inp, "out", add, "x2")
    g = doc.graph
    tokens, emb, pos, b1, b2, lstm, cat, fc, logits = chain(
        g, ("Input", {"name": "tokens", "shape": [10], "dtype": "int64"}),
        ("Embedding", {"num_embeddings": 30, "embedding_dim": 16}), "PositionalEncoding",
        ("Block", {"block": "Attend"}), ("Block", {"block": "Attend"}),
        ("LSTM", {"hidden_size": 12, "returns": "last", "bidirectional": True}), "Concat",
        ("Linear", {"out_features": 3}), ("Output", {"name": "logits"}))
    side, bn = chain(g, ("Input", {"name": "side", "shape": [4]}), "BatchNorm1d")
    g.connect(bn, "out", cat, "x2")
    chunk = chain(g, ("Chunk", {"chunks": 2}), start=lstm)[0]
    for port in ("out1", "out2"):
        o = g.add_node("Output", {"name": f"half_{port}"}).id
        g.connect(chunk, port, o, "x")
    return doc


def test_export_matches_compiled_model_bit_for_bit_in_a_fresh_interpreter(tmp_path):
    doc = sequence_model()
    compiled = compile_document(doc, seed=0)
    model = compiled.module
    # Make BatchNorm's running stats non-trivial so buffers are part of the comparison.
    model.train()
    with torch.no_grad():
        model(torch.randint(0, 30, (8, 10)), torch.randn(8, 4) * 3 + 1)
    model.eval()
    inputs = (torch.randint(0, 30, (5, 10)), torch.randn(5, 4))
    with torch.no_grad():
        expected = model(*inputs)
    source = export_code(compiled.program, source="seq.json")
    (tmp_path / "exported.py").write_text(source)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    torch.save(inputs, tmp_path / "inputs.pt")
    run = subprocess.run([sys.executable, "-I", "-c", FRESH_RUN.format(cls="SeqClassifier")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"  # nothing of NodeTorch was imported
    got = torch.load(tmp_path / "outputs.pt", weights_only=True)
    assert len(got) == len(expected) == 3
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


def test_exported_code_reads_like_hand_written_torch():
    source = export_code(compile_document(sequence_model()).program)
    assert source.count("class Attend(nn.Module):") == 1  # one class per block, used twice
    assert "class SeqClassifier(nn.Module):" in source
    assert "self.attend_1 = Attend()" in source and "self.attend_2 = Attend()" in source
    assert "self.embedding_1 = nn.Embedding(num_embeddings=30, embedding_dim=16)" in source
    assert "def forward(self, tokens, side):" in source
    assert "chunk_1_out1, chunk_1_out2 = chunk(lstm_1, chunks=2, dim=1)" in source
    assert "return (linear_1, chunk_1_out1, chunk_1_out2)" in source
    assert "import graph" not in source and "runtime" not in source
    compile(source, "exported.py", "exec")


def test_a_block_used_on_different_input_shapes_is_one_class_taking_what_differs():
    doc = Document(name="two widths")
    block = doc.add_block("Proj", Graph())
    chain(block, ("Input", {"shape": [4]}), ("Linear", {"out_features": 2}), "Output")
    a, b1, cat, out = chain(doc.graph, ("Input", {"shape": [4]}), ("Block", {"block": "Proj"}),
                            "Concat", "Output")
    side, b2 = chain(doc.graph, ("Input", {"name": "wide", "shape": [9]}), ("Block", {"block": "Proj"}))
    doc.graph.connect(b2, "out", cat, "x2")
    source = export_code(compile_document(doc).program)
    assert "class Proj(nn.Module):" in source and "class Proj2" not in source
    assert "def __init__(self, in_features):" in source
    assert "nn.Linear(in_features=in_features, out_features=2)" in source
    assert "self.proj_1 = Proj(in_features=4)" in source
    assert "self.proj_2 = Proj(in_features=9)" in source
    namespace: dict = {}
    exec(compile(source, "exported.py", "exec"), namespace)
    model = namespace["TwoWidths"]()
    assert model.proj_2.linear_1.weight.shape == (2, 9)


def test_a_block_named_like_the_model_does_not_take_the_models_name():
    doc = Document(name="Net")
    block = doc.add_block("net", Graph())
    chain(block, ("Input", {"shape": [4]}), "ReLU", "Output")
    chain(doc.graph, ("Input", {"shape": [4]}), ("Block", {"block": "net"}), "Output")
    source = export_code(compile_document(doc).program)
    namespace: dict = {}
    exec(compile(source, "exported.py", "exec"), namespace)
    assert [n for n, _ in namespace["Net"]().named_children()] == ["net_1"]
    assert "class Net2(nn.Module):" in source
