"""One call that checks a document the way every tool needs it: structure, then shapes."""
from __future__ import annotations

from dataclasses import dataclass

from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.validate import validate
from graph.gc_pause import gc_paused
from runtime.shapes import ShapeInference, ShapeReport
from runtime.summary import BYTES_PER_PARAM


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    shapes: ShapeReport

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_document(doc: Document, inference: ShapeInference | None = None,
                   include_load_problems: bool = True) -> CheckResult:
    """Structural diagnostics, then shape diagnostics. Pass the editor's ShapeInference to
    reuse its cache; the load problems belong to the file as it was opened."""
    diagnostics = list(doc.load_problems) if include_load_problems else []
    with gc_paused():
        diagnostics += validate(doc)
        shapes = (inference or ShapeInference()).infer(doc)
    diagnostics += shapes.diagnostics
    diagnostics += _size_problems(doc, shapes)
    diagnostics += _sample_size_problems(doc, shapes)
    return CheckResult(diagnostics, shapes)


# Ten billion float32 parameters are 40 GB before gradients and optimizer state: no
# machine NodeTorch runs on trains that, and a typo (a missing pooling step) gets there fast.
MAX_PARAMS = 10**10


def _size_problems(doc: Document, shapes: ShapeReport) -> list[Diagnostic]:
    total = shapes.total_params
    if total <= MAX_PARAMS:
        return []
    biggest = max(shapes.nodes, key=lambda n: shapes.nodes[n].param_count)
    node = doc.graph.nodes[biggest]
    gigabytes = total * BYTES_PER_PARAM / 1e9
    return [Diagnostic(
        "too_large", f"the model has {total:,} parameters ({gigabytes:,.0f} GB as float32), "
        f"far more than fits in memory; {node.title} alone has "
        f"{shapes.nodes[biggest].param_count:,}", biggest,
        hint="shrink that layer, or downsample (pooling, stride) before it")]


# What one sample may carry on one edge: 2**26 values are 256 MB as float32, several times
# a large U-Net's widest feature map (64×512×512 is 16.7 M), and a batch of them still fits
# in an ordinary machine. Past it, a forward pass fails in the allocator ("you tried to
# allocate 8796093022208 bytes") instead of in the editor, before anything runs.
MAX_SAMPLE_VALUES = 2**26


def _sample_size_problems(doc: Document, shapes: ShapeReport) -> list[Diagnostic]:
    """The first node (in each graph, blocks' insides included) whose output is too big."""
    out = []
    todo = [(doc.graph, shapes, None)]
    while todo:
        graph, report, block = todo.pop()
        for node_id, node_shapes in report.nodes.items():
            if node_shapes.inner is not None and node_id in graph.nodes:
                name = graph.nodes[node_id].params.get("block")
                if name in doc.blocks:
                    todo += [(doc.blocks[name], copy, name)
                             for copy in node_shapes.copies or [node_shapes.inner]]
            big = [(port, meta) for port, meta in node_shapes.outputs.items()
                   if meta.numel() > MAX_SAMPLE_VALUES]
            if big and node_id in graph.nodes:
                port, meta = big[0]
                node = graph.nodes[node_id]
                out.append(Diagnostic(
                    "too_large", f"{node.title}'s output {meta.text()} holds {meta.numel():,} "
                    f"values per sample ({meta.numel() * BYTES_PER_PARAM / 2**20:,.0f} MB as "
                    f"float32); one sample may carry at most {MAX_SAMPLE_VALUES:,} "
                    "(MAX_SAMPLE_VALUES)", node_id, port, block=block,
                    hint="use a smaller Input, or downsample (pooling, stride) sooner"))
                break
    return out
