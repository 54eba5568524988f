"""The one walk over a document: data-flow order, blocks included, with no recursion.

Validation, meta-device shapes, lowering and code export all need the same thing: visit a
graph's nodes in data-flow order, hand each node the values its input edges carry, and
step into a Block node's definition as if it were inlined. Keras's functional models do
this with one `_run_through_graph(inputs, operation_fn)`; here it is `run_through_graph`,
and each use supplies its own `call`.

A block's inside is walked by yielding a request instead of calling down, and `drive`
runs those requests on an explicit stack: a file whose blocks nest 10,000 deep costs a
list of 10,000 entries, never 10,000 Python frames. Everything here is linear in the size
of the file (no simple-cycle enumeration, no per-node rescans).
"""
from __future__ import annotations

import heapq
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterable

from graph.document import Document
from graph.model import Graph, Node

# Blocks nested deeper than this are refused: each level of a built model costs several
# Python frames in every forward call, and real networks nest three or four deep.
MAX_BLOCK_NESTING = 32
# A model whose blocks expand to more layers than this cannot be built in memory
# (a block used twice inside a block used twice ... doubles at every level).
MAX_EXPANDED_NODES = 1_000_000

Walk = Generator[Any, Any, Any]


def drive(walk: Walk) -> Any:
    """Run a walk to its end. A walk may `yield` another walk (a block's inside) and is
    sent that walk's result; the stack of walks is a list, not the Python call stack."""
    stack = [walk]
    value: Any = None
    while stack:
        try:
            request = stack[-1].send(value)
        except StopIteration as done:
            stack.pop()
            value = done.value
            continue
        stack.append(request)
        value = None
    return value


def flow_order(graph: Graph) -> tuple[list[str], list[str]]:
    """(ordered, stuck): a topological order that keeps the file's node order where it
    can (so generated code is stable), and the nodes that a cycle keeps from any order
    (those on a loop and everything downstream of one), in file order. Worked out once per
    wiring: validation and shape inference of the same graph share it."""
    known = _ORDERS.get(graph)
    if known is None or known[0] != graph.version:
        known = (graph.version, *_flow_order(graph))
        _ORDERS[graph] = known
    return list(known[1]), list(known[2])


_ORDERS: "weakref.WeakKeyDictionary[Graph, tuple[int, list[str], list[str]]]" = \
    weakref.WeakKeyDictionary()


def _flow_order(graph: Graph) -> tuple[list[str], list[str]]:
    ids = list(graph.nodes)
    position = {node_id: i for i, node_id in enumerate(ids)}
    indegree = [0] * len(ids)
    out: list[list[int]] = [[] for _ in ids]
    for e in graph.edges:
        d = position[e.dst]
        indegree[d] += 1
        out[position[e.src]].append(d)
    # The smallest file position among the ready nodes goes next: a heap of positions.
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        current = heapq.heappop(ready)
        order.append(current)
        for nxt in out[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) == len(ids):
        return [ids[i] for i in order], []
    placed = set(order)
    return [ids[i] for i in order], [ids[i] for i in range(len(ids)) if i not in placed]


def run_through_graph(graph: Graph, call: NodeCall) -> Walk:
    """Visit `graph` in flow order. `call(node, inputs, ports)` is a generator function: it
    gets the values on the node's connected input ports (port → value, only ports whose
    source produced one) and the node's input port names, and returns {output port:
    value}; it may yield a walk to have it run first (drive). Returns {(node id, port):
    value} for everything produced. Nodes stuck behind a cycle are not visited:
    validation names the loop."""
    order, _ = flow_order(graph)
    # (node, input port) → (source node, its output port): one tuple per edge, made once.
    source: dict[tuple[str, str], tuple[str, str]] = {}
    for e in graph.edges:
        source.setdefault((e.dst, e.dst_port), (e.src, e.src_port))
    produced: dict[tuple[str, str], Any] = {}
    nodes, ports_of = graph.nodes, graph.ports_of
    for node_id in order:
        node = nodes[node_id]
        ports = ports_of(node)[0]
        inputs = {}
        for port in ports:
            feeder = source.get((node_id, port))
            if feeder is not None and feeder in produced:
                inputs[port] = produced[feeder]
        outputs = yield from call(node, inputs, ports)
        if outputs:
            for port, value in outputs.items():
                produced[(node_id, port)] = value
    return produced


def block_ref(node: Node) -> str | None:
    """The block definition a Block node names, if it names one as text."""
    ref = node.params.get("block") if node.type == "Block" else None
    return ref if isinstance(ref, str) else None


