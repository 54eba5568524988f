"""Where new nodes go: never exactly on top of a node already there (a second paste or
Ctrl+D of the same node would otherwise hide the first copy), and with a label of their
own when the original had one (two nodes reading "conv1" cannot be told apart).

Plain functions of the graph model: the caller wraps the result in an undo command.
"""
from __future__ import annotations

import re
from dataclasses import replace

from graph.model import Graph, Node

# Two nodes closer than this on both axes cover each other's title: "on top".
NEAR = 12.0
NUDGE = (40.0, 40.0)
MAX_NUDGES = 1000  # a step sequence this long always reaches free space; a guard, not a limit

_SUFFIX = re.compile(r"^(.*?)_(\d+)$")


def _occupied(graph: Graph, exclude: set[str] = frozenset()) -> list[tuple[float, float]]:
    return [tuple(n.position) for n in graph if n.id not in exclude]


def _hits(spots: list[tuple[float, float]], taken: list[tuple[float, float]]) -> bool:
    return any(abs(x - tx) < NEAR and abs(y - ty) < NEAR for x, y in spots for tx, ty in taken)


def free_offset(graph: Graph, positions: list[tuple[float, float]],
                step: tuple[float, float] = NUDGE) -> tuple[float, float]:
    """How far to move a group of new nodes at `positions` (as one piece, so their layout
    is kept) so that none of them lands on a node of `graph`: (0, 0) when none would."""
    taken = _occupied(graph)
    dx = dy = 0.0
    for _ in range(MAX_NUDGES):
        if not _hits([(x + dx, y + dy) for x, y in positions], taken):
            break
        dx, dy = dx + step[0], dy + step[1]
    return dx, dy


def free_position(graph: Graph, position: tuple[float, float]) -> tuple[float, float]:
    """`position`, nudged down and right until no node of `graph` sits there."""
    dx, dy = free_offset(graph, [position])
    return position[0] + dx, position[1] + dy


def unique_label(label: str, taken: set[str]) -> str:
    """`label` if no node uses it, else the next free `base_k` (conv1 → conv1_2 → conv1_3)."""
    if label not in taken:
        return label
    match = _SUFFIX.match(label)
    base, k = (match.group(1), int(match.group(2))) if match else (label, 1)
    k = max(k, 1) + 1
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"


def place_copies(graph: Graph, nodes: list[Node]) -> list[Node]:
    """Pasted or duplicated `nodes` moved clear of `graph`'s nodes, each label made unique
    among the graph's labels and the other copies' (an empty label stays empty)."""
    dx, dy = free_offset(graph, [tuple(n.position) for n in nodes])
    taken = {n.label for n in graph if n.label}
    placed = []
    for node in nodes:
        label = unique_label(node.label, taken) if node.label else ""
        if label:
            taken.add(label)
        placed.append(replace(node, label=label,
                              position=(node.position[0] + dx, node.position[1] + dy)))
    return placed
