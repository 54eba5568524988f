"""Pooling: shrink feature maps by summarising small windows (max or average)."""
from graph.spec import NodeSpec, ParamSpec

CATEGORY = "Pooling"

_CEIL = ParamSpec("ceil_mode", "bool", False,
                  "Round the output size up, so a partial window at the edge still counts.")


def _window(dims: int) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("kernel_size", "ints", [2] * dims, "The window's size.", min=1, length=dims),
        ParamSpec("stride", "ints", None, "Step between windows (empty: same as kernel_size).",
                  min=1, length=dims, optional=True),
        ParamSpec("padding", "ints", [0] * dims,
                  "Padding on each side; at most half the kernel_size.", min=0, length=dims),
    )


def _max_pool(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"MaxPool{dims}d",
        category=CATEGORY,
        doc=f"{dims}-D max pooling: keeps the largest value of each window, shrinking the "
            "feature maps.",
        target=f"torch.nn:MaxPool{dims}d",
        params=_window(dims) + (
            ParamSpec("dilation", "ints", [1] * dims, "Spacing between window taps.",
                      min=1, length=dims),
            _CEIL,
        ),
        example={"x": (3,) + (8,) * dims},
        shape_hint="The window must fit inside the (padded) input; padding may be at most "
                   "half the kernel_size.",
        summary="max {kernel_size}",
    )


def _avg_pool(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"AvgPool{dims}d",
        category=CATEGORY,
        doc=f"{dims}-D average pooling: replaces each window by its mean, shrinking the "
            "feature maps.",
        target=f"torch.nn:AvgPool{dims}d",
        params=_window(dims) + (
            _CEIL,
            ParamSpec("count_include_pad", "bool", True,
                      "Count the padding zeros when averaging."),
        ),
        example={"x": (3,) + (8,) * dims},
        shape_hint="The window must fit inside the (padded) input; padding may be at most "
                   "half the kernel_size.",
        summary="avg {kernel_size}",
    )


def _adaptive(kind: str, dims: int) -> NodeSpec:
    word = "largest value" if kind == "Max" else "mean"
    return NodeSpec(
        type=f"Adaptive{kind}Pool{dims}d",
        category=CATEGORY,
        doc=f"{dims}-D adaptive pooling: picks the windows so the output has exactly "
            f"output_size, keeping each window's {word} (1 = global pooling).",
        target=f"torch.nn:Adaptive{kind}Pool{dims}d",
        params=(
            ParamSpec("output_size", "ints", [1] * dims, "The output's size per sample "
                      "and channel.", min=1, length=dims),
        ),
        example={"x": (3,) + (8,) * dims},
        shape_hint="Follow with Flatten to feed a Linear layer.",
        summary=f"{kind.lower()} → {{output_size}}",
    )


SPECS = tuple(
    [_max_pool(d) for d in (1, 2, 3)]
    + [_avg_pool(d) for d in (1, 2, 3)]
    + [_adaptive("Avg", d) for d in (1, 2, 3)]
    + [_adaptive("Max", d) for d in (1, 2, 3)]
)
