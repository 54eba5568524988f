"""The catalog: every node type NodeTorch offers, keyed by type id."""
from __future__ import annotations

from graph.spec import NodeSpec
from graph.catalog import (
    activation, attention, conv, io, linear, math_ops, merge, normalization, pooling,
    recurrent, regularization, reshape, resize,
)

_MODULES = (io, linear, conv, pooling, normalization, regularization, activation, reshape,
            resize, merge, math_ops, recurrent, attention)

SPECS: dict[str, NodeSpec] = {}
for _module in _MODULES:
    for _spec in _module.SPECS:
        if _spec.type in SPECS:
            raise RuntimeError(f"node type {_spec.type!r} declared twice")
        SPECS[_spec.type] = _spec

# Old type ids a file may still use, mapped to today's (staged load resolves them).
RENAMED: dict[str, str] = {
    "Dense": "Linear",
    "Conv2D": "Conv2d",
    "Concatenate": "Concat",
    "Sum": "Add",
}

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(s.category for s in SPECS.values()))


def get_spec(type_id: str) -> NodeSpec | None:
    return SPECS.get(type_id)
