"""Reshape: rearrange a tensor's axes without changing its values. The batch axis (0)
always stays first."""
from graph.spec import NodeSpec, ParamSpec

CATEGORY = "Reshape"


def _dim(default: int, doc: str) -> ParamSpec:
    # Axis numbers count the batch axis as 0; negative ones count from the end (-1 = last).
    return ParamSpec("dim", "int", default, doc, min=-8, max=8)


SPECS = (
    NodeSpec(
        type="Flatten",
        category=CATEGORY,
        doc="Flattens each sample into one long vector (e.g. before a Linear layer).",
        target="torch.nn:Flatten",
        params=(
            ParamSpec("start_dim", "int", 1, "The first axis to merge (1 = right after the "
                      "batch axis).", min=1, max=8),
            ParamSpec("end_dim", "int", -1, "The last axis to merge (-1 = the last one).",
                      min=-8, max=8),
        ),
        example={"x": (3, 4, 4)},
        shape_hint="end_dim must not come before start_dim.",
    ),
    NodeSpec(
        type="Unflatten",
        category=CATEGORY,
        doc="Splits one axis into several, e.g. 784 into 1×28×28.",
        target="torch.nn:Unflatten",
        params=(
            _dim(1, "The axis to split (1 = the first after the batch axis)."),
            ParamSpec("unflattened_size", "ints", [2, 5], "The new axes' sizes; their product "
                      "must equal the axis's size (one may be -1).", min=-1, min_length=1),
        ),
        example={"x": (10,)},
        shape_hint="The sizes in unflattened_size must multiply to the size of axis dim.",
        summary="{dim} → {unflattened_size}",
    ),
    NodeSpec(
        type="Reshape",
        category=CATEGORY,
        doc="Gives each sample a new shape with the same number of values (batch axis kept).",
        target="runtime.ops:reshape",
        kind="function",
        params=(
            ParamSpec("shape", "ints", [-1], "The new shape of one sample, without the batch "
                      "axis; one entry may be -1 for 'whatever is left'.",
                      min=-1, min_length=1),
        ),
        example={"x": (4, 5)},
        shape_hint="The new shape must hold exactly as many values as one input sample.",
        summary="→ {shape}",
    ),
    NodeSpec(
        type="Permute",
        category=CATEGORY,
        doc="Reorders the axes, e.g. (0, 2, 1) swaps the last two of a 3-axis tensor.",
        target="runtime.ops:permute",
        kind="function",
        params=(
            ParamSpec("dims", "ints", [0, 2, 1], "The new order of all axes; must start with "
                      "0 (the batch axis stays first).", min=0, max=8, min_length=2),
        ),
        example={"x": (4, 5)},
        shape_hint="dims must list every axis of the input exactly once, starting with 0.",
        summary="{dims}",
    ),
    NodeSpec(
        type="Squeeze",
        category=CATEGORY,
        doc="Removes an axis of size 1.",
        target="runtime.ops:squeeze",
        kind="function",
        params=(_dim(1, "The axis to remove; it must have size 1."),),
        example={"x": (1, 5)},
        shape_hint="Only an axis of size 1 can be removed, and never the batch axis.",
        summary="dim {dim}",
    ),
    NodeSpec(
        type="Unsqueeze",
        category=CATEGORY,
        doc="Inserts a new axis of size 1 (e.g. a channel axis for a grey image).",
        target="runtime.ops:unsqueeze",
        kind="function",
        params=(_dim(1, "Where the new axis goes (1 = right after the batch axis)."),),
        example={"x": (5,)},
        summary="dim {dim}",
    ),
    NodeSpec(
        type="Identity",
        category=CATEGORY,
        doc="Passes its input through unchanged (a placeholder or a tidy junction).",
        target="torch.nn:Identity",
        example={"x": (4, 5)},
    ),
)
