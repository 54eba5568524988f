"""Every template in templates/ (whoever added it) is a network that trains and exports:
it loads with no problems, checks clean, compiles, runs forward and backward on a batch of
its own default dataset, its loss falls over a few steps on that batch, and its ONNX and
standalone .py exports reproduce the compiled model. The classic-size ones have
torchvision's parameter counts. How well each learns is bench/templates.py's job."""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from functools import cache
from pathlib import Path

import pytest
import torch
from torch import nn

from cli.main import run as run_cli
from graph.loader import load_file
from graph.templates import FAMILIES, OTHER_FAMILY, by_family, find_template, list_templates
from runtime.check import check_document
from runtime.codegen import export_code
from runtime.compile import block_as_document, compile_document
from runtime.export import export_model
from runtime.export.weights import plain_state_dict
from runtime.training import events
from runtime.training.config import parse_config
from runtime.training.distributed import Distributed
from runtime.training.setup import build_run

TEMPLATES = list_templates()
KEYS = [t.key for t in TEMPLATES]
# torchvision's published counts (torchvision.models.vgg11() / resnet18(), 1000 classes).
CLASSIC_PARAMS = {"vgg11": 132_863_336, "resnet18": 11_689_512}
SAMPLES = 64     # the default dataset, cut to this many samples: enough for one batch
BATCH = 16
STEPS = 15
# The loss on the fixed batch at the last of STEPS steps, as a fraction of the first step's.
# Measured over seeds 0-2 for every template: at most 0.82 (the RNN, seed 2; 0.73 at seed
# 0, which the test uses), most under 0.6.
LOSS_FALLS_TO = 0.9


def _info(key: str):
    return next(t for t in TEMPLATES if t.key == key)


@cache
def _run(key: str, seed: int = 0):
    """The template's own training settings, its default dataset cut to SAMPLES, built the
    way a run builds."""
    doc = load_file(_info(key).path)
    training = dict(doc.training)
    dataset = training.get("dataset")
    if isinstance(dataset, dict) and "name" in dataset:
        small = 4 if key in CLASSIC_PARAMS else SAMPLES
        training["dataset"] = {**dataset, "samples": small}
    # No schedule: every step at the schedule's peak (one-cycle starts at a 25th of it).
    schedule = training.get("schedule")
    peak = schedule.get("max_lr") if isinstance(schedule, dict) else None
    training["schedule"] = {"name": "none"}
    cfg = parse_config(training, {"threads": 1, "seed": seed, "lr": peak})
    parts = build_run(doc, cfg, Distributed(), _info(key).path.parent, False, events.ignore)
    batch = 1 if key in CLASSIC_PARAMS else BATCH
    data = parts.data
    return doc, cfg, parts, data.x_train[:batch], data.y_train[:batch]


def _models(key: str) -> dict[str, tuple]:
    """name → (document, compiled) of what the recipe trains: the graph, or the GAN's
    generator and discriminator blocks."""
    doc, cfg, parts, *_ = _run(key)
    if cfg.recipe == "gan":
        names = {"generator": cfg.gan.generator, "discriminator": cfg.gan.discriminator}
        return {role: (block_as_document(doc, block), parts.compiled[role])
                for role, block in names.items()}
    return {"model": (doc, parts.compiled["model"])}


