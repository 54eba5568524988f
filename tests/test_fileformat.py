"""The file format: versioned, readable, stable JSON; atomic saves; renamed types resolved."""
from __future__ import annotations

import json
import os

import pytest

from graph import fileformat
from graph.fileformat import dumps, save
from graph.loader import LoadError, load_file, loads
from graph.templates import find_template
from tests.graph_builders import sequential


def test_templates_round_trip_to_the_same_text():
    for name in ("lenet5", "mlp"):
        path = find_template(name)
        doc = load_file(path)
        text = dumps(doc)
        assert dumps(loads(text)) == text
        assert json.loads(text)["graph"] == _normalised(json.loads(path.read_text()))["graph"]


def _normalised(data):
    """The template as NodeTorch writes it: every parameter spelled out."""
    return json.loads(dumps(loads(json.dumps(data))))


def test_layout_is_stable_and_diff_friendly():
    doc = sequential(("Conv2d", {"out_channels": 6}, "conv1"))
    text = dumps(doc)
    data = json.loads(text)
    assert list(data) == ["format", "version", "name", "description", "graph", "blocks", "training"]
    assert data["format"] == "nodetorch.graph" and data["version"] == 1
    conv = data["graph"]["nodes"][1]
    assert list(conv) == ["id", "type", "label", "position", "params"]
    assert list(conv["params"]) == ["out_channels", "kernel_size", "stride", "padding", "dilation",
                                    "groups", "bias", "padding_mode"]
    # One edge per line, short lists inline: a change to one edge is a one-line diff.
    assert '{"src": "n1", "src_port": "out", "dst": "n2", "dst_port": "x"}' in text
    assert '"kernel_size": [3, 3],' in text


def test_unknown_keys_are_kept():
    doc = sequential("ReLU")
    data = json.loads(dumps(doc))
    data["plugin_state"] = {"colour": "teal"}
    data["training"] = {"epochs": 3, "future_option": [1, 2]}
    data["graph"]["nodes"][1]["comment"] = "explain this layer"
    again = json.loads(dumps(loads(json.dumps(data))))
    assert again["plugin_state"] == {"colour": "teal"}
    assert again["training"] == {"epochs": 3, "future_option": [1, 2]}
    assert again["graph"]["nodes"][1]["comment"] == "explain this layer"


def test_renamed_types_resolve_on_load():
    doc = sequential(("Linear", {"out_features": 2}), shape=(4,))
    data = json.loads(dumps(doc))
    data["graph"]["nodes"][1]["type"] = "Dense"
    assert loads(json.dumps(data)).graph.nodes["n2"].type == "Linear"


def test_missing_parameters_take_their_defaults():
    data = json.loads(dumps(sequential(("Conv2d", {"out_channels": 6}))))
    data["graph"]["nodes"][1]["params"] = {"out_channels": 6}
    node = loads(json.dumps(data)).graph.nodes["n2"]
    assert node.params["kernel_size"] == [3, 3] and node.params["out_channels"] == 6


def test_newer_version_is_refused_with_a_reason():
    data = json.loads(dumps(sequential("ReLU")))
    data["version"] = 7
    with pytest.raises(LoadError) as info:
        loads(json.dumps(data), "net.json")
    assert str(info.value) == ("net.json: $.version: is 7: this file was written by a newer "
                               "NodeTorch (this one reads up to version 1)")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    save(sequential("ReLU"), path)
    original = path.read_text()
    assert load_file(path).graph.nodes["n2"].type == "ReLU"

    def crash(*_):
        raise OSError("disk full")

    monkeypatch.setattr(fileformat.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save(sequential("Tanh"), path)
    assert path.read_text() == original  # the old file is intact
    assert os.listdir(tmp_path) == ["net.json"]  # and no temp file is left behind
