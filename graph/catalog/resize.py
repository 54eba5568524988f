"""Resize and pad: make feature maps larger (upsampling) or add a border around them."""
from graph.spec import NodeSpec, ParamSpec

CATEGORY = "Resize / Pad"

_SIDES = {1: "left, right", 2: "left, right, top, bottom",
          3: "left, right, top, bottom, front, back"}


def _padding(dims: int) -> ParamSpec:
    return ParamSpec("padding", "ints", [1] * (2 * dims),
                     f"How much to add on each side: {_SIDES[dims]} (last axis first).",
                     min=0, length=2 * dims)


def _zero_pad(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"ZeroPad{dims}d",
        category=CATEGORY,
        doc=f"Adds a border of zeros around each {dims}-D feature map.",
        target=f"torch.nn:ZeroPad{dims}d",
        params=(_padding(dims),),
        example={"x": (3,) + (4,) * dims},
        shape_hint=f"ZeroPad{dims}d pads the last {dims} axes.",
        summary="{padding}",
    )


def _constant_pad(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"ConstantPad{dims}d",
        category=CATEGORY,
        doc=f"Adds a border of one constant value around each {dims}-D feature map.",
        target=f"torch.nn:ConstantPad{dims}d",
        params=(_padding(dims), ParamSpec("value", "float", 0.0, "The value of the border.")),
        example={"x": (3,) + (4,) * dims},
        shape_hint=f"ConstantPad{dims}d pads the last {dims} axes.",
        summary="{padding} = {value}",
    )


SPECS = (
    NodeSpec(
        type="Upsample",
        category=CATEGORY,
        doc="Makes feature maps larger by a scale factor or to a fixed size, by repeating "
            "or interpolating values.",
        target="torch.nn:Upsample",
        params=(
            ParamSpec("scale_factor", "float", 2.0, "How many times larger (empty: use size "
                      "instead).", min=0.01, max=64.0, optional=True),
            ParamSpec("size", "ints", None, "The exact output size of the spatial axes "
                      "(empty: use scale_factor instead).", min=1, min_length=1,
                      optional=True),
            ParamSpec("mode", "choice", "nearest", "How new values are made: nearest copies; "
                      "linear (1-D), bilinear/bicubic (2-D), trilinear (3-D) interpolate.",
                      choices=("nearest", "linear", "bilinear", "bicubic", "trilinear")),
            ParamSpec("align_corners", "bool", None, "For the interpolating modes: line up "
                      "the corner pixels exactly (empty: torch's default).", optional=True),
        ),
        example={"x": (3, 4, 4)},
        shape_hint="Set exactly one of scale_factor and size (with one number per spatial "
                   "axis); linear needs N×C×L, bilinear/bicubic N×C×H×W, trilinear N×C×D×H×W.",
        summary="{mode}",
    ),
    _zero_pad(1), _zero_pad(2), _zero_pad(3),
    _constant_pad(1), _constant_pad(2), _constant_pad(3),
)
