"""Normalization: rescale activations to mean 0 and variance 1, which steadies training."""
from graph.spec import Inferred, NodeSpec, ParamSpec

CATEGORY = "Normalization"

_EPS = ParamSpec("eps", "float", 1e-5, "A small number added to the variance to avoid "
                 "dividing by zero.", min=0.0, max=1.0)
_MOMENTUM = ParamSpec("momentum", "float", 0.1, "How fast the running mean and variance "
                      "follow each new batch.", min=0.0, max=1.0)
_CHANNELS = {"num_features": Inferred("x", 1, doc="the input's channel axis")}

_BATCH_SHAPES = {1: "N×C or N×C×L", 2: "N×C×H×W", 3: "N×C×D×H×W"}


def _batch_norm(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"BatchNorm{dims}d",
        category=CATEGORY,
        doc="Batch normalization: normalizes each channel over the batch, then applies a "
            "learned scale and shift.",
        target=f"torch.nn:BatchNorm{dims}d",
        params=(
            _EPS,
            _MOMENTUM,
            ParamSpec("affine", "bool", True, "Learn a scale and shift per channel."),
            ParamSpec("track_running_stats", "bool", True,
                      "Keep running averages to use at evaluation time."),
        ),
        inferred=dict(_CHANNELS),
        example={"x": (4,) if dims == 1 else (4,) + (5,) * dims},
        shape_hint=f"BatchNorm{dims}d expects {_BATCH_SHAPES[dims]}; training needs more "
                   "than one value per channel (batch size above 1).",
    )


def _instance_norm(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"InstanceNorm{dims}d",
        category=CATEGORY,
        doc="Instance normalization: normalizes each channel of each sample on its own "
            "(common in style transfer).",
        target=f"torch.nn:InstanceNorm{dims}d",
        params=(
            _EPS,
            _MOMENTUM,
            ParamSpec("affine", "bool", False, "Learn a scale and shift per channel."),
            ParamSpec("track_running_stats", "bool", False,
                      "Keep running averages to use at evaluation time."),
        ),
        inferred=dict(_CHANNELS),
        example={"x": (4,) + (5,) * dims},
        shape_hint=f"InstanceNorm{dims}d expects N×C and {dims} spatial axes, with more "
                   "than one value per channel.",
    )


SPECS = (
    _batch_norm(1), _batch_norm(2), _batch_norm(3),
    NodeSpec(
        type="LayerNorm",
        category=CATEGORY,
        doc="Layer normalization: normalizes each sample over its last axes (the features), "
            "then applies a learned scale and shift.",
        target="runtime.ops:LastAxesLayerNorm",
        params=(
            ParamSpec("normalized_dims", "int", 1, "How many of the last axes to normalize "
                      "over (1 = just the features).", min=1, max=8),
            _EPS,
            ParamSpec("elementwise_affine", "bool", True,
                      "Learn a scale (and shift) per normalized value."),
            ParamSpec("bias", "bool", True, "Learn the shift too (needs elementwise_affine)."),
        ),
        inferred={"sample_shape": Inferred("x", 1, tail=True,
                                           doc="the input's shape without the batch axis")},
        example={"x": (5, 8)},
        shape_hint="normalized_dims can't exceed the number of axes after the batch axis.",
        summary="last {normalized_dims}",
    ),
    NodeSpec(
        type="GroupNorm",
        category=CATEGORY,
        doc="Group normalization: splits the channels into groups and normalizes each group "
            "per sample (works with small batches).",
        target="torch.nn:GroupNorm",
        params=(
            ParamSpec("num_groups", "int", 2, "How many groups to split the channels into; "
                      "must divide the channel count.", min=1),
            _EPS,
            ParamSpec("affine", "bool", True, "Learn a scale and shift per channel."),
        ),
        inferred={"num_channels": Inferred("x", 1, doc="the input's channel axis")},
        example={"x": (4, 5, 5)},
        shape_hint="num_groups must divide the number of channels (axis 1).",
        summary="{num_groups} groups",
    ),
    _instance_norm(1), _instance_norm(2), _instance_norm(3),
)
