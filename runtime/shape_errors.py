"""Turn torch's shape errors into sentences a beginner can act on.

torch says "Kernel size can't be greater than actual input size"; the user needs
"MaxPool2d: kernel 2×2 does not fit the 1×1 input" and what to change.
"""
from __future__ import annotations

import re
from typing import Any

from graph.model import Node
from graph.spec import NodeSpec
from runtime.messages import first_line

_TOO_SMALL = re.compile(r"kernel size can't be greater|output size is too small|"
                        r"input size per channel|padded input size|pad should be at most half|"
                        r"output size is too small|smaller than kernel", re.I)
_RANK = re.compile(r"expected (\d+)D(?: \(unbatched\))? or (\d+)D(?: \(batched\))? input|"
                   r"expected (\d+)D or (\d+)D input", re.I)


def explain(spec: NodeSpec, node: Node, inputs: dict[str, Any], exc: Exception) -> tuple[str, str]:
    """(message, hint) for a failed meta run of `node` on `inputs` (TensorMeta by port)."""
    title = node.title
    torch_text = first_line(exc, limit=300)
    shapes = [m.text() for m in inputs.values()]
    hint = spec.shape_hint
    if len(inputs) > 1 and len(set(m.shape for m in inputs.values())) > 1 and \
            spec.type in ("Add", "Multiply"):
        return (f"{title}: its inputs differ, {' and '.join(shapes)}",
                hint or "make both branches end with the same channels and size")
    # ops.concat's own ValueError (dim 0 is the batch axis) already says what is wrong.
    if spec.type == "Concat" and len(inputs) > 1 and not isinstance(exc, ValueError):
        dim = node.params.get("dim", 1)
        return (f"{title}: inputs {' and '.join(shapes)} can only be joined along axis {dim} "
                "if every other axis matches", hint or "make the other axes equal, or change dim")
    if _TOO_SMALL.search(torch_text):
        kernel = node.params.get("kernel_size")
        first = next(iter(inputs.values()), None)
        spatial = "×".join(map(str, first.shape[1:])) if first is not None else "?"
        if kernel is not None:
            k = "×".join(map(str, kernel if isinstance(kernel, (list, tuple)) else [kernel]))
            return (f"{title}: kernel {k} does not fit the {spatial} input",
                    "use a smaller kernel, add padding, or remove a pooling step before it")
        return (f"{title}: the {spatial} input is too small for this layer",
                "use a larger input or remove a downsampling step before it")
    rank = _RANK.search(torch_text)
    if rank:
        nums = [int(n) for n in rank.groups() if n]
        first = next(iter(inputs.values()), None)
        got = first.text() if first is not None else "?"
        return (f"{title} expects an input with {nums[-1]} axes (batch included), got {got}",
                hint or "add a Flatten, Reshape or Unsqueeze before it to fix the axes")
    if "must be divisible" in torch_text or "divisible by" in torch_text:
        return f"{title}: {torch_text}", hint or "change the numbers so they divide evenly"
    if "dtype" in torch_text.lower() or "Long" in torch_text or "Float" in torch_text:
        kinds = ", ".join(f"{m.text()} {m.dtype}" for m in inputs.values())
        return (f"{title} cannot take an input of this type ({kinds}): {torch_text}",
                hint or "Embedding takes int64 token ids; other layers take float32")
    got = ", ".join(shapes) or "no input"
    return f"{title} cannot take input {got}: {torch_text}", hint or "check the input's shape"
