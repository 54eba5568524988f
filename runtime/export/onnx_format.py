"""ONNX through torch.export and the dynamo-based exporter (torch.onnx.export(dynamo=True),
which uses onnxscript). It translates every node type in the catalog, including Bilinear,
BatchNorm without running statistics and InstanceNorm with them, which the older TorchScript
exporter refuses. The batch axis is dynamic; input and output names come from the graph."""
from __future__ import annotations

import re

import torch

from runtime.export.common import (CHECK_BATCH, EXAMPLE_BATCH, Context, ExportError,
                                   ExportResult, Staging, compare, describe_step, disk_full_in,
                                   example_inputs, quiet, run_model)
from runtime.messages import first_line

ATOL = RTOL = 1e-5
BATCH_AXIS = "batch"
EXTERNAL_DATA_BYTES = 1_800_000_000  # ONNX protobufs stop at 2 GB: weights go next to it
HINTS = {  # node type prefix: what ONNX can do instead (found by exporting the catalog)
    "AdaptiveMaxPool": "the ONNX exporter handles adaptive max pooling only when each output "
                       "size divides the input size",
    "AdaptiveAvgPool3d": "the ONNX exporter handles 3-D adaptive average pooling only for "
                         "output size 1 (global pooling)",
}


def export_onnx(ctx: Context) -> ExportResult:
    import onnx
    import onnxruntime

    out = ctx.target("model.onnx")
    module, program = ctx.module, ctx.compiled.program
    input_names = list(program.inputs)
    output_names = list(program.output_names)   # unique: validation refuses duplicates
    example = example_inputs(ctx.doc, ctx.compiled, EXAMPLE_BATCH, seed=0)
    batch = torch.export.Dim(BATCH_AXIS)
    dynamic = {name: {0: batch} for name in input_names}
    size = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    external = size > EXTERNAL_DATA_BYTES

    with Staging(out.parent) as stage:
        staged = stage.path(out)
        with quiet():
            try:
                torch.onnx.export(module, example, str(staged), dynamo=True, verbose=False,
                                  input_names=input_names, output_names=output_names,
                                  dynamic_shapes=dynamic, external_data=external)
            except Exception as exc:
                full = disk_full_in(exc, out.parent)
                if full is not None:
                    raise OSError(full.errno, full.strerror, str(out)) from None
                raise ExportError(_failure_message(ctx, example, dynamic, exc)) from None
        try:
            onnx.checker.check_model(str(staged), full_check=True)
            model = onnx.load(str(staged), load_external_data=False)
        except Exception as exc:
            raise ExportError(f"the exported ONNX model fails onnx.checker ({first_line(exc)}). "
                              "Export as torchscript or python instead") from None
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        fixed = [i.name for i in model.graph.input if not _batch_is_dynamic(i)]
        if fixed:
            raise ExportError(f"the ONNX model came out with a fixed batch size for "
                              f"{', '.join(fixed)}. Export as torchscript or python instead")

        fresh = example_inputs(ctx.doc, ctx.compiled, CHECK_BATCH, seed=1)
        expected = run_model(module, fresh)
        try:
            session = onnxruntime.InferenceSession(str(staged),
                                                   providers=["CPUExecutionProvider"])
            wanted = {i.name for i in session.get_inputs()}
            feed = {n: t.numpy() for n, t in zip(input_names, fresh) if n in wanted}
            got = session.run(output_names, feed)
        except Exception as exc:
            raise ExportError(f"onnxruntime cannot run the exported model ({first_line(exc)}). "
                              "Export as torchscript or python instead") from None
        result = compare([torch.from_numpy(g) for g in got], expected, ATOL, RTOL, output_names)
        if not result.ok:
            raise ExportError(f"onnxruntime's outputs differ from torch's: {result.problem}. "
                              "Export as torchscript or python instead")
        files = stage.commit([out])

    notes = [f"weights are in {p.name} next to it; keep the two together" for p in files[1:]]
    return ExportResult(
        "onnx", files, f"ONNX opset {opset}, dynamic batch axis",
        f"onnxruntime matches torch on a batch of {CHECK_BATCH}, {result.words()}",
        result.max_abs_diff, notes)


def _batch_is_dynamic(value_info) -> bool:
    dims = value_info.type.tensor_type.shape.dim
    return bool(dims) and bool(dims[0].dim_param) and not dims[0].HasField("dim_value")


def _failure_message(ctx: Context, example, dynamic, exc: BaseException) -> str:
    """Say why, naming the node whose operation ONNX cannot express when it can be found.
    Only on failure is the model captured once more, to read which module made each op."""
    try:
        exported = torch.export.export(ctx.module, example, dynamic_shapes=dynamic,
                                       strict=False)
    except Exception as capture:
        return ("cannot export to ONNX: torch.export cannot capture the model with a dynamic "
                f"batch axis ({first_line(capture)}). Export as torchscript or python instead")
    chain, seen = [], exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = "\n".join(str(e) for e in chain)
    match = (re.search(r"OpOverload\(op='([\w.]+)'", text) or
             re.search(r"target=torch\.ops\.([\w.]+?)(?:\.default)?\]", text) or
             re.search(r"torch\.ops\.(aten\.\w+)", text))
    op = match.group(1) if match else None
    where = _node_using(ctx, exported, op) if op else None
    if where:
        node_type = where.split("(")[1].split(")")[0]
        hint = next((h for prefix, h in HINTS.items() if node_type.startswith(prefix)), "")
        return (f"cannot export to ONNX: {where} uses {op}, which the ONNX exporter cannot "
                f"translate{f'; {hint}' if hint else ''}. Change that node, or export as "
                "torchscript or python instead")
    if op:
        return (f"cannot export to ONNX: the model uses {op}, which the ONNX exporter cannot "
                "translate. Export as torchscript or python instead")
    return (f"cannot export to ONNX: {first_line(chain[-1])}. Export as torchscript or "
            "python instead")


def _node_using(ctx: Context, exported, op: str) -> str | None:
    """The graph node whose module produced `op` in the exported program. The op that failed
    may be what the exporter decomposed the captured one into (adaptive_max_pool1d runs as
    adaptive_max_pool2d), so an exact match is tried first, then one by family."""
    nodes = [n for n in exported.graph_module.graph.nodes if n.op == "call_function"]
    exact = [n for n in nodes if str(n.target) == op or str(n.target).startswith(op + ".")]
    family = [n for n in nodes if _family(str(n.target)) == _family(op)]
    for node in exact + family:
        stack = node.meta.get("nn_module_stack") or {}
        paths = [v[0] for v in stack.values() if isinstance(v, tuple) and v and v[0]]
        for path in reversed(paths):
            found = describe_step(ctx.doc, ctx.compiled, _clean_path(path))
            if found:
                return found
    return None


def _family(op: str) -> str:
    """"aten._adaptive_avg_pool3d.default" → "adaptive_avg_pool"."""
    parts = op.split(".")
    name = parts[1] if len(parts) > 1 and parts[0] == "aten" else parts[0]
    return re.sub(r"[123]d$", "", name.lstrip("_"))


def _clean_path(path: str) -> str:
    """"L['self'].block_1.pool" or "block_1.pool" → "block_1.pool"."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    path = re.sub(r"\._modules\['([^']+)'\]", r".\1", path)
    return path.strip(".")
