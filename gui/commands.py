"""Undo commands. Each calls model methods only; views update from the model's events."""
from __future__ import annotations

import copy
from typing import Any, Callable

from PySide6.QtGui import QUndoCommand

from graph import snapshot
from graph.document import Document
from graph.model import Edge, Graph, Node
from graph.spec import ParamSpec
from gui.block_param_edits import plan as plan_block_params

# merge ids: successive moves / edits of one field become one step
MOVE_ID, PARAM_ID, TRAINING_ID, BLOCK_PARAMS_ID = 1, 2, 3, 4


class AddItems(QUndoCommand):
    """Insert nodes and edges (a new node, a paste, a duplicate)."""

    def __init__(self, graph: Graph, nodes: list[Node], edges: list[Edge], text: str) -> None:
        super().__init__(text)
        self.graph, self.nodes, self.edges = graph, nodes, edges

    def redo(self) -> None:
        for node in self.nodes:
            self.graph.insert_node(copy.deepcopy(node))
        for edge in self.edges:
            self.graph.insert_edge(edge)

    def undo(self) -> None:
        for node in self.nodes:
            self.graph.remove_node(node.id)


class RemoveItems(QUndoCommand):
    """Delete nodes (with every edge touching them) and single edges."""

    def __init__(self, graph: Graph, node_ids: list[str], edges: list[Edge], text: str = "Delete") -> None:
        super().__init__(text)
        self.graph = graph
        self.nodes = [copy.deepcopy(graph.nodes[n]) for n in graph.nodes if n in set(node_ids)]
        touching = {e for e in graph.edges if e.src in node_ids or e.dst in node_ids}
        # Keep the edges in model order so undo restores the exact list.
        self.edges = [e for e in graph.edges if e in touching or e in set(edges)]
        # History says what went, as the canvas names it: "Delete conv2 and 2 links".
        self.setText(f"{text} {_what(self.nodes, len(self.edges))}".rstrip())
        self.order = list(graph.nodes)
        self.edge_order = list(graph.edges)

    def redo(self) -> None:
        for edge in self.edges:
            self.graph.disconnect(edge)
        for node in self.nodes:
            self.graph.remove_node(node.id)

    def undo(self) -> None:
        for node in self.nodes:
            self.graph.insert_node(copy.deepcopy(node))
        for edge in self.edges:
            self.graph.insert_edge(edge)
        self.graph.reorder(self.order, self.edge_order)


def _what(nodes: list, links: int) -> str:
    """'conv2 and 2 links', 'ReLU, conv2 and 3 links', 'conv1, 4 more nodes and 6 links'."""
    parts = [n.title for n in nodes]
    if len(parts) > 2:
        parts = [parts[0], f"{len(parts) - 1} more nodes"]
    if links:
        parts.append(f"{links} link" + ("s" if links > 1 else ""))
    return " and ".join(parts) if len(parts) < 3 else f"{', '.join(parts[:-1])} and {parts[-1]}"


class Connect(QUndoCommand):
    def __init__(self, graph: Graph, edge: Edge) -> None:
        names = (graph.nodes[edge.src].title if edge.src in graph.nodes else edge.src,
                 graph.nodes[edge.dst].title if edge.dst in graph.nodes else edge.dst)
        super().__init__(f"Connect {names[0]} → {names[1]}")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.connect(self.edge.src, self.edge.src_port, self.edge.dst, self.edge.dst_port)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)


class SetParams(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, changes: dict[str, Any]) -> None:
        names = ", ".join(changes)
        super().__init__(f"Set {names} of {graph.nodes[node_id].title}")
        self.graph, self.node_id = graph, node_id
        self.after = copy.deepcopy(changes)
        self.before = {k: copy.deepcopy(graph.nodes[node_id].params.get(k)) for k in changes}

    def id(self) -> int:
        return PARAM_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        # Typing 1, 12, 128 into one field is one step, not three.
        if type(other) is not type(self) or other.graph is not self.graph or \
                other.node_id != self.node_id or set(other.after) != set(self.after):
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.graph.set_params(self.node_id, **self.after)

    def undo(self) -> None:
        self.graph.set_params(self.node_id, **self.before)


class LinkParam(SetParams):
    """Make an inner node's parameter use a block parameter ("$channels"), or put a value
    back: its own step, never merged with typing into the field before or after."""

    def __init__(self, graph: Graph, node_id: str, name: str, value: Any, text: str) -> None:
        super().__init__(graph, node_id, {name: value})
        self.setText(text)

    def id(self) -> int:
        return -1


