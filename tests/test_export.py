"""`python main.py export RUN_OR_WEIGHTS --format F --out PATH`, end to end.

Trained-ish weights (a template's parameters, perturbed with a seeded randn) are saved into a
fake run folder, exported through the CLI entry point, and every file written is reloaded the
way a user would — onnxruntime, torch.jit.load, safetensors, torch.load(weights_only=True), a
fresh interpreter — and compared with the compiled model. ONNX export takes a second or two
per model, so the exported files are shared through module-scoped fixtures.
"""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import main as entry
from graph.document import Document
from graph.fileformat import dumps
from graph.loader import load_file as load_graph
from graph.loader import loads
from graph.model import Graph
from graph.templates import find_template
from runtime.compile import compile_document
from runtime.export.common import id_limit
from runtime.training.checkpoint import GRAPH_KEY, save_weights
from tests.graph_builders import chain

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

FORMATS = ("onnx", "torchscript", "safetensors", "state_dict", "python")
OUT_NAMES = {"onnx": "model.onnx", "torchscript": "model.ts.pt", "safetensors": "model.safetensors",
             "state_dict": "weights.pt", "python": "model.py"}


# --- helpers ----------------------------------------------------------------------------------

def cli(*argv: str) -> tuple[int, str, str]:
    """Run `python main.py ...` in-process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = entry.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def trained(doc: Document, seed: int, warm_up=None) -> torch.nn.Module:
    """The compiled model with every parameter moved by a seeded randn; BatchNorm statistics
    made non-trivial by a few training-mode batches when `warm_up` gives inputs."""
    model = compile_document(doc, seed=0).module
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen))
        if warm_up is not None:
            model.train()
            for _ in range(3):
                model(*warm_up(8))
    return model.eval()


def make_run(folder: Path, doc: Document, model: torch.nn.Module, name: str = "best") -> Path:
    """The trainer's layout: <run>/graph.json and <run>/checkpoints/<name>/model.safetensors."""
    save_weights(folder / "checkpoints" / name / "model.safetensors", model, dumps(doc))
    (folder / "graph.json").write_text(dumps(doc), encoding="utf-8")
    return folder


def outputs_of(model: torch.nn.Module, inputs) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = model(*inputs)
    return out if isinstance(out, tuple) else (out,)


def run_onnx(path: Path, inputs) -> tuple[list[str], list[np.ndarray], list]:
    import onnx
    import onnxruntime

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    return names, got, list(model.graph.input)


def assert_close(got, expected, atol: float) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        a = torch.as_tensor(a)
        assert a.shape == b.shape
        if atol == 0:
            assert torch.equal(a, b)
        else:
            torch.testing.assert_close(a, b, atol=atol, rtol=atol)


def assert_dynamic_batch(graph_inputs) -> None:
    for value in graph_inputs:
        first = value.type.tensor_type.shape.dim[0]
        assert first.dim_param == "batch" and not first.HasField("dim_value"), value


# --- LeNet-5: every format through the CLI ----------------------------------------------------

def lenet_inputs(batch: int, seed: int = 7) -> tuple[torch.Tensor]:
    return (torch.randn(batch, 1, 32, 32, generator=torch.Generator().manual_seed(seed)),)


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """A run folder whose best checkpoint differs from its last one: export must take best."""
    doc = load_graph(find_template("lenet5"))
    best, last = trained(doc, seed=1), trained(doc, seed=2)
    run = make_run(tmp_path_factory.mktemp("lenet") / "run", doc, best, "best")
    make_run(run, doc, last, "last")
    return doc, best, run


@pytest.fixture(scope="module")
def lenet_exports(lenet, tmp_path_factory):
    _, _, run = lenet
    out_dir = tmp_path_factory.mktemp("lenet-out")
    results = {}
    for fmt in FORMATS:
        out = out_dir / OUT_NAMES[fmt]
        results[fmt] = (*cli("export", run, "--format", fmt, "--out", out), out)
    return results


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_exits_0_and_says_what_it_wrote_and_checked(lenet_exports, fmt):
    code, out, err, path = lenet_exports[fmt]
    assert code == 0, out + err
    assert err == ""
    assert path.is_file()
    lines = out.splitlines()
    assert lines[0].endswith("checkpoints/best/model.safetensors")
    assert lines[1].startswith(f"wrote {path}")
    assert {"onnx": "onnxruntime matches torch", "torchscript": "torch.jit.load matches torch",
            "safetensors": "bit-identical", "state_dict": "weights_only=True",
            "python": "fresh `python -I`"}[fmt] in lines[1]
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no staging folder or temp file is left behind


