"""Export a trained model: onnx, torchscript, safetensors, state_dict or python.

    state, graph_json, where = resolve_weights("runs/my-run")
    result = export_model(loads(graph_json), state, "onnx", Path("model.onnx"))
    print(result.summary())

Every format compiles the graph, loads the weights strictly, switches to eval mode, writes
into a hidden folder next to the destination, checks what it wrote by reading it back the
way a user would (onnxruntime, torch.jit.load, torch.load(weights_only=True), a fresh
interpreter), and only then renames the files into place. A failed export or check raises
ExportError (WeightsError for weights that cannot be used) and leaves nothing behind.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from graph.document import Document
from runtime.compile import compile_document
from runtime.export.common import Context, ExportError, ExportResult, WeightsError
from runtime.export.source import resolve_weights
from runtime.messages import first_line

FORMATS = ("onnx", "torchscript", "safetensors", "state_dict", "python")

__all__ = ["FORMATS", "ExportError", "ExportResult", "WeightsError", "export_model",
           "load_into", "resolve_weights"]


def export_model(doc: Document, state_dict: dict[str, torch.Tensor], fmt: str,
                 out_path: str | Path, *, source_name: str = "") -> ExportResult:
    """Write the model in `fmt` at `out_path` and check it. Raises CompileError when the
    graph has errors, WeightsError when the weights do not fit it, ExportError when the
    format cannot hold the model or the written file fails its check, OSError when the
    destination cannot be written."""
    exporter = _exporters().get(fmt)
    if exporter is None:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    compiled = compile_document(doc)
    load_into(compiled.module, state_dict)
    compiled.module.eval()
    folder = str(out_path).endswith(("/", os.sep))
    return exporter(Context(doc, compiled, Path(out_path), source_name, folder))


def load_into(module: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """load_state_dict(strict=True), with a one-line WeightsError saying what does not fit."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [f"{k} is {_shape(state_dict[k])} in the file but {_shape(own[k])} in the graph"
             for k in own if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    parts = []
    if missing:
        parts.append(f"missing {_few(missing)}")
    if unexpected:
        parts.append(f"unexpected {_few(unexpected)}")
    if wrong:
        parts.append(_few(wrong, quote=False))
    if parts:
        raise WeightsError("the weights do not fit this graph: " + "; ".join(parts))
    try:
        module.load_state_dict(state_dict, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise WeightsError(f"the weights do not fit this graph: {first_line(exc)}") from None


def _shape(t: torch.Tensor) -> str:
    return "×".join(map(str, t.shape)) or "a scalar"


def _few(items: list[str], quote: bool = True, limit: int = 3) -> str:
    shown = [f"'{i}'" if quote else i for i in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(shown) + more


def _exporters() -> dict[str, Callable[[Context], ExportResult]]:
    from runtime.export.onnx_format import export_onnx
    from runtime.export.python_code import export_python
    from runtime.export.torchscript import export_torchscript
    from runtime.export.weights import export_safetensors, export_state_dict

    return {"onnx": export_onnx, "torchscript": export_torchscript,
            "safetensors": export_safetensors, "state_dict": export_state_dict,
            "python": export_python}
