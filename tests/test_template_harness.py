"""Every template in templates/ loads, checks clean, compiles and runs; plus the facts the
CLI reports for the two we ship (LeNet-5 and the MLP)."""
from __future__ import annotations

import json

import pytest
import torch

from cli.main import run as run_cli
from graph.loader import load_file
from graph.templates import find_template, list_templates
from runtime.check import check_document
from runtime.compile import compile_document
from runtime.targets import torch_dtype

TEMPLATES = list_templates()
BATCH = 3


def _compile(key: str):
    info = next(t for t in TEMPLATES if t.key == key)
    doc = load_file(info.path)
    check = check_document(doc)
    assert not check.diagnostics, [d.line() for d in check.diagnostics]
    return doc, compile_document(doc, check=check)


def _forward(doc, compiled, batch: int = BATCH, seed: int = 0) -> tuple:
    by_name = {n.params["name"]: n for n in doc.graph if n.type == "Input"}
    gen = torch.Generator().manual_seed(seed)
    inputs = []
    for name in compiled.program.inputs:
        params = by_name[name].params
        shape, dtype = (batch, *params["shape"]), torch_dtype(params["dtype"])
        inputs.append(torch.randint(0, 10, shape, generator=gen) if dtype == torch.int64
                      else torch.randn(shape, generator=gen, dtype=dtype))
    with torch.no_grad():
        result = compiled.module.eval()(*inputs)
    return result if isinstance(result, tuple) else (result,)


def test_the_shipped_templates_are_listed() -> None:
    keys = [t.key for t in TEMPLATES]
    assert {"lenet5", "mlp"} <= set(keys)
    assert len(keys) == len(set(keys))
    # every *.json in templates/ parses (list_templates skips broken ones silently)
    folder = TEMPLATES[0].path.parent
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(keys)


@pytest.mark.parametrize("info", TEMPLATES, ids=[t.key for t in TEMPLATES])
def test_template(info) -> None:
    assert info.name.strip() and info.description.strip()
    doc = load_file(info.path)
    assert doc.name == info.name and doc.description == info.description
    assert isinstance(doc.training, dict) and doc.training
    assert not doc.load_problems
    check = check_document(doc)
    assert not check.diagnostics, [d.line() for d in check.diagnostics]
    compiled = compile_document(doc, check=check)
    assert check.shapes.total_params == sum(p.numel() for p in compiled.module.parameters())
    results = _forward(doc, compiled)
    assert len(results) == len(compiled.program.output_nodes)
    for node_id, value in zip(compiled.program.output_nodes, results):
        meta = check.shapes.nodes[node_id].inputs["x"]
        assert list(value.shape) == [BATCH, *meta.shape], node_id
        assert value.dtype == torch_dtype(meta.dtype), node_id
    # The name the CLI accepts, and the document's own name, both find it.
    assert find_template(info.key) == info.path
    assert find_template(info.name) == info.path


def test_lenet5_facts() -> None:
    doc, compiled = _compile("lenet5")
    shapes = compiled.check.shapes
    assert shapes.total_params == 61_706
    assert sum(p.numel() for p in compiled.module.parameters()) == 61_706
    assert shapes.nodes["conv1"].outputs["out"].shape == (6, 28, 28)
    assert shapes.nodes["output"].inputs["x"].shape == (10,)
    (logits,) = _forward(doc, compiled)
    assert logits.shape == (BATCH, 10)
    # the real conv1 output, read off the compiled module
    x = torch.randn(BATCH, 1, 32, 32)
    assert compiled.module.conv1(x).shape == (BATCH, 6, 28, 28)


def test_mlp_facts() -> None:
    doc, compiled = _compile("mlp")
    assert compiled.check.shapes.nodes["output"].inputs["x"].shape == (10,)
    (logits,) = _forward(doc, compiled)
    assert logits.shape == (BATCH, 10)


def test_cli_reports_the_same_facts(capsys) -> None:
    assert run_cli(["validate", "lenet5"]) == 0
    assert "61,706 parameters" in capsys.readouterr().out
    assert run_cli(["summary", "lenet5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total_params"] == 61_706
    rows = {r["id"]: r for r in summary["nodes"]}
    assert rows["conv1"]["output_shape"] == ["N", 6, 28, 28]
    assert rows["output"]["output_shape"] == ["N", 10]
    assert run_cli(["summary", "mlp", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["nodes"]}
    assert rows["output"]["output_shape"] == ["N", 10]
