"""Whole-document snapshots, restored through model methods so every view hears about it.

Used for edits that reshape a document in many places at once (group into a block,
expand a block): undo puts back exactly what was there, ids and positions included.
"""
from __future__ import annotations

import copy
from typing import Any

from graph.document import Document
from graph.model import Edge, Graph, Node

# A graph's state: copies of its nodes (params, label, position and extra keys exactly as
# they are: no rounding through the file format), its edges and the block parameters it
# declares (both immutable, shared).
GraphState = tuple[list[Node], list[Edge], tuple]


def take(doc: Document) -> dict[str, Any]:
    return {"graph": _state(doc.graph),
            "blocks": {name: _state(g) for name, g in doc.blocks.items()}}


def _state(graph: Graph) -> GraphState:
    return copy.deepcopy(list(graph.nodes.values())), list(graph.edges), graph.block_params


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


def _fill(graph: Graph, state: GraphState) -> None:
    nodes, edges, declared = state
    for edge in list(graph.edges):
        graph.disconnect(edge)
    for node_id in list(graph.nodes):
        graph.remove_node(node_id)
    for node in nodes:
        graph.insert_node(copy.deepcopy(node))   # the snapshot stays as taken, for redo
    for edge in edges:
        graph.insert_edge(edge)
    if graph.block_params != declared:
        graph.set_block_params(declared)
