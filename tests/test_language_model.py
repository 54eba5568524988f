"""Next-token prediction: N×T integer targets from .npz files, the built-in `corpus`,
perplexity against the unigram baseline, and the LSTM language model template learning."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from cli.train_cmd import Progress, _epoch_line
from graph.loader import loads
from graph.templates import find_template
from runtime.data import BUILTIN_DATASETS, DataError, load_dataset, make_builtin
from runtime.data.bundle import DataBundle
from runtime.data.corpus import NOUNS, VOCAB, decode, encode
from runtime.training.config import TrainConfig, parse_config
from runtime.training.perplexity import perplexity, unigram_perplexity
from runtime.training.recipes import RecipeError, Supervised
from runtime.training.stepper import Stepper
from runtime.training.trainer import Trainer


# --- .npz with a class per step ----------------------------------------------------------
def _save(tmp_path, **arrays):
    path = tmp_path / "steps.npz"
    np.savez(path, **arrays)
    return path


def test_npz_with_n_by_t_token_targets_is_next_token_classification(tmp_path):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, (20, 9))
    path = _save(tmp_path, x=ids[:, :-1], y=ids[:, 1:])
    bundle = load_dataset({"path": str(path)}, seed=0)
    assert bundle.task == "classification"
    assert bundle.x_train.dtype == torch.int64 and bundle.y_train.dtype == torch.int64
    assert bundle.sample_shape == (8,) and bundle.target_shape == (8,)
    assert bundle.class_names == [str(i) for i in range(int(ids[:, 1:].max()) + 1)]
    assert len(bundle.x_train) + len(bundle.x_val) == 20
    assert "a class per step" in bundle.description


def test_npz_per_step_tags_over_features_and_named_classes(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 5, 3)).astype(np.float32)
    y = rng.integers(0, 3, (12, 5))
    y[0, 0] = 2
    path = _save(tmp_path, x=x, y=y, class_names=np.array(["noun", "verb", "other"]))
    bundle = load_dataset({"path": str(path)}, seed=0)
    assert bundle.task == "classification" and bundle.sample_shape == (5, 3)
    assert bundle.y_train.shape[1:] == (5,)
    assert bundle.class_names == ["noun", "verb", "other"]


def test_npz_per_step_targets_must_match_the_steps(tmp_path):
    ids = np.zeros((6, 8), np.int64)
    path = _save(tmp_path, x=ids, y=np.zeros((6, 7), np.int64))
    with pytest.raises(DataError, match=r"7 class ids per sample \(one per step\) need "
                                        r"samples of 7 steps.*'x' samples are 8"):
        load_dataset({"path": str(path)})


def test_npz_refuses_three_axis_integer_targets_and_short_class_names(tmp_path):
    path = _save(tmp_path, x=np.zeros((4, 3), np.int64), y=np.zeros((4, 3, 2), np.int64))
    with pytest.raises(DataError, match=r"one class id per sample \(N\) or one per step "
                                        r"\(N×T, e.g. the next token\), got shape 4×3×2"):
        load_dataset({"path": str(path)})
    path = _save(tmp_path, x=np.zeros((4, 3), np.int64), y=np.full((4, 3), 2, np.int64),
                 vocab=np.array(["a", "b"]))
    with pytest.raises(DataError, match="'vocab' names 2 classes but the labels go up to "
                                        "class id 2"):
        load_dataset({"path": str(path)})


# --- the built-in corpus -----------------------------------------------------------------
def test_corpus_is_deterministic_and_its_targets_are_the_input_shifted_by_one():
    a, b = make_builtin("corpus", 40, seed=3), make_builtin("corpus", 40, seed=3)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, make_builtin("corpus", 40, seed=4).x)
    assert a.x.shape == (40, 32) and a.y.shape == (40, 32) and a.x.dtype == torch.int64
    assert torch.equal(a.y[:, :-1], a.x[:, 1:])          # y is x one step later
    assert a.task == "classification" and a.class_names == VOCAB and len(VOCAB) == 28
    assert "vocab 28" in BUILTIN_DATASETS["corpus"]
    whole = " ".join(decode(torch.cat([x, y[-1:]])) for x, y in zip(a.x, a.y))
    assert whole.count(".") >= 20 and any(f" {noun}" in whole for noun in NOUNS)
    assert decode(encode("the fox runs.")) == "the fox runs."


def test_corpus_loads_as_a_bundle_of_one_class_per_step():
    bundle = load_dataset({"name": "corpus"}, seed=0)
    assert len(bundle.x_train) == 1600 and len(bundle.x_val) == 400
    assert bundle.y_train.shape == (1600, 32) and bundle.num_classes == 28
    assert bundle.mean is None          # token ids are not standardised


# --- perplexity ----------------------------------------------------------------------------
def test_perplexity_and_unigram_baseline_on_hand_made_numbers():
    assert perplexity(math.log(4.0)) == pytest.approx(4.0)
    assert math.isfinite(perplexity(1e6))
    # train counts 3, 1 (+1 smoothing: 4, 2 → p = 2/3, 1/3); val tokens 0 and 1:
    # exp(-(ln 2/3 + ln 1/3) / 2) = 3 / √2
    got = unigram_perplexity(torch.tensor([[0, 0], [0, 1]]), torch.tensor([[0, 1]]), 2)
    assert got == pytest.approx(3 / math.sqrt(2), rel=1e-12)
    # a token never seen in training costs a finite amount: counts 3, 0, 0 (+1: p = 1/6)
    got = unigram_perplexity(torch.tensor([0, 0, 0]), torch.tensor([2]), 3)
    assert got == pytest.approx(6.0)


class _Uniform(torch.nn.Module):
    """Scores of zero for each of `classes` at every step: per-token cross-entropy ln C."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.bias = torch.nn.Parameter(torch.zeros(classes))

    def forward(self, x):
        return torch.zeros(*x.shape, self.classes) + 0 * self.bias


