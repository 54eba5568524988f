"""The loader loses nothing a damaged file still holds: duplicate ids are renamed, dangling
edges dropped alone, unknown keys kept, renamed types renamed, bad numbers located."""
from __future__ import annotations

import json
import re

import pytest

from graph.fileformat import dumps
from graph.loader import load_file, loads
from tests.file_edits import JSON_PATH, LINE_COL, edited, literal, node, set_key


def test_duplicate_id_keeps_every_node(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(edited(set_key("relu1", "id", "conv1")))
    doc = load_file(path)
    assert len(doc.graph.nodes) == 14
    assert doc.graph.nodes["conv1"].type == "Conv2d"
    assert doc.graph.nodes["conv1_2"].type == "ReLU"
    [problem] = [p for p in doc.load_problems if p.code == "duplicate_id"]
    assert problem.node_id == "conv1_2" and problem.path == "$.graph.nodes[2].id"


def test_dangling_edge_keeps_every_node_and_the_other_edges(tmp_path):
    path = tmp_path / "dangling.json"
    path.write_text(edited(lambda d: d["graph"]["edges"][1].__setitem__("dst", "ghost")))
    doc = load_file(path)
    assert len(doc.graph.nodes) == 14
    assert len(doc.graph.edges) == 12
    [problem] = doc.load_problems
    assert problem.code == "dangling_edge" and problem.path == "$.graph.edges[1]"
    assert problem.node_id == "conv1"


def test_unknown_keys_survive_a_round_trip(tmp_path):
    def future(d):
        d["made_by"] = {"tool": "NodeTorch 9", "plugins": ["a", "b"]}
        d["training"]["scheduler"] = {"name": "cosine", "warmup": 3}
        node(d, "conv1")["color"] = "#ff0000"
        node(d, "conv1")["notes"] = {"why": "edge detector"}
        node(d, "conv1")["params"]["future_param"] = 7
    path = tmp_path / "future.json"
    path.write_text(edited(future))
    first = load_file(path)
    text = dumps(first)
    second = loads(text, "round-trip")
    for doc in (first, second):
        assert doc.extra == {"made_by": {"tool": "NodeTorch 9", "plugins": ["a", "b"]}}
        assert doc.training["scheduler"] == {"name": "cosine", "warmup": 3}
        assert doc.training["dataset"] == {"name": "digits", "resize_to_input": True}
        conv1 = doc.graph.nodes["conv1"]
        assert conv1.extra == {"color": "#ff0000", "notes": {"why": "edge detector"}}
        assert conv1.params["future_param"] == 7
        assert len(doc.graph.nodes) == 14 and len(doc.graph.edges) == 13
    assert dumps(second) == text, "a second save changes nothing"
    saved = json.loads(text)
    assert saved["made_by"]["plugins"] == ["a", "b"]
    assert node(saved, "conv1")["notes"] == {"why": "edge detector"}


def test_renamed_type_is_saved_under_its_new_name(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(edited(set_key("conv1", "type", "Conv2D")))
    doc = load_file(path)
    assert doc.graph.nodes["conv1"].type == "Conv2d"
    assert node(json.loads(dumps(doc)), "conv1")["type"] == "Conv2d"


@pytest.mark.parametrize("bad", ["NaN", "1e400", "9" * 500])
def test_number_errors_name_their_location(bad):
    text = literal('"out_channels": 6', f'"out_channels": {bad}')
    with pytest.raises(Exception) as info:
        loads(text, "f.json")
    assert re.search(rf"{JSON_PATH}\.out_channels|{LINE_COL}", str(info.value))