def test_onnx_runs_in_onnxruntime_with_another_batch_size(lenet, lenet_exports):
    _, model, _ = lenet
    *_, path = lenet_exports["onnx"]
    assert "ONNX opset" in lenet_exports["onnx"][1] and "dynamic batch" in lenet_exports["onnx"][1]
    inputs = lenet_inputs(5)
    names, got, graph_inputs = run_onnx(path, inputs)
    assert names == ["x"]
    assert_dynamic_batch(graph_inputs)
    import onnx
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["logits"]
    assert_close(got, outputs_of(model, inputs), atol=1e-5)


def test_torchscript_loads_without_nodetorch_and_matches(lenet, lenet_exports):
    _, model, _ = lenet
    *_, path = lenet_exports["torchscript"]
    loaded = torch.jit.load(str(path))
    inputs = lenet_inputs(5)
    assert_close(outputs_of(loaded, inputs), outputs_of(model, inputs), atol=1e-6)


def test_safetensors_holds_the_weights_and_the_graph(lenet, lenet_exports):
    doc, model, _ = lenet
    *_, path = lenet_exports["safetensors"]
    tensors = load_file(str(path))
    expected = model.state_dict()
    assert tensors.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(tensors[key], value), key
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert loads(meta[GRAPH_KEY]).name == doc.name == "LeNet-5"
    assert path.stat().st_mode & 0o044  # readable by others, like any exported file


def test_state_dict_is_plain_tensors(lenet, lenet_exports):
    _, model, _ = lenet
    *_, path = lenet_exports["state_dict"]
    state = torch.load(path, weights_only=True)
    fresh = compile_document(lenet[0], seed=5).module.eval()
    fresh.load_state_dict(state)
    inputs = lenet_inputs(3)
    assert_close(outputs_of(fresh, inputs), outputs_of(model, inputs), atol=0)


FRESH = """
import importlib.util, sys, torch
torch.set_num_threads(int(sys.argv[5]))  # the comparison's own count: same sums, same bits
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
model = mod.LeNet5()
model.load_state_dict(torch.load(sys.argv[2], weights_only=True))
model.eval()
with torch.no_grad():
    torch.save(model(*torch.load(sys.argv[3], weights_only=True)), sys.argv[4])
print(sorted(m for m in sys.modules if m.split('.')[0] in ('graph', 'runtime', 'cli', 'gui')))
"""


def test_python_export_runs_in_a_fresh_interpreter_bit_for_bit(lenet, lenet_exports, tmp_path):
    _, model, _ = lenet
    code, out, _, path = lenet_exports["python"]
    weights = path.with_suffix(".pt")
    assert weights.is_file() and f"and {weights}" in out
    assert 'torch.load("model.pt", weights_only=True)' in path.read_text()
    inputs = lenet_inputs(5)
    torch.save(inputs, tmp_path / "in.pt")
    run = subprocess.run([sys.executable, "-I", "-c", FRESH, str(path), str(weights),
                          str(tmp_path / "in.pt"), str(tmp_path / "out.pt"),
                          str(torch.get_num_threads())],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    got = torch.load(tmp_path / "out.pt", weights_only=True)
    assert torch.equal(got, outputs_of(model, inputs)[0])


def test_a_checkpoint_folder_a_weights_file_and_a_graphless_file_in_a_run_all_work(lenet, tmp_path):
    doc, model, run = lenet
    ckpt = run / "checkpoints" / "best"
    expected = model.state_dict()
    for source in (ckpt, ckpt / "model.safetensors"):
        out = tmp_path / f"{source.name}.pt"
        code, text, err = cli("export", source, "--format", "state_dict", "--out", out)
        assert code == 0, text + err
        got = torch.load(out, weights_only=True)
        assert all(torch.equal(got[k], v) for k, v in expected.items())
    # Weights saved without graph metadata: the run folder's graph.json is used.
    bare_run = tmp_path / "bare"
    (bare_run / "checkpoints" / "epoch-002").mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in expected.items()},
              str(bare_run / "checkpoints" / "epoch-002" / "model.safetensors"))
    (bare_run / "graph.json").write_text(dumps(doc), encoding="utf-8")
    code, text, err = cli("export", bare_run, "--format", "onnx", "--out", tmp_path / "bare.onnx")
    assert code == 0, text + err
    assert "epoch-002" in text


# --- graphs with several inputs and outputs, recurrent layers and attention ------------------

