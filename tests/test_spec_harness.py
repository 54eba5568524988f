"""One harness for every node spec in the catalog (Input, Output and Block excepted).

Each case builds a tiny document through the real model API — one Input per input port
(shape and dtype from spec.example / spec.example_dtypes), the node, one Output per output
port — and checks it the way the tools use it: check_document has nothing to say, the
compiled module's real CPU forward matches the meta shape report (shapes, dtypes, parameter
count), the file format round-trips, and the exported standalone code loads the compiled
state_dict and gives identical outputs. Every spec runs with its defaults and with each
non-default variant listed in VARIANTS.
"""
from __future__ import annotations

import inspect
import string

import pytest
import torch
from torch import nn

from graph.catalog import CATEGORIES, SPECS
from graph.document import Document
from graph.fileformat import dumps
from graph.loader import loads
from graph.spec import PARAM_KINDS, NodeSpec
from runtime.check import check_document
from runtime.codegen import export_code
from runtime.compile import CompileError, compile_document
from runtime.targets import (
    infer_values, instantiate, resolve_target, split_outputs, torch_dtype,
)

BATCH = 2
NOT_LAYERS = ("Input", "Output", "Block")   # covered by the document-level tests
LAYER_SPECS = {t: s for t, s in SPECS.items() if t not in NOT_LAYERS}
LAYER_ID = "layer"

# Non-default parameters (and optionally other example shapes) per type id.
# Each entry: (param overrides, example override or None).
VARIANTS: dict[str, list[tuple[dict, dict | None]]] = {
    "Linear": [({"out_features": 3, "bias": False}, {"x": (4, 12)})],
    "Bilinear": [({"out_features": 2, "bias": False}, None)],
    "RBF": [({"out_features": 4}, {"x": (5, 2)})],
    # The projecting form (the default example passes through: 3 channels, stride 1 vs 64).
    "Shortcut2d": [({"out_channels": 3, "stride": 1}, None), ({"out_channels": 6, "stride": 2}, None)],
    "Embedding": [({"embedding_dim": 4, "padding_idx": 0, "num_embeddings": 10}, {"x": (3, 2)})],
    "LayerNorm": [({"normalized_dims": 2}, None),
                  ({"elementwise_affine": False, "bias": False}, None)],
    "GroupNorm": [({"num_groups": 4, "affine": False}, {"x": (8, 3, 3)}), ({"num_groups": 1}, None)],
    "Dropout": [({"p": 0.0}, None), ({"p": 1.0}, None)],
    "LeakyReLU": [({"negative_slope": 0.2}, None)],
    "PReLU": [({"num_parameters": 4}, None)],
    "ELU": [({"alpha": 0.5}, None)],
    "GELU": [({"approximate": "tanh"}, None)],
    "Softplus": [({"beta": 2.0, "threshold": 10.0}, None)],
    "Softmax": [({"dim": -1}, {"x": (3, 4, 5)})],
    "LogSoftmax": [({"dim": -1}, None)],
    "Flatten": [({"start_dim": 2}, None), ({"start_dim": 1, "end_dim": 2}, None)],
    "Unflatten": [({"dim": -1, "unflattened_size": [2, -1]}, {"x": (3, 8)})],
    "Reshape": [({"shape": [5, 4]}, None), ({"shape": [2, -1, 5]}, None)],
    "Permute": [({"dims": [0, 3, 1, 2]}, {"x": (4, 5, 6)})],
    "Squeeze": [({"dim": -1}, {"x": (5, 1)})],
    "Unsqueeze": [({"dim": -1}, None), ({"dim": 2}, {"x": (3, 4)})],
    "Multiply": [({"num_inputs": 3}, {"x1": (4, 5), "x2": (4, 5), "x3": (1, 5)})],
    "Add": [({"num_inputs": 3}, {"x1": (4, 5), "x2": (4, 5), "x3": (4, 5)})],
    "Concat": [({"num_inputs": 3, "dim": -1}, {"x1": (4, 5), "x2": (4, 1), "x3": (4, 2)})],
    "Chunk": [({"chunks": 3, "dim": -1}, {"x": (6, 5)}), ({"chunks": 4}, None)],
    # Split has one output per entry of split_sizes (no separate count parameter).
    "Split": [({"split_sizes": [1, 3, 1], "dim": 2}, None)],
    "MultiheadAttention": [
        ({"num_heads": 2, "causal": True, "dropout": 0.1}, None),
        ({"num_heads": 2}, {"query": (5, 16), "key": (7, 6)}),
        ({"num_heads": 2}, {"query": (5, 16), "key": (7, 6), "value": (7, 3)}),
        ({"num_heads": 2}, {"query": (5, 16), "value": (5, 3)}),
    ],
    "TransformerEncoderLayer": [
        ({"nhead": 2, "activation": "gelu", "norm_first": True, "dim_feedforward": 32}, None),
    ],
    "PositionalEncoding": [({"encoding": "learned", "max_len": 5, "dropout": 0.1}, None),
                           ({}, {"x": (4, 7)})],
    "Upsample": [
        ({"scale_factor": None, "size": [7, 9], "mode": "bilinear", "align_corners": True}, None),
        ({"scale_factor": 1.5, "mode": "bicubic", "align_corners": False}, None),
        ({"mode": "linear"}, {"x": (3, 4)}),
        ({"mode": "trilinear"}, {"x": (3, 2, 3, 4)}),
    ],
    "ConstantPad2d": [({"padding": [0, 1, 2, 3], "value": -1.5}, None)],
    "Log": [({"eps": 1e-6}, None)],
    # sample_in_eval=True is left out: the harness compares two models in eval mode.
    "RandomNormalLike": [({"mean": 1.5, "std": 0.5}, None)],
    "Scale": [({"factor": -0.5, "offset": 3.0}, None)],
    "ReduceMean": [({"dims": [1, -1], "keepdim": True}, None), ({"dims": [2]}, None)],
    "ReduceSum": [({"dims": [1, 2], "keepdim": False}, None), ({"dims": [-2], "keepdim": True}, None)],
    "Slice": [({"dim": -1, "start": -3, "length": 2}, None),
              ({"dim": 1, "start": 1, "length": 3, "step": 2}, None)],
    "ZeroPad1d": [({"padding": [2, 0]}, None)],
}


