"""Nodes that join branches (skip connections, concatenation) or split a tensor."""
from graph.spec import NodeSpec, ParamSpec, PortSpec

CATEGORY = "Merge / Split"

_COUNT = ParamSpec("num_inputs", "int", 2, "How many inputs to join.", min=2, max=64)


def _dim(doc: str) -> ParamSpec:
    # Axis numbers count the batch axis as 0 (not allowed here); -1 = the last axis.
    return ParamSpec("dim", "int", 1, doc, min=-8, max=8)


SPECS = (
    NodeSpec(
        type="Add",
        category=CATEGORY,
        doc="Adds its inputs element by element (a residual / skip connection).",
        target="runtime.ops:add",
        kind="function",
        inputs=(PortSpec("x", count_param="num_inputs"),),
        params=(_COUNT,),
        local_params=("num_inputs",),
        example={"x1": (4, 5), "x2": (4, 5)},
        shape_hint="Make both branches end with the same channels and size.",
    ),
    NodeSpec(
        type="Multiply",
        category=CATEGORY,
        doc="Multiplies its inputs element by element (e.g. a gate or a mask).",
        target="runtime.ops:multiply",
        kind="function",
        inputs=(PortSpec("x", count_param="num_inputs"),),
        params=(_COUNT,),
        local_params=("num_inputs",),
        example={"x1": (4, 5), "x2": (4, 5)},
        shape_hint="The inputs need the same shape (or sizes of 1 where they differ).",
    ),
    NodeSpec(
        type="Concat",
        category=CATEGORY,
        doc="Joins its inputs end to end along one axis (1 = channels or features).",
        target="runtime.ops:concat",
        kind="function",
        inputs=(PortSpec("x", count_param="num_inputs"),),
        params=(_COUNT, _dim("The axis to join along (1 = channels / features, -1 = last).")),
        local_params=("num_inputs",),
        example={"x1": (4, 5), "x2": (3, 5)},
        shape_hint="All inputs must match on every axis except dim.",
        summary="dim {dim}",
    ),
    NodeSpec(
        type="Chunk",
        category=CATEGORY,
        doc="Cuts a tensor into equal pieces along one axis (the first pieces are one "
            "larger if it doesn't divide evenly).",
        target="runtime.ops:chunk",
        kind="function",
        outputs=(PortSpec("out", count_param="chunks"),),
        params=(
            ParamSpec("chunks", "int", 2, "How many pieces (outputs).", min=2, max=64),
            _dim("The axis to cut along (1 = channels / features, -1 = last)."),
        ),
        example={"x": (6, 5)},
        shape_hint="The axis must have at least as many entries as there are chunks.",
        summary="{chunks} × dim {dim}",
    ),
    NodeSpec(
        type="Split",
        category=CATEGORY,
        doc="Cuts a tensor into pieces of the sizes you list, along one axis.",
        target="runtime.ops:split",
        kind="function",
        outputs=(PortSpec("out", count_param="split_sizes"),),
        params=(
            ParamSpec("split_sizes", "ints", [2, 2], "The size of each piece (one output "
                      "each); they must add up to the axis's size.", min=1, min_length=1),
            _dim("The axis to cut along (1 = channels / features, -1 = last)."),
        ),
        example={"x": (4, 5)},
        shape_hint="split_sizes must add up to the size of axis dim.",
        summary="{split_sizes} × dim {dim}",
    ),
)