def multi_io_doc() -> Document:
    """image → Conv → BN → ReLU → MaxPool → Upsample → AdaptiveAvgPool → Flatten → Concat,
    side → Linear → the Concat's second input; Concat → Linear → Split (3 + 5) → two
    outputs; and a Chunk of the image features → a third output."""
    doc = Document(name="two in three out")
    g = doc.graph
    img, conv, bn, relu, pool, up, avg, flat, cat, fc, split = chain(
        g, ("Input", {"name": "image", "shape": [3, 8, 8]}),
        ("Conv2d", {"out_channels": 4, "kernel_size": [3, 3], "padding": [1, 1]}),
        "BatchNorm2d", "ReLU", ("MaxPool2d", {"kernel_size": [2, 2]}),
        ("Upsample", {"scale_factor": 2.0, "mode": "nearest"}),
        ("AdaptiveAvgPool2d", {"output_size": [2, 2]}), "Flatten", "Concat",
        ("Linear", {"out_features": 8}), ("Split", {"split_sizes": [3, 5]}))
    side, side_fc = chain(g, ("Input", {"name": "side", "shape": [6]}),
                          ("Linear", {"out_features": 5}))
    g.connect(side_fc, "out", cat, "x2")
    for port, name in zip(g.output_ports(split), ("head_a", "head_b")):
        out = g.add_node("Output", {"name": name}).id
        g.connect(split, port, out, "x")
    chunk, out = chain(g, ("Chunk", {"chunks": 2}), ("Output", {"name": "features"}), start=flat)
    return doc


def multi_io_inputs(batch: int, seed: int = 3):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 8, 8, generator=gen), torch.randn(batch, 6, generator=gen)


VOCAB = 7  # below DEFAULT_ID_LIMIT, so ids that ignore the Embedding would crash the export


def sequence_doc() -> Document:
    """token ids → Embedding → PositionalEncoding → TransformerEncoderLayer →
    MultiheadAttention → bidirectional LSTM (last step) → Linear → logits."""
    doc = Document(name="sequence model")
    chain(doc.graph, ("Input", {"name": "tokens", "shape": [9], "dtype": "int64"}),
          ("Embedding", {"num_embeddings": VOCAB, "embedding_dim": 8}), "PositionalEncoding",
          ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16, "dropout": 0.0}),
          ("MultiheadAttention", {"num_heads": 2}),
          ("LSTM", {"hidden_size": 6, "returns": "last", "bidirectional": True}),
          ("Linear", {"out_features": 3}), ("Output", {"name": "logits"}))
    return doc


def sequence_inputs(batch: int, seed: int = 3):
    return (torch.randint(0, VOCAB, (batch, 9), generator=torch.Generator().manual_seed(seed)),)


GRAPHS = {"multi_io": (multi_io_doc, multi_io_inputs, ["image", "side"],
                       ["head_a", "head_b", "features"]),
          "sequence": (sequence_doc, sequence_inputs, ["tokens"], ["logits"])}


@pytest.fixture(scope="module", params=list(GRAPHS))
def graph_exports(request, tmp_path_factory):
    build, make_inputs, in_names, out_names = GRAPHS[request.param]
    doc = build()
    model = trained(doc, seed=4, warm_up=make_inputs)
    folder = tmp_path_factory.mktemp(request.param)
    run = make_run(folder / "run", doc, model)
    results = {fmt: (*cli("export", run, "--format", fmt, "--out", folder / OUT_NAMES[fmt]),
                     folder / OUT_NAMES[fmt]) for fmt in ("onnx", "torchscript")}
    return model, make_inputs, in_names, out_names, results


def test_onnx_keeps_input_and_output_names_and_a_dynamic_batch(graph_exports):
    model, make_inputs, in_names, out_names, results = graph_exports
    code, out, err, path = results["onnx"]
    assert code == 0, out + err
    inputs = make_inputs(5)
    names, got, graph_inputs = run_onnx(path, inputs)
    assert names == in_names
    assert_dynamic_batch(graph_inputs)
    import onnx
    assert [o.name for o in onnx.load(str(path)).graph.output] == out_names
    assert_close(got, outputs_of(model, inputs), atol=1e-5)
    _, got_one, _ = run_onnx(path, make_inputs(1, seed=9))  # batch 1 works too
    assert_close(got_one, outputs_of(model, make_inputs(1, seed=9)), atol=1e-5)


def test_torchscript_of_several_outputs_and_recurrent_layers(graph_exports):
    model, make_inputs, _, _, results = graph_exports
    code, out, err, path = results["torchscript"]
    assert code == 0, out + err
    loaded = torch.jit.load(str(path))
    inputs = make_inputs(5)
    assert_close(outputs_of(loaded, inputs), outputs_of(model, inputs), atol=1e-6)