@dataclass
class BlockStructure:
    """How the document's block definitions use each other, worked out once."""

    uses: dict[str, list[str]]                 # block → the defined blocks its nodes use
    cycles: list[list[str]] = field(default_factory=list)   # one example loop per knot
    cyclic: set[str] = field(default_factory=set)           # on a loop, or using one
    depth: dict[str, int] = field(default_factory=dict)     # levels of nesting, 1 = flat
    expanded: dict[str, int] = field(default_factory=dict)  # layers once fully inlined

    def buildable(self, name: str) -> bool:
        return (name not in self.cyclic and self.depth.get(name, 0) <= MAX_BLOCK_NESTING
                and self.expanded.get(name, 0) <= MAX_EXPANDED_NODES)


def block_structure(doc: Document) -> BlockStructure:
    if not doc.blocks:
        return BlockStructure({})
    import networkx as nx  # here, not at the top: a file without blocks never needs it
    uses = {name: _used_blocks(g, doc.blocks) for name, g in doc.blocks.items()}
    g = nx.DiGraph()
    g.add_nodes_from(uses)
    g.add_edges_from((a, b) for a, targets in uses.items() for b in targets)
    structure = BlockStructure(uses)
    position = {name: i for i, name in enumerate(doc.blocks)}
    knots = [sorted(c, key=position.get) for c in nx.strongly_connected_components(g)
             if len(c) > 1 or next(iter(c)) in uses[next(iter(c))]]
    for knot in sorted(knots, key=lambda k: position[k[0]]):
        structure.cycles.append(shortest_loop(knot[0], set(knot), uses))
    # A block that uses a knotted block cannot be built either.
    structure.cyclic = set().union(*knots) if knots else set()
    structure.cyclic |= _upstream(structure.cyclic, uses)
    for name in _leaves_first(uses, structure.cyclic):
        inner = doc.blocks[name]
        structure.depth[name] = 1 + max((structure.depth[b] for b in uses[name]), default=0)
        structure.expanded[name] = graph_expanded(inner, structure)
    return structure


def graph_expanded(graph: Graph, structure: BlockStructure) -> int:
    """Layers in `graph` once every block is inlined, capped just past the limit (a
    doubling at every level would otherwise make numbers with hundreds of digits)."""
    total = 0
    for node in graph:
        ref = block_ref(node)
        total += structure.expanded.get(ref, 1) * _repeat(node) if ref in structure.uses else 1
        if total > MAX_EXPANDED_NODES:
            return MAX_EXPANDED_NODES + 1
    return total


def _repeat(node: Node) -> int:
    value = node.params.get("repeat", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def deepest_path(start: str, structure: BlockStructure) -> list[str]:
    """The chain of blocks that makes `start` as deep as it is (for messages)."""
    path = [start]
    while structure.uses.get(path[-1]):
        path.append(max(structure.uses[path[-1]], key=lambda b: structure.depth.get(b, 0)))
    return path


def _used_blocks(graph: Graph, library: dict[str, Graph]) -> list[str]:
    seen: dict[str, None] = {}
    for node in graph:
        ref = block_ref(node)
        if ref is not None and ref in library:
            seen[ref] = None
    return list(seen)


def shortest_loop(start: str, members: set[str], succ: dict[str, list[str]]) -> list[str]:
    """A shortest loop through `start` that stays among `members`, found breadth first
    (a depth-first search on a 20,000-node ring costs a Python frame per node)."""
    parent: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        current = todo.popleft()
        for nxt in succ[current]:
            if nxt == start:
                loop = [current]
                while parent[loop[-1]] is not None:
                    loop.append(parent[loop[-1]])
                return loop[::-1]
            if nxt in members and nxt not in parent:
                parent[nxt] = current
                todo.append(nxt)
    return [start]


def _upstream(names: set[str], uses: dict[str, list[str]]) -> set[str]:
    used_by: dict[str, list[str]] = {}
    for a, targets in uses.items():
        for b in targets:
            used_by.setdefault(b, []).append(a)
    found, todo = set(names), list(names)
    while todo:
        for user in used_by.get(todo.pop(), ()):
            if user not in found:
                found.add(user)
                todo.append(user)
    return found - names


def _leaves_first(uses: dict[str, list[str]], skip: Iterable[str]) -> list[str]:
    """Blocks ordered so that each comes after every block it uses."""
    skip = set(skip)
    pending = {name: sum(1 for b in targets if b not in skip)
               for name, targets in uses.items() if name not in skip}
    used_by: dict[str, list[str]] = {}
    for a in pending:
        for b in uses[a]:
            used_by.setdefault(b, []).append(a)
    ready = [name for name, n in pending.items() if n == 0]
    order = []
    while ready:
        current = ready.pop()
        order.append(current)
        for user in used_by.get(current, ()):
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    return order
