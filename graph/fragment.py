"""Copy and paste: a selection as a self-contained JSON fragment, and back with fresh ids.

The clipboard holds plain text JSON, so a copy pastes into another window, another
NodeTorch, or a text editor.
"""
from __future__ import annotations

import copy
import json

from graph.catalog import get_spec
from graph.fileformat import format_json, node_to_dict
from graph.model import Edge, Graph, Node

FRAGMENT_FORMAT = "nodetorch.fragment"


def copy_fragment(graph: Graph, node_ids: list[str]) -> str:
    chosen = [n for n in graph.nodes if n in set(node_ids)]
    inside = [e for e in graph.edges if e.src in chosen and e.dst in chosen]
    data = {"format": FRAGMENT_FORMAT, "version": 1,
            "nodes": [node_to_dict(graph.nodes[n]) for n in chosen],
            "edges": [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
                      for e in inside]}
    return format_json(data) + "\n"


def paste_fragment(graph: Graph, text: str, offset: tuple[float, float] = (40.0, 40.0)
                   ) -> tuple[list[Node], list[Edge]] | None:
    """Nodes and edges to insert (ids made fresh for `graph`), or None if `text` is not a
    fragment. Nothing is inserted here: the caller wraps the result in an undo command."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FRAGMENT_FORMAT:
        return None
    nodes_in, edges_in = data.get("nodes"), data.get("edges", [])
    if not isinstance(nodes_in, list) or not isinstance(edges_in, list):
        return None
    taken = set(graph.nodes)
    new_id: dict[str, str] = {}
    nodes: list[Node] = []
    for n in nodes_in:
        if not isinstance(n, dict) or get_spec(str(n.get("type"))) is None or "id" not in n:
            continue
        fresh = _fresh(graph, taken)
        new_id[str(n["id"])] = fresh
        pos = n.get("position", [0, 0])
        params = {**get_spec(n["type"]).defaults(), **copy.deepcopy(n.get("params") or {})}
        nodes.append(Node(fresh, n["type"], params, str(n.get("label", "")),
                          (float(pos[0]) + offset[0], float(pos[1]) + offset[1])))
    edges = [Edge(new_id[e["src"]], e["src_port"], new_id[e["dst"]], e["dst_port"])
             for e in edges_in if isinstance(e, dict) and e.get("src") in new_id
             and e.get("dst") in new_id]
    return (nodes, edges) if nodes else None


def _fresh(graph: Graph, taken: set[str]) -> str:
    k = len(graph.nodes) + 1
    while f"n{k}" in taken:
        k += 1
    taken.add(f"n{k}")
    return f"n{k}"
