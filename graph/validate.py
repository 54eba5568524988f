"""Structural validation with networkx: everything that can be known without torch.

Each problem becomes a Diagnostic on a node (and port) with a message and a fix hint.
Shapes are checked afterwards by runtime/shapes.py, on graphs that pass here.
"""
from __future__ import annotations

from graph import block_params, walk
from graph.catalog import get_spec
from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.model import Graph, Node
from graph.text import as_name, shown

_IO_TYPES = ("Input", "Output")


def validate(doc: Document) -> list[Diagnostic]:
    """Every structural problem in the main graph and in each block definition."""
    found = validate_graph(doc.graph, None)
    for name, block in doc.blocks.items():
        # A definition is checked with its parameters at their defaults; each Block node's
        # own values are checked on that node (_check_block_node).
        found += _undeclared_references(block, name)
        found += [Diagnostic("loss_term_in_block", f"{n.title} {shown(n.params.get('name'))} is "
                             "marked as a loss term, but inside a block it is only the "
                             "block's output", n.id, None, "warning",
                             "mark an Output of the main graph instead", name)
                  for n in block if n.type == "Output" and n.params.get("loss_term") is True]
        found += validate_graph(block_params.bound_with_defaults(block), name)
    if doc.blocks:
        found += _block_problems(doc, walk.block_structure(doc))
    return found


