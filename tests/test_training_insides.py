"""What a run shows of a model's insides: the watched nodes' outputs, a small preview of
every node, the prediction for the fixed sample, autoencoder reconstructions, and the
watched nodes changed while the run goes on."""
from __future__ import annotations

import numpy as np
import torch

from graph.loader import load_file
from graph.templates import find_template
from runtime.compile import compile_document
from runtime.training import observe
from runtime.training.config import parse_config
from runtime.training.control import Control
from runtime.training.trainer import Trainer
from tests.test_training import autoencoder, of_kind, train


def lenet():
    return load_file(find_template("lenet5"))


def test_capture_keeps_watched_nodes_whole_and_previews_every_node_small():
    doc = lenet()
    compiled = compile_document(doc, seed=0)
    sample = torch.randn(1, 1, 32, 32)
    seen = observe.capture(compiled.module, compiled.program, (sample,), ["conv1"], previews=True)
    assert set(seen.nodes) == {"conv1"} and seen.nodes["conv1"].shape == (6, 28, 28)
    assert set(seen.previews) == {n.id for n in doc.graph if n.type != "Output"}
    assert seen.previews["conv1"].shape == (6, 28, 28)
    assert seen.previews["input"].shape == (1, 32, 32)   # 32 is the preview's largest side
    assert seen.previews["fc1"].shape == (120,)
    assert seen.output.shape == (10,)
    with torch.no_grad():
        expected = compiled.module.eval()(sample)[0].numpy()
    np.testing.assert_allclose(seen.output, expected, rtol=1e-5, atol=1e-6)


def test_preview_arrays_are_capped():
    big = observe.preview_array(torch.randn(64, 112, 112))
    assert big.shape == (16, 32, 32) and big.dtype == np.float32
    volume = observe.preview_array(torch.randn(4, 10, 8, 8))
    assert volume.shape == (4, 8, 8)
    assert observe.preview_array(torch.randn(4096)).shape == (256,)
    assert observe.preview_array(torch.tensor(3.0)).shape == (1,)


def test_a_classifier_run_reports_probabilities_and_previews(tmp_path):
    result, seen = train(lenet(), tmp_path, epochs=1, watch_nodes=["conv1"], previews=True)
    assert result.status == "finished", result.error
    captures = of_kind(seen, "activations")
    assert captures
    last = captures[-1]
    assert last["probabilities"].shape == (10,)
    assert abs(float(last["probabilities"].sum()) - 1.0) < 1e-5
    assert "output" not in last
    assert last["nodes"]["conv1"].shape == (6, 28, 28)
    assert "fc3" in last["previews"] and last["label"] in range(10)


def test_an_autoencoder_run_shows_inputs_beside_their_reconstructions(tmp_path):
    doc = autoencoder()
    result, seen = train(doc, tmp_path, epochs=2, watch_nodes=["relu"])
    assert result.status == "finished", result.error
    pairs = of_kind(seen, "samples")
    assert len(pairs) == 2 and all(p["what"] == "reconstruction" for p in pairs)
    assert pairs[0]["inputs"].shape == pairs[0]["images"].shape == (8, 1, 8, 8)
    # The second epoch reconstructs better than the first.
    # seeds 0-5: epoch 2's error is 0.48–0.68 of epoch 1's
    errors = [float(((p["inputs"] - p["images"]) ** 2).mean()) for p in pairs]
    assert errors[1] < 0.85 * errors[0], errors
    capture = of_kind(seen, "activations")[-1]
    assert capture["output"].shape == (1, 8, 8) and "probabilities" not in capture


def test_watched_nodes_can_change_while_the_run_goes_on(tmp_path):
    doc = lenet()
    control = Control()
    seen: list[dict] = []

    def emit(ev):
        seen.append(ev)
        if ev["kind"] == "activations" and set(ev["nodes"]) == {"conv1"}:
            control.watch(["conv2", "fc1"])

    cfg = parse_config({**doc.training, "threads": 1, "epochs": 1, "watch_nodes": ["conv1"],
                        "activation_interval": 0})
    result = Trainer(doc, cfg, emit=emit, control=control, runs_dir=tmp_path).fit()
    assert result.status == "finished", result.error
    watched = [set(e["nodes"]) for e in of_kind(seen, "activations")]
    assert watched[0] == {"conv1"} and watched[-1] == {"conv2", "fc1"}
