"""Lower a checked graph to a Program: an ordered list of calls with readable names.

Both the torch.fx compiler and the standalone code exporter read the same Program, so the
module that trains and the .py that ships are built from one description and cannot drift.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

import torch

from graph.catalog import get_spec
from graph.document import Document
from graph.model import Graph
from runtime import ops, targets
from runtime.shapes import ShapeReport


@dataclass
class Step:
    node_id: str
    name: str                   # attribute name of the module, and base of value names
    kind: str                   # "module", "function" or "block"
    target: str                 # dotted target; for blocks the block's name
    kwargs: dict[str, Any]      # constructor kwargs (module) or call kwargs (function)
    args: list[str | None]      # value names passed positionally (None: unconnected optional)
    outputs: list[str]          # value names, one per output port
    block: "Program | None" = None


@dataclass
class Program:
    class_name: str
    inputs: list[str]            # forward() argument names, in Input node order
    input_nodes: list[str]
    steps: list[Step] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)       # value names returned
    output_names: list[str] = field(default_factory=list)  # the Output nodes' names
    output_nodes: list[str] = field(default_factory=list)


def lower(doc: Document, shapes: ShapeReport) -> Program:
    return lower_graph(doc.graph, doc, shapes, class_name(doc.name or "Model"))


def lower_graph(graph: Graph, doc: Document, shapes: ShapeReport, name: str) -> Program:
    names = _Names()
    input_nodes = [n for n in graph if n.type == "Input"]
    program = Program(name, [names.take(n.params["name"]) for n in input_nodes],
                      [n.id for n in input_nodes])
    value_of: dict[tuple[str, str], str] = {
        (n.id, "out"): arg for n, arg in zip(input_nodes, program.inputs)}
    feeding = {(e.dst, e.dst_port): e for e in graph.edges}
    for node_id in flow_order(graph):
        node = graph.nodes[node_id]
        spec = get_spec(node.type)
        if spec.kind == "input":
            continue
        in_ports, out_ports = graph.ports_of(node)
        args = []
        for port in in_ports:
            edge = feeding.get((node_id, port))
            args.append(value_of[(edge.src, edge.src_port)] if edge else None)
        if spec.kind == "output":
            program.outputs.append(args[0])
            program.output_names.append(node.params["name"])
            program.output_nodes.append(node_id)
            continue
        default_name = node.params["block"] if spec.kind == "block" else node.type.lower()
        base = names.take(node.label or default_name, numbered=not node.label)
        outs = [base] if len(out_ports) == 1 else [names.take(f"{base}_{p}") for p in out_ports]
        for port, value in zip(out_ports, outs):
            value_of[(node_id, port)] = value
        node_shapes = shapes.nodes[node_id]
        if spec.kind == "block":
            block_name = node.params["block"]
            inner = lower_graph(doc.blocks[block_name], doc, node_shapes.inner,
                                class_name(block_name))
            program.steps.append(Step(node_id, base, "block", block_name, {}, args, outs, inner))
            continue
        kwargs = targets.call_kwargs(spec, node.params, node_shapes.inferred)
        # Trailing unconnected optional inputs are left out of the call (readable code).
        while args and args[-1] is None:
            args.pop()
        program.steps.append(Step(node_id, base, spec.kind, spec.target, kwargs, args, outs))
    return program


def flow_order(graph: Graph) -> list[str]:
    """Topological order that keeps the file's node order where it can (stable code)."""
    position = {node_id: i for i, node_id in enumerate(graph.nodes)}
    indegree = {node_id: 0 for node_id in graph.nodes}
    out: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    for e in graph.edges:
        indegree[e.dst] += 1
        out[e.src].append(e.dst)
    ready = sorted((n for n, d in indegree.items() if d == 0), key=position.get)
    order = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for nxt in out[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
        ready.sort(key=position.get)
    return order


class _Names:
    """Hands out unique Python identifiers that do not clash with nn.Module's attributes."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}

    def take(self, wanted: str, numbered: bool = False) -> str:
        base = _identifier(wanted)
        if numbered:
            while True:
                self.counters[base] = self.counters.get(base, 0) + 1
                name = f"{base}_{self.counters[base]}"
                if name not in self.used:
                    break
        else:
            name, k = base, 2
            while name in self.used:
                name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", _snake(text)).strip("_") or "layer"
    if name[0].isdigit():
        name = f"layer_{name}"
    if keyword.iskeyword(name) or hasattr(torch.nn.Module, name) or name in ("self", "torch", "nn", "F", "math"):
        name = f"{name}_layer"
    return name


def _snake(text: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", text.strip())
    return re.sub(r"[\s\-]+", "_", text).lower()


def class_name(text: str) -> str:
    """'LeNet-5' -> 'LeNet5', 'basic block' -> 'BasicBlock'."""
    parts = re.split(r"[^0-9A-Za-z]+", text)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p) or "Model"
    # Exported code defines runtime.ops helpers (and imports F) by name: never shadow them.
    return f"Model{name}" if name[0].isdigit() or hasattr(ops, name) else name