def _add_family_variants() -> None:
    for d in (1, 2, 3):
        VARIANTS[f"Conv{d}d"] = [({"stride": [2] * d, "padding": [1] * d, "out_channels": 4,
                                   "dilation": [2] * d, "bias": False}, None),
                                 ({"groups": 3, "out_channels": 6, "padding_mode": "reflect",
                                   "padding": [1] * d}, None)]
        VARIANTS[f"ConvTranspose{d}d"] = [({"stride": [2] * d, "output_padding": [1] * d,
                                            "padding": [1] * d}, None),
                                          ({"groups": 3, "out_channels": 6, "dilation": [2] * d},
                                           None)]
        for kind in ("Max", "Avg"):
            VARIANTS[f"{kind}Pool{d}d"] = [({"stride": [1] * d, "padding": [1] * d}, None),
                                           ({"kernel_size": [3] * d, "ceil_mode": True}, None)]
            VARIANTS[f"Adaptive{kind}Pool{d}d"] = [({"output_size": [3] * d}, None)]
        VARIANTS[f"MaxPool{d}d"].append(({"dilation": [2] * d}, None))
        VARIANTS[f"AvgPool{d}d"].append(({"padding": [1] * d, "count_include_pad": False}, None))
        VARIANTS[f"BatchNorm{d}d"] = [({"affine": False, "track_running_stats": False,
                                        "momentum": 0.5}, None)]
        VARIANTS[f"InstanceNorm{d}d"] = [({"affine": True, "track_running_stats": True}, None)]
        VARIANTS[f"Dropout{d}d"] = [({"p": 0.2}, None)]
        VARIANTS[f"ZeroPad{d}d"] = VARIANTS.get(f"ZeroPad{d}d", []) + [({"padding": [0, 2] * d},
                                                                        None)]
        VARIANTS[f"ConstantPad{d}d"] = VARIANTS.get(f"ConstantPad{d}d", []) + [({"value": 3.0},
                                                                                None)]
    VARIANTS["BatchNorm1d"].append(({}, {"x": (4, 7)}))
    for kind in ("RNN", "LSTM", "GRU"):
        VARIANTS[kind] = [
            ({"returns": "last"}, None),
            ({"bidirectional": True}, None),
            ({"bidirectional": True, "returns": "last", "num_layers": 3, "dropout": 0.2,
              "hidden_size": 7, "bias": False}, None),
        ]
    VARIANTS["RNN"].append(({"nonlinearity": "relu", "returns": "last"}, None))
    for kind in ("RNN", "LSTM", "GRU"):   # the final hidden state as a second output, h
        VARIANTS[kind] += [
            ({"state_output": True}, None),
            ({"state_output": True, "bidirectional": True, "num_layers": 2,
              "hidden_size": 5}, None),
            ({"state_output": True, "returns": "last"}, None),
        ]


_add_family_variants()


