"""Writing documents: versioned, human-readable JSON with a stable key order.

Short lists and edges stay on one line so a diff of two saves shows what changed.
Saves are atomic: a crash mid-save leaves the old file, never half a file (graph/atomic_file.py:
the temp file's name says whose it is, stale ones are cleaned, the file keeps its mode).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from graph.atomic_file import write_atomic
from graph.block_params import param_to_dict
from graph.catalog import get_spec
from graph.document import FORMAT_NAME, FORMAT_VERSION, Document
from graph.model import Graph, Node


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "nodes": [node_to_dict(n) for n in graph.nodes.values()],
        "edges": [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
                  for e in graph.edges],
    }


def block_to_dict(graph: Graph) -> dict[str, Any]:
    """A block definition: its inside, and the parameters it declares (when it does)."""
    data = graph_to_dict(graph)
    if graph.block_params:
        data["params"] = [param_to_dict(p) for p in graph.block_params]
    return data


def node_to_dict(node: Node) -> dict[str, Any]:
    data: dict[str, Any] = {"id": node.id, "type": node.type}
    if node.label:
        data["label"] = node.label
    data["position"] = [_round(node.position[0]), _round(node.position[1])]
    data["params"] = _ordered_params(node)
    data.update(node.extra)
    return data


def _ordered_params(node: Node) -> dict[str, Any]:
    # Spec order first (what a reader expects), then anything the spec does not know.
    spec = get_spec(node.type)
    order = [p.name for p in spec.params] if spec else []
    out = {k: _plain(node.params[k]) for k in order if k in node.params}
    out.update({k: _plain(v) for k, v in node.params.items() if k not in out})
    return out


def document_to_dict(doc: Document) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": doc.name,
        "description": doc.description,
        "graph": graph_to_dict(doc.graph),
        "blocks": {name: block_to_dict(g) for name, g in sorted(doc.blocks.items())},
        "training": doc.training,
    }
    for key, value in doc.extra.items():
        data.setdefault(key, value)
    return data


def dumps(doc: Document) -> str:
    return _escape_lone_surrogates(format_json(document_to_dict(doc)) + "\n")


# A lone surrogate (a name read from a file with "\udc80" in it) cannot be written as UTF-8;
# outside strings JSON has none, so its \u escape reads back as exactly the same string.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_lone_surrogates(text: str) -> str:
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def save(doc: Document, path: str | os.PathLike) -> None:
    write_atomic(Path(path), dumps(doc))


def format_json(value: Any, indent: int = 0) -> str:
    """json.dumps with indent=2, except that lists of scalars and small flat objects (edges,
    positions, kernel sizes) stay on one line."""
    if _is_flat(value):
        return json.dumps(value, ensure_ascii=False)
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {format_json(v, indent + 2)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [inner + format_json(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"


def _is_flat(value: Any) -> bool:
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    if isinstance(value, dict):
        return not value or (len(value) <= 4 and
                             all(not isinstance(v, (dict, list)) for v in value.values()))
    return True


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _round(x: float) -> float | int:
    r = round(float(x), 2)
    return int(r) if r.is_integer() else r
