"""Whole-document snapshots, restored through model methods so every view hears about it.

Used for edits that reshape a document in many places at once (group into a block,
expand a block): undo puts back exactly what was there, ids and positions included.
"""
from __future__ import annotations

import copy
from typing import Any

from graph.document import Document
from graph.fileformat import graph_to_dict
from graph.model import Edge, Graph, Node


def take(doc: Document) -> dict[str, Any]:
    return {"graph": graph_to_dict(doc.graph),
            "blocks": {name: graph_to_dict(g) for name, g in doc.blocks.items()}}


def restore(doc: Document, snapshot: dict[str, Any]) -> list[Graph]:
    """Make `doc` equal to `snapshot`. Graph objects are reused where a block keeps its
    name, so their listeners stay attached; returns block graphs that had to be created."""
    created = []
    for name in list(doc.blocks):
        if name not in snapshot["blocks"]:
            doc.remove_block(name)
    for name, data in snapshot["blocks"].items():
        if name not in doc.blocks:
            created.append(doc.add_block(name, Graph()))
        _fill(doc.blocks[name], data)
    _fill(doc.graph, snapshot["graph"])
    return created


def _fill(graph: Graph, data: dict[str, Any]) -> None:
    for edge in list(graph.edges):
        graph.disconnect(edge)
    for node_id in list(graph.nodes):
        graph.remove_node(node_id)
    for n in data["nodes"]:
        extra = {k: v for k, v in n.items() if k not in ("id", "type", "label", "position", "params")}
        graph.insert_node(Node(n["id"], n["type"], copy.deepcopy(n["params"]), n.get("label", ""),
                               (float(n["position"][0]), float(n["position"][1])), extra))
    for e in data["edges"]:
        graph.insert_edge(Edge(e["src"], e["src_port"], e["dst"], e["dst_port"]))