def validate_graph(graph: Graph, block: str | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []

    def add(code: str, message: str, node: Node | None = None, port: str | None = None,
            hint: str = "", severity: str = "error") -> None:
        out.append(Diagnostic(code, message, node.id if node else None, port, severity, hint, block))

    where = f"block {shown(block)}" if block else "the graph"
    index = _Index(graph)
    for kind, hint in (("Input", "add an Input node and set its shape"),
                       ("Output", "add an Output node after the last layer")):
        if not index.of_type(kind):
            add(f"missing_{kind.lower()}", f"{where} has no {kind} node", hint=hint)
    clean: set[tuple[str, str]] = set()  # (type, parameters) already found faultless
    for node in graph:
        _check_params(node, graph, add, clean)
    _check_io_names(index, add)
    _check_ports(graph, index, add)
    if not _check_cycles(graph, index, add):
        _check_reachability(graph, index, add)
    return out


class _Index:
    """Lookups built in one pass per validate_graph call, so that no check scans every
    edge per node (that made validation O(N·E)) and none walks the nodes again."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ports: dict[str, tuple[list[str], list[str]]] = {}
        self.succ: dict[str, list[str]] = {}
        self.pred: dict[str, list[str]] = {}
        self.inputs: list[Node] = []
        self.outputs: list[Node] = []
        ports_of = graph.ports_of
        for node_id, node in graph.nodes.items():
            self.ports[node_id] = ports_of(node)
            self.succ[node_id] = []
            self.pred[node_id] = []
            if node.type == "Input":
                self.inputs.append(node)
            elif node.type == "Output":
                self.outputs.append(node)
        for e in graph.edges:
            self.succ[e.src].append(e.dst)
            self.pred[e.dst].append(e.src)

    def of_type(self, kind: str) -> list[Node]:
        return self.inputs if kind == "Input" else self.outputs


_NOTHING_DECLARED: frozenset[str] = frozenset()


def _check_params(node: Node, graph: Graph, add, clean: set[tuple[str, str]]) -> None:
    spec = get_spec(node.type)
    if spec is None:
        add("unknown_type", f"unknown node type {shown(node.type)}", node)
        return
    declared = _NOTHING_DECLARED
    if node.type == "Block":
        ref = node.params.get("block")
        definition = (graph.library or {}).get(ref) if isinstance(ref, str) else None
        if isinstance(ref, str) and definition is None:
            add("unknown_block", f"{node.title} uses block {shown(ref)}, which is not defined", node,
                hint="pick one of the document's blocks")
        if definition is not None:
            declared = frozenset(block_params.declared(definition))
            _check_block_node(node, ref, definition, add)
    # Real graphs repeat their layers: a set of parameters found faultless once is not
    # checked again (a third of the time of validating 100,000 nodes).
    try:
        key = None if declared else (node.type, repr(sorted(node.params.items())))
    except RecursionError:
        key = None
    if key in clean:
        return
    found = False
    for p, problem in spec.problems(node.params):
        found = True
        if p is None:
            add("param_rule", f"{node.title}: {problem}", node, hint=spec.shape_hint)
            continue
        code = "param_range" if "at least" in problem or "at most" in problem else "param_type"
        add(code, f"{node.title}: {problem}", node, hint=p.doc)
    known = spec.param_names() | declared if declared else spec.param_names()
    for name in node.params:
        if name not in known:
            found = True
            add("unknown_param", f"{node.title} has no parameter {shown(name)}; it is ignored", node,
                hint="remove it or check its spelling", severity="warning")
    if not found and key is not None:
        clean.add(key)


def _check_block_node(node: Node, name: str, definition: Graph, add) -> None:
    """The values a Block node gives its definition's parameters, the nodes inside as
    those values make them, and whether its copies can be chained."""
    bad = False
    for p in definition.block_params:
        problem = p.check(node.params.get(p.name, p.default))[1]
        if problem:
            bad = True
            code = "param_range" if "at least" in problem or "at most" in problem else "param_type"
            add(code, f"{node.title}: {problem}", node, hint=p.doc or f"a parameter of block {shown(name)}")
    if not bad and block_params.uses_parameters(definition):
        bound = block_params.bind_node(node, definition)
        for inner in bound:
            used = block_params.references_in(definition.nodes[inner.id].params)
            spec = get_spec(inner.type)
            if not used or spec is None:
                continue
            for p, problem in spec.problems(inner.params):
                if p is None or p.name in used:
                    values = ", ".join(f"{r}={node.params.get(r)!r:.20}" for r in sorted(set(used.values())))
                    add("block_value", f"{node.title}: inside block {shown(name)}, "
                        f"{inner.title}: {problem} (from {values})", node,
                        hint="change this Block node's values")
                    break
    repeat = node.params.get("repeat", 1)
    if isinstance(repeat, int) and not isinstance(repeat, bool) and repeat > 1:
        ins, outs = definition.interface()
        if len(ins) != 1 or len(outs) != 1:
            add("block_repeat", f"{node.title} repeats block {shown(name)} {repeat} times, but a "
                f"repeated block needs one input and one output (it has {len(ins)} and "
                f"{len(outs)})", node, hint="set repeat to 1, or chain Block nodes by hand")


def _undeclared_references(definition: Graph, name: str) -> list[Diagnostic]:
    """Inner nodes that use a parameter the definition does not declare."""
    known = block_params.declared(definition)
    found = []
    for node in definition:
        for key, ref in block_params.references_in(node.params).items():
            if not block_params.can_be_parameter(node.type, key):
                found.append(Diagnostic(
                    "fixed_param", f"{node.title}: {key} cannot be a block parameter "
                    f"(${ref})", node.id, None, "error", "type a value", name))
            elif ref not in known:
                found.append(Diagnostic(
                    "undeclared_param", f"{node.title}: {key} uses ${ref}, but block "
                    f"{shown(name)} declares no parameter {shown(ref)}", node.id, None, "error",
                    "declare it in the block's parameters, or type a value", name))
    return found


def _check_io_names(index: _Index, add) -> None:
    for kind in _IO_TYPES:
        seen: dict[str, Node] = {}
        for node in index.of_type(kind):
            name = node.params.get("name")
            if not isinstance(name, str) or not name.isidentifier():
                add("io_name", f"{kind} name {shown(name)} is not a valid Python name", node,
                    hint="use letters, digits and _, not starting with a digit")
            elif name in seen:
                add("io_name", f"{kind} name {shown(name)} is also used by node {seen[name].id}",
                    node, hint=f"give each {kind} its own name")
            else:
                seen[name] = node


def _check_ports(graph: Graph, index: _Index, add) -> None:
    ports = index.ports
    for edge in graph.edges:
        outs, ins = ports[edge.src][1], ports[edge.dst][0]
        if edge.src_port in outs and edge.dst_port in ins:
            continue
        src, dst = graph.nodes[edge.src], graph.nodes[edge.dst]
        if edge.src_port not in outs:
            add("unknown_port", f"{src.title} has no output {shown(edge.src_port)} "
                f"(it has {_names(outs)})", src, edge.src_port,
                hint="reconnect the edge from an existing output")
        if edge.dst_port not in ins:
            add("unknown_port", f"{dst.title} has no input {shown(edge.dst_port)} "
                f"(it has {_names(ins)})", dst, edge.dst_port,
                hint="reconnect the edge to an existing input, or raise num_inputs")
    for node in graph:
        ports = index.ports[node.id][0]
        if not ports:
            continue
        spec = get_spec(node.type)
        optional = spec.optional_inputs() if spec else frozenset()
        into = graph.edges_into(node.id)
        # The usual case, each port fed exactly once, checked without building sets.
        if len(into) == len(ports) and (
                into[0].dst_port == ports[0] if len(ports) == 1
                else {e.dst_port for e in into} == set(ports)):
            continue
        for port in ports:
            feeding = [e for e in into if e.dst_port == port]
            if len(feeding) > 1:
                sources = ", ".join(e.src for e in feeding)
                add("multiple_edges", f"input {shown(port)} of {node.title} has {len(feeding)} edges "
                    f"(from {sources}); an input takes exactly one", node, port,
                    hint="remove the extra edges, or join them first with Add or Concat")
            elif not feeding and port not in optional:
                add("unconnected_input", f"input {shown(port)} of {node.title} is not connected",
                    node, port, hint="drag an edge from an output to it")


# A loop's message names this many of its nodes; a 20,000-node ring would otherwise put
# the whole ring in each of its 20,000 messages.
_LOOP_NAMES_SHOWN = 6


def _check_cycles(graph: Graph, index: "_Index", add) -> bool:
    _, stuck = walk.flow_order(graph)
    if not stuck:
        return False
    import networkx as nx  # here, not at the top: only a graph with a loop needs it
    inside = set(stuck)
    g = nx.DiGraph()  # only the stuck part: loops and what hangs off them
    g.add_nodes_from(stuck)
    g.add_edges_from((e.src, e.dst) for e in graph.edges if e.src in inside and e.dst in inside)
    position = {node_id: i for i, node_id in enumerate(graph.nodes)}
    knots = [sorted(c, key=position.get)
             for c in nx.strongly_connected_components(g) if len(c) > 1]
    # File order, not set order: the same file always gives the same messages.
    for knot in sorted(knots, key=lambda c: position[c[0]]):
        cycle = walk.shortest_loop(knot[0], set(knot), index.succ)
        message = f"these nodes form a loop: {_loop_text(cycle)}"
        for node_id in cycle:
            add("cycle", message, graph.nodes[node_id],
                hint="data must flow one way; remove one of the edges on the loop")
    return True


def _loop_text(cycle: list[str]) -> str:
    names = [as_name(n) for n in cycle]
    if len(names) > _LOOP_NAMES_SHOWN:
        names = names[:_LOOP_NAMES_SHOWN - 1] + [f"… ({len(cycle):,} nodes in all)"]
    return " → ".join(names + [as_name(cycle[0])])


def _check_reachability(graph: Graph, index: _Index, add) -> None:
    # One search from all Inputs together (and one from all Outputs): per-Input searches
    # would cost Inputs × nodes.
    fed = _reached(index.succ, [n.id for n in index.inputs])
    used = _reached(index.pred, [n.id for n in index.outputs])
    for node in graph:
        if node.id not in fed and node.type != "Input" and (ins := index.ports[node.id][0]) \
                and all(graph.edges_into(node.id, p) for p in ins):
            add("unreachable", f"{node.title} gets no data from any Input", node,
                hint="connect its branch to an Input")
        if node.id not in used and node.type != "Output":
            add("dead_end", f"{node.title}'s result does not reach any Output", node,
                hint="connect it towards an Output, or delete it", severity="warning")


def _reached(neighbours: dict[str, list[str]], starts: list[str]) -> set[str]:
    found, todo = set(starts), list(starts)
    while todo:
        for nxt in neighbours[todo.pop()]:
            if nxt not in found:
                found.add(nxt)
                todo.append(nxt)
    return found


def _block_problems(doc: Document, structure: walk.BlockStructure) -> list[Diagnostic]:
    """Blocks that use themselves (directly or through others), nest too deeply, or
    expand to more layers than can be built. One message per knot, not per loop: twelve
    blocks that all use each other hold billions of loops."""
    out = []
    for cycle in structure.cycles:
        loop = " → ".join(as_name(b) for b in cycle + [cycle[0]])
        out.append(Diagnostic("block_cycle", f"block {shown(cycle[0])} contains itself: {loop}",
                              block=cycle[0], hint="a block cannot use itself inside"))
    # Said once, where the deep chain starts: in the main graph, and in blocks that no
    # other graph uses (a chain of 300 blocks is one problem, not 300).
    used = {ref for targets in structure.uses.values() for ref in targets}
    used |= {walk.block_ref(n) for n in doc.graph}
    graphs = [(None, doc.graph)] + [(name, g) for name, g in doc.blocks.items()
                                    if name not in structure.cyclic and name not in used]
    for block, graph in graphs:
        for node in graph:
            ref = walk.block_ref(node)
            if ref is None or ref not in structure.uses or ref in structure.cyclic:
                continue
            depth = structure.depth[ref]
            if depth > walk.MAX_BLOCK_NESTING:
                chain = walk.deepest_path(ref, structure)
                shown_chain = " → ".join(as_name(b) for b in chain[:4]) + " → …"
                out.append(Diagnostic(
                    "block_depth", f"{node.title}: blocks are nested {depth:,} levels deep "
                    f"here ({shown_chain}); NodeTorch builds at most {walk.MAX_BLOCK_NESTING}",
                    node.id, block=block, hint="expand some of the inner blocks"))
                break
    expanded = walk.graph_expanded(doc.graph, structure)
    if expanded > walk.MAX_EXPANDED_NODES:
        out.append(Diagnostic(
            "too_large", f"the model expands to more than {walk.MAX_EXPANDED_NODES:,} layers "
            "once its blocks are put in place (blocks used many times inside blocks used "
            "many times)", hint="use fewer copies of the nested blocks"))
    return out


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"