class SetBlockParams(QUndoCommand):
    """Declare a block definition's parameters (Graph.set_block_params). A rename
    (`renamed`: old → new) rewrites "$old" in the inner nodes and moves the Block nodes'
    values to the new name; a removed parameter's default goes back where inner nodes used
    it and the Block nodes' values for it go: all in this one step.

    Successive edits of one field (`merge_key`, e.g. "channels.default" while a spin box
    steps) merge into one step when neither touches other nodes."""

    def __init__(self, doc: Document, block: str, params: tuple[ParamSpec, ...], text: str,
                 renamed: dict[str, str] | None = None, merge_key: str | None = None) -> None:
        super().__init__(text)
        self.graph = doc.blocks[block]
        self.before, self.after = self.graph.block_params, tuple(params)
        self.plan = plan_block_params(doc, block, self.after, renamed)
        self.merge_key = merge_key

    def id(self) -> int:
        return BLOCK_PARAMS_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetBlockParams) or other.graph is not self.graph or \
                self.merge_key is None or other.merge_key != self.merge_key or \
                not (self.plan.empty and other.plan.empty):
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.graph.set_block_params(self.after)
        for node_id, _, after in self.plan.inner:
            self.graph.set_params(node_id, **after)
        for graph, _, after in self.plan.uses:
            _replace_node(graph, after)

    def undo(self) -> None:
        for graph, before, _ in reversed(self.plan.uses):
            _replace_node(graph, before)
        for node_id, before, _ in reversed(self.plan.inner):
            self.graph.set_params(node_id, **before)
        self.graph.set_block_params(self.before)


def _replace_node(graph: Graph, node: Node) -> None:
    """Put `node` in place of the node with its id, edges and order kept: the way to drop
    a parameter key, which set_params cannot."""
    order, edge_order = list(graph.nodes), list(graph.edges)
    touching = [e for e in edge_order if node.id in (e.src, e.dst)]
    graph.remove_node(node.id)
    graph.insert_node(copy.deepcopy(node))
    for edge in touching:
        graph.insert_edge(edge)
    graph.reorder(order, edge_order)


class SetLabel(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, label: str) -> None:
        super().__init__(f"Rename {graph.nodes[node_id].title}")
        self.graph, self.node_id, self.after = graph, node_id, label
        self.before = graph.nodes[node_id].label

    def redo(self) -> None:
        self.graph.set_label(self.node_id, self.after)

    def undo(self) -> None:
        self.graph.set_label(self.node_id, self.before)


class MoveNodes(QUndoCommand):
    def __init__(self, graph: Graph, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]],
                 text: str = "Move") -> None:
        super().__init__(text if len(moves) != 1 else f"Move {graph.nodes[next(iter(moves))].title}")
        self.graph, self.moves = graph, dict(moves)

    def id(self) -> int:
        return MOVE_ID if self.text().startswith("Move") else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveNodes) or set(other.moves) != set(self.moves):
            return False
        self.moves = {k: (self.moves[k][0], other.moves[k][1]) for k in self.moves}
        return True

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.move_node(node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.graph.move_node(node_id, old)


class DocumentEdit(QUndoCommand):
    """An edit that reshapes the document (group into a block, expand one). It is applied
    when constructed, so a refusal raises before anything reaches the undo stack; undo and
    redo then restore whole-document snapshots through model methods."""

    def __init__(self, doc: Document, apply: Callable[[], Any], text: str,
                 on_new_graph: Callable[[Graph], None]) -> None:
        super().__init__(text)
        self.doc, self.on_new_graph = doc, on_new_graph
        self.before = snapshot.take(doc)
        known = set(doc.blocks)
        self.result = apply()
        for name, graph in doc.blocks.items():
            if name not in known:
                on_new_graph(graph)
        self.after = snapshot.take(doc)
        self._applied = True

    def redo(self) -> None:
        if self._applied:  # the first redo is the push itself: already done
            self._applied = False
            return
        self._restore(self.after)

    def undo(self) -> None:
        self._restore(self.before)

    def _restore(self, state: dict) -> None:
        for graph in snapshot.restore(self.doc, state):
            self.on_new_graph(graph)


class SetTraining(QUndoCommand):
    """A change to the document's training settings (one key of the block, possibly nested
    like optimizer.lr). Undoable and marks the file modified like any other edit; the
    settings panel reloads through `on_change`."""

    def __init__(self, doc: Document, key: str, value: Any, on_change: Callable[[], None]) -> None:
        super().__init__(f"Set training {key}")
        self.doc, self.key, self.on_change = doc, key, on_change
        self.before = copy.deepcopy(doc.training)
        self.after = copy.deepcopy(doc.training)
        _set_dotted(self.after, key, copy.deepcopy(value))

    def id(self) -> int:
        return TRAINING_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetTraining) or other.key != self.key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self._set(self.after)

    def undo(self) -> None:
        self._set(self.before)

    def _set(self, block: dict) -> None:
        # In place: whoever holds the block (a panel, a test) keeps seeing the current one.
        self.doc.training.clear()
        self.doc.training.update(copy.deepcopy(block))
        self.on_change()


def _set_dotted(block: dict, key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        if not isinstance(block.get(part), dict):
            block[part] = {} if part not in block or block[part] is None else \
                ({"name": block[part]} if isinstance(block[part], str) else {})
        block = block[part]
    block[last] = value
