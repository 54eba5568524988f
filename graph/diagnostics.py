"""A problem found in a graph or a file, with where it is and what to do about it."""
from __future__ import annotations

from dataclasses import dataclass

from graph.text import as_name, printable


@dataclass(frozen=True)
class Diagnostic:
    code: str          # e.g. "cycle", "unconnected_input", "shape"; tests and the GUI key on it
    message: str       # one sentence, names the node and says what is wrong
    node_id: str | None = None
    port: str | None = None
    severity: str = "error"   # "error" stops compile; "warning" does not
    hint: str = ""     # what to do about it
    block: str | None = None  # the block definition the node lives in; None: the main graph
    path: str = ""     # JSON path in the file, when the problem came from loading

    def __post_init__(self) -> None:
        # Messages quote ids, labels and names from the file: escape and bound them once
        # here, so the CLI, the Problems dock and logs all show the same safe text.
        for name in ("message", "hint", "path"):
            object.__setattr__(self, name, printable(getattr(self, name)))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def where(self) -> str:
        place = f"node {as_name(self.node_id)}" if self.node_id else "graph"
        if self.block:
            place = f"block {as_name(self.block)}, {place}"
        return place

    def line(self, node_type: str | None = None) -> str:
        """The CLI's one-line form: `node <id> (<type>): <message>`."""
        head = self.where()
        if self.node_id and node_type:
            head += f" ({node_type})"
        text = f"{head}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.is_error]
