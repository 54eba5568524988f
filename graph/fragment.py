"""Copy and paste: a selection as a self-contained JSON fragment, and back with fresh ids.

The clipboard holds plain text JSON, so a copy pastes into another window, another
NodeTorch, or a text editor.
"""
from __future__ import annotations

import json

from graph.catalog import RENAMED, get_spec
from graph.document import FORMAT_NAME, FORMAT_VERSION
from graph.fileformat import format_json, node_to_dict
from graph.loader import LoadError, loads
from graph.model import Edge, Graph, Node

FRAGMENT_FORMAT = "nodetorch.fragment"


def copy_fragment(graph: Graph, node_ids: list[str]) -> str:
    wanted = set(node_ids)
    chosen = [n for n in graph.nodes if n in wanted]
    inside = [e for e in graph.edges if e.src in wanted and e.dst in wanted]
    data = {"format": FRAGMENT_FORMAT, "version": 1,
            "nodes": [node_to_dict(graph.nodes[n]) for n in chosen],
            "edges": [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
                      for e in inside]}
    return format_json(data) + "\n"


def paste_fragment(graph: Graph, text: str, offset: tuple[float, float] = (40.0, 40.0)
                   ) -> tuple[list[Node], list[Edge]] | None:
    """Nodes and edges to insert (ids made fresh for `graph`), or None if `text` is not a
    fragment. Nothing is inserted here: the caller wraps the result in an undo command.

    The fragment is read by the file loader itself (as the graph of a document), so it is
    checked exactly as a file is: bad values refuse the paste, renamed types are renamed,
    unknown keys are kept. Nodes of types this version does not know are left out."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FRAGMENT_FORMAT:
        return None
    nodes_in, edges_in = data.get("nodes"), data.get("edges", [])
    if not isinstance(nodes_in, list) or not isinstance(edges_in, list):
        return None
    known = [n for n in nodes_in if isinstance(n, dict)
             and get_spec(RENAMED.get(str(n.get("type")), str(n.get("type")))) is not None]
    wrapped = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
               "graph": {"nodes": known, "edges": edges_in}}
    try:
        pasted = loads(json.dumps(wrapped), "the clipboard").graph
    except LoadError:
        return None
    taken = set(graph.nodes)
    new_id = {old: _fresh(graph, taken) for old in pasted.nodes}
    nodes = [Node(new_id[n.id], n.type, n.params, n.label,
                  (n.position[0] + offset[0], n.position[1] + offset[1]), n.extra)
             for n in pasted.nodes.values()]
    edges = [Edge(new_id[e.src], e.src_port, new_id[e.dst], e.dst_port) for e in pasted.edges]
    return (nodes, edges) if nodes else None


def _fresh(graph: Graph, taken: set[str]) -> str:
    k = len(graph.nodes) + 1
    while f"n{k}" in taken:
        k += 1
    taken.add(f"n{k}")
    return f"n{k}"
