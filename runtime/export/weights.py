"""Weights-only formats: safetensors (with the graph in its metadata) and a plain .pt
state_dict (tensors only, loadable with torch.load(weights_only=True))."""
from __future__ import annotations

import torch

from graph.fileformat import dumps
from graph.loader import loads
from runtime.export.common import Context, ExportError, ExportResult, Staging
from runtime.training.checkpoint import GRAPH_KEY, load_weights, weights_bytes


def plain_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}


def same_tensors(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> str:
    """'' when both hold the same keys and bit-identical tensors, else what differs."""
    if set(got) != set(expected):
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        return f"keys differ (missing {missing[:3]}, unexpected {extra[:3]})"
    for key, value in expected.items():
        other = got[key]
        if (other.dtype != value.dtype or other.shape != value.shape
                or not torch.equal(other, value)):
            return f"tensor {key} differs"
    return ""


def export_safetensors(ctx: Context) -> ExportResult:
    out = ctx.target("model.safetensors")
    expected = plain_state_dict(ctx.module)
    graph_json = dumps(ctx.doc)
    meta = {"nodetorch.source": ctx.source_name} if ctx.source_name else None
    with Staging(out.parent) as stage:
        staged = stage.write(out, weights_bytes(ctx.module, graph_json, meta))
        tensors, stored_graph = load_weights(staged)
        problem = same_tensors(tensors, expected)
        if problem:
            raise ExportError(f"the written safetensors file does not read back: {problem}")
        if stored_graph != graph_json:
            raise ExportError(f"the written safetensors file lost its {GRAPH_KEY} metadata")
        loads(stored_graph, str(out))  # the stored graph must load as a document again
        files = stage.commit([out])
    n = len(expected)
    return ExportResult("safetensors", files, f"{n} tensors, graph in metadata",
                        "reloaded: tensors bit-identical, graph metadata loads")


def export_state_dict(ctx: Context) -> ExportResult:
    out = ctx.target("model.pt")
    expected = plain_state_dict(ctx.module)
    with Staging(out.parent) as stage:
        staged = stage.torch_save(out, expected)
        try:
            reloaded = torch.load(staged, weights_only=True, map_location="cpu")
        except Exception as exc:
            raise ExportError(f"the written state_dict does not reload with "
                              f"torch.load(weights_only=True): {exc}") from None
        problem = same_tensors(reloaded, expected)
        if problem:
            raise ExportError(f"the written state_dict does not read back: {problem}")
        files = stage.commit([out])
    return ExportResult("state_dict", files, f"a plain state_dict of {len(expected)} tensors",
                        "reloaded with torch.load(weights_only=True): tensors bit-identical")
