"""Attention and transformers: each position looks at every other and takes what it
needs. Inputs are batch first: N × T (positions) × features."""
from graph.spec import Inferred, NodeSpec, ParamSpec, PortSpec

CATEGORY = "Attention"

_DROPOUT = ParamSpec("dropout", "float", 0.1, "The chance of zeroing values while training.",
                     min=0.0, max=1.0)
_SEQ_HINT = "expects batch × positions × features (N×T×D)"

SPECS = (
    NodeSpec(
        type="MultiheadAttention",
        category=CATEGORY,
        doc="Multi-head attention: each query position takes a weighted mix of the values, "
            "weighted by how well its query matches each key.",
        target="runtime.ops:AttentionLayer",
        inputs=(
            PortSpec("query", "N×T×E: the positions that ask"),
            PortSpec("key", "N×S×K: what they are matched against (default: query)",
                     optional=True),
            PortSpec("value", "N×S×V: what they take (default: key)", optional=True),
        ),
        params=(
            ParamSpec("num_heads", "int", 4, "How many attention heads run side by side; "
                      "must divide the query's feature size.", min=1, max=1024),
            ParamSpec("dropout", "float", 0.0, "Dropout on the attention weights while "
                      "training.", min=0.0, max=1.0),
            ParamSpec("bias", "bool", True, "Use learned biases in the projections."),
            ParamSpec("causal", "bool", False, "Each position only sees itself and earlier "
                      "ones (for generating sequences)."),
        ),
        inferred={
            "embed_dim": Inferred("query", -1, doc="the query's last axis"),
            "kdim": Inferred("key", -1, doc="the key's last axis"),
            "vdim": Inferred("value", -1, doc="the value's last axis"),
        },
        fixed={"batch_first": True},
        example={"query": (5, 16)},
        shape_hint=f"Attention {_SEQ_HINT}; num_heads must divide the query's last axis; "
                   "key and value need the same length.",
        summary="{num_heads} heads",
    ),
    NodeSpec(
        type="TransformerEncoderLayer",
        category=CATEGORY,
        doc="One transformer encoder block: self-attention then a small feed-forward network, "
            "each with a residual connection and layer norm.",
        target="torch.nn:TransformerEncoderLayer",
        params=(
            ParamSpec("nhead", "int", 4, "How many attention heads; must divide the input's "
                      "feature size.", min=1, max=1024),
            ParamSpec("dim_feedforward", "int", 512, "The hidden size of the feed-forward "
                      "network.", min=1),
            _DROPOUT,
            ParamSpec("activation", "choice", "relu", "The feed-forward network's activation.",
                      choices=("relu", "gelu")),
            ParamSpec("layer_norm_eps", "float", 1e-5, "A small number that avoids dividing "
                      "by zero in layer norm.", min=0.0, max=1.0),
            ParamSpec("norm_first", "bool", False, "Normalize before attention and "
                      "feed-forward instead of after (often trains more stably)."),
            ParamSpec("bias", "bool", True, "Use learned biases."),
        ),
        inferred={"d_model": Inferred("x", -1, doc="the input's last axis (features)")},
        fixed={"batch_first": True},
        example={"x": (5, 16)},
        shape_hint=f"TransformerEncoderLayer {_SEQ_HINT}; nhead must divide D.",
        summary="{nhead} heads, ff {dim_feedforward}",
    ),
    NodeSpec(
        type="PositionalEncoding",
        category=CATEGORY,
        doc="Adds a position signal to each step so attention can tell positions apart "
            "(fixed sine waves or learned).",
        target="runtime.ops:PositionalEncoding",
        params=(
            ParamSpec("max_len", "int", 512, "The longest sequence it can handle.", min=1),
            ParamSpec("encoding", "choice", "sinusoidal", "'sinusoidal': fixed sine waves; "
                      "'learned': a trained vector per position.",
                      choices=("sinusoidal", "learned")),
            ParamSpec("dropout", "float", 0.0, "The chance of zeroing values while training.",
                      min=0.0, max=1.0),
        ),
        inferred={"d_model": Inferred("x", -1, doc="the input's last axis (features)")},
        example={"x": (5, 16)},
        shape_hint=f"PositionalEncoding {_SEQ_HINT}, with T at most max_len.",
        summary="{encoding}",
    ),
)
