"""`main.py export RUN` on a GAN run: the generator (default) or `--part discriminator`,
from its best-… checkpoint, in every format, each file read back and matching; a part that
does not fit the source, or --part on a run of another recipe, is refused with a message.
The DCGAN template validates, trains from the command line and exports both parts."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import onnxruntime
import pytest
import torch
from safetensors.torch import load_file

import main as entry
from graph.loader import loads
from graph.templates import find_template
from runtime.compile import block_as_document, compile_document
from runtime.training.checkpoint import load_weights
from runtime.training.config import parse_config
from runtime.training.trainer import Trainer
from tests.test_training import gan

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

FORMATS = {"onnx": "m.onnx", "torchscript": "m.ts.pt", "safetensors": "m.safetensors",
           "state_dict": "m.pt", "python": "m.py"}
BLOCKS = {"generator": "Generator", "discriminator": "Discriminator"}
INPUTS = {"generator": (4,), "discriminator": (2,)}


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = entry.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real two-epoch GAN run (moons, blocks only in the file)."""
    tmp = tmp_path_factory.mktemp("gan")
    doc = gan()
    cfg = parse_config({**doc.training, "epochs": 2, "threads": 1})
    result = Trainer(doc, cfg, emit=lambda e: None, runs_dir=tmp / "runs", base_dir=tmp).fit()
    assert result.status == "finished", result.error
    return result.run_dir


def part_model(run_dir, part: str) -> torch.nn.Module:
    """The part compiled from the run's graph with its best-… weights."""
    doc = loads((run_dir / "graph.json").read_text())
    model = compile_document(block_as_document(doc, BLOCKS[part])).module
    tensors, _ = load_weights(run_dir / "checkpoints" / f"best-{part}" / "model.safetensors")
    model.load_state_dict(tensors)
    return model.eval()


