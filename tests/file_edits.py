"""Breaking one thing in a LeNet-5 graph file: the helpers the bad-file tests build with.

The file is a frozen copy of the LeNet-5 template (tests/data/lenet5_base.json), so the
template can improve without moving the positions these tests cut at."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "tests" / "data" / "lenet5_base.json"
BASE = LENET.read_text(encoding="utf-8")
# Where a load problem is: a JSON path ($.graph.nodes[1].params) or a line and column.
JSON_PATH = r"\$(?:\.[A-Za-z_][\w]*|\[\d+\])*"
LINE_COL = r"line \d+, column \d+"


def edited(change: Callable[[dict], None]) -> str:
    """lenet5.json, parsed, changed in place by `change`, written back as JSON text."""
    data = json.loads(BASE)
    change(data)
    return json.dumps(data, indent=1)


def node(data: dict, node_id: str) -> dict:
    return next(n for n in data["graph"]["nodes"] if n["id"] == node_id)


def set_param(node_id: str, name: str, value) -> Callable[[dict], None]:
    return lambda d: node(d, node_id)["params"].__setitem__(name, value)


def set_key(node_id: str, key: str, value) -> Callable[[dict], None]:
    return lambda d: node(d, node_id).__setitem__(key, value)


def drop_key(node_id: str, key: str) -> Callable[[dict], None]:
    return lambda d: node(d, node_id).pop(key)


def literal(old: str, new: str) -> str:
    """lenet5.json with one piece of text replaced (for what json.dumps cannot write)."""
    assert BASE.count(old) >= 1, old
    return BASE.replace(old, new, 1)


def cut_after(marker: str, extra: int = 0) -> str:
    """lenet5.json cut just after the first `marker` (plus `extra` characters)."""
    i = BASE.index(marker) + len(marker) + extra
    return BASE[:i]
