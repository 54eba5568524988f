"""Quick self-check of the node catalog against the runtime contract (runtime/targets.py).

Run: .venv/bin/python tests/_catalog_check.py   (exit status 0 = all good)

For every layer spec: defaults pass their own checks, docs exist, the default build runs a
CPU forward on a batch of 2 built from spec.example, every output port gets a tensor, and
a meta-device build gives the same output shapes. Then a few non-default variants per spec.
It also checks that runtime/ops.py definitions are self-contained (as code export needs).
"""
from __future__ import annotations

import ast
import inspect
import math
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from graph.catalog import SPECS  # noqa: E402
from runtime import ops  # noqa: E402
from runtime.targets import (  # noqa: E402
    infer_values, instantiate, resolve_target, split_outputs, torch_dtype,
)

BATCH = 2

# Non-default parameters (and optionally other example shapes) per type id.
# Each entry: (param overrides, example override or None).
VARIANTS: dict[str, list[tuple[dict, dict | None]]] = {
    "Linear": [({"out_features": 3, "bias": False}, {"x": (4, 12)})],
    "Bilinear": [({"out_features": 2, "bias": False}, None)],
    "Embedding": [({"embedding_dim": 4, "padding_idx": 0, "num_embeddings": 10}, {"x": (3, 2)})],
    "LayerNorm": [({"normalized_dims": 2}, None), ({"elementwise_affine": False, "bias": False}, None)],
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
    "Split": [({"split_sizes": [1, 3, 1], "num_outputs": 3, "dim": 2}, None)],
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
        VARIANTS["MaxPool%dd" % d].append(({"dilation": [2] * d}, None))
        VARIANTS["AvgPool%dd" % d].append(({"padding": [1] * d, "count_include_pad": False}, None))
        VARIANTS[f"BatchNorm{d}d"] = [({"affine": False, "track_running_stats": False,
                                        "momentum": 0.5}, None)]
        VARIANTS[f"InstanceNorm{d}d"] = [({"affine": True, "track_running_stats": True}, None)]
        VARIANTS[f"Dropout{d}d"] = [({"p": 0.2}, None)]
        VARIANTS[f"ZeroPad{d}d"] = VARIANTS.get(f"ZeroPad{d}d", []) + [({"padding": [0, 2] * d}, None)]
        VARIANTS[f"ConstantPad{d}d"] = VARIANTS.get(f"ConstantPad{d}d", []) + [({"value": 3.0}, None)]
    VARIANTS["BatchNorm1d"].append(({}, {"x": (4, 7)}))
    for kind in ("RNN", "LSTM", "GRU"):
        VARIANTS[kind] = [
            ({"returns": "last"}, None),
            ({"bidirectional": True}, None),
            ({"bidirectional": True, "returns": "last", "num_layers": 3, "dropout": 0.2,
              "hidden_size": 7, "bias": False}, None),
        ]
    VARIANTS["RNN"].append(({"nonlinearity": "relu", "returns": "last"}, None))


_add_family_variants()


def make_inputs(spec, params, example, device):
    names = spec.input_names(params)
    inputs, shapes = [], {}
    for name in names:
        if name not in example:
            assert name in spec.optional_inputs(), f"{spec.type}: example lacks input {name}"
            inputs.append(None)
            continue
        shape = (BATCH,) + tuple(example[name])
        dtype = torch_dtype(spec.example_dtypes.get(name, "float32"))
        shapes[name] = shape
        if device == "meta":
            inputs.append(torch.empty(shape, dtype=dtype, device="meta"))
        elif dtype == torch.int64:
            inputs.append(torch.randint(0, 10, shape))
        else:
            inputs.append(torch.randn(shape, dtype=dtype))
    return inputs, shapes


def run_once(spec, params, example, device):
    inputs, shapes = make_inputs(spec, params, example, device)
    inferred = infer_values(spec, shapes)
    layer = instantiate(spec, params, inferred, device=None if device == "cpu" else device)
    with torch.no_grad():
        result = layer(*inputs)
    outs = split_outputs(spec, params, result)
    assert set(outs) == set(spec.output_names(params)), f"{spec.type}: output names"
    for name, value in outs.items():
        assert isinstance(value, torch.Tensor), f"{spec.type}: output {name} is {type(value)}"
        assert value.device.type == device, f"{spec.type}: output {name} on {value.device}"
    # Training mode and eval mode both work (BatchNorm/Dropout differ).
    if isinstance(layer, nn.Module):
        layer.eval()
        with torch.no_grad():
            eval_outs = split_outputs(spec, params, layer(*inputs))
        for name in outs:
            assert eval_outs[name].shape == outs[name].shape, f"{spec.type}: eval shape {name}"
    return {k: tuple(v.shape) for k, v in outs.items()}


def check_case(spec, params, example):
    for p in spec.params:
        _, problem = p.check(params[p.name])
        assert problem is None, f"{spec.type}: {p.name}={params[p.name]!r}: {problem}"
    cpu = run_once(spec, params, example, "cpu")
    meta = run_once(spec, params, example, "meta")
    assert cpu == meta, f"{spec.type}: cpu {cpu} != meta {meta}"
    return cpu


def check_static(spec):
    assert spec.doc and "\n" not in spec.doc, f"{spec.type}: doc"
    names = [p.name for p in spec.params]
    assert len(set(names)) == len(names), f"{spec.type}: duplicate params"
    for p in spec.params:
        assert p.doc and "\n" not in p.doc, f"{spec.type}.{p.name}: doc"
        value, problem = p.check(p.default)
        assert problem is None, f"{spec.type}.{p.name}: default {p.default!r}: {problem}"
        if p.kind == "choice":
            assert p.default in p.choices
    for name in spec.local_params:
        assert name in names, f"{spec.type}: local param {name} unknown"
    ports = {p.name for p in spec.inputs}
    for key, rule in spec.inferred.items():
        assert rule.port in ports, f"{spec.type}: inferred {key} reads unknown port"
        assert rule.doc, f"{spec.type}: inferred {key} has no doc"
        assert key not in names, f"{spec.type}: {key} is both inferred and a param"
    defaults = spec.defaults()
    expected = set(spec.input_names(defaults)) - spec.optional_inputs()
    assert expected <= set(spec.example), f"{spec.type}: example lacks {expected - set(spec.example)}"
    if spec.summary:
        spec.summary.format(**defaults)
    target = resolve_target(spec.target)
    if spec.kind == "module":
        assert inspect.isclass(target) and issubclass(target, nn.Module), spec.type
    else:
        assert callable(target) and not inspect.isclass(target), spec.type
    for name, dtype in spec.example_dtypes.items():
        if dtype == "int64":
            assert defaults.get("num_embeddings", 10) >= 10, spec.type


def check_ops_self_contained():
    """ops.py: exactly the four imports; no definition uses another; each runs alone."""
    path = Path(ops.__file__)
    tree = ast.parse(path.read_text())
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert sorted(imports) == sorted(["import math", "import torch", "from torch import nn",
                                      "import torch.nn.functional as F"]), imports
    defs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        others = (used & defs) - {node.name}
        assert not others, f"ops.{node.name} uses {others}"
        assert ast.get_docstring(node), f"ops.{node.name} has no docstring"


def check_exported(spec, params, example):
    """Run an ops target from its copied source alone, as code export will."""
    if not spec.target.startswith("runtime.ops:"):
        return
    name = spec.target.split(":")[1]
    source = inspect.getsource(getattr(ops, name))
    namespace = {"math": math, "torch": torch, "nn": nn, "F": F}
    exec(compile(source, f"<export {name}>", "exec"), namespace)
    inputs, shapes = make_inputs(spec, params, example, "cpu")
    from runtime.targets import call_kwargs
    kwargs = call_kwargs(spec, params, infer_values(spec, shapes))
    target = namespace[name]
    result = target(**kwargs)(*inputs) if spec.kind == "module" else target(*inputs, **kwargs)
    split_outputs(spec, params, result)


# Bad settings that must fail with a clear ValueError: (type, params, input shapes w/o batch).
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
    ("Split", {"split_sizes": [1, 2, 1]}, {"x": (4, 4)}, "num_outputs"),
    ("Concat", {"dim": 0}, {"x1": (3,), "x2": (3,)}, "batch axis"),
    ("Chunk", {"chunks": 5}, {"x": (3, 4)}, "into 5 pieces"),
    ("LayerNorm", {"normalized_dims": 3}, {"x": (3, 4)}, "normalized_dims"),
    ("RNN", {}, {"x": (8,)}, "3 axes"),
    ("LSTM", {}, {"x": (8,)}, "3 axes"),
    ("GRU", {}, {"x": (8,)}, "3 axes"),
    ("MultiheadAttention", {}, {"query": (16,)}, "3 axes"),
    ("PositionalEncoding", {"max_len": 3}, {"x": (5, 8)}, "max_len"),
    ("PositionalEncoding", {}, {"x": (8,)}, "3 axes"),
]


