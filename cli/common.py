"""What every command does first: find the file (or template), load it, report failures."""
from __future__ import annotations

import sys
from pathlib import Path

from graph.document import Document
from graph.loader import LoadError, load_file
from graph.templates import path_exists, resolve_graph_path
from graph.text import as_name, printable

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_FILE = 0, 1, 2
# A file with 100,000 broken nodes is still told in a screenful; the first ones say enough.
MAX_PROBLEMS_LISTED = 200


class CommandFailed(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def open_document(text: str) -> tuple[Document, Path]:
    path = resolve_graph_path(text)
    if not path_exists(path):
        raise CommandFailed(f"error: {printable(text, 300)}: no such file, and no template of "
                            "that name (see `python main.py templates`)", EXIT_BAD_FILE)
    try:
        return load_file(path), path
    except LoadError as exc:
        lines = [f"error: cannot load {exc.source}:"]
        for p in exc.problems[:MAX_PROBLEMS_LISTED]:
            where = p.path + (f" (node {as_name(p.node_id)})" if p.node_id else "")
            lines.append(f"  {where + ': ' if where else ''}{p.message}")
        if len(exc.problems) > MAX_PROBLEMS_LISTED:
            lines.append(f"  … and {len(exc.problems) - MAX_PROBLEMS_LISTED:,} more problems")
        raise CommandFailed("\n".join(lines), EXIT_BAD_FILE) from None


def shown_path(path: Path) -> str:
    """A path as the user may see it: escaped (a file name may hold anything) and cut."""
    return printable(str(path), 300)


def print_diagnostics(doc: Document, diagnostics, stream=None) -> None:
    stream = stream or sys.stdout
    for d in diagnostics[:MAX_PROBLEMS_LISTED]:
        graph = doc.graph if d.block is None else doc.blocks.get(d.block)
        node = graph.nodes.get(d.node_id) if graph is not None and d.node_id else None
        label = "error" if d.is_error else "warning"
        print(f"{label}: {d.line(node.type if node else None)}", file=stream)
    if len(diagnostics) > MAX_PROBLEMS_LISTED:
        print(f"… and {len(diagnostics) - MAX_PROBLEMS_LISTED:,} more", file=stream)


def fmt_count(n: int) -> str:
    return f"{n:,}"
