"""Activations: simple functions applied to every value, which let networks bend."""
from graph.spec import NodeSpec, ParamSpec

CATEGORY = "Activation"

_EXAMPLE = {"x": (4, 5)}


def _act(type_id: str, doc: str, params: tuple[ParamSpec, ...] = (), summary: str = "",
         shape_hint: str = "") -> NodeSpec:
    return NodeSpec(
        type=type_id,
        category=CATEGORY,
        doc=doc,
        target=f"torch.nn:{type_id}",
        params=params,
        example=dict(_EXAMPLE),
        summary=summary,
        shape_hint=shape_hint,
    )


def _dim(doc: str) -> ParamSpec:
    return ParamSpec("dim", "int", 1, doc, min=-8, max=8)


SPECS = (
    _act("ReLU", "Keeps positive values and turns negative ones into 0."),
    _act("LeakyReLU", "Like ReLU, but negative values are scaled down instead of zeroed.",
         (ParamSpec("negative_slope", "float", 0.01, "What negative values are multiplied by.",
                    min=0.0),),
         summary="slope {negative_slope}"),
    _act("PReLU", "Like LeakyReLU, but the slope for negative values is learned.",
         (ParamSpec("num_parameters", "int", 1, "How many slopes to learn: 1, or one per "
                    "channel (the size of axis 1).", min=1),
          ParamSpec("init", "float", 0.25, "The slope's starting value.")),
         shape_hint="num_parameters must be 1 or the number of channels (axis 1)."),
    _act("ELU", "Like ReLU, but negative values curve smoothly down towards -alpha.",
         (ParamSpec("alpha", "float", 1.0, "The value very negative inputs approach (as "
                    "-alpha).", min=0.0),),
         summary="α={alpha}"),
    _act("GELU", "A smooth ReLU used in transformers: scales each value by how likely it "
                 "is to be positive.",
         (ParamSpec("approximate", "choice", "none", "Use the faster tanh approximation.",
                    choices=("none", "tanh")),)),
    _act("SiLU", "x times sigmoid(x) (also called Swish): a smooth ReLU."),
    _act("Mish", "x times tanh(softplus(x)): a smooth ReLU."),
    _act("Softplus", "A smooth ReLU: log(1 + exp(x)), always positive.",
         (ParamSpec("beta", "float", 1.0, "Higher values make it closer to ReLU.", min=0.001),
          ParamSpec("threshold", "float", 20.0, "Above this (times beta) it just returns x.",
                    min=0.0))),
    _act("Sigmoid", "Squashes every value into 0..1 (e.g. a yes/no probability)."),
    _act("Tanh", "Squashes every value into -1..1."),
    _act("Softmax", "Turns scores into probabilities that add up to 1 along one axis.",
         (_dim("The axis that adds up to 1 (1 = the classes of N×C scores; -1 = last)."),),
         summary="dim {dim}",
         shape_hint="Don't put Softmax before CrossEntropyLoss, which expects raw scores."),
    _act("LogSoftmax", "The log of Softmax: log-probabilities along one axis (pairs with "
                       "NLLLoss).",
         (_dim("The axis that is normalized (1 = the classes of N×C scores; -1 = last)."),),
         summary="dim {dim}"),
)
