"""Recurrent layers: read a sequence step by step, carrying a memory (hidden state).

Inputs and outputs are batch first: N × T (time steps) × features."""
from graph.spec import Inferred, NodeSpec, ParamSpec, PortSpec

CATEGORY = "Recurrent"

_FIXED = {"batch_first": True}


def _recurrent(type_id: str, doc: str, extra: tuple[ParamSpec, ...] = ()) -> NodeSpec:
    return NodeSpec(
        type=type_id,
        category=CATEGORY,
        doc=doc,
        target=f"runtime.ops:{type_id}Layer",
        params=(
            ParamSpec("hidden_size", "int", 32, "The size of the memory, so of each output "
                      "step.", min=1),
            ParamSpec("num_layers", "int", 1, "How many layers are stacked.", min=1, max=64),
        ) + extra + (
            ParamSpec("bias", "bool", True, "Use learned biases."),
            ParamSpec("dropout", "float", 0.0, "Dropout between stacked layers (needs "
                      "num_layers above 1).", min=0.0, max=1.0),
            ParamSpec("bidirectional", "bool", False, "Also read the sequence backwards; "
                      "doubles the output size."),
            ParamSpec("returns", "choice", "sequence", "'sequence': every step's output "
                      "(N×T×H); 'last': only the final state (N×H), e.g. for classifying.",
                      choices=("sequence", "last")),
            ParamSpec("state_output", "bool", False, "Also return the final hidden state "
                      "of the last layer on a second output h (N×H; N×2H bidirectional), "
                      "e.g. to start a decoder from it."),
        ),
        outputs=(PortSpec("out", "what 'returns' chooses"),
                 PortSpec("h", "the final hidden state of the last layer, directions side "
                          "by side", when="state_output")),
        inferred={"input_size": Inferred("x", -1, doc="the input's last axis (features)")},
        fixed=dict(_FIXED),
        example={"x": (5, 8)},
        shape_hint=f"{type_id} expects batch × time × features; use Unsqueeze or Permute "
                   "to get there.",
        summary="{hidden_size} ({returns})",
    )


SPECS = (
    _recurrent("RNN", "A simple recurrent layer: each step mixes the new input with the "
                      "previous hidden state.",
               (ParamSpec("nonlinearity", "choice", "tanh", "The activation inside each step.",
                          choices=("tanh", "relu")),)),
    _recurrent("LSTM", "Long short-term memory: a recurrent layer with gates that help it "
                       "remember over long sequences."),
    _recurrent("GRU", "Gated recurrent unit: a lighter LSTM that often works as well."),
)
