"""Structural validation with networkx: everything that can be known without torch.

Each problem becomes a Diagnostic on a node (and port) with a message and a fix hint.
Shapes are checked afterwards by runtime/shapes.py, on graphs that pass here.
"""
from __future__ import annotations

import networkx as nx

from graph.catalog import get_spec
from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.model import Edge, Graph, Node

_IO_TYPES = ("Input", "Output")


def validate(doc: Document) -> list[Diagnostic]:
    """Every structural problem in the main graph and in each block definition."""
    found = validate_graph(doc.graph, None)
    for name, block in doc.blocks.items():
        found += validate_graph(block, name)
    found += _block_cycles(doc)
    return found


def validate_graph(graph: Graph, block: str | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []

    def add(code: str, message: str, node: Node | None = None, port: str | None = None,
            hint: str = "", severity: str = "error") -> None:
        out.append(Diagnostic(code, message, node.id if node else None, port, severity, hint, block))

    where = f"block {block!r}" if block else "the graph"
    for kind, hint in (("Input", "add an Input node and set its shape"),
                       ("Output", "add an Output node after the last layer")):
        if not any(n.type == kind for n in graph):
            add(f"missing_{kind.lower()}", f"{where} has no {kind} node", hint=hint)
    for node in graph:
        _check_params(node, graph, add)
    _check_io_names(graph, add)
    index = _Index(graph)
    _check_ports(graph, index, add)
    if not _check_cycles(graph, index.digraph, add):
        _check_reachability(graph, index, add)
    return out


class _Index:
    """Lookups built once per validate_graph call, so no check scans every edge per node
    (graph.edges_into is O(E); calling it per node and port made validation O(N·E))."""

    def __init__(self, graph: Graph) -> None:
        self.ports = {node_id: graph.ports_of(node) for node_id, node in graph.nodes.items()}
        # (dst, dst_port) → the edges feeding that input, in graph.edges order
        self.into: dict[tuple[str, str], list[Edge]] = {}
        for edge in graph.edges:
            self.into.setdefault((edge.dst, edge.dst_port), []).append(edge)
        self.digraph = nx.DiGraph()
        self.digraph.add_nodes_from(graph.nodes)
        self.digraph.add_edges_from((e.src, e.dst) for e in graph.edges)

    def edges_into(self, node_id: str, port: str) -> list[Edge]:
        return self.into.get((node_id, port), [])


def _check_params(node: Node, graph: Graph, add) -> None:
    spec = get_spec(node.type)
    if spec is None:
        add("unknown_type", f"unknown node type {node.type!r}", node)
        return
    for p in spec.params:
        _, problem = p.check(node.params.get(p.name, p.default))
        if problem:
            code = "param_range" if "at least" in problem or "at most" in problem else "param_type"
            add(code, f"{node.title}: {problem}", node, hint=p.doc)
    known = {p.name for p in spec.params}
    for name in node.params:
        if name not in known:
            add("unknown_param", f"{node.title} has no parameter {name!r}; it is ignored", node,
                hint="remove it or check its spelling", severity="warning")
    if node.type == "Block":
        ref = node.params.get("block")
        if isinstance(ref, str) and ref not in (graph.library or {}):
            add("unknown_block", f"{node.title} uses block {ref!r}, which is not defined", node,
                hint="pick one of the document's blocks")


def _check_io_names(graph: Graph, add) -> None:
    for kind in _IO_TYPES:
        seen: dict[str, Node] = {}
        for node in graph:
            if node.type != kind:
                continue
            name = node.params.get("name")
            if not isinstance(name, str) or not name.isidentifier():
                add("io_name", f"{kind} name {name!r} is not a valid Python name", node,
                    hint="use letters, digits and _, not starting with a digit")
            elif name in seen:
                add("io_name", f"{kind} name {name!r} is also used by node {seen[name].id}",
                    node, hint=f"give each {kind} its own name")
            else:
                seen[name] = node


def _check_ports(graph: Graph, index: _Index, add) -> None:
    for edge in graph.edges:
        src, dst = graph.nodes[edge.src], graph.nodes[edge.dst]
        outs, ins = index.ports[src.id][1], index.ports[dst.id][0]
        if edge.src_port not in outs:
            add("unknown_port", f"{src.title} has no output {edge.src_port!r} "
                f"(it has {_names(outs)})", src, edge.src_port,
                hint="reconnect the edge from an existing output")
        if edge.dst_port not in ins:
            add("unknown_port", f"{dst.title} has no input {edge.dst_port!r} "
                f"(it has {_names(ins)})", dst, edge.dst_port,
                hint="reconnect the edge to an existing input, or raise num_inputs")
    for node in graph:
        spec = get_spec(node.type)
        optional = spec.optional_inputs() if spec else set()
        for port in index.ports[node.id][0]:
            feeding = index.edges_into(node.id, port)
            if len(feeding) > 1:
                sources = ", ".join(e.src for e in feeding)
                add("multiple_edges", f"input {port!r} of {node.title} has {len(feeding)} edges "
                    f"(from {sources}); an input takes exactly one", node, port,
                    hint="remove the extra edges, or join them first with Add or Concat")
            elif not feeding and port not in optional:
                add("unconnected_input", f"input {port!r} of {node.title} is not connected",
                    node, port, hint="drag an edge from an output to it")


def _check_cycles(graph: Graph, g: nx.DiGraph, add) -> bool:
    if nx.is_directed_acyclic_graph(g):
        return False
    position = {node_id: i for i, node_id in enumerate(graph.nodes)}
    components = [sorted(c, key=position.get) for c in nx.strongly_connected_components(g)]
    # File order, not set order: the same file always gives the same messages.
    for component in sorted((c for c in components if len(c) > 1), key=lambda c: position[c[0]]):
        cycle = [u for u, _ in nx.find_cycle(g.subgraph(component), source=component[0])]
        loop = " → ".join(cycle + [cycle[0]])
        for node_id in cycle:
            add("cycle", f"these nodes form a loop: {loop}", graph.nodes[node_id],
                hint="data must flow one way; remove one of the edges on the loop")
    return True


def _check_reachability(graph: Graph, index: _Index, add) -> None:
    g = index.digraph
    fed: set[str] = set()
    used: set[str] = set()
    for node in graph:
        if node.type == "Input":
            fed |= nx.descendants(g, node.id) | {node.id}
        elif node.type == "Output":
            used |= nx.ancestors(g, node.id) | {node.id}
    for node in graph:
        ins = index.ports[node.id][0]
        all_fed = all(index.edges_into(node.id, p) for p in ins)
        if node.id not in fed and node.type != "Input" and ins and all_fed:
            add("unreachable", f"{node.title} gets no data from any Input", node,
                hint="connect its branch to an Input")
        if node.id not in used and node.type != "Output":
            add("dead_end", f"{node.title}'s result does not reach any Output", node,
                hint="connect it towards an Output, or delete it", severity="warning")


def _block_cycles(doc: Document) -> list[Diagnostic]:
    """A block that contains itself, directly or through others, cannot be built."""
    g = nx.DiGraph()
    for name, block in doc.blocks.items():
        g.add_node(name)
        for node in block:
            if node.type == "Block" and isinstance(node.params.get("block"), str):
                g.add_edge(name, node.params["block"])
    out = []
    for cycle in nx.simple_cycles(g):
        loop = " → ".join(cycle + [cycle[0]])
        out.append(Diagnostic("block_cycle", f"block {cycle[0]!r} contains itself: {loop}",
                              block=cycle[0], hint="a block cannot use itself inside"))
    return out


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"
