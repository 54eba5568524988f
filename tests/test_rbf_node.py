"""The RBF layer: each unit a learned bump around a learned centre; an RBF network learns
the two moons."""
from __future__ import annotations

import pytest
import torch
from sklearn.datasets import make_moons

from graph.document import Document
from runtime.compile import compile_document
from runtime.export import export_model
from tests.graph_builders import chain


def rbf_net(units: int = 16, head: bool = True) -> Document:
    doc = Document(name="RBFNet")
    layers = [("RBF", {"out_features": units})]
    if head:
        layers.append(("Linear", {"out_features": 2}))
    chain(doc.graph, ("Input", {"shape": [2]}), *layers, "Output")
    return doc


def test_each_unit_is_a_gaussian_bump_of_the_distance_to_its_centre():
    module = compile_document(rbf_net(3, head=False)).module
    rbf = module.rbf_1
    with torch.no_grad():
        rbf.centres.copy_(torch.tensor([[0.0, 0.0], [1.0, 2.0], [-3.0, 0.5]]))
        rbf.log_widths.copy_(torch.log(torch.tensor([1.0, 0.5, 2.0])))
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0], [2.0, -1.0]])
    expected = torch.exp(-torch.cdist(x, rbf.centres) ** 2 / torch.tensor([1.0, 0.5, 2.0]) ** 2)
    got = module(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert got[0, 0].item() == pytest.approx(1.0) and got[1, 1].item() == pytest.approx(1.0)
    assert sum(p.numel() for p in module.parameters()) == 3 * 2 + 3  # centres and widths


@pytest.mark.parametrize("seed", [0, 1])
def test_an_rbf_network_learns_the_two_moons(seed):
    torch.manual_seed(seed)
    points, labels = make_moons(600, noise=0.15, random_state=seed)
    x, y = torch.tensor(points, dtype=torch.float32), torch.tensor(labels)
    module = compile_document(rbf_net(), seed=seed).module
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(200):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(module(x[:400]), y[:400]).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (module(x[400:]).argmax(1) == y[400:]).float().mean().item()
    # seeds 0-5: validation accuracy 0.980-0.995; chance 0.5
    assert accuracy > 0.75


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "python"])
def test_the_rbf_layer_exports_and_each_file_is_checked(fmt, tmp_path):
    doc = rbf_net()
    compiled = compile_document(doc)
    result = export_model(doc, compiled.module.state_dict(), fmt, tmp_path / f"rbf.{fmt}")
    assert result.files and result.check
    assert result.max_abs_diff is None or result.max_abs_diff <= 1e-5
