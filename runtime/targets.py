"""Turn a node spec plus its parameters into something torch can call.

One place decides how a spec's target is built and invoked, so shape inference,
compile and code export can never disagree about it.
"""
from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, Callable

import torch

from graph.spec import Inferred, NodeSpec

def torch_dtype(name: str) -> torch.dtype:
    """'float32' -> torch.float32 (dtype names as TensorMeta and the Input node write them)."""
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r}")
    return dtype


def resolve_target(dotted: str) -> Any:
    """'torch.nn:Conv2d' -> the class; 'runtime.ops:add' -> the function."""
    module_name, _, attr = dotted.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def infer_values(spec: NodeSpec, input_shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """Read the spec's inferred arguments off the inputs' shapes (batch axis included)."""
    values: dict[str, Any] = {}
    for name, rule in spec.inferred.items():
        shape = input_shapes.get(rule.port)
        if shape is None:
            continue
        values[name] = _read_axis(rule, shape)
    return values


def _read_axis(rule: Inferred, shape: tuple[int, ...]) -> Any:
    axis = rule.axis if rule.axis >= 0 else len(shape) + rule.axis
    if not 0 <= axis < len(shape):
        raise ValueError(f"needs an input with at least {abs(rule.axis) + (rule.axis >= 0)} axes, "
                         f"got {len(shape)}")
    return tuple(shape[axis:]) if rule.tail else int(shape[axis])


def call_kwargs(spec: NodeSpec, params: dict[str, Any], inferred: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the target: inferred first, then the user's, then fixed ones."""
    kwargs: dict[str, Any] = dict(inferred)
    for p in spec.params:
        if p.name in spec.local_params:
            continue
        value = params.get(p.name, p.default)
        kwargs[p.name] = tuple(value) if isinstance(value, list) else value
    kwargs.update(spec.fixed)
    return kwargs


def instantiate(spec: NodeSpec, params: dict[str, Any], inferred: dict[str, Any],
                device: str | torch.device | None = None) -> Callable:
    """Build the callable for one node: an nn.Module, or a function with its kwargs bound."""
    target = resolve_target(spec.target)
    kwargs = call_kwargs(spec, params, inferred)
    if spec.kind == "module":
        if device is None:
            return target(**kwargs)
        # Inside torch.device(...) every tensor a constructor makes lands there, even one a
        # layer builds with a bare torch.zeros: on meta, no constructor allocates real memory
        # in proportion to its size (a 16M-step PositionalEncoding table cost 4.5 GB before).
        with torch.device(device):
            if _accepts_device(target):
                return target(**kwargs, device=device)
            return target(**kwargs).to(device)
    if spec.kind == "function":
        return _BoundFunction(target, kwargs)
    raise ValueError(f"{spec.type} is not a layer (kind {spec.kind!r})")


class _BoundFunction:
    def __init__(self, fn: Callable, kwargs: dict[str, Any]) -> None:
        self.fn, self.kwargs = fn, kwargs

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args, **self.kwargs)


@functools.lru_cache(maxsize=None)
def _accepts_device(cls: type) -> bool:
    # torch.nn layers with parameters take factory kwargs (device=, dtype=); activations don't.
    try:
        return "device" in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def split_outputs(spec: NodeSpec, params: dict[str, Any], result: Any) -> dict[str, Any]:
    """Map a target's return value onto the spec's output port names."""
    names = spec.output_names(params)
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise TypeError(f"{spec.type} should return {len(names)} tensors")
    return dict(zip(names, result))
