"""Composite blocks: turn a selection into a named block used as one node, and back.

Every change goes through Graph and Document methods, so views hear the usual events.
"""
from __future__ import annotations

import copy

from graph import block_params
from graph.document import Document
from graph.model import Edge, Graph, GraphRuleError, Node


def group_into_block(doc: Document, graph: Graph, node_ids: list[str], name: str,
                     shapes: dict[tuple[str, str], list[int]] | None = None) -> Node:
    """Move `node_ids` out of `graph` into a new block definition `name` and put one Block
    node in their place, wired like the nodes were. Each distinct value flowing in becomes
    a block Input, each distinct value flowing out a block Output. `shapes` (src, port) →
    shape lets the block's Input nodes carry the shapes they receive (for editing inside)."""
    selected = set(node_ids)
    _check_groupable(doc, graph, selected, name)
    incoming = [e for e in graph.edges if e.dst in selected and e.src not in selected]
    outgoing = [e for e in graph.edges if e.src in selected and e.dst not in selected]
    inside = [e for e in graph.edges if e.src in selected and e.dst in selected]

    block = Graph()
    # The block's Inputs and Outputs: x, x2, x3… and y, y2, y3…, in edge order.
    source_name = _port_names("x", [(e.src, e.src_port) for e in incoming])
    result_name = _port_names("y", [(e.src, e.src_port) for e in outgoing])

    xs = [graph.nodes[n].position[0] for n in selected]
    ys = [graph.nodes[n].position[1] for n in selected]
    for node_id in graph.nodes:
        if node_id in selected:
            block.insert_node(copy.deepcopy(graph.nodes[node_id]))
    for source, port_name in source_name.items():
        params = {"name": port_name}
        if shapes and source in shapes:
            params["shape"] = list(shapes[source])
        node = block.add_node("Input", params, position=(min(xs) - 220, _mean(ys)))
        for e in incoming:
            if (e.src, e.src_port) == source:
                block.insert_edge(Edge(node.id, "out", e.dst, e.dst_port))
    for e in inside:
        block.insert_edge(e)
    for result, port_name in result_name.items():
        node = block.add_node("Output", {"name": port_name}, position=(max(xs) + 220, _mean(ys)))
        block.insert_edge(Edge(result[0], result[1], node.id, "x"))
    doc.add_block(name, block)

    for node_id in list(graph.nodes):
        if node_id in selected:
            graph.remove_node(node_id)
    block_node = graph.add_node("Block", {"block": name}, position=(_mean(xs), _mean(ys)))
    for source, port_name in source_name.items():
        graph.connect(source[0], source[1], block_node.id, port_name)
    for e in outgoing:
        graph.connect(block_node.id, result_name[(e.src, e.src_port)], e.dst, e.dst_port)
    return block_node


def expand_block(doc: Document, graph: Graph, block_node_id: str) -> list[str]:
    """Replace a Block node by a copy of its inside (the definition stays in the library).
    Returns the ids of the nodes added to `graph`."""
    block_node = graph.node(block_node_id)
    if block_node.type != "Block":
        raise GraphRuleError(f"{block_node.title} is not a block")
    definition = doc.blocks.get(block_node.params.get("block"))
    if definition is None:
        raise GraphRuleError(f"block {block_node.params.get('block')!r} is not defined")
    repeat = block_params.repeat_of(block_node)
    if repeat > 1:
        return _expand_copies(doc, graph, block_node, repeat)
    # The inside as this node's values make it: "$channels" becomes the number it stands for.
    inner = block_params.bind_node(block_node, definition)
    feeds = {e.dst_port: (e.src, e.src_port) for e in graph.edges_into(block_node_id)}
    uses = [(e.src_port, e.dst, e.dst_port) for e in graph.edges_out_of(block_node_id)]
    graph.remove_node(block_node_id)

    new_id: dict[str, str] = {}
    for node in inner:
        if node.type in ("Input", "Output"):
            continue
        wanted = node.id if node.id not in graph.nodes else f"{block_node_id}_{node.id}"
        new_id[node.id] = wanted if wanted not in graph.nodes else graph.new_id()
        clone = copy.deepcopy(node)
        clone.id = new_id[node.id]
        graph.insert_node(clone)
    # Where each inner value comes from, seen from the outer graph.
    value: dict[tuple[str, str], tuple[str, str] | None] = {}
    for node in inner:
        if node.type == "Input":
            value[(node.id, "out")] = feeds.get(node.params.get("name"))
    for node_id, port_id in new_id.items():
        for port in inner.ports_of(inner.nodes[node_id])[1]:
            value[(node_id, port)] = (port_id, port)
    for e in inner.edges:
        src = value.get((e.src, e.src_port))
        if e.dst in new_id and src is not None:
            graph.connect(src[0], src[1], new_id[e.dst], e.dst_port)
    out_source = {n.params.get("name"): value.get((e.src, e.src_port))
                  for n in inner if n.type == "Output" for e in inner.edges_into(n.id, "x")}
    for port, dst, dst_port in uses:
        src = out_source.get(port)
        if src is not None:
            graph.connect(src[0], src[1], dst, dst_port)
    return list(new_id.values())


