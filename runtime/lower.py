"""Lower a checked graph to a Program: an ordered list of calls with readable names.

Both the torch.fx compiler and the standalone code exporter read the same Program, so the
module that trains and the .py that ships are built from one description and cannot drift.
"""
from __future__ import annotations

import keyword
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx

from graph import block_params
from graph.catalog import get_spec
from graph.document import Document
from graph.model import Graph
from graph.walk import drive, run_through_graph
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
    # A repeated Block node's chained copies (block is the first); one entry otherwise.
    copies: "list[Program]" = field(default_factory=list)


@dataclass
class Program:
    class_name: str
    inputs: list[str]            # forward() argument names, in Input node order
    input_nodes: list[str]
    steps: list[Step] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)       # value names returned
    output_names: list[str] = field(default_factory=list)  # the Output nodes' names
    output_nodes: list[str] = field(default_factory=list)
    # For a block's inside: the definition it comes from, the values its Block node gave,
    # and, per inner node, which parameters are wholly a block parameter ("$channels").
    definition: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    references: dict[str, dict[str, str]] = field(default_factory=dict)


def lower(doc: Document, shapes: ShapeReport) -> Program:
    return lower_graph(doc.graph, doc, shapes, class_name(doc.name or "Model"))


def lower_graph(graph: Graph, doc: Document, shapes: ShapeReport, name: str) -> Program:
    return drive(_lower_walk(graph, doc, shapes, name))


def _lower_walk(graph: Graph, doc: Document, shapes: ShapeReport, name: str):
    """A walk (graph.walk.drive) that returns the Program of `graph`; the values carried
    along edges are the Python names of the tensors in the generated forward()."""
    names = _Names()
    input_nodes = [n for n in graph if n.type == "Input"]
    program = Program(name, [names.take(n.params["name"]) for n in input_nodes],
                      [n.id for n in input_nodes])
    arg_of = dict(zip((n.id for n in input_nodes), program.inputs))

    def call(node, inputs: dict[str, str], in_ports: list[str]):
        spec = get_spec(node.type)
        if spec.kind == "input":
            return {"out": arg_of[node.id]}
        out_ports = graph.ports_of(node)[1]
        args = [inputs.get(port) for port in in_ports]
        if spec.kind == "output":
            program.outputs.append(args[0])
            program.output_names.append(node.params["name"])
            program.output_nodes.append(node.id)
            return {}
        default_name = node.params["block"] if spec.kind == "block" else node.type.lower()
        base = names.take(node.label or default_name, numbered=not node.label)
        outs = [base] if len(out_ports) == 1 else [names.take(f"{base}_{p}") for p in out_ports]
        node_shapes = shapes.nodes[node.id]
        if spec.kind == "block":
            block_name = node.params["block"]
            definition = doc.blocks[block_name]
            values = block_params.node_values(node, definition)
            inner_graph = block_params.bind(definition, values)
            references = {n.id: block_params.whole_references(n.params)
                          for n in definition if block_params.references_in(n.params)}
            copies = []
            for copy_shapes in node_shapes.copies or [node_shapes.inner]:
                inner = yield _lower_walk(inner_graph, doc, copy_shapes, class_name(block_name))
                inner.definition, inner.values, inner.references = block_name, values, references
                copies.append(inner)
            program.steps.append(Step(node.id, base, "block", block_name, {}, args, outs,
                                      copies[0], copies))
        else:
            kwargs = targets.call_kwargs(spec, node.params, node_shapes.inferred)
            # Trailing unconnected optional inputs are left out of the call (readable code).
            while args and args[-1] is None:
                args.pop()
            program.steps.append(Step(node.id, base, spec.kind, spec.target, kwargs, args, outs))
        return dict(zip(out_ports, outs))

    yield from run_through_graph(graph, call)
    return program


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
                if name not in self.used and not hasattr(ops, name):
                    break
        else:
            # A value named like a helper the exported file defines (`add`) would shadow it.
            name, k = base, 2
            while name in self.used or hasattr(ops, name):
                name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


# Names the generated code uses itself: a layer named like one would shadow it.
RESERVED_NAMES = frozenset({"self", "torch", "nn", "F", "math"})
# Every attribute an nn.Module instance has (`training` is set in __init__, so the class
# alone does not show it), and those of the fx.GraphModule the compiler builds (`code`,
# `graph`, `recompile`); a layer attribute by that name would replace it.
MODULE_ATTRIBUTES = frozenset(dir(torch.nn.Module())) | frozenset(dir(torch.fx.GraphModule))


def _identifier(text: str) -> str:
    """A plain ASCII Python name for a label. NFKC first, as Python's parser does (so
    'ﬁ' and 'fi' are one name here as they would be there), then anything outside
    [0-9A-Za-z_] becomes '_': 'x²' or '½' would not parse, and non-ASCII letters would
    make state_dict keys that differ from the attribute names Python sees."""
    ascii_text = unicodedata.normalize("NFKC", text)
    name = re.sub(r"[^0-9A-Za-z]+", "_", _snake(ascii_text)).strip("_") or "layer"
    if name[0].isdigit():
        name = f"layer_{name}"
    if keyword.iskeyword(name) or name in MODULE_ATTRIBUTES or name in RESERVED_NAMES:
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
    clash = name[0].isdigit() or hasattr(ops, name) or keyword.iskeyword(name) or \
        name in RESERVED_NAMES
    return f"Model{name}" if clash else name
