"""Convolutions: small learned filters slid over the input, making feature maps."""
from graph.spec import Inferred, NodeSpec, ParamSpec

CATEGORY = "Convolution"

_OUT_CHANNELS = ParamSpec("out_channels", "int", 8, "How many filters, so how many output "
                          "channels.", min=1)
_GROUPS = ParamSpec("groups", "int", 1, "Split channels into independent groups.", min=1)
_BIAS = ParamSpec("bias", "bool", True, "Add a learned bias per output channel.")
_IN_CHANNELS = {"in_channels": Inferred("x", 1, doc="the input's channel axis")}


def _conv(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"Conv{dims}d",
        category=CATEGORY,
        doc=f"{dims}-D convolution: slides learned filters over the input; each filter makes "
            "one output channel (a feature map).",
        target=f"torch.nn:Conv{dims}d",
        params=(
            _OUT_CHANNELS,
            ParamSpec("kernel_size", "ints", [3] * dims, "The filter's size.", min=1, length=dims),
            ParamSpec("stride", "ints", [1] * dims, "Step between filter positions.", min=1, length=dims),
            ParamSpec("padding", "ints", [0] * dims, "Zeros added around the input.", min=0, length=dims),
            ParamSpec("dilation", "ints", [1] * dims, "Spacing between filter taps.", min=1, length=dims),
            _GROUPS,
            _BIAS,
            ParamSpec("padding_mode", "choice", "zeros", "What the padding contains.",
                      choices=("zeros", "reflect", "replicate", "circular")),
        ),
        inferred=dict(_IN_CHANNELS),
        example={"x": (3,) + (10,) * dims},
        shape_hint="The kernel must fit inside the (padded) input; the input needs a channel axis.",
        summary="{kernel_size} → {out_channels}",
    )


def _output_padding_fits(params: dict) -> str | None:
    # torch checks this only when the layer runs, never on meta.
    for axis, (pad, stride, dilation) in enumerate(zip(params["output_padding"],
                                                       params["stride"], params["dilation"])):
        if pad >= max(stride, dilation):
            return (f"output_padding {pad} (axis {axis + 1}) must be smaller than stride "
                    f"{stride} or dilation {dilation}")
    return None


def _conv_transpose(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"ConvTranspose{dims}d",
        category=CATEGORY,
        doc=f"{dims}-D transposed convolution: a learned upsampling that makes the feature "
            "maps larger (stride 2 roughly doubles their size).",
        target=f"torch.nn:ConvTranspose{dims}d",
        params=(
            _OUT_CHANNELS,
            ParamSpec("kernel_size", "ints", [3] * dims, "The filter's size.", min=1, length=dims),
            ParamSpec("stride", "ints", [1] * dims, "How much larger the output gets.",
                      min=1, length=dims),
            ParamSpec("padding", "ints", [0] * dims, "Trims this much from each side of the "
                      "output.", min=0, length=dims),
            ParamSpec("output_padding", "ints", [0] * dims, "Extra size added on one side of "
                      "the output; must be smaller than stride.", min=0, length=dims),
            _GROUPS,
            _BIAS,
            ParamSpec("dilation", "ints", [1] * dims, "Spacing between filter taps.", min=1, length=dims),
        ),
        inferred=dict(_IN_CHANNELS),
        example={"x": (3,) + (6,) * dims},
        shape_hint="output_padding must be smaller than stride (or dilation); the input needs "
                   "a channel axis.",
        summary="{kernel_size} /{stride} → {out_channels}",
        rules=(_output_padding_fits,),
    )


SHORTCUT = NodeSpec(
    type="Shortcut2d",
    category=CATEGORY,
    doc="A residual block's shortcut: passes the input through unchanged when it already "
        "has out_channels channels and stride is 1; otherwise a 1×1 convolution (no bias) "
        "with that stride and a BatchNorm make it fit (ResNet's projection shortcut).",
    target="runtime.ops:Shortcut2d",
    params=(
        ParamSpec("out_channels", "int", 64, "The channels the block's main path ends with.",
                  min=1),
        ParamSpec("stride", "int", 1, "The main path's stride, so the same downsampling.",
                  min=1, max=64),
    ),
    inferred=dict(_IN_CHANNELS),
    example={"x": (3, 8, 8)},
    shape_hint="The input needs a channel axis (N×C×H×W).",
    summary="→ {out_channels} /{stride}",
)

SPECS = (_conv(1), _conv(2), _conv(3), _conv_transpose(1), _conv_transpose(2), _conv_transpose(3),
         SHORTCUT)
