"""Standalone PyTorch code: NAME.py (needs only torch) plus NAME.pt, a plain state_dict
loadable with torch.load(weights_only=True). Checked in a fresh, isolated interpreter that
cannot import NodeTorch: the class must load the weights and reproduce the compiled model
bit for bit."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from runtime.codegen import CodeExportError, export_code
from runtime.export.common import (CHECK_BATCH, Context, ExportError, ExportResult, Staging,
                                   compare, example_inputs, run_model)
from runtime.export.weights import plain_state_dict

TIMEOUT_S = 300
PROJECT_PACKAGES = ("graph", "runtime", "cli", "gui")

# Runs with `python -I`: no current folder on sys.path, no PYTHON* variables.
FRESH_RUN = """
import importlib.util, sys, torch
py, weights, cls, inputs, outputs, threads = sys.argv[1:7]
torch.set_num_threads(int(threads))  # as many as the model was run with: same sums, same bits
spec = importlib.util.spec_from_file_location("nodetorch_exported_model", py)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = getattr(module, cls)()
model.load_state_dict(torch.load(weights, weights_only=True))
model.eval()
with torch.no_grad():
    out = model(*torch.load(inputs, weights_only=True))
torch.save(out if isinstance(out, tuple) else (out,), outputs)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {packages!r})
if leaked:
    sys.exit("the exported code imported NodeTorch modules: " + ", ".join(leaked))
"""


def python_paths(ctx: Context) -> tuple[Path, Path]:
    """model.py → (model.py, model.pt); a name without .py gets it added."""
    py = ctx.target("model.py")
    if py.suffix != ".py":
        py = py.with_name(py.name + ".py")
    return py, py.with_suffix(".pt")


def export_python(ctx: Context) -> ExportResult:
    py, weights = python_paths(ctx)
    program = ctx.compiled.program
    try:
        source = export_code(program, source=ctx.source_name, weights_file=weights.name)
    except CodeExportError as exc:
        raise ExportError(f"the graph cannot be written as Python code: {exc}; rename it, or "
                          "export as torchscript instead") from None
    state = plain_state_dict(ctx.module)
    fresh = example_inputs(ctx.doc, ctx.compiled, CHECK_BATCH, seed=1)
    expected = run_model(ctx.module, fresh)
    with Staging(py.parent) as stage:
        # Through the stage, so that a full disk names the file it could not write.
        staged_py = stage.write(py, source.encode("utf-8"))
        staged_pt = stage.torch_save(weights, state)
        got = _run_fresh(staged_py, staged_pt, program.class_name, fresh)
        result = compare(got, expected, 0.0, 0.0, program.output_names)
        if not result.ok:
            raise ExportError("the exported code does not reproduce the model in a fresh "
                              f"interpreter: {result.problem}. Export as torchscript instead")
        files = stage.commit([py, weights])
    return ExportResult(
        "python", files, f"class {program.class_name}, needs only torch; weights as a plain "
                         "state_dict",
        f"a fresh `python -I` loads them and matches the compiled model on a batch of "
        f"{CHECK_BATCH} bit for bit", result.max_abs_diff)


def _run_fresh(py: Path, weights: Path, class_name: str, inputs) -> tuple:
    with tempfile.TemporaryDirectory(prefix="nodetorch-check-") as tmp:
        tmp_path = Path(tmp)
        torch.save(inputs, tmp_path / "inputs.pt")
        script = FRESH_RUN.format(packages=PROJECT_PACKAGES)
        cmd = [sys.executable, "-I", "-c", script, str(py.resolve()), str(weights.resolve()),
               class_name, str(tmp_path / "inputs.pt"), str(tmp_path / "outputs.pt"),
               str(torch.get_num_threads())]
        try:
            run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True,
                                 timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ExportError(f"checking the exported code in a fresh interpreter took over "
                              f"{TIMEOUT_S} s") from None
        except OSError as exc:
            raise ExportError(f"cannot start a fresh interpreter to check the exported code "
                              f"({exc})") from None
        if run.returncode != 0:
            lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
            last = lines[-1] if lines else f"exit status {run.returncode}"
            raise ExportError(f"the exported code fails in a fresh interpreter: {last}")
        return torch.load(tmp_path / "outputs.pt", weights_only=True)
