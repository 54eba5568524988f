"""Where data enters and leaves a graph, and composite blocks used as nodes."""
from graph.spec import NodeSpec, ParamSpec, PortSpec

CATEGORY = "Input / Output"

INPUT = NodeSpec(
    type="Input",
    category=CATEGORY,
    doc="Where data enters the network: one sample's shape, without the batch axis.",
    target=None,
    kind="input",
    inputs=(),
    outputs=(PortSpec("out", "the input tensor, batch first"),),
    params=(
        ParamSpec("name", "str", "x", "The argument name in the model's forward()."),
        ParamSpec("shape", "ints", [1, 28, 28], "One sample's shape, e.g. 1×28×28 for a grey image.",
                  min=1, max=1 << 20, min_length=1),
        ParamSpec("dtype", "choice", "float32", "float32 for data, int64 for token ids.",
                  choices=("float32", "float64", "int64")),
    ),
    summary="{shape}",
)

OUTPUT = NodeSpec(
    type="Output",
    category=CATEGORY,
    doc="Where a result leaves the network; the model returns every Output, in order. "
        "Training predicts with the first Output that is not a loss term; an Output marked "
        "as a loss term (a VAE's KL divergence, a penalty) is averaged and added to the "
        "loss, times its weight, and gets its own curve.",
    target=None,
    kind="output",
    inputs=(PortSpec("x", "the tensor the model returns"),),
    outputs=(),
    params=(ParamSpec("name", "str", "out", "The name of this output (a loss term's curve "
                      "is called by it)."),
            ParamSpec("loss_term", "bool", False, "Add this output's mean to the training "
                      "loss instead of predicting with it."),
            ParamSpec("loss_weight", "float", 1.0, "What a loss term's mean is multiplied by "
                      "before it is added to the loss.", min=0.0)),
)

BLOCK = NodeSpec(
    type="Block",
    category=CATEGORY,
    doc="A composite block: a named sub-network used as one node. Its ports are the "
        "Input and Output nodes inside it; the parameters its definition declares are set "
        "here, and repeat chains several copies (each with its own weights).",
    target=None,
    kind="block",
    inputs=(),
    outputs=(),
    params=(ParamSpec("block", "str", "", "The name of the block definition this node uses."),
            ParamSpec("repeat", "int", 1, "How many copies of the block run one after "
                      "another, each feeding the next (needs one input and one output).",
                      min=1, max=256)),
    summary="{block}",
)

SPECS = (INPUT, OUTPUT, BLOCK)