def _cases() -> list:
    cases = []
    for type_id, spec in LAYER_SPECS.items():
        cases.append(pytest.param(type_id, {}, None, id=type_id))
        for i, (overrides, example) in enumerate(VARIANTS.get(type_id, []), start=1):
            cases.append(pytest.param(type_id, overrides, example, id=f"{type_id}-v{i}"))
    return cases


# --- building the tiny document -------------------------------------------------------------

def build_document(spec: NodeSpec, params: dict, example: dict) -> tuple[Document, dict, dict]:
    """Inputs → the node → Outputs, through Graph.add_node/connect (what the editor calls).

    Returns the document, {input port: Input node id} and {Output node id: output port}."""
    doc = Document(name=spec.type)  # named like the type: PositionalEncoding is also a helper
    graph = doc.graph
    inputs: dict[str, str] = {}
    for port in spec.input_names(params):
        if port not in example:
            assert port in spec.optional_inputs(), f"{spec.type}: example lacks input {port}"
            continue
        node = graph.add_node("Input", {"name": port, "shape": list(example[port]),
                                        "dtype": spec.example_dtypes.get(port, "float32")},
                              node_id=f"in_{port}")
        inputs[port] = node.id
    layer = graph.add_node(spec.type, params, node_id=LAYER_ID)
    for port, node_id in inputs.items():
        graph.connect(node_id, "out", layer.id, port)
    outputs: dict[str, str] = {}
    for port in spec.output_names(layer.params):
        node = graph.add_node("Output", {"name": f"y_{port}"}, node_id=f"out_{port}")
        graph.connect(layer.id, port, node.id, "x")
        outputs[node.id] = port
    return doc, inputs, outputs


def random_inputs(doc: Document, names: list[str], batch: int, seed: int = 0) -> list[torch.Tensor]:
    """One tensor per forward() argument, in order, from the Input nodes' shape and dtype."""
    by_name = {n.params["name"]: n for n in doc.graph if n.type == "Input"}
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for name in names:
        params = by_name[name].params
        shape = (batch, *params["shape"])
        dtype = torch_dtype(params["dtype"])
        if dtype == torch.int64:
            tensors.append(torch.randint(0, 10, shape, generator=gen))
        else:
            tensors.append(torch.randn(shape, generator=gen, dtype=dtype))
    return tensors


def as_tuple(result) -> tuple:
    return result if isinstance(result, tuple) else (result,)


# --- the harness ------------------------------------------------------------------------------

