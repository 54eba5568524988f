"""One call that checks a document the way every tool needs it: structure, then shapes."""
from __future__ import annotations

from dataclasses import dataclass

from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.validate import validate
from runtime.shapes import ShapeInference, ShapeReport


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
    return CheckResult(diagnostics, shapes)
