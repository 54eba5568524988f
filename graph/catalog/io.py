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
    doc="Where a result leaves the network; the model returns every Output, in order.",
    target=None,
    kind="output",
    inputs=(PortSpec("x", "the tensor the model returns"),),
    outputs=(),
    params=(ParamSpec("name", "str", "out", "The name of this output."),),
)

BLOCK = NodeSpec(
    type="Block",
    category=CATEGORY,
    doc="A composite block: a named sub-network used as one node. Its ports are the "
        "Input and Output nodes inside it.",
    target=None,
    kind="block",
    inputs=(),
    outputs=(),
    params=(ParamSpec("block", "str", "", "The name of the block definition this node uses."),),
    summary="{block}",
)

SPECS = (INPUT, OUTPUT, BLOCK)
