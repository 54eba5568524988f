"""What every fuzz case must satisfy, as plain functions the fuzz tests, the corpus test,
the edit-sequence test and scripts/campaigns/fuzz.py share.

In process: loads raises nothing but LoadError (with a message); validation and the shape
check never raise; a document without errors compiles, and a real forward pass on tensors
of the declared shapes and dtypes gives exactly the inferred shape and dtype on every
output of every top-level node. Through the CLI: exit 0, 1 or 2, no traceback, no raw
control characters, output bounded by the size of the graph.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import unicodedata
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.fx.passes.shape_prop import ShapeProp

from graph.document import Document
from graph.loader import LoadError, loads
from graph.validate import validate
from runtime.check import check_document
from runtime.compile import compile_document
from runtime.lower import Program

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
BATCH = 2  # BatchNorm needs more than one sample in training mode
# Bidirectional overrides and isolates reorder what a terminal shows: as bad as a raw CR.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_LINE = 1000           # characters on one printed line
BASE_OUTPUT = 64 * 1024   # output any file may produce, plus PER_NODE for each node in it
PER_NODE = 600


@dataclass
class Outcome:
    stage: str               # "load_error", "problems", "compiled"
    message: str = ""


def check_text(text: str) -> Outcome:
    """Run one file's text through load → validate → check → compile → forward, asserting
    the contract; returns how far it got."""
    try:
        doc = loads(text, "fuzz.json")
    except LoadError as exc:
        assert exc.problems and str(exc).strip(), "LoadError without a message"
        return Outcome("load_error", str(exc))
    validate(doc)
    result = check_document(doc)
    printed = print_like_cli(doc, result.diagnostics)
    assert_clean(printed, node_count(doc))
    if result.errors:
        for d in result.errors:
            assert d.message.strip(), f"an error without a message: {d!r}"
        return Outcome("problems", printed)
    compiled = compile_document(doc, check=result)
    assert_forward_matches(doc, compiled)
    return Outcome("compiled")


def print_like_cli(doc: Document, diagnostics) -> str:
    """Diagnostics as `validate` prints them, through a strict UTF-8 stream like a real
    terminal's (a StringIO would accept a lone surrogate that stdout cannot encode)."""
    from cli.common import print_diagnostics

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n")
    print_diagnostics(doc, diagnostics, stream)
    stream.flush()
    return raw.getvalue().decode("utf-8")


def node_count(doc: Document) -> int:
    return len(doc.graph) + sum(len(g) for g in doc.blocks.values())


def assert_clean(output: str, nodes: int) -> None:
    """No raw control characters (newline and tab aside), no bidi overrides, no surrogates;
    lines and total size bounded."""
    bad = sorted({c for c in output if c not in "\n\t" and
                  (unicodedata.category(c) in ("Cc", "Cs") or c in BIDI)})
    assert not bad, f"raw control characters {[hex(ord(c)) for c in bad]} in: {output[:300]!r}"
    assert "Traceback" not in output, output[-2000:]
    longest = max((len(line) for line in output.splitlines()), default=0)
    assert longest <= MAX_LINE, f"a {longest}-character line: {output[:300]!r}"
    limit = BASE_OUTPUT + PER_NODE * nodes
    assert len(output) <= limit, f"{len(output):,} characters printed for {nodes} nodes"


def example_inputs(doc: Document) -> list[torch.Tensor]:
    """One real tensor per Input node, in forward() order: declared shape and dtype, ids 0
    (valid for any Embedding)."""
    tensors = []
    for node in doc.graph:
        if node.type != "Input":
            continue
        shape = (BATCH, *node.params["shape"])
        dtype = getattr(torch, node.params["dtype"])
        tensors.append(torch.zeros(shape, dtype=dtype) if not dtype.is_floating_point
                       else torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dtype))
    return tensors


def assert_forward_matches(doc: Document, compiled) -> None:
    """Run the compiled module for real (training mode, then eval mode) and compare every
    top-level node's outputs with the shape report."""
    module, program, shapes = compiled.module, compiled.program, compiled.check.shapes
    for training in (True, False):
        module.train(training)
        recorder = ShapeProp(module)
        with torch.no_grad():
            recorder.propagate(*example_inputs(doc))
        for step, fx_nodes in zip(program.steps, _fx_values(module.graph, program)):
            ports = doc.graph.ports_of(doc.graph.nodes[step.node_id])[1]
            assert len(ports) == len(fx_nodes), f"{step.node_id}: {ports} vs {fx_nodes}"
            for port, fx_node in zip(ports, fx_nodes):
                expected = shapes.nodes[step.node_id].outputs[port]
                meta = fx_node.meta.get("tensor_meta")
                assert meta is not None, f"no tensor recorded for {step.node_id}.{port}"
                got = (tuple(meta.shape[1:]), str(meta.dtype).removeprefix("torch."))
                assert meta.shape[0] == BATCH and got == (expected.shape, expected.dtype), (
                    f"node {step.node_id!r} port {port!r} ({'train' if training else 'eval'}): "
                    f"inferred {expected.shape} {expected.dtype}, forward gave {got}")


def _fx_values(graph, program: Program) -> list[list]:
    """The fx nodes holding each step's outputs. build_module creates them in step order
    (one call, then one getitem per output when there are several); fx may rename a node
    whose name clashes, so they are matched by position, not by name."""
    nodes = [n for n in graph.nodes if n.op not in ("placeholder", "output")]
    out, i = [], 0
    for step in program.steps:
        if len(step.outputs) == 1:
            out.append([nodes[i]])
            i += 1
        else:
            out.append(nodes[i + 1: i + 1 + len(step.outputs)])
            i += 1 + len(step.outputs)
    assert i == len(nodes), f"{len(nodes)} fx nodes for {len(program.steps)} steps"
    return out


def run_cli(path: Path, timeout: float = 300) -> tuple[int, str]:
    """`python main.py validate PATH` in a fresh process: (exit code, stdout + stderr)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    proc = subprocess.run([str(PYTHON if PYTHON.exists() else sys.executable), "main.py",
                           "validate", str(path)], cwd=ROOT, capture_output=True,
                          timeout=timeout, env=env)
    out = proc.stdout + proc.stderr
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssertionError(f"output is not UTF-8 at byte {exc.start}: {out[:200]!r}") from None
    return proc.returncode, text


def run_cli_in_process(path: Path) -> tuple[int, str]:
    """The real CLI entry, in this process, writing to strict UTF-8 streams."""
    import main as entry

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n")
    with redirect_stdout(stream), redirect_stderr(stream):
        code = entry.main(["validate", str(path)])
    stream.flush()
    return code, raw.getvalue().decode("utf-8")


def assert_cli_contract(code: int, output: str, file_nodes: int) -> None:
    assert code in (0, 1, 2), f"exit code {code}: {output[-2000:]}"
    assert output.strip(), f"exit {code} with nothing printed"
    assert_clean(output, file_nodes)


def nodes_in_text(text: str) -> int:
    """How many nodes a file declares (0 when it is not a document), to bound its output."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return 0
    if not isinstance(data, dict):
        return 0
    graphs = [data.get("graph")]
    if isinstance(data.get("blocks"), dict):
        graphs += list(data["blocks"].values())
    return sum(len(g["nodes"]) for g in graphs
               if isinstance(g, dict) and isinstance(g.get("nodes"), list))


def write_case(path: Path, text: str) -> Path:
    # surrogatepass: a lone surrogate becomes bytes that are not UTF-8, as a broken
    # editor would write them; the loader must say so.
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path