def _inputs(key: str, role: str, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Real inputs for `role`: data samples, or noise for a GAN's generator."""
    _, _, parts, *_ = _run(key)
    if role == "generator":
        gen = torch.Generator().manual_seed(3)
        return (torch.randn(len(batch), parts.recipe.latent_dim, generator=gen),)
    return (batch.clone(),)


def _outputs(module: nn.Module, inputs) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = module.eval()(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


# --- the library -------------------------------------------------------------------------
def test_every_template_names_its_family_and_says_what_it_shows():
    assert len(TEMPLATES) >= 15
    for info in TEMPLATES:
        assert info.family in FAMILIES, f"{info.key}: family {info.family!r}"
        assert len(info.description) >= 120, f"{info.key}: describe the family and the idea"
        assert find_template(info.key) == info.path and find_template(info.name) == info.path
    families = {t.family for t in TEMPLATES}
    assert {"Feedforward", "Convolutional", "Recurrent", "Autoencoder", "Transformer",
            "Radial basis"} <= families


def test_a_template_without_a_known_family_is_listed_as_other(tmp_path, monkeypatch):
    import graph.templates as templates

    (tmp_path / "a.json").write_text('{"name": "A", "family": "Convolutional"}')
    (tmp_path / "b.json").write_text('{"name": "B"}')
    (tmp_path / "c.json").write_text('{"name": "C", "family": "Quantum"}')
    (tmp_path / "d.json").write_text('{"name": "D", "family": "Feedforward"}')
    monkeypatch.setattr(templates, "TEMPLATES_DIR", tmp_path)
    infos = templates.list_templates()
    assert [t.family for t in infos] == ["Convolutional", OTHER_FAMILY, OTHER_FAMILY,
                                         "Feedforward"]
    assert [(f, [t.key for t in ts]) for f, ts in by_family(infos)] == [
        ("Feedforward", ["d"]), ("Convolutional", ["a"]), (OTHER_FAMILY, ["b", "c"])]
    assert templates.find_template("C") == tmp_path / "c.json"


def test_the_cli_lists_the_templates_grouped_by_family(capsys):
    assert run_cli(["templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    headings = [ln for ln in lines if ln and not ln.startswith(" ")]
    assert headings == [f for f, _ in by_family(TEMPLATES)]
    family = None
    listed = {}
    for line in lines:
        if line and not line.startswith(" "):
            family = line
        elif line:
            key, rest = line.split(None, 1)
            listed[key] = (family, rest)
    assert set(listed) == set(KEYS)
    for info in TEMPLATES:
        assert listed[info.key] == (info.family, f"{info.name}: {info.description}")
    assert run_cli(["templates", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["key"]: r["family"] for r in rows} == {t.key: t.family for t in TEMPLATES}


# --- each template: load, check, compile, train ------------------------------------------
@pytest.mark.parametrize("key", KEYS)
def test_loads_checks_clean_and_compiles(key):
    info = _info(key)
    doc = load_file(info.path)
    assert not doc.load_problems and doc.extra.get("family") == info.family
    check = check_document(doc)
    assert not check.diagnostics, [d.line() for d in check.diagnostics]
    if key in CLASSIC_PARAMS:
        assert check.shapes.total_params == CLASSIC_PARAMS[key]
    _, cfg, parts, *_ = _run(key)
    assert cfg.epochs >= 1 and parts.data.name == doc.training["dataset"]["name"]
    for _, compiled in _models(key).values():
        assert sum(p.numel() for p in compiled.module.parameters()) == \
            compiled.check.shapes.total_params


@pytest.mark.parametrize("key", KEYS)
def test_trains_on_its_default_data_and_the_loss_falls(key):
    doc, cfg, parts, xb, yb = _run(key)
    recipe = parts.recipe
    torch.manual_seed(0)
    before = {name: [p.detach().clone() for p in m.parameters()]
              for name, m in recipe.models().items()}
    for module in recipe.models().values():
        module.train()
    steps = 1 if key in CLASSIC_PARAMS else STEPS
    history = [recipe.train_step(xb, yb, f"step {i + 1}") for i in range(steps)]
    losses = [float(h["loss"]) for h in history]
    assert all(math.isfinite(v) for h in history for v in map(float, h.values())), history
    for name, module in recipe.models().items():   # backward reached every weight
        moved = [not torch.equal(a, b) for a, b in zip(before[name], module.parameters())]
        assert all(moved), f"{name}: {moved.count(False)} parameter tensors did not change"
    if cfg.recipe == "gan":
        assert {"d_loss", "d_real", "d_fake"} <= history[0].keys()
        return  # the two players' losses need not fall together; bench/templates.py judges
    if key in CLASSIC_PARAMS:
        pytest.skip(f"{key}: one step only at its classic 224×224 size (seconds per step); "
                    "its parameter count is checked, and bench/templates.py reports it")
    assert losses[-1] < LOSS_FALLS_TO * losses[0], losses


# --- classic sizes: the same layers as torchvision's ------------------------------------
def _vgg11_reference() -> nn.Module:
    """torchvision.models.vgg11 written out (configuration "A", no batch norm)."""
    layers, channels = [], 3
    for width in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(True)]
            channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(),
                         nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                         nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
                         nn.Linear(4096, 1000))


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                  nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (x if self.down is None else self.down(x)))


def _resnet18_reference() -> nn.Module:
    """torchvision.models.resnet18 written out (BasicBlock, [2, 2, 2, 2])."""
    blocks, cin = [], 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        blocks += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                         nn.ReLU(True), nn.MaxPool2d(3, 2, 1), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000))


