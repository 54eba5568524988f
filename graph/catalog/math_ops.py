"""Element-wise math and reductions: the small steps a formula drawn as nodes needs (a
VAE's reparameterisation, a KL term, a normalised score)."""
from graph.spec import NodeSpec, ParamSpec, PortSpec

CATEGORY = "Math"

_EXAMPLE = {"x": (4, 5)}
_TWO = (PortSpec("a", "the left operand"), PortSpec("b", "the right operand"))
_DIMS = ParamSpec("dims", "ints", [-1], "The axes to reduce (1 = the first after the batch "
                  "axis, -1 = the last); the batch axis (0) is never reduced.",
                  min=-8, max=8, min_length=1)
_KEEPDIM = ParamSpec("keepdim", "bool", False, "Keep the reduced axes, with size 1 (so the "
                     "result still lines up with the input).")


def _function(type_id: str, target: str, doc: str, **fields) -> NodeSpec:
    return NodeSpec(type=type_id, category=CATEGORY, doc=doc, target=f"runtime.ops:{target}",
                    kind="function", **fields)


SPECS = (
    _function("Exp", "exp", "Raises e to the power of each value; turns a log-variance "
              "into a variance, or scores into positive weights.", example=dict(_EXAMPLE)),
    _function("Log", "log", "The natural logarithm of each value (plus eps, to keep log 0 "
              "finite).", example=dict(_EXAMPLE),
              params=(ParamSpec("eps", "float", 0.0, "Added before the logarithm.", min=0.0),),
              summary="+{eps}"),
    _function("Subtract", "subtract", "a − b, element by element (a size of 1 stretches to "
              "match the other).", inputs=_TWO, example={"a": (4, 5), "b": (4, 5)},
              shape_hint="a and b need the same shape (or sizes of 1 where they differ)."),
    _function("Divide", "divide", "a ÷ b, element by element (a size of 1 stretches to match "
              "the other).", inputs=_TWO, example={"a": (4, 5), "b": (4, 5)},
              shape_hint="a and b need the same shape (or sizes of 1 where they differ)."),
    _function("Scale", "scale", "Multiplies every value by a constant and adds another: "
              "x × factor + offset.", example=dict(_EXAMPLE),
              params=(ParamSpec("factor", "float", 2.0, "What every value is multiplied by."),
                      ParamSpec("offset", "float", 0.0, "What is added afterwards.")),
              summary="× {factor} + {offset}"),
    _function("ReduceMean", "reduce_axes", "The average over the chosen axes of each "
              "sample (over the sequence, or over height and width).", example={"x": (3, 4, 5)},
              params=(_DIMS, _KEEPDIM), fixed={"how": "mean"}, summary="over {dims}",
              shape_hint="Each axis in dims must exist; axis 0 is the batch."),
    _function("ReduceSum", "reduce_axes", "The total over the chosen axes of each sample.",
              example={"x": (3, 4, 5)}, params=(_DIMS, _KEEPDIM), fixed={"how": "sum"},
              summary="over {dims}",
              shape_hint="Each axis in dims must exist; axis 0 is the batch."),
    _function("Slice", "slice_axis", "Keeps a stretch of one axis: length entries from "
              "start, every step-th (a crop, or the first half of the features).",
              example={"x": (6, 5)},
              params=(ParamSpec("dim", "int", 1, "The axis to cut (1 = the first after the "
                                "batch axis, -1 = the last).", min=-8, max=8),
                      ParamSpec("start", "int", 0, "Where the stretch begins (negative counts "
                                "from the end).", min=-(1 << 20), max=1 << 20),
                      ParamSpec("length", "int", 1, "How many entries to keep.", min=1,
                                max=1 << 20),
                      ParamSpec("step", "int", 1, "Keep every step-th entry.", min=1,
                                max=1 << 20)),
              summary="dim {dim} [{start} +{length}]",
              shape_hint="The stretch must fit inside the axis."),
    NodeSpec(
        type="RandomNormalLike",
        category=CATEGORY,
        doc="Noise shaped like its input, drawn anew at every training step (the run's "
            "seed fixes it); at evaluation time the mean. A VAE's sample is "
            "mu + exp(0.5 · logvar) × this noise.",
        target="runtime.ops:RandomNormalLike",
        params=(ParamSpec("mean", "float", 0.0, "The noise's mean (also what it gives at "
                          "evaluation time)."),
                ParamSpec("std", "float", 1.0, "The noise's standard deviation.", min=0.0),
                ParamSpec("sample_in_eval", "bool", False, "Keep drawing noise at evaluation "
                          "time too (to see the spread of a generative model).")),
        example=dict(_EXAMPLE),
        summary="N({mean}, {std}²)",
    ),
)
