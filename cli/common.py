"""What every command does first: find the file (or template), load it, report failures."""
from __future__ import annotations

import sys
from pathlib import Path

from graph.document import Document
from graph.loader import LoadError, load_file
from graph.templates import resolve_graph_path

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_FILE = 0, 1, 2


class CommandFailed(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def open_document(text: str) -> tuple[Document, Path]:
    path = resolve_graph_path(text)
    if not path.exists():
        raise CommandFailed(f"error: {text}: no such file, and no template of that name "
                            "(see `python main.py templates`)", EXIT_BAD_FILE)
    try:
        return load_file(path), path
    except LoadError as exc:
        lines = [f"error: cannot load {exc.source}:"]
        for p in exc.problems:
            where = p.path + (f" (node {p.node_id})" if p.node_id else "")
            lines.append(f"  {where + ': ' if where else ''}{p.message}")
        raise CommandFailed("\n".join(lines), EXIT_BAD_FILE) from None


def print_diagnostics(doc: Document, diagnostics, stream=None) -> None:
    stream = stream or sys.stdout
    for d in diagnostics:
        graph = doc.graph if d.block is None else doc.blocks.get(d.block)
        node = graph.nodes.get(d.node_id) if graph is not None and d.node_id else None
        label = "error" if d.is_error else "warning"
        print(f"{label}: {d.line(node.type if node else None)}", file=stream)


def fmt_count(n: int) -> str:
    return f"{n:,}"
