"""The graph model: nodes, edges and change events. Plain data, no Qt.

Views and undo commands change a graph only through these methods; every change emits
an event so views can listen instead of poking at the data.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

from graph.catalog import get_spec
from graph.spec import NodeSpec, ParamSpec


class GraphRuleError(ValueError):
    """A change the model refuses, with the reason in words a user can act on."""


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    position: tuple[float, float] = (0.0, 0.0)
    # Keys a newer NodeTorch (or a person) wrote that this version does not know: kept.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.label or self.type


class Edge(NamedTuple):
    """One connection. A named tuple, not a frozen dataclass: edges are hashed on every
    lookup (the edge set, undo, validation), and a tuple's hash is computed in C."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} → {self.dst}.{self.dst_port}"


@dataclass(frozen=True)
class GraphEvent:
    """kind: node_added, node_removed, node_changed, edge_added, edge_removed,
    block_params (the parameters the graph declares as a block definition)."""

    kind: str
    node: Node | None = None
    edge: Edge | None = None
    field: str = ""


Listener = Callable[[GraphEvent], None]


class Graph:
    """One network or one block's inside. `ports_of` needs the document's block library
    to know a Block node's ports, so a Document hands its library to every graph."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []          # in file order; change only through the methods
        # Kept in step with `edges` by insert_edge, disconnect and reorder, so that asking
        # "is this edge there?" or "what feeds this node?" costs the same on 5,000 nodes.
        self._edge_set: set[Edge] = set()
        self._into: dict[str, list[Edge]] = {}
        self.library: dict[str, Graph] | None = None
        # Goes up with every change of nodes or edges (not of parameters): walks that
        # depend only on the wiring (graph.walk.flow_order) are remembered by it.
        self.version = 0
        # Goes up with every change a block's bound copy depends on (wiring, parameters,
        # labels, declared block parameters): graph.block_params remembers copies by it.
        self.revision = 0
        # Used as a block definition: the parameters its Block nodes set, which inner
        # nodes use as "$name" (graph/block_params.py).
        self.block_params: tuple[ParamSpec, ...] = ()
        self._listeners: list[Listener] = []
        self._next_id = 1

    # --- events ---------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: GraphEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    # --- queries --------------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphRuleError(f"there is no node {node_id!r}") from None

    def spec_of(self, node_id: str) -> NodeSpec | None:
        return get_spec(self.node(node_id).type)

    def input_ports(self, node_id: str) -> list[str]:
        return self.ports_of(self.node(node_id))[0]

    def output_ports(self, node_id: str) -> list[str]:
        return self.ports_of(self.node(node_id))[1]

    def ports_of(self, node: Node) -> tuple[list[str], list[str]]:
        if node.type == "Block":
            ref = node.params.get("block")
            inner = (self.library or {}).get(ref) if isinstance(ref, str) else None
            if inner is None:
                return [], []
            return inner.interface()
        spec = get_spec(node.type)
        if spec is None:
            return [], []
        return spec.input_names(node.params), spec.output_names(node.params)

    def interface(self) -> tuple[list[str], list[str]]:
        """This graph used as a block: its Input names and Output names, in node order.
        A name that is not text (a hostile file) gives no port; validation reports it."""
        ins = [n.params.get("name", n.id) for n in self.nodes.values() if n.type == "Input"]
        outs = [n.params.get("name", n.id) for n in self.nodes.values() if n.type == "Output"]
        return [n for n in ins if isinstance(n, str)], [n for n in outs if isinstance(n, str)]

    def has_edge(self, edge: Edge) -> bool:
        return edge in self._edge_set

    def edges_into(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self._into.get(node_id, ()) if port is None or e.dst_port == port]

    def edges_out_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def edges_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if node_id in (e.src, e.dst)]

    def reaches(self, start: str, goal: str) -> bool:
        """Is there a directed path start → … → goal?"""
        seen, todo = set(), [start]
        out: dict[str, list[str]] = {}
        for e in self.edges:
            out.setdefault(e.src, []).append(e.dst)
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(out.get(current, ()))
        return False

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    # --- node changes ---------------------------------------------------------------------
    def new_id(self) -> str:
        while f"n{self._next_id}" in self.nodes:
            self._next_id += 1
        return f"n{self._next_id}"

    def add_node(self, type_id: str, params: dict[str, Any] | None = None, label: str = "",
                 position: tuple[float, float] = (0.0, 0.0), node_id: str | None = None) -> Node:
        """Add a node of a known type; missing parameters take the spec's defaults."""
        spec = get_spec(type_id)
        if spec is None:
            raise GraphRuleError(f"unknown node type {type_id!r}")
        node_id = node_id or self.new_id()
        if node_id in self.nodes:
            raise GraphRuleError(f"a node with id {node_id!r} already exists")
        merged = spec.defaults()
        merged.update(copy.deepcopy(params or {}))
        return self.insert_node(Node(node_id, type_id, merged, label, tuple(position)))

    def insert_node(self, node: Node) -> Node:
        """Insert a fully formed node as is (loading, undo). Only the id must be free."""
        if node.id in self.nodes:
            raise GraphRuleError(f"a node with id {node.id!r} already exists")
        self.nodes[node.id] = node
        self.version += 1
        self.revision += 1
        if self._listeners:  # loading 100,000 nodes with nobody listening: no events
            self._emit(GraphEvent("node_added", node=node))
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges; returns both so undo can put them back."""
        node = self.node(node_id)
        removed = self.edges_of(node_id)
        for edge in removed:
            self.disconnect(edge)
        del self.nodes[node_id]
        self.version += 1
        self.revision += 1
        self._emit(GraphEvent("node_removed", node=node))
        return node, removed

    def set_params(self, node_id: str, **changes: Any) -> dict[str, Any]:
        """Change parameters; returns the previous values (for undo)."""
        node = self.node(node_id)
        spec = get_spec(node.type)
        known = {p.name for p in spec.params} if spec else set()
        if node.type == "Block":  # and the parameters its definition declares
            ref = node.params.get("block")
            inner = (self.library or {}).get(ref) if isinstance(ref, str) else None
            known |= {p.name for p in inner.block_params} if inner is not None else set()
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise GraphRuleError(f"{node.type} has no parameter {unknown[0]!r}")
        before = {k: copy.deepcopy(node.params.get(k)) for k in changes}
        node.params.update(copy.deepcopy(changes))
        self.revision += 1
        self._emit(GraphEvent("node_changed", node=node, field="params"))
        return before

    def set_label(self, node_id: str, label: str) -> str:
        node = self.node(node_id)
        before, node.label = node.label, label
        self.revision += 1
        self._emit(GraphEvent("node_changed", node=node, field="label"))
        return before

    def set_block_params(self, params: tuple[ParamSpec, ...]) -> tuple[ParamSpec, ...]:
        """Declare the parameters this graph takes as a block definition; returns the
        previous declaration (for undo)."""
        before, self.block_params = self.block_params, tuple(params)
        self.revision += 1
        self._emit(GraphEvent("block_params"))
        return before

    def move_node(self, node_id: str, position: tuple[float, float]) -> tuple[float, float]:
        node = self.node(node_id)
        before, node.position = node.position, (float(position[0]), float(position[1]))
        self._emit(GraphEvent("node_changed", node=node, field="position"))
        return before

    def reorder(self, node_order: list[str], edge_order: list[Edge]) -> None:
        """Put nodes and edges back in a remembered order (undo of a delete restores the
        file exactly, not just the same set). Ids not in the lists keep their place last."""
        rank = {node_id: i for i, node_id in enumerate(node_order)}
        self.nodes = dict(sorted(self.nodes.items(), key=lambda kv: rank.get(kv[0], len(rank))))
        edge_rank = {e: i for i, e in enumerate(edge_order)}
        self.edges.sort(key=lambda e: edge_rank.get(e, len(edge_rank)))
        self._into = {}
        for e in self.edges:
            self._into.setdefault(e.dst, []).append(e)
        self.version += 1
        self.revision += 1

    # --- edge changes ---------------------------------------------------------------------
    def connect_problem(self, edge: Edge) -> str | None:
        """Why this edge may not be added, or None. The editor shows the reason."""
        for node_id in (edge.src, edge.dst):
            if node_id not in self.nodes:
                return f"there is no node {node_id!r}"
        src, dst = self.nodes[edge.src], self.nodes[edge.dst]
        if edge.src == edge.dst:
            return f"{dst.title} cannot feed itself"
        if edge.src_port not in self.ports_of(src)[1]:
            return f"{src.title} has no output {edge.src_port!r}"
        if edge.dst_port not in self.ports_of(dst)[0]:
            return f"{dst.title} has no input {edge.dst_port!r}"
        if self.edges_into(edge.dst, edge.dst_port):
            return f"input {edge.dst_port!r} of {dst.title} is already connected"
        if self.reaches(edge.dst, edge.src):
            return f"connecting {src.title} to {dst.title} would make a loop"
        return None

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        edge = Edge(src, src_port, dst, dst_port)
        problem = self.connect_problem(edge)
        if problem:
            raise GraphRuleError(problem)
        return self.insert_edge(edge)

    def insert_edge(self, edge: Edge) -> Edge:
        """Insert an edge with only the node ids checked (loading, undo): a file may hold
        a cycle or a doubly-fed port, and validation reports those instead of losing them."""
        for node_id in (edge.src, edge.dst):
            if node_id not in self.nodes:
                raise GraphRuleError(f"edge {edge} refers to a missing node {node_id!r}")
        if edge in self._edge_set:
            raise GraphRuleError(f"edge {edge} exists already")
        self.edges.append(edge)
        self._edge_set.add(edge)
        self._into.setdefault(edge.dst, []).append(edge)
        self.version += 1
        self.revision += 1
        if self._listeners:
            self._emit(GraphEvent("edge_added", edge=edge))
        return edge

    def disconnect(self, edge: Edge) -> None:
        if edge not in self._edge_set:
            raise GraphRuleError(f"there is no edge {edge}")
        self.edges.remove(edge)
        self._edge_set.discard(edge)
        self._into[edge.dst].remove(edge)
        self.version += 1
        self.revision += 1
        self._emit(GraphEvent("edge_removed", edge=edge))