@pytest.mark.parametrize("type_id, overrides, example", _cases())
def test_spec_case(type_id: str, overrides: dict, example: dict | None) -> None:
    spec = SPECS[type_id]
    params = {**spec.defaults(), **overrides}
    doc, _, outputs = build_document(spec, params, example or spec.example)

    # (a) nothing to report: no errors, and no warnings either for a graph this simple.
    check = check_document(doc)
    assert not check.diagnostics, [d.line() for d in check.diagnostics]
    report = check.shapes
    layer_shapes = report.nodes[LAYER_ID]
    assert set(layer_shapes.outputs) == set(spec.output_names(params))

    # (b) the real module on CPU agrees with the meta shape report, port by port.
    compiled = compile_document(doc, check=check)
    module, program = compiled.module, compiled.program
    assert [outputs[n] for n in program.output_nodes] == spec.output_names(params)
    inputs = random_inputs(doc, program.inputs, BATCH)
    with torch.no_grad():
        result = as_tuple(module(*inputs))
    assert len(result) == len(program.output_nodes)
    for node_id, value in zip(program.output_nodes, result):
        meta = layer_shapes.outputs[outputs[node_id]]
        assert isinstance(value, torch.Tensor), f"{node_id}: {type(value)}"
        assert list(value.shape) == [BATCH, *meta.shape], node_id
        assert value.dtype == torch_dtype(meta.dtype), node_id
        assert report.nodes[node_id].inputs["x"] == meta

    # (c) the file format round-trips exactly.
    text = dumps(doc)
    again = loads(text)
    assert not again.load_problems
    assert dumps(again) == text
    assert list(again.graph.nodes) == list(doc.graph.nodes)
    for node_id, node in doc.graph.nodes.items():
        assert again.graph.nodes[node_id].params == node.params, node_id
    assert again.graph.edges == doc.graph.edges

    # (e) the shape report counts exactly the module's parameters.
    assert report.total_params == sum(p.numel() for p in module.parameters())

    # (f) the exported standalone code is the same model.
    source = export_code(program)
    namespace: dict = {"__name__": f"nodetorch_export_{type_id}"}
    exec(compile(source, f"<export {type_id}>", "exec"), namespace)
    exported = namespace[program.class_name]()
    assert isinstance(exported, nn.Module)
    exported.load_state_dict(module.state_dict(), strict=True)
    module.eval()
    exported.eval()
    with torch.no_grad():
        expected = as_tuple(module(*inputs))
        got = as_tuple(exported(*inputs))
    assert len(got) == len(expected) == len(result)
    for a, b, train in zip(expected, got, result):
        assert a.shape == train.shape  # eval mode (BatchNorm, Dropout) keeps the shapes
        # Bit for bit; NaN where the other has NaN (Log of a random negative input).
        torch.testing.assert_close(b, a, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("type_id", list(LAYER_SPECS))
def test_spec_static(type_id: str) -> None:
    """(d) docs, defaults, category and summary; plus the spec's internal consistency."""
    spec = SPECS[type_id]
    assert spec.type == type_id
    assert spec.doc.strip() and "\n" not in spec.doc
    assert spec.category in CATEGORIES
    assert spec.kind in ("module", "function")
    names = [p.name for p in spec.params]
    assert len(set(names)) == len(names), "duplicate parameter names"
    for p in spec.params:
        assert p.kind in PARAM_KINDS, p.name
        assert p.doc.strip() and "\n" not in p.doc, f"{p.name}: doc"
        value, problem = p.check(p.default)
        assert problem is None, f"{p.name}: default {p.default!r}: {problem}"
        if p.kind == "choice":
            assert p.choices and p.default in p.choices
    defaults = spec.defaults()
    if spec.summary:
        text = spec.summary.format(**defaults)
        assert text.strip()
        fields = {f for _, f, _, _ in string.Formatter().parse(spec.summary) if f}
        assert fields <= set(names), f"summary names unknown fields {fields - set(names)}"
    for name in spec.local_params:
        assert name in names, f"local param {name} unknown"
    ports = {p.name for p in spec.inputs}
    for key, rule in spec.inferred.items():
        assert rule.port in ports, f"inferred {key} reads unknown port {rule.port}"
        assert rule.doc, f"inferred {key} has no doc"
        assert key not in names, f"{key} is both inferred and a parameter"
    for port in spec.inputs + spec.outputs:
        if port.count_param is not None:
            assert port.count_param in names, f"port {port.name}: unknown count_param"
    required = set(spec.input_names(defaults)) - spec.optional_inputs()
    assert required <= set(spec.example), f"example lacks {required - set(spec.example)}"
    for port, dtype in spec.example_dtypes.items():
        assert port in spec.example
        torch_dtype(dtype)
    target = resolve_target(spec.target)
    if spec.kind == "module":
        assert inspect.isclass(target) and issubclass(target, nn.Module)
    else:
        assert callable(target) and not inspect.isclass(target)


def test_harness_covers_every_spec() -> None:
    """Every layer type has a case, and every one with parameters also a non-default one;
    the variant table names only real types and parameters (no stale entries)."""
    covered = {p.values[0] for p in _cases()}
    assert covered == set(SPECS) - set(NOT_LAYERS)
    assert {"Input", "Output", "Block"} <= set(SPECS)
    missing = [t for t, s in LAYER_SPECS.items() if s.params and not VARIANTS.get(t)]
    assert not missing, f"specs with parameters but no variant: {missing}"
    for type_id, variants in VARIANTS.items():
        assert type_id in LAYER_SPECS, type_id
        known = {p.name for p in SPECS[type_id].params}
        for overrides, example in variants:
            assert set(overrides) <= known, f"{type_id}: unknown {set(overrides) - known}"
            assert overrides or example, f"{type_id}: a variant that changes nothing"


# --- bad settings fail with a clear message ----------------------------------------------------

# (type, params, input shapes without the batch axis, words the error must contain).
ERRORS = [
    ("Permute", {"dims": [1, 0, 2]}, {"x": (3, 4)}, "batch axis stays first"),
    ("Permute", {"dims": [0, 1]}, {"x": (3, 4)}, "exactly once"),
    ("Squeeze", {}, {"x": (3, 4)}, "only an axis of size 1"),
    ("Squeeze", {"dim": 0}, {"x": (3, 4)}, "batch axis"),
    ("Unsqueeze", {"dim": 0}, {"x": (3, 4)}, "batch axis"),
    ("Reshape", {"shape": [3, 3]}, {"x": (3, 4)}, "can't reshape"),
    ("Reshape", {"shape": [-1, -1]}, {"x": (3, 4)}, "at most one -1"),
    ("Reshape", {"shape": [5, -1]}, {"x": (3, 4)}, "can't reshape"),
    ("Split", {"split_sizes": [1, 1]}, {"x": (3, 4)}, "add up to"),
    ("Split", {"split_sizes": [1, 2, 2]}, {"x": (4, 4)}, "add up to"),
    ("Concat", {"dim": 0}, {"x1": (3,), "x2": (3,)}, "batch axis"),
    ("Chunk", {"chunks": 5}, {"x": (3, 4)}, "into 5 pieces"),
    ("LayerNorm", {"normalized_dims": 3}, {"x": (3, 4)}, "normalized_dims"),
    ("RNN", {}, {"x": (8,)}, "3 axes"),
    ("LSTM", {}, {"x": (8,)}, "3 axes"),
    ("GRU", {}, {"x": (8,)}, "3 axes"),
    ("MultiheadAttention", {}, {"query": (16,)}, "3 axes"),
    ("PositionalEncoding", {"max_len": 3}, {"x": (5, 8)}, "max_len"),
    ("PositionalEncoding", {}, {"x": (8,)}, "3 axes"),
    ("ReduceMean", {"dims": [0]}, {"x": (3, 4)}, "batch axis"),
    ("ReduceSum", {"dims": [3]}, {"x": (3, 4)}, "axes 0 to 2"),
    ("Slice", {"dim": 0}, {"x": (3, 4)}, "batch axis"),
    ("Slice", {"start": 2, "length": 2}, {"x": (3, 4)}, "do not fit"),
    ("Slice", {"start": -4, "length": 1}, {"x": (3, 4)}, "do not fit"),
]


def _error_id(case) -> str:
    type_id, overrides, example, _ = case
    return f"{type_id}-{'-'.join(f'{k}={v}' for k, v in overrides.items()) or 'default'}" \
           f"-{'x'.join(str(d) for s in example.values() for d in s)}"


@pytest.mark.parametrize("case", ERRORS, ids=[_error_id(c) for c in ERRORS])
def test_bad_settings_fail_clearly(case) -> None:
    """The target itself raises a ValueError saying what is wrong (real and meta tensors),
    and in a document the node gets a shape error and compile refuses."""
    type_id, overrides, example, words = case
    spec = SPECS[type_id]
    params = {**spec.defaults(), **overrides}
    for device in ("cpu", "meta"):
        shapes = {port: (BATCH, *shape) for port, shape in example.items()}
        args = [torch.zeros(shapes[p], device=device) if p in shapes else None
                for p in spec.input_names(params)]
        with pytest.raises(ValueError) as info:
            layer = instantiate(spec, params, infer_values(spec, shapes),
                                device=None if device == "cpu" else device)
            with torch.no_grad():
                split_outputs(spec, params, layer(*args))
        assert words in str(info.value), f"{device}: {info.value}"

    doc, _, _ = build_document(spec, params, example)
    check = check_document(doc)
    assert [(d.code, d.node_id) for d in check.errors] == [("shape", LAYER_ID)]
    assert words in check.errors[0].message
    with pytest.raises(CompileError):
        compile_document(doc, check=check)


def test_concat_mismatch_names_both_shapes() -> None:
    spec = SPECS["Concat"]
    doc, _, _ = build_document(spec, spec.defaults(), {"x1": (3, 4), "x2": (3, 5)})
    errors = check_document(doc).errors
    assert [(d.code, d.node_id) for d in errors] == [("shape", LAYER_ID)]
    assert "N×3×4 and N×3×5 can only be joined along axis 1" in errors[0].message


# --- code export of a model named like a helper it copies ----------------------------------------

@pytest.mark.parametrize("name, type_id", [("Positional Encoding", "PositionalEncoding"),
                                           ("RNN Layer", "RNN"), ("Attention Layer",
                                                                  "MultiheadAttention")])
def test_export_model_named_like_a_helper(name: str, type_id: str) -> None:
    """The exported file defines runtime.ops helpers by their own names; the model class
    must not shadow the helper its __init__ builds."""
    spec = SPECS[type_id]
    doc, _, _ = build_document(spec, spec.defaults(), spec.example)
    doc.name = name
    compiled = compile_document(doc)
    namespace: dict = {"__name__": "nodetorch_export"}
    exec(compile(export_code(compiled.program), "<export>", "exec"), namespace)
    exported = namespace[compiled.program.class_name]()
    exported.load_state_dict(compiled.module.state_dict(), strict=True)
    inputs = random_inputs(doc, compiled.program.inputs, BATCH)
    compiled.module.eval()
    exported.eval()
    with torch.no_grad():
        assert torch.equal(compiled.module(*inputs), exported(*inputs))
