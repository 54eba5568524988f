"""Fully connected layers and embeddings."""
from graph.spec import Inferred, NodeSpec, ParamSpec, PortSpec

CATEGORY = "Linear"

_BIAS = ParamSpec("bias", "bool", True, "Add a learned bias to each output.")

SPECS = (
    NodeSpec(
        type="Linear",
        category=CATEGORY,
        doc="Fully connected layer: every output is a weighted sum of all inputs plus a bias.",
        target="torch.nn:Linear",
        params=(
            ParamSpec("out_features", "int", 10, "How many numbers this layer outputs.", min=1),
            _BIAS,
        ),
        inferred={"in_features": Inferred("x", -1, doc="the input's last axis")},
        example={"x": (12,)},
        shape_hint="Linear works on the last axis; put a Flatten before it for images.",
        summary="→ {out_features}",
    ),
    NodeSpec(
        type="RBF",
        category=CATEGORY,
        doc="Radial-basis units: each output is a bump, exp(−distance² / width²), around a "
            "learned centre with a learned width (an RBF network).",
        target="runtime.ops:RBF",
        params=(ParamSpec("out_features", "int", 10, "How many units (centres).", min=1),),
        inferred={"in_features": Inferred("x", -1, doc="the input's last axis")},
        example={"x": (3,)},
        shape_hint="RBF works on the last axis, like Linear; put a Flatten before it for "
                   "images.",
        summary="{out_features} centres",
    ),
    NodeSpec(
        type="Bilinear",
        category=CATEGORY,
        doc="Combines two inputs: each output is a learned weighted sum of products x1·x2.",
        target="torch.nn:Bilinear",
        inputs=(PortSpec("x1", "the first input"), PortSpec("x2", "the second input")),
        params=(
            ParamSpec("out_features", "int", 10, "How many numbers this layer outputs.", min=1),
            _BIAS,
        ),
        inferred={
            "in1_features": Inferred("x1", -1, doc="the first input's last axis"),
            "in2_features": Inferred("x2", -1, doc="the second input's last axis"),
        },
        example={"x1": (6,), "x2": (4,)},
        shape_hint="Both inputs need the same batch (and other leading axes); "
                   "only their last axes may differ.",
        summary="→ {out_features}",
    ),
    NodeSpec(
        type="Embedding",
        category=CATEGORY,
        doc="Looks up a learned vector for each whole-number id (e.g. a word's index).",
        target="torch.nn:Embedding",
        inputs=(PortSpec("x", "whole-number ids (int64), each below num_embeddings"),),
        params=(
            ParamSpec("num_embeddings", "int", 100,
                      "How many different ids there are (the vocabulary size).", min=1),
            ParamSpec("embedding_dim", "int", 16, "The length of each learned vector.", min=1),
            ParamSpec("padding_idx", "int", None,
                      "An id whose vector stays zero and is not trained (empty: none).",
                      min=0, optional=True),
        ),
        example={"x": (6,)},
        example_dtypes={"x": "int64"},
        shape_hint="Embedding needs int64 ids (set the Input's dtype to int64), each "
                   "smaller than num_embeddings; it adds an axis of size embedding_dim.",
        summary="{num_embeddings} → {embedding_dim}",
    ),
)