def _bundle(y_train, y_val, classes=4):
    return DataBundle("steps", "classification", torch.zeros_like(y_train), y_train,
                      torch.zeros_like(y_val), y_val, [str(i) for i in range(classes)])


def _recipe(model, data):
    recipe = Supervised(TrainConfig(recipe="classification"), model, data)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    recipe.steppers["model"] = Stepper(opt, torch.device("cpu"))
    return recipe


def test_validation_reports_perplexity_per_token_beside_the_unigram_baseline():
    y_train = torch.tensor([[0, 0, 1], [0, 2, 3]])
    y_val = torch.tensor([[0, 1, 1], [3, 3, 0]])
    recipe = _recipe(_Uniform(4), _bundle(y_train, y_val))
    recipe.eval_batch(torch.zeros(2, 3, dtype=torch.long), y_val)
    summary = recipe.eval_summary()
    assert summary["val_loss"] == pytest.approx(math.log(4))
    assert summary["val_perplexity"] == pytest.approx(4.0)
    counts = torch.tensor([3, 1, 1, 1]) + 1.0
    logp = (counts / counts.sum()).log()
    assert summary["val_unigram_perplexity"] == pytest.approx(
        math.exp(-float(logp[y_val.reshape(-1)].mean())))
    assert sum(map(sum, summary["confusion"])) == 6        # one count per token
    assert summary["val_accuracy"] == pytest.approx(2 / 6)  # argmax of ties: class 0


def test_per_step_targets_need_per_step_scores():
    data = _bundle(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
    last_only = torch.nn.Linear(3, 4)
    with pytest.raises(RecipeError, match=r"a class per step \(targets N×3\) but the model "
                                          r"outputs N×4: keep the time axis"):
        _recipe(last_only, data).eval_batch(torch.zeros(2, 3), data.y_val)
    with pytest.raises(RecipeError, match="outputs 5 steps of scores but the targets have 3"):
        _recipe(_Uniform(4), data).eval_batch(torch.zeros(2, 5), data.y_val)


def test_the_cli_epoch_line_shows_both_perplexities():
    line = _epoch_line({"epoch": 2, "train_loss": 0.7, "val_loss": 0.6, "val_accuracy": 0.75,
                        "val_perplexity": 1.8221, "val_unigram_perplexity": 18.85, "lr": 0.01,
                        "seconds": 1.5}, 6)
    assert "val_perplexity 1.8221" in line and "val_unigram_perplexity 18.8500" in line


# --- the template learns -------------------------------------------------------------------
def test_lstm_language_model_beats_the_unigram_baseline_on_every_seed(tmp_path):
    """Measured (400 windows, 2 epochs, seeds 0-2): perplexity 5.7-5.9 against a baseline
    of 18.8-19.0, a ratio of 0.30-0.32; asserted: below half the baseline."""
    doc = loads(find_template("lstm_lm").read_text())
    ratios = []
    for seed in (0, 1, 2):
        cfg = parse_config(doc.training, {"seed": seed, "epochs": 2})
        cfg.dataset = {"name": "corpus", "samples": 400}
        cfg.threads = 1
        out = io.StringIO()
        result = Trainer(doc, cfg, emit=Progress(out, live=False), runs_dir=tmp_path).fit()
        assert result.status == "finished", result.error
        last = result.history[-1]
        assert last["val_unigram_perplexity"] > 15
        ratios.append(last["val_perplexity"] / last["val_unigram_perplexity"])
        assert "val_perplexity" in out.getvalue() and "val_unigram_perplexity" in out.getvalue()
    assert max(ratios) < 0.5, ratios