REFERENCES = {"vgg11": _vgg11_reference, "resnet18": _resnet18_reference}


@pytest.mark.parametrize("key", sorted(CLASSIC_PARAMS))
def test_a_classic_template_has_torchvisions_layers_and_parameter_count(key):
    assert key in KEYS, f"templates/{key}.json is missing from the library"
    reference = REFERENCES[key]()
    assert sum(p.numel() for p in reference.parameters()) == CLASSIC_PARAMS[key]
    doc = load_file(_info(key).path)
    check = check_document(doc)
    assert check.shapes.total_params == CLASSIC_PARAMS[key]
    assert doc.graph.nodes[next(n.id for n in doc.graph if n.type == "Input")] \
        .params["shape"] == [3, 224, 224]
    module = compile_document(doc, check=check).module
    # The same weight tensors, layer for layer (as a multiset: naming orders may differ).
    ours = sorted(tuple(p.shape) for p in module.parameters())
    theirs = sorted(tuple(p.shape) for p in reference.parameters())
    assert ours == theirs
    buffers = sorted(tuple(b.shape) for b in module.buffers() if b.dim())
    assert buffers == sorted(tuple(b.shape) for b in reference.buffers() if b.dim())


# --- exports -----------------------------------------------------------------------------
@pytest.mark.parametrize("key", KEYS)
def test_exports_to_onnx_and_python_and_both_match_the_compiled_model(key, tmp_path):
    import onnxruntime

    _, _, _, xb, _ = _run(key)
    for role, (doc, compiled) in _models(key).items():
        module = compiled.module.eval()
        inputs = _inputs(key, role, xb[:2])
        expected = _outputs(module, inputs)
        state = plain_state_dict(module)

        onnx_path = tmp_path / f"{role}.onnx"
        result = export_model(doc, state, "onnx", onnx_path)
        assert result.files[0] == onnx_path
        session = onnxruntime.InferenceSession(str(onnx_path),
                                               providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        assert names == list(compiled.program.inputs)
        got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            torch.testing.assert_close(torch.from_numpy(a), b, atol=1e-4, rtol=1e-4)

        py_path = tmp_path / f"{role}_model.py"
        py_path.write_text(export_code(compiled.program, source=f"{key}.json",
                                       weights_file=f"{role}_model.pt"), encoding="utf-8")
        torch.save(state, py_path.with_suffix(".pt"))
        exported = _import(py_path, f"nodetorch_template_{key}_{role}")
        model = getattr(exported, compiled.program.class_name)()
        model.load_state_dict(torch.load(py_path.with_suffix(".pt"), weights_only=True))
        got = _outputs(model, inputs)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert torch.equal(a, b), f"{role}: max diff {(a - b).abs().max()}"


def _import(path: Path, name: str):
    """Our own generated code (export_code's output), imported to run it side by side."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module
