"""What a change to a block definition's declared parameters does to the rest of the
document, worked out before anything changes (so one undo step holds all of it).

Renaming a parameter rewrites "$old" into "$new" in the definition's inner nodes and moves
each Block node's value to the new name; removing one puts its default back where inner
nodes used it and drops the Block nodes' values. Kept free of Qt: plain data in, plain
data out; gui/commands.py applies the plan through model methods.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from graph.block_params import REFERENCE, declared, param_from_dict, param_to_dict, reference
from graph.catalog import get_spec
from graph.document import Document
from graph.model import Graph, Node
from graph.spec import ParamSpec

RESERVED = ("block", "repeat")   # the Block node's own parameters


@dataclass
class Plan:
    # Inner nodes of the definition: (node id, values before, values after), changed keys only.
    inner: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    # Block nodes using the definition whose keys change: (graph, node before, node after).
    uses: list[tuple[Graph, Node, Node]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.inner and not self.uses


def plan(doc: Document, name: str, after: tuple[ParamSpec, ...],
         renamed: dict[str, str] | None = None) -> Plan:
    """The changes that come with declaring `after` on block `name` (renamed: old → new)."""
    definition = doc.blocks[name]
    renamed = dict(renamed or {})
    kept = {p.name for p in after}
    removed = {p.name: p.default for p in definition.block_params
               if p.name not in kept and p.name not in renamed}
    result = Plan()
    for node in definition:
        changes = _rewrite_params(node, renamed, removed)
        if changes:
            result.inner.append((node.id, {k: copy.deepcopy(node.params[k]) for k in changes},
                                 changes))
    if not renamed and not removed:
        return result
    for graph in [doc.graph, *doc.blocks.values()]:
        for node in graph:
            if node.type != "Block" or node.params.get("block") != name:
                continue
            # Renamed in place, so the file keeps its order of keys.
            params = {renamed.get(k, k): v for k, v in node.params.items() if k not in removed}
            if params != node.params:
                result.uses.append((graph, copy.deepcopy(node),
                                    Node(node.id, node.type, params, node.label, node.position,
                                         copy.deepcopy(node.extra))))
    return result


def _rewrite_params(node: Node, renamed: dict[str, str], removed: dict[str, Any]) -> dict[str, Any]:
    spec = get_spec(node.type)
    changes = {}
    for key, value in node.params.items():
        new = _rewrite_value(value, renamed, removed)
        if new is value:
            continue
        if spec is not None and reference(new) is None and key in spec.param_names():
            # A default put back for a removed reference, in the form the field keeps
            # (an int default into a two-number stride becomes [1, 1]).
            checked, problem = spec.param(key).check(new)
            if problem is None:
                new = list(checked) if isinstance(checked, tuple) else checked
        changes[key] = new
    return changes


def _rewrite_value(value: Any, renamed: dict[str, str], removed: dict[str, Any]) -> Any:
    name = reference(value)
    if name is not None:
        if name in renamed:
            return REFERENCE + renamed[name]
        if name in removed:
            return copy.deepcopy(removed[name])
        return value
    if isinstance(value, list) and any(reference(v) in renamed or reference(v) in removed
                                       for v in value):
        return [_rewrite_value(v, renamed, removed) for v in value]
    return value


# --- one declaration checked as the file format would read it ---------------------------
def checked_param(p: ParamSpec, others: tuple[ParamSpec, ...]) -> tuple[ParamSpec | None, str | None]:
    """`p` as it would come back from a file, or (None, the problem in words). `others`
    are the definition's other parameters (names must differ)."""
    if p.name in (o.name for o in others):
        return None, f"the block already has a parameter {p.name!r}"
    spec, problem = param_from_dict(param_to_dict(p), f"parameter {p.name!r}")
    if problem:
        return None, problem.replace(f"parameter {p.name!r}: ", "")
    return spec, None


def fresh_name(definition: Graph, base: str = "param") -> str:
    taken = set(declared(definition)) | set(RESERVED)
    if base not in taken and base.isidentifier():
        return base
    k = 1
    while f"{base}{k}" in taken:
        k += 1
    return f"{base}{k}"


def with_kind(p: ParamSpec, kind: str) -> ParamSpec:
    """`p` turned into another kind, its default carried over where it means something."""
    value = p.default
    if isinstance(value, list):   # from "ints": its first number stands for it
        value = value[0] if value else None
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "int":
        default = int(round(number)) if number is not None else 1
    elif kind == "float":
        default = float(number) if number is not None else 0.0
    elif kind == "bool":
        default = bool(value) if isinstance(value, bool) else False
    elif kind == "str":
        default = "" if value is None else str(value)
    elif kind == "ints":
        default = [int(round(number))] * (p.length or 1) if number is not None else [1]
    else:  # choice: the current value becomes the one choice until more are listed
        default = str(value) if value not in (None, "") else "a"
    numeric = kind in ("int", "float", "ints")
    as_int = kind in ("int", "ints")
    bound = (lambda b: None if b is None or not numeric else (int(b) if as_int else b))
    return replace(p, kind=kind, default=default, min=bound(p.min), max=bound(p.max),
                   choices=(default,) if kind == "choice" else (),
                   length=p.length if kind == "ints" else None)


def uses_of(definition: Graph, name: str) -> list[str]:
    """Where inner nodes use parameter `name`: "conv1.out_channels", …"""
    found = []
    for node in definition:
        for key, value in node.params.items():
            values = value if isinstance(value, list) else [value]
            if any(reference(v) == name for v in values):
                found.append(f"{node.title}.{key}")
    return found
