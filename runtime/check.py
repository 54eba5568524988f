"""One call that checks a document the way every tool needs it: structure, then shapes."""
from __future__ import annotations

from dataclasses import dataclass

from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.validate import validate
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
    diagnostics += validate(doc)
    shapes = (inference or ShapeInference()).infer(doc)
    diagnostics += shapes.diagnostics
    diagnostics += _size_problems(doc, shapes)
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
