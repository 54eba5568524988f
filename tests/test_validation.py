"""Every structural diagnostic kind: the node it names and the message it gives."""
from __future__ import annotations

import json

import pytest

from graph.document import Document
from graph.fileformat import dumps
from graph.loader import loads
from graph.model import Edge, Graph
from graph.validate import validate
from runtime.check import check_document
from tests.graph_builders import chain, sequential


def by_code(diagnostics, code):
    return [d for d in diagnostics if d.code == code]


def one(diagnostics, code):
    found = by_code(diagnostics, code)
    assert len(found) == 1, f"expected one {code}, got {[d.line() for d in diagnostics]}"
    return found[0]


def test_valid_graph_has_no_diagnostics():
    doc = sequential("Flatten", ("Linear", {"out_features": 4}))
    assert validate(doc) == []


def test_missing_input_and_output():
    doc = Document()
    chain(doc.graph, "ReLU")
    found = validate(doc)
    assert one(found, "missing_input").message == "the graph has no Input node"
    assert one(found, "missing_output").message == "the graph has no Output node"
    assert one(found, "missing_input").node_id is None


def test_cycle_names_every_node_on_it():
    doc = Document()
    g = doc.graph
    inp, add, relu, tanh, out = chain(g, ("Input", {"shape": [4]}), "Add", "ReLU", "Tanh", "Output")
    # The model refuses the loop when a user draws it...
    with pytest.raises(ValueError, match="would make a loop"):
        g.connect(tanh, "out", add, "x2")
    # ...but a file may hold one: it loads, and validation names the loop.
    g.insert_edge(Edge(tanh, "out", add, "x2"))
    found = by_code(validate(doc), "cycle")
    assert sorted(d.node_id for d in found) == sorted([add, relu, tanh])
    loop = [add, relu, tanh]
    rotations = {" → ".join(loop[i:] + loop[:i] + [loop[i]]) for i in range(3)}
    assert all(d.message.removeprefix("these nodes form a loop: ") in rotations for d in found)


def test_unconnected_input_names_node_and_port():
    doc = sequential("ReLU")
    lonely = doc.graph.add_node("Linear", {"out_features": 3}).id
    found = validate(doc)
    d = one(found, "unconnected_input")
    assert (d.node_id, d.port) == (lonely, "x")
    assert d.message == "input 'x' of Linear is not connected"
    assert by_code(found, "dead_end")[0].node_id == lonely
    assert by_code(found, "dead_end")[0].severity == "warning"


def test_unreachable_branch_not_fed_by_an_input():
    doc = sequential("ReLU")
    first, second = chain(doc.graph, "Tanh", ("Sigmoid", {}, "gate"))
    found = validate(doc)
    assert one(found, "unconnected_input").node_id == first
    d = one(found, "unreachable")
    assert d.node_id == second
    assert d.message == "gate gets no data from any Input"


def test_input_port_with_two_edges():
    doc = sequential("ReLU")
    g = doc.graph
    inp = next(n.id for n in g if n.type == "Input")
    relu = next(n.id for n in g if n.type == "ReLU")
    extra = g.add_node("Tanh").id
    g.connect(inp, "out", extra, "x")
    with pytest.raises(ValueError, match="already connected"):
        g.connect(extra, "out", relu, "x")
    g.insert_edge(Edge(extra, "out", relu, "x"))
    d = one(validate(doc), "multiple_edges")
    assert (d.node_id, d.port) == (relu, "x")
    assert d.message == f"input 'x' of ReLU has 2 edges (from {inp}, {extra}); an input takes exactly one"


def test_edge_to_a_port_that_no_longer_exists():
    doc = Document()
    g = doc.graph
    inp, add, out = chain(g, ("Input", {"shape": [4]}), ("Add", {"num_inputs": 3}), "Output")
    g.connect(inp, "out", add, "x2")
    g.connect(inp, "out", add, "x3")
    g.set_params(add, num_inputs=2)  # x3 disappears; its edge is now on a missing port
    d = one(validate(doc), "unknown_port")
    assert (d.node_id, d.port) == (add, "x3")
    assert d.message == "Add has no input 'x3' (it has 'x1', 'x2')"


