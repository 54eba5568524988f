"""Outputs marked as loss terms: the loss is main + weight × mean(term), each term is logged
under its Output's name, bad terms get a clear message, and the VAE template learns."""
from __future__ import annotations

import json

import pytest
import torch

from cli.train_cmd import _epoch_line
from graph.document import Document
from graph.loader import loads
from graph.templates import find_template
from runtime.compile import compile_document
from runtime.data import load_dataset
from runtime.data.bundle import DataBundle
from runtime.training.config import TrainConfig, parse_config
from runtime.training.loss_terms import output_roles
from runtime.training.recipes import RecipeError, Supervised
from runtime.training.stepper import Stepper
from runtime.training.trainer import Trainer
from tests.graph_builders import chain

X = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
Y = torch.zeros(2, 2)


def _penalised(weight: float = 0.5) -> Document:
    """x (3) → fc (2) → Output pred; fc → fc·fc → sum over features → Output penalty,
    a loss term of the given weight (an activity penalty)."""
    doc = Document(name="Penalised")
    g = doc.graph
    inp, fc, _ = chain(g, ("Input", {"shape": [3]}), ("Linear", {"out_features": 2}, "fc"),
                       ("Output", {"name": "pred"}))
    square = g.add_node("Multiply", {"num_inputs": 2})
    g.connect(fc, "out", square.id, "x1")
    g.connect(fc, "out", square.id, "x2")
    chain(g, ("ReduceSum", {"dims": [1]}),
          ("Output", {"name": "penalty", "loss_term": True, "loss_weight": weight}),
          start=square.id)
    return doc


def _recipe(doc: Document, lr: float = 1.0):
    compiled = compile_document(doc, seed=0)
    module = compiled.module
    with torch.no_grad():
        module.fc.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
        module.fc.bias.zero_()
    data = DataBundle("hand", "regression", X, Y, X, Y)
    recipe = Supervised(TrainConfig(recipe="regression", loss="mse"), module, data,
                        output_roles(doc, compiled))
    recipe.steppers["model"] = Stepper(torch.optim.SGD(module.parameters(), lr=lr),
                                       torch.device("cpu"))
    return recipe, module


def test_the_loss_is_main_plus_weight_times_the_terms_mean_exactly():
    # pred = x[:, :2] = [[1, 2], [0, 1]]; mse against 0: (1 + 4 + 0 + 1) / 4 = 1.5;
    # penalty per sample Σ pred² = [5, 1], mean 3; total 1.5 + 0.5 × 3 = 3.
    recipe, module = _recipe(_penalised(0.5))
    recipe.eval_batch(X, Y)
    summary = recipe.eval_summary()
    assert summary["val_main_loss"] == pytest.approx(1.5)
    assert summary["val_penalty"] == pytest.approx(3.0)
    assert summary["val_loss"] == pytest.approx(3.0)
    assert summary["loss_terms"] == ["penalty"]
    metrics = recipe.train_step(X, Y, "test")
    assert metrics["loss"] == pytest.approx(3.0)
    assert float(metrics["main_loss"]) == pytest.approx(1.5)
    assert float(metrics["penalty"]) == pytest.approx(3.0)
    # total = ¼ Σ p² + ½ · ½ Σ p² = ½ Σ p², so d total / dW = pᵀ x; SGD with lr 1 subtracts it
    p = X[:, :2]
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) - p.T @ X
    assert torch.allclose(module.fc.weight, expected)


def test_a_zero_weight_term_is_logged_but_does_not_train():
    recipe, module = _recipe(_penalised(0.0))
    metrics = recipe.train_step(X, Y, "test")
    assert metrics["loss"] == pytest.approx(1.5) and float(metrics["penalty"]) == pytest.approx(3.0)
    p = X[:, :2]   # mse alone: d/dW = ½ pᵀ x
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) - 0.5 * p.T @ X
    assert torch.allclose(module.fc.weight, expected)


def test_the_prediction_is_the_first_output_that_is_not_a_loss_term():
    # The penalty's nodes come first in the file, so the model returns it first.
    doc = Document(name="TermFirst")
    g = doc.graph
    inp, fc = chain(g, ("Input", {"shape": [3]}), ("Linear", {"out_features": 2}, "fc"))
    square = g.add_node("Multiply", {"num_inputs": 2})
    g.connect(fc, "out", square.id, "x1")
    g.connect(fc, "out", square.id, "x2")
    chain(g, ("ReduceSum", {"dims": [1]}),
          ("Output", {"name": "penalty", "loss_term": True, "loss_weight": 0.5}), start=square.id)
    chain(g, ("Output", {"name": "pred"}), start=fc)
    compiled = compile_document(doc, seed=0)
    assert compiled.program.output_names == ["penalty", "pred"]
    roles = output_roles(doc, compiled)
    assert roles.prediction == 1
    assert [(t.index, t.name, t.weight) for t in roles.terms] == [(0, "penalty", 0.5)]
    recipe, _ = _recipe(doc)
    recipe.eval_batch(X, Y)
    summary = recipe.eval_summary()
    assert summary["val_main_loss"] == pytest.approx(1.5)   # mse of pred, not of the penalty
    assert summary["val_loss"] == pytest.approx(3.0)


def _doc_with(*outputs: dict, dtype: str = "float32") -> Document:
    doc = Document(name="Bad")
    g = doc.graph
    inp = g.add_node("Input", {"shape": [4], "dtype": dtype})
    if dtype == "int64":
        head = chain(g, ("Embedding", {"num_embeddings": 10, "embedding_dim": 3}), start=inp.id)[0]
    else:
        head = chain(g, ("Linear", {"out_features": 2}), start=inp.id)[0]
    for params in outputs:
        source = inp.id if params.pop("raw", False) else head
        chain(g, ("Output", params), start=source)
    return doc