def check_errors() -> int:
    failures = 0
    for type_id, overrides, example, words in ERRORS:
        spec = SPECS[type_id]
        params = {**spec.defaults(), **overrides}
        for device in ("cpu", "meta"):
            try:
                run_once(spec, params, example, device)
            except ValueError as e:
                if words in str(e):
                    continue
                print(f"FAIL error {type_id} {overrides}: wrong message {e}")
            else:
                print(f"FAIL error {type_id} {overrides}: no error")
            failures += 1
    return failures


def main() -> int:
    failures = 0
    cases = 0
    check_ops_self_contained()
    failures += check_errors()
    for spec in SPECS.values():
        if spec.kind not in ("module", "function"):
            continue
        try:
            check_static(spec)
            defaults = spec.defaults()
            shapes = check_case(spec, defaults, spec.example)
            check_exported(spec, defaults, spec.example)
            cases += 1
            line = f"ok   {spec.type:24s} {shapes}"
            for overrides, example in VARIANTS.get(spec.type, []):
                params = {**defaults, **overrides}
                shapes = check_case(spec, params, example or spec.example)
                check_exported(spec, params, example or spec.example)
                cases += 1
                line += f" | {shapes}"
            print(line)
        except Exception:
            failures += 1
            print(f"FAIL {spec.type}")
            traceback.print_exc()
    missing = [t for t, s in SPECS.items() if s.kind in ("module", "function") and t not in VARIANTS
               and s.params]
    print(f"{cases} cases, {failures} failing specs; specs with params but no variant: {missing}")
    return 1 if failures or missing else 0


if __name__ == "__main__":
    sys.exit(main())