def test_example_ids_stay_below_the_smallest_embedding_they_reach():
    doc = sequence_doc()
    tokens = next(n.id for n in doc.graph if n.type == "Input")
    assert id_limit(doc, tokens) == VOCAB
    blocked = Document(name="ids into a block")
    block = blocked.add_block("Embed", Graph())
    chain(block, ("Input", {"shape": [4], "dtype": "int64"}),
          ("Embedding", {"num_embeddings": 3, "embedding_dim": 2}), "Output")
    first = chain(blocked.graph, ("Input", {"shape": [4], "dtype": "int64"}),
                  ("Block", {"block": "Embed"}), "Output")[0]
    assert id_limit(blocked, first) == 3


# --- what goes wrong ----------------------------------------------------------------------------

def assert_one_line_error(code: int, out: str, err: str, expected_code: int, *words: str) -> None:
    assert code == expected_code, out + err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], lines[0]


def test_a_missing_source_exits_2(tmp_path):
    result = cli("export", tmp_path / "nope", "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert_one_line_error(*result, 2, "nope", "no such file")
    assert not (tmp_path / "m.onnx").exists()


def test_a_garbage_safetensors_file_exits_2(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x00\x01 this is not a safetensors file" * 10)
    result = cli("export", bad, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert_one_line_error(*result, 2, "not a readable safetensors file")


def test_a_folder_that_is_no_run_a_run_without_checkpoints_and_a_graph_file_exit_2(tmp_path):
    result = cli("export", tmp_path, "--format", "python", "--out", tmp_path / "m.py")
    assert_one_line_error(*result, 2, "not a run folder")
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    result = cli("export", tmp_path / "run", "--format", "python", "--out", tmp_path / "m.py")
    assert_one_line_error(*result, 2, "no checkpoint yet")
    result = cli("export", find_template("lenet5"), "--format", "onnx", "--out", tmp_path / "m")
    assert_one_line_error(*result, 2, "is a graph file, not trained weights")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_weights_of_another_graph_exit_2_saying_what_does_not_fit(tmp_path):
    lenet = load_graph(find_template("lenet5"))
    mlp_model = compile_document(load_graph(find_template("mlp"))).module
    weights = tmp_path / "model.safetensors"
    save_weights(weights, mlp_model, dumps(lenet))  # MLP weights, LeNet graph
    result = cli("export", weights, "--format", "torchscript", "--out", tmp_path / "m.pt")
    assert_one_line_error(*result, 2, "do not fit this graph", "conv1.weight")
    assert list(tmp_path.iterdir()) == [weights]


def test_weights_without_a_graph_outside_a_run_exit_2(tmp_path):
    weights = tmp_path / "loose.safetensors"
    save_file({"w": torch.zeros(2)}, str(weights))
    result = cli("export", weights, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert_one_line_error(*result, 2, "has no graph")


def test_a_graph_with_problems_exits_1(tmp_path):
    doc = load_graph(find_template("lenet5"))
    model = compile_document(doc).module
    data = json.loads(dumps(doc))
    data["graph"]["nodes"][0]["params"]["shape"] = [1, 4, 4]  # too small for a 5×5 kernel
    weights = tmp_path / "model.safetensors"
    save_weights(weights, model, json.dumps(data))
    code, out, err = cli("export", weights, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "error:" in out and "fix them before exporting" in out
    assert not (tmp_path / "m.onnx").exists()


def test_a_node_onnx_cannot_express_is_named_and_nothing_is_written(tmp_path):
    doc = Document(name="odd pool")
    block = doc.add_block("Pooler", Graph())
    chain(block, ("Input", {"shape": [3, 8, 8]}),
          ("AdaptiveMaxPool2d", {"output_size": [3, 3]}, "pool"), "Output")
    chain(doc.graph, ("Input", {"shape": [3, 8, 8]}), ("Block", {"block": "Pooler"}), "Flatten",
          "Output")
    run = make_run(tmp_path / "run", doc, compile_document(doc).module)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = cli("export", run, "--format", "onnx", "--out", out_dir / "m.onnx")
    assert_one_line_error(*result, 1, "cannot export to ONNX", "'pool' (AdaptiveMaxPool2d)",
                          "block Pooler", "torchscript or python")
    assert list(out_dir.iterdir()) == []
    # The same model exports as TorchScript.
    code, out, err = cli("export", run, "--format", "torchscript", "--out", out_dir / "m.pt")
    assert code == 0, out + err