def _expand_copies(doc: Document, graph: Graph, block_node: Node, repeat: int) -> list[str]:
    """A repeated Block node becomes its chain of copies (one Block node each), and each
    copy is expanded in turn."""
    ins, outs = doc.blocks[block_node.params["block"]].interface()
    if len(ins) != 1 or len(outs) != 1:
        raise GraphRuleError(f"{block_node.title} repeats a block with {len(ins)} inputs and "
                             f"{len(outs)} outputs; set repeat to 1 first")
    feeds = [(e.src, e.src_port) for e in graph.edges_into(block_node.id)]
    uses = [(e.dst, e.dst_port) for e in graph.edges_out_of(block_node.id)]
    params = {**block_node.params, "repeat": 1}
    x, y = block_node.position
    graph.remove_node(block_node.id)
    copies = [graph.add_node("Block", params, block_node.label, (x + 240 * i, y))
              for i in range(repeat)]
    for src, src_port in feeds:
        graph.connect(src, src_port, copies[0].id, ins[0])
    for a, b in zip(copies, copies[1:]):
        graph.connect(a.id, outs[0], b.id, ins[0])
    for dst, dst_port in uses:
        graph.connect(copies[-1].id, outs[0], dst, dst_port)
    added: list[str] = []
    for copy_node in copies:
        added += expand_block(doc, graph, copy_node.id)
    return added


def _check_groupable(doc: Document, graph: Graph, selected: set[str], name: str) -> None:
    if not selected:
        raise GraphRuleError("select the nodes to group first")
    missing = [n for n in selected if n not in graph.nodes]
    if missing:
        raise GraphRuleError(f"there is no node {missing[0]!r}")
    if not name.strip():
        raise GraphRuleError("a block needs a name")
    if name in doc.blocks:
        raise GraphRuleError(f"a block named {name!r} exists already")
    io = [n for n in selected if graph.nodes[n].type in ("Input", "Output")]
    if io:
        raise GraphRuleError(f"{graph.nodes[io[0]].title} cannot go inside a block; "
                             "a block's own inputs and outputs are made for you")
    # A path that leaves the selection and comes back would become a loop through the block.
    after = dict.fromkeys(e.dst for e in graph.edges if e.src in selected and e.dst not in selected)
    successors: dict[str, list[str]] = {}
    for e in graph.edges:
        successors.setdefault(e.src, []).append(e.dst)
    for start in after:   # edge order: the message names the same node every time
        seen, todo = {start}, [start]
        while todo:
            for nxt in successors.get(todo.pop(), ()):
                if nxt in selected:
                    # Named as the canvas shows it (its label, else its type), not by id.
                    raise GraphRuleError(f"{graph.nodes[start].title} lies between selected "
                                         "nodes; select it too, or fewer nodes")
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)


def _port_names(prefix: str, ports) -> dict[tuple[str, str], str]:
    distinct = dict.fromkeys(ports)
    return {port: prefix if i == 0 else f"{prefix}{i + 1}" for i, port in enumerate(distinct)}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