def test_clear_messages_for_terms_that_cannot_be_a_loss():
    doc = _doc_with({"name": "only", "loss_term": True})
    with pytest.raises(RecipeError, match=r"every Output of the graph is marked as a loss term "
                                          r"\('only'\); training needs one that predicts"):
        output_roles(doc, compile_document(doc))
    doc = _doc_with({"name": "pred"}, {"name": "ids", "loss_term": True, "raw": True},
                    dtype="int64")
    with pytest.raises(RecipeError, match="loss-term Output 'ids' gets int64 values, which "
                                          "cannot be averaged into a loss"):
        output_roles(doc, compile_document(doc))
    doc = _doc_with({"name": "pred"}, {"name": "accuracy", "loss_term": True})
    with pytest.raises(RecipeError, match="the name 'accuracy' is taken by a metric"):
        output_roles(doc, compile_document(doc))


def test_a_graph_of_loss_terms_only_fails_the_run_with_the_message(tmp_path):
    doc = Document(name="AllTerms")
    chain(doc.graph, ("Input", {"shape": [1, 8, 8]}), "Flatten",
          ("Linear", {"out_features": 10}), ("Output", {"name": "kl", "loss_term": True}))
    cfg = TrainConfig(epochs=1, dataset={"name": "digits", "samples": 40})
    result = Trainer(doc, cfg, runs_dir=tmp_path).fit()
    assert result.status == "failed"
    assert "every Output of the graph is marked as a loss term ('kl')" in result.error


def test_the_cli_epoch_line_shows_the_main_loss_and_each_term():
    line = _epoch_line({"epoch": 1, "train_loss": 0.4, "val_loss": 0.3, "train_main_loss": 0.2,
                        "val_main_loss": 0.15, "train_kl": 9.5, "val_kl": 8.25,
                        "loss_terms": ["kl"], "lr": 0.003, "seconds": 0.4}, 3)
    for text in ("val_main_loss 0.1500", "train_kl 9.5000", "val_kl 8.2500"):
        assert text in line


# --- the VAE template ----------------------------------------------------------------------
def _vae() -> Document:
    return loads(find_template("vae").read_text())


def test_vae_returns_its_reconstruction_first_and_the_kl_drawn_as_nodes():
    doc = _vae()
    compiled = compile_document(doc, seed=0)
    roles = output_roles(doc, compiled)
    assert compiled.program.output_names == ["reconstruction", "kl"]
    assert roles.prediction == 0 and [(t.name, t.weight) for t in roles.terms] == [("kl", 0.01)]
    m = compiled.module.eval()
    x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    recon, kl = m(x)
    assert recon.shape == (5, 1, 8, 8) and kl.shape == (5,)
    h = torch.relu(m.enc1(x.flatten(1)))
    mu, logvar = m.mu(h), m.logvar(h)
    expected = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
    assert torch.allclose(kl, expected, atol=1e-6) and (kl >= 0).all()


def test_vae_learns_and_logs_its_kl_term(tmp_path):
    """Measured (4 epochs, seeds 0-2): reconstruction MSE 0.158-0.186 on standardised
    pixels against a mean-image baseline of 0.52 (ratio 0.31-0.36); the training loss
    halves. Asserted: below 0.6 of the baseline, the loss falls by a third."""
    doc = _vae()
    for seed in (0, 1, 2):
        cfg = parse_config(doc.training, {"seed": seed, "epochs": 4})
        cfg.threads = 1
        result = Trainer(doc, cfg, runs_dir=tmp_path / str(seed)).fit()
        assert result.status == "finished", result.error
        first, last = result.history[0], result.history[-1]
        for key in ("train_loss", "train_main_loss", "train_kl", "val_loss", "val_main_loss",
                    "val_kl"):
            assert isinstance(last[key], float), key
        assert last["val_loss"] == pytest.approx(last["val_main_loss"] + 0.01 * last["val_kl"])
        assert last["val_kl"] > 0
        assert last["train_loss"] < 0.67 * first["train_loss"]
        data = load_dataset({"name": "digits"}, seed=seed)
        baseline = float(((data.x_val - data.x_train.mean(0, keepdim=True)) ** 2).mean())
        assert last["val_main_loss"] < 0.6 * baseline, (seed, last["val_main_loss"], baseline)
    lines = (result.run_dir / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    epoch_rows = [r for r in rows if r["kind"] == "epoch"]
    assert {"train_kl", "val_kl", "val_main_loss"} <= set(epoch_rows[-1])
    assert {"kl", "main_loss"} <= set(next(r for r in rows if r["kind"] == "step"))


# --- the curves view -----------------------------------------------------------------------
def test_curves_view_draws_each_loss_term_and_the_main_loss(qtbot):
    from gui.insights.curves_view import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    for epoch, kl in ((1, 9.0), (2, 7.5)):
        view.handle_event({"kind": "epoch", "epoch": epoch, "train_loss": 0.5, "val_loss": 0.4,
                           "train_main_loss": 0.3, "val_main_loss": 0.25, "train_kl_loss": kl,
                           "val_kl_loss": kl - 1, "loss_terms": ["kl_loss"], "lr": 0.01,
                           "seconds": 0.1, "best": True})
    view.flush()
    assert set(view.metric_curves) == {"train_main_loss", "val_main_loss", "train_kl_loss",
                                       "val_kl_loss"}
    assert list(view.metric_curves["val_kl_loss"].getData()[1]) == [8.0, 6.5]
    view.reset()
    view.handle_event({"kind": "epoch", "epoch": 1, "train_loss": 0.5, "train_d_loss": 0.7,
                       "lr": 0.01, "seconds": 0.1})
    view.flush()
    assert not view.metric_curves      # without loss terms, losses stay off the metrics plot
