"""Automatic layout: place a graph's nodes left to right in layers (a Sugiyama-style layout).

1. Loops (a file may hold one) are broken by turning round the edges a depth-first walk
   from the Inputs finds going backwards; the layout then treats them as forward edges.
2. Layers: longest path from the Inputs (a node sits one layer right of its furthest-right
   predecessor). Nodes no Input reaches (a stray branch) sit just left of the earliest
   node they feed; nodes with no edges at all go in the first layer.
3. An edge spanning several layers gets a placeholder in every layer it passes, so that it
   has a lane of its own and takes part in the ordering.
4. Order within each layer: barycenter heuristic, sweeping right then left a few times and
   keeping the order with the fewest crossings.
5. Coordinates: x = 220 per layer, y = 120 per slot, every layer centred on y = 0.

Pure Python (networkx helps with the loops); deterministic: the same graph gives the same
positions. `crossings` counts how many pairs of edges, drawn straight between the returned
positions, cross or overlap (the tests use it to judge a layout).
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Hashable

import networkx as nx

from graph.model import Graph

LAYER_SPACING = 280.0   # x distance between layers
NODE_SPACING = 120.0    # y distance between neighbours in a layer
MAX_SWEEPS = 8          # barycenter passes (each pass: one sweep right, one sweep left)
_WORK_BUDGET = 400_000  # bounds the ordering work on huge graphs (fewer passes, never none)

Position = tuple[float, float]


def arrange(graph: Graph) -> dict[str, Position]:
    """New (x, y) for every node of `graph`, in the coordinates of `Node.position`."""
    node_ids = list(graph.nodes)
    if not node_ids:
        return {}
    dag = _acyclic(graph, node_ids)
    layer = _layers(graph, dag, node_ids)
    layers, succ, pred = _with_placeholders(dag, layer, node_ids)
    layers = _order(layers, succ, pred)
    positions: dict[str, Position] = {}
    for index, members in enumerate(layers):
        top = -(len(members) - 1) / 2.0
        for slot, item in enumerate(members):
            if not isinstance(item, _Placeholder):
                positions[item] = (index * LAYER_SPACING, (top + slot) * NODE_SPACING)
    return positions


def crossings(graph: Graph, positions: dict[str, Position]) -> int:
    """How many pairs of edges cross (or run along each other) when each edge is drawn as a
    straight line from its source's position to its destination's. Edges that share a node
    never count. Edges of a node missing from `positions` are ignored."""
    segments = []
    seen = set()
    for e in graph.edges:
        if e.src == e.dst or e.src not in positions or e.dst not in positions:
            continue
        key = (e.src, e.dst)
        if key in seen:      # two ports of one node fed by one source: one line on screen
            continue
        seen.add(key)
        (x1, y1), (x2, y2) = positions[e.src], positions[e.dst]
        segments.append((e.src, e.dst, (float(x1), float(y1)), (float(x2), float(y2)),
                         min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)))
    count = 0
    for i, (a, b, p1, p2, ax0, ax1, ay0, ay1) in enumerate(segments):
        for c, d, q1, q2, bx0, bx1, by0, by1 in segments[i + 1:]:
            if a in (c, d) or b in (c, d):
                continue
            if ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0:
                continue
            if _segments_meet(p1, p2, q1, q2):
                count += 1
    return count


# --- 1. loops ----------------------------------------------------------------------------
def _acyclic(graph: Graph, node_ids: list[str]) -> nx.DiGraph:
    """The graph's edges as a DAG: self-loops dropped, edges that close a loop reversed."""
    dag = nx.DiGraph()
    dag.add_nodes_from(node_ids)
    dag.add_edges_from((e.src, e.dst) for e in graph.edges
                       if e.src != e.dst and e.src in graph.nodes and e.dst in graph.nodes)
    if nx.is_directed_acyclic_graph(dag):
        return dag
    # Walk depth first from the Inputs, then from other sources, then from whatever is left
    # (a loop nobody feeds); an edge to a node still on the walk's path closes a loop.
    inputs = [n for n in node_ids if graph.nodes[n].type == "Input"]
    sources = [n for n in node_ids if dag.in_degree(n) == 0 and n not in inputs]
    starts = inputs + sources + node_ids
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    back: list[tuple[str, str]] = []
    for start in starts:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(list(dag.successors(start))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.append((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(list(dag.successors(child)))))
    for u, v in back:
        dag.remove_edge(u, v)
        if not dag.has_edge(v, u):
            dag.add_edge(v, u)
    return dag


# --- 2. layers ---------------------------------------------------------------------------
def _layers(graph: Graph, dag: nx.DiGraph, node_ids: list[str]) -> dict[str, int]:
    rank = {n: i for i, n in enumerate(node_ids)}
    order = list(nx.lexicographical_topological_sort(dag, key=rank.__getitem__))
    layer: dict[str, int] = {}
    for n in order:
        layer[n] = max((layer[p] + 1 for p in dag.predecessors(n)), default=0)
    inputs = [n for n in node_ids if graph.nodes[n].type == "Input"]
    if inputs:
        reached = set(inputs)
        for n in inputs:
            reached |= nx.descendants(dag, n)
        # A branch no Input feeds sits just left of where it joins, not at the far left.
        for n in reversed(order):
            if n not in reached and dag.out_degree(n):
                layer[n] = min(layer[s] for s in dag.successors(n)) - 1
        low = min(layer.values())
        if low < 0:
            layer = {n: k - low for n, k in layer.items()}
    return layer


# --- 3. placeholders for long edges ------------------------------------------------------
class _Placeholder:
    """A point a long edge passes through in one layer."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"_Placeholder{self.key}"


def _with_placeholders(dag: nx.DiGraph, layer: dict[str, int], node_ids: list[str]):
    count = max(layer.values()) + 1
    layers: list[list[Hashable]] = [[] for _ in range(count)]
    for n in node_ids:
        layers[layer[n]].append(n)
    succ: dict[Hashable, list[Hashable]] = {n: [] for n in node_ids}
    pred: dict[Hashable, list[Hashable]] = {n: [] for n in node_ids}
    rank = {n: i for i, n in enumerate(node_ids)}
    edges = sorted(dag.edges, key=lambda e: (rank[e[0]], rank[e[1]]))
    for u, v in edges:
        previous = u
        for k in range(layer[u] + 1, layer[v]):
            point = _Placeholder((u, v, k))
            layers[k].append(point)
            succ[point], pred[point] = [], []
            succ[previous].append(point)
            pred[point].append(previous)
            previous = point
        succ[previous].append(v)
        pred[v].append(previous)
    return layers, succ, pred


# --- 4. order within layers --------------------------------------------------------------
def _order(layers, succ, pred):
    if len(layers) < 2:
        return layers
    # Start from a walk of the first layer outwards: each layer sorted by where its
    # predecessors sit, which already untangles most networks.
    layers = [list(layers[0])] + [list(members) for members in layers[1:]]
    for k in range(1, len(layers)):
        layers[k] = _by_barycenter(layers[k], layers[k - 1], pred)
    best, best_count = [list(m) for m in layers], _total_crossings(layers, succ)
    size = sum(len(m) for m in layers) + sum(len(s) for s in succ.values())
    passes = max(1, min(MAX_SWEEPS, _WORK_BUDGET // max(1, 4 * size)))
    previous = [list(m) for m in layers]
    for _ in range(passes):
        if best_count == 0:
            break
        for k in range(len(layers) - 2, -1, -1):          # right to left: look at successors
            layers[k] = _by_barycenter(layers[k], layers[k + 1], succ)
        for k in range(1, len(layers)):                   # left to right: look at predecessors
            layers[k] = _by_barycenter(layers[k], layers[k - 1], pred)
        count = _total_crossings(layers, succ)
        if count < best_count:
            best, best_count = [list(m) for m in layers], count
        if layers == previous:
            break   # settled: more sweeps would give the same order
        previous = [list(m) for m in layers]
    return best


def _by_barycenter(members: list, fixed: list, neighbours: dict) -> list:
    """Sort `members` by the mean slot of their neighbours in the `fixed` layer; a member
    with none keeps its current slot (stable, so ties keep the previous order)."""
    where = {item: i for i, item in enumerate(fixed)}
    keys = []
    for i, item in enumerate(members):
        slots = [where[n] for n in neighbours[item] if n in where]
        # Scale both to the same range so members without neighbours hold their place.
        if slots:
            key = sum(slots) / len(slots) / max(1, len(fixed) - 1)
        else:
            key = i / max(1, len(members) - 1)
        keys.append((key, i))
    return [members[i] for _, i in sorted(keys)]


def _total_crossings(layers, succ) -> int:
    return sum(_bilayer_crossings(layers[k], layers[k + 1], succ)
               for k in range(len(layers) - 1))


def _bilayer_crossings(upper: list, lower: list, succ: dict) -> int:
    """Crossings between two neighbouring layers: inversions among the edges' lower ends
    when the edges are sorted by upper end (Barth, Jünger and Mutzel's counting)."""
    where = {item: i for i, item in enumerate(lower)}
    ends = []
    for item in upper:
        ends.extend(sorted(where[s] for s in succ[item] if s in where))
    # Count inversions with a sorted list of ends seen so far (fast enough, deterministic).
    seen: list[int] = []
    inversions = 0
    for e in ends:
        position = bisect_left(seen, e + 1)
        inversions += len(seen) - position
        seen.insert(position, e)
    return inversions


# --- geometry ----------------------------------------------------------------------------
def _orient(p: Position, q: Position, r: Position) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _on_segment(p: Position, q: Position, r: Position) -> bool:
    """r lies on the segment p–q (given the three are collinear)."""
    return (min(p[0], q[0]) <= r[0] <= max(p[0], q[0])
            and min(p[1], q[1]) <= r[1] <= max(p[1], q[1]))


def _segments_meet(p1: Position, p2: Position, q1: Position, q2: Position) -> bool:
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    # Touching or running along each other: drawn over one another, which reads as badly.
    return ((d1 == 0 and _on_segment(q1, q2, p1)) or (d2 == 0 and _on_segment(q1, q2, p2))
            or (d3 == 0 and _on_segment(p1, p2, q1)) or (d4 == 0 and _on_segment(p1, p2, q2)))
