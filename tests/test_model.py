"""The graph model: mutations through methods only, refusals with reasons, change events."""
from __future__ import annotations

import pytest

from graph.document import Document
from graph.model import Edge, Graph, GraphRuleError
from tests.graph_builders import chain


@pytest.fixture
def events():
    return []


@pytest.fixture
def graph(events):
    g = Document().graph
    g.subscribe(events.append)
    return g


def test_add_node_fills_defaults_and_emits(graph, events):
    node = graph.add_node("Conv2d", {"out_channels": 6}, label="conv1", position=(10, 20))
    assert node.id == "n1"
    assert node.params["out_channels"] == 6
    assert node.params["kernel_size"] == [3, 3]  # the spec's default
    assert node.position == (10, 20)
    assert [(e.kind, e.node.id) for e in events] == [("node_added", "n1")]


def test_unknown_type_and_duplicate_id_are_refused(graph):
    with pytest.raises(GraphRuleError, match="unknown node type 'Conv4d'"):
        graph.add_node("Conv4d")
    graph.add_node("ReLU", node_id="a")
    with pytest.raises(GraphRuleError, match="a node with id 'a' already exists"):
        graph.add_node("ReLU", node_id="a")


@pytest.mark.parametrize("src, src_port, dst, dst_port, reason", [
    ("r", "out", "r", "x", "ReLU cannot feed itself"),
    ("r", "nope", "t", "x", "ReLU has no output 'nope'"),
    ("r", "out", "t", "y", "Tanh has no input 'y'"),
    ("r", "out", "ghost", "x", "there is no node 'ghost'"),
    ("i", "out", "r", "x", "input 'x' of ReLU is already connected"),
    ("t", "out", "i2", "x", "Input has no input 'x'"),
])
def test_connect_refuses_with_a_reason(graph, src, src_port, dst, dst_port, reason):
    graph.add_node("Input", node_id="i")
    graph.add_node("Input", node_id="i2")
    graph.add_node("ReLU", node_id="r")
    graph.add_node("Tanh", node_id="t")
    graph.connect("i2", "out", "r", "x")
    assert graph.connect_problem(Edge(src, src_port, dst, dst_port)) == reason
    with pytest.raises(GraphRuleError, match=reason):
        graph.connect(src, src_port, dst, dst_port)
    assert len(graph.edges) == 1


def test_connect_refuses_a_loop(graph):
    a, b, c = chain(graph, "ReLU", "Tanh", ("Add", {}))
    with pytest.raises(GraphRuleError, match="connecting Add to ReLU would make a loop"):
        graph.connect(c, "out", a, "x")


def test_remove_node_returns_its_edges_for_undo(graph, events):
    a, b, c = chain(graph, ("Input", {"shape": [4]}), "ReLU", "Output")
    events.clear()
    node, edges = graph.remove_node(b)
    assert node.type == "ReLU"
    assert edges == [Edge(a, "out", b, "x"), Edge(b, "out", c, "x")]
    assert graph.edges == []
    assert [e.kind for e in events] == ["edge_removed", "edge_removed", "node_removed"]
    graph.insert_node(node)
    for e in edges:
        graph.insert_edge(e)
    assert len(graph.edges) == 2 and b in graph.nodes


def test_param_label_and_move_changes_return_the_old_value(graph, events):
    node = graph.add_node("Linear", {"out_features": 4})
    events.clear()
    assert graph.set_params(node.id, out_features=8) == {"out_features": 4}
    assert graph.set_label(node.id, "head") == ""
    assert graph.move_node(node.id, (5, 6)) == (0.0, 0.0)
    assert node.params["out_features"] == 8 and node.label == "head" and node.position == (5, 6)
    assert [(e.kind, e.field) for e in events] == [
        ("node_changed", "params"), ("node_changed", "label"), ("node_changed", "position")]
    with pytest.raises(GraphRuleError, match="Linear has no parameter 'units'"):
        graph.set_params(node.id, units=3)


def test_variadic_ports_follow_their_count_parameter(graph):
    add = graph.add_node("Concat", {"num_inputs": 3})
    assert graph.input_ports(add.id) == ["x1", "x2", "x3"]
    split = graph.add_node("Split", {"split_sizes": [1, 2, 3, 4]})
    assert graph.output_ports(split.id) == ["out1", "out2", "out3", "out4"]
    chunk = graph.add_node("Chunk", {"chunks": 2})
    assert graph.output_ports(chunk.id) == ["out1", "out2"]


def test_block_node_ports_are_the_blocks_inputs_and_outputs():
    doc = Document()
    inner = doc.add_block("Gate", Graph())
    chain(inner, ("Input", {"name": "signal"}), "Sigmoid", ("Output", {"name": "gated"}))
    inner.add_node("Input", {"name": "mask"})
    node = doc.graph.add_node("Block", {"block": "Gate"})
    assert doc.graph.ports_of(node) == (["signal", "mask"], ["gated"])


def test_unsubscribe_stops_events():
    g = Graph()
    seen = []
    stop = g.subscribe(seen.append)
    g.add_node("ReLU")
    stop()
    g.add_node("ReLU")
    assert len(seen) == 1