@pytest.fixture(scope="module")
def exports(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    done = {}
    for part in BLOCKS:
        for fmt, name in FORMATS.items():
            extra = [] if part == "generator" else ["--part", part]   # generator: the default
            done[part, fmt] = (*cli("export", run, "--format", fmt, "--out",
                                    out / part / name, *extra), out / part / name)
    return done


@pytest.mark.parametrize("part", BLOCKS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_of_both_parts_exits_0_from_the_best_checkpoint(exports, run, part, fmt):
    code, out, err, _ = exports[part, fmt]
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"weights: {run / 'checkpoints' / f'best-{part}' / 'model.safetensors'}"
    assert lines[1].startswith(f"part: the GAN's {part} (block '{BLOCKS[part]}')")
    assert lines[2].startswith(f"wrote {exports[part, fmt][3]}")


@pytest.mark.parametrize("part", BLOCKS)
def test_the_files_read_back_hold_that_parts_weights_and_outputs(exports, run, part):
    model = part_model(run, part)
    expected = {k: v for k, v in model.state_dict().items()}
    x = torch.randn(7, *INPUTS[part], generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        y = model(x)
    # state_dict and safetensors: the very tensors of checkpoints/best-<part>
    plain = torch.load(exports[part, "state_dict"][3], weights_only=True)
    stored = load_file(str(exports[part, "safetensors"][3]))
    for tensors in (plain, stored):
        assert tensors.keys() == expected.keys()
        assert all(torch.equal(tensors[k], expected[k]) for k in expected)
    # onnx: onnxruntime on a batch of another size
    session = onnxruntime.InferenceSession(str(exports[part, "onnx"][3]))
    [got] = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(got, y.numpy(), atol=1e-5, rtol=1e-5)
    scripted = torch.jit.load(str(exports[part, "torchscript"][3]))
    assert torch.allclose(scripted(x), y, atol=1e-6)
    code = exports[part, "python"][3].read_text()
    assert f"class {BLOCKS[part]}(nn.Module):" in code


def test_the_exported_parts_graph_is_a_plain_model_that_exports_again(exports, tmp_path):
    """The safetensors file's graph is the generator alone, not a GAN file any more."""
    first = exports["generator", "safetensors"][3]
    code, out, err = cli("export", first, "--format", "onnx", "--out", tmp_path / "again.onnx")
    assert code == 0, err
    assert "part:" not in out and (tmp_path / "again.onnx").is_file()


def test_a_checkpoint_folder_of_one_part_exports_that_part(run, tmp_path):
    folder = run / "checkpoints" / "epoch-001-discriminator"
    code, out, err = cli("export", folder, "--format", "state_dict", "--out", tmp_path / "d.pt")
    assert code == 0, err
    assert "part: the GAN's discriminator" in out
    tensors, _ = load_weights(folder / "model.safetensors")
    reloaded = torch.load(tmp_path / "d.pt", weights_only=True)
    assert all(torch.equal(reloaded[k], tensors[k]) for k in tensors)


def test_asking_a_checkpoint_of_one_part_for_the_other_is_refused(run, tmp_path):
    folder = run / "checkpoints" / "epoch-001-discriminator"
    code, out, err = cli("export", folder, "--format", "onnx", "--out", tmp_path / "g.onnx",
                         "--part", "generator")
    assert code == 2 and out == ""
    assert err.strip() == (f"error: {folder}: holds the discriminator's weights, not the "
                           f"generator's; export {run / 'checkpoints' / 'epoch-001-generator'} "
                           "(or the run folder with --part generator)")
    assert not (tmp_path / "g.onnx").exists()


def test_part_on_a_run_of_another_recipe_is_refused(tmp_path):
    doc = loads(find_template("mlp").read_text())
    cfg = parse_config({**doc.training, "epochs": 1, "threads": 1, "schedule": {"name": "none"}})
    result = Trainer(doc, cfg, emit=lambda e: None, runs_dir=tmp_path / "runs",
                     base_dir=tmp_path).fit()
    code, out, err = cli("export", result.run_dir, "--format", "onnx", "--out",
                         tmp_path / "m.onnx", "--part", "discriminator")
    assert code == 2 and not (tmp_path / "m.onnx").exists()
    assert err.strip() == (f"error: {result.run_dir}: --part picks the generator or "
                           "discriminator of a GAN run, but this run trained recipe "
                           "'classification': one model, export it without --part")


def test_the_dcgan_template_validates_trains_and_exports_both_parts(tmp_path):
    code, out, _ = cli("validate", "dcgan")
    assert code == 0, out
    assert out.strip().endswith("generator Generator: 11 nodes, 37,857 parameters; "
                                "discriminator Discriminator: 8 nodes, 33,633 parameters")
    code, out, err = cli("train", "dcgan", "--epochs", "1", "--out", tmp_path / "runs",
                         "--quiet")
    assert code == 0, err
    run_dir = next((tmp_path / "runs").iterdir())
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == ["best-discriminator", "best-generator", "epoch-001-discriminator",
                     "epoch-001-generator", "last-discriminator", "last-generator"]
    shapes = {}
    for part in BLOCKS:
        target = tmp_path / f"{part}.onnx"
        code, _, err = cli("export", run_dir, "--part", part, "--format", "onnx", "--out", target)
        assert code == 0, err
        session = onnxruntime.InferenceSession(str(target))
        feed = session.get_inputs()[0]
        shape = [3, *([16] if part == "generator" else [1, 8, 8])]
        [got] = session.run(None, {feed.name: np.random.default_rng(0).standard_normal(
            shape).astype(np.float32)})
        shapes[part] = got.shape
        if part == "generator":   # Sigmoid pixels
            assert got.min() >= 0.0 and got.max() <= 1.0
    assert shapes == {"generator": (3, 1, 8, 8), "discriminator": (3, 1)}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["recipe"] == "gan" and config["dataset"]["name"] == "digits"
