"""Small helpers that build test graphs through the real model API."""
from __future__ import annotations

from graph.document import Document
from graph.model import Graph


def chain(graph: Graph, *steps: tuple[str, dict] | str, start: str | None = None) -> list[str]:
    """Add nodes in a line, each fed by the previous one's first output; returns their ids.
    A step is a type id or (type id, params[, label])."""
    ids = []
    previous = start
    for step in steps:
        type_id, params, label = (step, {}, "") if isinstance(step, str) else (*step, "")[:3]
        node = graph.add_node(type_id, params, label=label)
        if previous is not None:
            out_port = graph.output_ports(previous)[0]
            graph.connect(previous, out_port, node.id, graph.input_ports(node.id)[0])
        previous = node.id
        ids.append(node.id)
    return ids


def sequential(*layers: tuple[str, dict] | str, shape=(1, 8, 8), name="Net") -> Document:
    """Input(shape) → layers… → Output, as a Document."""
    doc = Document(name=name)
    chain(doc.graph, ("Input", {"shape": list(shape)}), *layers, "Output")
    return doc