@pytest.mark.parametrize("value, code, message", [
    (0, "param_range", "Linear: out_features must be at least 1, got 0"),
    (10**30, "param_range", "Linear: out_features must be at most 16777216, got 1e+30"),
    ("six", "param_type", "Linear: out_features must be a whole number, got 'six'"),
    (2.5, "param_type", "Linear: out_features must be a whole number, got 2.5"),
])
def test_parameter_out_of_range_or_wrong_type(value, code, message):
    doc = sequential("Flatten", ("Linear", {"out_features": 4}))
    linear = next(n for n in doc.graph if n.type == "Linear")
    linear.params["out_features"] = value
    d = one(validate(doc), code)
    assert d.node_id == linear.id
    assert d.message == message


def test_tuple_parameter_checks_each_number_and_length():
    doc = sequential(("Conv2d", {"kernel_size": [3, 0]}))
    conv = next(n for n in doc.graph if n.type == "Conv2d")
    assert one(validate(doc), "param_range").message == "Conv2d: kernel_size must be at least 1, got 0"
    conv.params["kernel_size"] = [3, 3, 3]
    assert one(validate(doc), "param_type").message == "Conv2d: kernel_size needs exactly 2 numbers, got 3"


def test_unknown_parameter_is_a_warning_and_kept():
    doc = sequential("ReLU")
    relu = next(n for n in doc.graph if n.type == "ReLU")
    relu.params["slope"] = 3
    d = one(validate(doc), "unknown_param")
    assert (d.node_id, d.severity) == (relu.id, "warning")
    assert "'slope'" in d.message
    assert json.loads(dumps(doc))["graph"]["nodes"][1]["params"]["slope"] == 3


def test_duplicate_ids_and_dangling_edges_from_a_file():
    doc = sequential("ReLU", "Tanh")
    data = json.loads(dumps(doc))
    data["graph"]["nodes"].append({"id": "n2", "type": "Sigmoid", "params": {}})
    data["graph"]["edges"].append({"src": "ghost", "src_port": "out", "dst": "n2", "dst_port": "x"})
    loaded = loads(json.dumps(data))
    assert len(loaded.graph) == 5  # nothing lost: the duplicate was renamed
    assert loaded.graph.nodes["n2_2"].type == "Sigmoid"
    result = check_document(loaded)
    dup = one(result.diagnostics, "duplicate_id")
    assert dup.node_id == "n2_2"
    assert dup.message == "id 'n2' is used twice; the second Sigmoid was renamed 'n2_2'"
    assert dup.path == "$.graph.nodes[4].id"
    dangling = one(result.diagnostics, "dangling_edge")
    assert dangling.node_id == "n2"
    assert dangling.message == ("edge ghost.out → n2.x refers to node 'ghost', which does not "
                                "exist; the edge was dropped")


def test_input_and_output_names_must_be_unique_identifiers():
    doc = sequential("ReLU")
    g = doc.graph
    second = g.add_node("Input", {"name": "x", "shape": [4]}).id
    bad = g.add_node("Output", {"name": "2nd"}).id
    g.connect(second, "out", bad, "x")
    found = by_code(validate(doc), "io_name")
    assert {(d.node_id, d.message) for d in found} == {
        (second, "Input name 'x' is also used by node n1"),
        (bad, "Output name '2nd' is not a valid Python name"),
    }


def test_unknown_block_and_block_that_contains_itself():
    doc = Document()
    block_node = doc.graph.add_node("Block", {"block": "Missing"})
    d = one(validate(doc), "unknown_block")
    assert d.node_id == block_node.id
    assert d.message == "Block uses block 'Missing', which is not defined"
    inner = doc.add_block("Loop", Graph())
    inp, out = chain(inner, ("Input", {"shape": [4]}), "Output")
    looped = inner.add_node("Block", {"block": "Loop"}).id
    inner.connect(inp, "out", looped, "x")
    d = one(validate(doc), "block_cycle")
    assert (d.block, d.message) == ("Loop", "block 'Loop' contains itself: Loop → Loop")


def test_problems_inside_a_block_name_the_block():
    doc = Document()
    inner = doc.add_block("Inner", Graph())
    chain(inner, ("Input", {"shape": [4]}), "ReLU")
    found = [d for d in validate(doc) if d.block == "Inner"]
    d = one(found, "missing_output")
    assert d.message == "block 'Inner' has no Output node"
    assert d.line() == ("block Inner, graph: block 'Inner' has no Output node — "
                        "add an Output node after the last layer")
