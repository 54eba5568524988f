"""The math nodes compute what their names say, on real values, through compile, code
export and ONNX alike; a VAE's reparameterisation can be drawn with them."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch

from graph.document import Document
from runtime.compile import compile_document
from runtime.codegen import export_code
from runtime.export import export_model
from tests.graph_builders import chain

X = torch.tensor([[[1.0, -2.0, 3.0, 0.5], [4.0, 5.0, -6.0, 2.0], [0.25, 8.0, 9.0, -1.0]],
                  [[2.0, 2.0, 2.0, 2.0], [-1.0, 0.0, 1.0, 3.0], [5.0, 4.0, 3.0, 2.0]]])


def one_node(type_id: str, params: dict, shape=(3, 4)) -> Document:
    doc = Document(name=f"{type_id}Net")
    chain(doc.graph, ("Input", {"shape": list(shape)}), (type_id, params), "Output")
    return doc


@pytest.mark.parametrize("type_id, params, expected", [
    ("Exp", {}, torch.exp(X)),
    ("Log", {"eps": 10.0}, torch.log(X + 10.0)),
    ("Scale", {"factor": -0.5, "offset": 3.0}, X * -0.5 + 3.0),
    ("ReduceMean", {"dims": [1]}, X.mean(dim=1)),
    ("ReduceMean", {"dims": [-1, 1], "keepdim": True}, X.mean(dim=(1, 2), keepdim=True)),
    ("ReduceSum", {"dims": [2]}, X.sum(dim=2)),
    ("Slice", {"dim": 2, "start": 1, "length": 2}, X[:, :, 1:3]),
    ("Slice", {"dim": -1, "start": -3, "length": 2, "step": 2}, X[:, :, 1::2]),
    ("Slice", {"dim": 1, "start": 0, "length": 2}, X[:, :2]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_each_node_gives_the_reference_values(type_id, params, expected):
    compiled = compile_document(one_node(type_id, params))
    got = compiled.module(X)
    assert got.shape == expected.shape
    assert torch.equal(got, expected)
    # the meta shape report said the same shape before anything ran
    out_node = compiled.program.output_nodes[0]
    assert [2, *compiled.check.shapes.nodes[out_node].inputs["x"].shape] == list(got.shape)


@pytest.mark.parametrize("type_id, reference", [
    ("Subtract", lambda a, b: a - b), ("Divide", lambda a, b: a / b)])
def test_two_input_nodes_keep_their_operands_in_order(type_id, reference):
    doc = Document(name="Pair")
    g = doc.graph
    a = g.add_node("Input", {"name": "a", "shape": [3, 4]})
    b = g.add_node("Input", {"name": "b", "shape": [1, 4]})  # a size of 1 stretches
    op = g.add_node(type_id)
    out = g.add_node("Output")
    g.connect(a.id, "out", op.id, "a")
    g.connect(b.id, "out", op.id, "b")
    g.connect(op.id, "out", out.id, "x")
    module = compile_document(doc).module
    x, y = X, X[:, :1] + 10.0
    assert torch.equal(module(x, y), reference(x, y))


def vae_sample_doc() -> Document:
    """mu, logvar → mu + exp(0.5 · logvar) · noise, with the noise as a second Input."""
    doc = Document(name="Reparameterise")
    g = doc.graph
    mu = g.add_node("Input", {"name": "mu", "shape": [4]})
    logvar = g.add_node("Input", {"name": "logvar", "shape": [4]})
    noise = g.add_node("Input", {"name": "noise", "shape": [4]})
    half = g.add_node("Scale", {"factor": 0.5, "offset": 0.0})
    std = g.add_node("Exp")
    spread = g.add_node("Multiply")
    z = g.add_node("Add")
    out = g.add_node("Output")
    g.connect(logvar.id, "out", half.id, "x")
    g.connect(half.id, "out", std.id, "x")
    g.connect(std.id, "out", spread.id, "x1")
    g.connect(noise.id, "out", spread.id, "x2")
    g.connect(mu.id, "out", z.id, "x1")
    g.connect(spread.id, "out", z.id, "x2")
    g.connect(z.id, "out", out.id, "x")
    return doc


def test_a_reparameterisation_drawn_as_nodes_exports_bit_identical_code():
    compiled = compile_document(vae_sample_doc())
    mu, logvar, noise = torch.randn(3, 2, 4).unbind(0)
    expected = mu + torch.exp(0.5 * logvar) * noise
    assert torch.allclose(compiled.module(mu, logvar, noise), expected, rtol=0, atol=1e-6)
    namespace: dict = {}
    exec(compile(export_code(compiled.program), "<export>", "exec"), namespace)
    exported = namespace[compiled.program.class_name]()
    assert torch.equal(exported(mu, logvar, noise), compiled.module(mu, logvar, noise))


def test_math_nodes_export_to_onnx_and_run_there(tmp_path):
    doc = Document(name="MathChain")
    chain(doc.graph, ("Input", {"shape": [3, 4]}), ("Scale", {"factor": 0.1}), "Exp",
          ("Log", {"eps": 1.0}), ("Slice", {"dim": 2, "start": 1, "length": 3}),
          ("ReduceMean", {"dims": [2]}), ("ReduceSum", {"dims": [1], "keepdim": True}),
          "Output")
    compiled = compile_document(doc)
    path = tmp_path / "math.onnx"
    export_model(doc, compiled.module.state_dict(), "onnx", path)  # checks the file itself
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: X.numpy()})[0]
    np.testing.assert_allclose(got, compiled.module(X).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_every_category_has_its_own_colour():
    # A category without one is drawn in the Input / Output grey (as Math first was).
    from graph.catalog import CATEGORIES
    from gui.theme import _CATEGORY_HUES

    assert set(CATEGORIES) <= set(_CATEGORY_HUES)
    assert len(set(_CATEGORY_HUES.values())) == len(_CATEGORY_HUES)


def noise_doc(**params) -> Document:
    doc = Document(name="Noise")
    chain(doc.graph, ("Input", {"shape": [3, 4]}), ("RandomNormalLike", params), "Output")
    return doc


def test_random_normal_like_draws_under_the_seed_while_training_and_gives_the_mean_in_eval():
    module = compile_document(noise_doc(mean=2.0, std=0.5)).module
    module.train()
    torch.manual_seed(7)
    first = module(X)
    torch.manual_seed(7)
    assert torch.equal(module(X), first)          # the run's seed fixes the draw
    assert not torch.equal(module(X), first)      # and each step draws anew
    big = module(torch.zeros(2000, 3, 4))
    assert abs(big.mean().item() - 2.0) < 0.02 and abs(big.std().item() - 0.5) < 0.02
    module.eval()
    assert torch.equal(module(X), torch.full_like(X, 2.0))
    sampling = compile_document(noise_doc(sample_in_eval=True)).module.eval()
    assert sampling(X).std() > 0.5


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "python"])
def test_random_normal_like_exports_what_it_gives_at_evaluation_time(fmt, tmp_path):
    doc = noise_doc(mean=-1.0)
    compiled = compile_document(doc)
    # export_model checks the file against the model (onnxruntime, a reload, a fresh
    # interpreter) and raises when they differ; eval mode makes the output the mean.
    result = export_model(doc, compiled.module.state_dict(), fmt, tmp_path / f"noise.{fmt}")
    assert result.files and all(p.exists() for p in result.files) and result.check
    assert result.max_abs_diff is None or result.max_abs_diff <= 1e-6
