"""What a node's real forward pass (or its real construction) would refuse that the meta
run does not notice by itself.

Meta kernels compute shapes and dtypes but skip the checks a CPU or GPU kernel makes, so
a graph could validate and then fail on its first batch. Each rule here is general (it
reads the built module and its inputs, never a list of layer types):

- dtypes: a module holding floating-point weights or buffers computes in their dtype
  (NodeTorch builds every layer in float32), so each floating input must have that dtype,
  and whole numbers go only where the spec declares an integer port (Embedding's ids);
  function nodes (reshape, add, concat...) are plain tensor operations that take any dtype.
- budget: the values a node holds (parameters and buffers, counted on meta where they cost
  nothing) must fit MAX_NODE_BYTES, so compile never starts allocating a runaway layer.
- empty axes: an output with an axis of size 0 holds no values; nothing after it can work.
"""
from __future__ import annotations

import torch

from graph.model import Node
from graph.spec import NodeSpec
from runtime import targets

# What one node may hold in parameters and buffers: 1 GiB is 268,435,456 float32 values,
# far past any layer a course or a practitioner's model needs (GPT-2's whole token table
# is 154 MB), yet small enough that compiling it cannot exhaust an ordinary machine.
MAX_NODE_BYTES = 1024**3


class NodeRefused(Exception):
    """The node cannot run as configured: a message naming it, and what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def check_input_dtypes(spec: NodeSpec, node: Node, fn, inputs: dict) -> None:
    """Refuse inputs whose dtype the real kernel would reject (inputs: TensorMeta by port)."""
    if not isinstance(fn, torch.nn.Module):
        return
    held = {t.dtype for t in _held_tensors(fn) if t.is_floating_point()}
    for port, meta in inputs.items():
        dtype = targets.torch_dtype(meta.dtype)
        # The same opening as shape_errors.explain's dtype message: one wording for one fault.
        cannot = f"{node.title} cannot take an input of this type ({meta.text()} {meta.dtype})"
        wants_ids = spec.example_dtypes.get(port, "float32").startswith("int")
        if wants_ids:
            if dtype.is_floating_point:
                raise NodeRefused(f"{cannot}: input {port!r} must hold whole-number ids (int64)",
                                  "set the Input's dtype to int64 for token ids")
            continue
        if not dtype.is_floating_point:
            raise NodeRefused(
                f"{cannot}: input {port!r} holds whole numbers, but this layer computes "
                "with floating-point numbers (float32)",
                "set the Input's dtype to float32; int64 is for token ids, which go into "
                "an Embedding first")
        if held and dtype not in held:
            weights = "/".join(sorted(str(d).removeprefix("torch.") for d in held))
            raise NodeRefused(
                f"{cannot}: its weights are {weights}, and the forward pass needs input "
                "and weights of one dtype",
                f"set the Input's dtype to {weights} (NodeTorch builds every layer in "
                f"{weights})")


def check_budget(node: Node, fn) -> None:
    """Refuse a node that would hold more than MAX_NODE_BYTES (fn was built on meta)."""
    if not isinstance(fn, torch.nn.Module):
        return
    tensors = _held_tensors(fn)
    size = sum(t.numel() * t.element_size() for t in tensors)
    if size <= MAX_NODE_BYTES:
        return
    values = sum(t.numel() for t in tensors)
    raise NodeRefused(
        f"{node.title} would hold {values:,} values ({_bytes(size)}) in its weights and "
        f"buffers, more than the {_bytes(MAX_NODE_BYTES)} a node may hold (MAX_NODE_BYTES)",
        "lower this node's sizes (features, channels, max_len, vocabulary), or shrink its "
        "input first (pooling, stride, a smaller Input)")


def check_outputs(node: Node, outputs: dict[str, torch.Tensor]) -> None:
    """Refuse an output with an axis of size 0 (outputs: the meta tensors by port)."""
    for port, t in outputs.items():
        if t.numel() == 0:
            shape = "×".join(["N", *map(str, t.shape[1:])])
            raise NodeRefused(
                f"{node.title}: its output {port!r} would be {shape}, with an axis of size 0 "
                "(no values at all)",
                "every axis must keep at least 1: use a larger input, or change this node's "
                "parameters so it shrinks less (a larger scale_factor or size, a smaller "
                "kernel or stride)")


def _held_tensors(module: torch.nn.Module) -> list[torch.Tensor]:
    # parameters() and buffers() each skip repeats; a tensor registered as both is rare
    # enough that counting it twice errs only towards caution.
    return [*module.parameters(), *module.buffers()]


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:,.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"
