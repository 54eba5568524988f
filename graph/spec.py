"""Node specs: each layer type declared once, as plain data.

A spec feeds the palette, the inspector form, validation, shape inference, compile and
code export. graph/ never imports torch: a spec names its torch target as a dotted string
("torch.nn:Conv2d" or "runtime.ops:add") that runtime/ resolves.
"""
from __future__ import annotations

import math
from functools import cached_property
from dataclasses import dataclass, field
from typing import Any, Callable

# Parameter kinds a spec may declare; the inspector has one editor per kind.
PARAM_KINDS = ("int", "float", "bool", "choice", "ints", "str")

# Bounds that keep a hand-edited file from asking for absurd tensors.
MAX_INT = 1 << 24


@dataclass(frozen=True)
class ParamSpec:
    """One user-editable parameter."""

    name: str
    kind: str
    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    # For "ints": the number of elements (None: any length >= min_length).
    length: int | None = None
    min_length: int = 0
    # None is an allowed value (e.g. Upsample's size when scale_factor is used).
    optional: bool = False

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Return (normalised value, problem or None). Never raises."""
        if value is None:
            return (None, None) if self.optional else (value, f"{self.name} needs a value")
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value, None
            return value, f"{self.name} must be true or false, got {_show(value)}"
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return value, f"{self.name} must be a whole number, got {_show(value)}"
            return value, self._range_problem(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return value, f"{self.name} must be a number, got {_show(value)}"
            if isinstance(value, int) and abs(value) > 1e300 or \
                    isinstance(value, float) and not math.isfinite(value):
                return value, f"{self.name} must be a finite number, got {_num(value)}"
            return float(value), self._range_problem(value)
        if kind == "choice":
            if value not in self.choices:
                options = ", ".join(str(c) for c in self.choices)
                return value, f"{self.name} must be one of {options}; got {_show(value)}"
            return value, None
        if kind == "str":
            if not isinstance(value, str):
                return value, f"{self.name} must be text, got {_show(value)}"
            return value, None
        if kind == "ints":
            return self._check_ints(value)
        return value, f"{self.name}: unknown parameter kind {kind!r}"

    def _check_ints(self, value: Any) -> tuple[Any, str | None]:
        # A single int is shorthand for "the same on every axis" (like torch's kernel_size=3).
        if isinstance(value, int) and not isinstance(value, bool) and self.length:
            value = [value] * self.length
        if not isinstance(value, (list, tuple)):
            return value, f"{self.name} must be a list of whole numbers, got {_show(value)}"
        if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            return value, f"{self.name} must hold whole numbers only, got {_show(value)}"
        value = tuple(value)
        if self.length is not None and len(value) != self.length:
            return value, f"{self.name} needs exactly {self.length} numbers, got {len(value)}"
        if len(value) < self.min_length:
            return value, f"{self.name} needs at least {self.min_length} numbers, got {len(value)}"
        for v in value:
            problem = self._range_problem(v)
            if problem:
                return value, problem
        return value, None

    def _range_problem(self, v: float) -> str | None:
        lo = self.min
        hi = self.max if self.max is not None else (MAX_INT if self.kind in ("int", "ints") else None)
        if lo is not None and v < lo:
            return f"{self.name} must be at least {_num(lo)}, got {_num(v)}"
        if hi is not None and v > hi:
            return f"{self.name} must be at most {_num(hi)}, got {_num(v)}"
        return None


@dataclass(frozen=True)
class PortSpec:
    """A named input or output. With count_param set it expands to name1..nameN, N being
    that parameter's value (Concat's inputs, Chunk's outputs) or, for an "ints" parameter,
    its length (Split's outputs, one per listed size)."""

    name: str
    doc: str = ""
    count_param: str | None = None
    # An input that may stay unconnected (MultiheadAttention's key/value default to query).
    optional: bool = False
    # A port that exists only while this bool parameter is true (a recurrent layer's
    # final-state output `h`, with state_output on).
    when: str | None = None


@dataclass(frozen=True)
class Inferred:
    """A constructor argument read off an input's shape instead of typed by the user.

    axis counts with the batch axis as 0 (torch's convention); tail=True takes every axis
    from `axis` on as a tuple (LayerNorm's normalized_shape)."""

    port: str
    axis: int
    tail: bool = False
    doc: str = ""


@dataclass(frozen=True)
class NodeSpec:
    """Everything NodeTorch knows about one node type."""

    type: str
    category: str
    doc: str
    target: str | None
    inputs: tuple[PortSpec, ...] = (PortSpec("x"),)
    outputs: tuple[PortSpec, ...] = (PortSpec("out"),)
    params: tuple[ParamSpec, ...] = ()
    inferred: dict[str, Inferred] = field(default_factory=dict)
    # "module": target is an nn.Module class built once; "function": called in forward.
    kind: str = "module"
    # Constructor arguments fixed by NodeTorch, not shown to the user (batch_first=True).
    fixed: dict[str, Any] = field(default_factory=dict)
    # Parameters that are NodeTorch's own and not passed to the target.
    local_params: tuple[str, ...] = ()
    # Example input shapes (without batch) and dtypes for the shared spec test harness.
    example: dict[str, tuple] = field(default_factory=dict)
    example_dtypes: dict[str, str] = field(default_factory=dict)
    # A hint shown with shape errors on this node, in a beginner's words.
    shape_hint: str = ""
    # Short inspector summary, e.g. "{kernel_size} → {out_channels}".
    summary: str = ""
    # Rules that tie parameters together and that torch checks only in a real forward
    # (so meta shapes cannot see them): each takes the parameters, already individually
    # valid, and returns a problem in words, or None.
    rules: tuple[Callable[[dict[str, Any]], str | None], ...] = ()

    def problems(self, params: dict[str, Any]) -> list[tuple["ParamSpec | None", str]]:
        """Every parameter problem: (the parameter, or None for a rule; the words)."""
        found = []
        for p in self.params:
            problem = p.check(params.get(p.name, p.default))[1]
            if problem:
                found.append((p, problem))
        if not found:
            found += [(None, problem) for rule in self.rules
                      if (problem := rule({**self.defaults(), **params}))]
        return found

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.type} has no parameter {name!r}")

    def defaults(self) -> dict[str, Any]:
        return {p.name: _copy_default(p.default) for p in self.params}

    def input_names(self, params: dict[str, Any]) -> list[str]:
        fixed = self._fixed_ports[0]
        return list(fixed) if fixed is not None else _expand(self.inputs, params)

    def output_names(self, params: dict[str, Any]) -> list[str]:
        fixed = self._fixed_ports[1]
        return list(fixed) if fixed is not None else _expand(self.outputs, params)

    @cached_property
    def _fixed_ports(self) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """Port names when no parameter sets their count (most specs): asked for on every
        node of every walk, so worked out once."""
        def fixed(ports):
            return None if any(p.count_param or p.when for p in ports) else \
                tuple(p.name for p in ports)
        return fixed(self.inputs), fixed(self.outputs)

    def param_names(self) -> frozenset[str]:
        return self._param_names

    @cached_property
    def _param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)

    def optional_inputs(self) -> frozenset[str]:
        return self._optional_inputs

    @cached_property
    def _optional_inputs(self) -> frozenset[str]:
        return frozenset(p.name for p in self.inputs if p.optional)


def _expand(ports: tuple[PortSpec, ...], params: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for port in ports:
        if port.when is not None:
            if params.get(port.when) is True:
                names.append(port.name)
            continue
        if port.count_param is None:
            names.append(port.name)
            continue
        count = params.get(port.count_param)
        if isinstance(count, (list, tuple)):
            count = len(count)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            count = 0
        names.extend(f"{port.name}{i}" for i in range(1, min(count, 64) + 1))
    return names


def _copy_default(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(v: float) -> str:
    if isinstance(v, int):
        if abs(v) < 10**24:
            return str(v)
        # Floats stop near 1e308; past that only the length can be told.
        return f"{float(v):.3g}" if abs(v) < 10**300 else f"a number with {len(str(abs(v)))} digits"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    text = str(v)
    return text if len(text) <= 24 else f"{v:.3g}"
