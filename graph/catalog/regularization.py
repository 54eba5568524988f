"""Regularization: dropout layers that randomly zero values while training."""
from graph.spec import NodeSpec, ParamSpec

CATEGORY = "Regularization"

_P = ParamSpec("p", "float", 0.5, "The chance that each value (or channel) is zeroed.",
               min=0.0, max=1.0)

_DROPOUT_SHAPES = {1: "N×C×L", 2: "N×C×H×W", 3: "N×C×D×H×W"}


def _channel_dropout(dims: int) -> NodeSpec:
    return NodeSpec(
        type=f"Dropout{dims}d",
        category=CATEGORY,
        doc=f"Zeroes whole channels at random while training (for {dims}-D feature maps); "
            "does nothing at evaluation time.",
        target=f"torch.nn:Dropout{dims}d",
        params=(_P,),
        example={"x": (4,) + (5,) * dims},
        shape_hint=f"Dropout{dims}d expects {_DROPOUT_SHAPES[dims]}.",
        summary="p={p}",
    )


SPECS = (
    NodeSpec(
        type="Dropout",
        category=CATEGORY,
        doc="Zeroes random values while training so the network can't rely on any single "
            "one; does nothing at evaluation time.",
        target="torch.nn:Dropout",
        params=(_P,),
        example={"x": (4, 5)},
        summary="p={p}",
    ),
    _channel_dropout(1), _channel_dropout(2), _channel_dropout(3),
)
