"""runtime/ops.py must stay copyable: code export pastes each definition a model uses,
verbatim, under exactly four imports (math, torch, nn, F). So the module imports exactly
those, holds nothing but definitions, no definition uses another, each has a docstring, and
each one's source run alone in a namespace with only those imports gives a working object
that behaves exactly like the original."""
from __future__ import annotations

import ast
import builtins
import inspect
import math
import symtable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graph.catalog import SPECS
from runtime import ops
from runtime.targets import call_kwargs, infer_values, split_outputs, torch_dtype

IMPORTS = ["import math", "import torch", "from torch import nn", "import torch.nn.functional as F"]
ALLOWED_GLOBALS = {"math", "torch", "nn", "F"} | set(dir(builtins))
TREE = ast.parse(Path(ops.__file__).read_text(encoding="utf-8"))
DEFS = [n for n in TREE.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
DEF_NAMES = {n.name for n in DEFS}
BATCH = 2
# Parameters besides the defaults that change what a definition returns: each runs too.
EXTRA_PARAMS = {t: [{"state_output": True}, {"state_output": True, "returns": "last"}]
                for t in ("RNN", "LSTM", "GRU")}


def _namespace() -> dict:
    return {"__name__": "nodetorch_export", "math": math, "torch": torch, "nn": nn, "F": F}


def _specs_using(name: str) -> list:
    return [s for s in SPECS.values() if s.target == f"runtime.ops:{name}"]


def test_imports_are_exactly_the_four() -> None:
    imports = [ast.unparse(n) for n in ast.walk(TREE) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert sorted(imports) == sorted(IMPORTS)


def test_module_holds_only_definitions() -> None:
    """No module-level constants or code: a copied definition could not see them."""
    body = TREE.body
    assert ast.get_docstring(TREE), "ops.py needs a module docstring"
    for node in body[1:]:
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)), \
            f"line {node.lineno}: {ast.unparse(node)[:60]}"
    assert len(DEF_NAMES) == len(DEFS), "a definition is defined twice"


@pytest.mark.parametrize("name", sorted(DEF_NAMES))
def test_definition_is_self_contained(name: str) -> None:
    node = next(n for n in DEFS if n.name == name)
    assert ast.get_docstring(node), f"ops.{name} has no docstring"
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    others = (used & DEF_NAMES) - {name}
    assert not others, f"ops.{name} uses {others}"
    # Every free (global) name any scope inside it reads must be one the export provides.
    source = inspect.getsource(getattr(ops, name))
    table = symtable.symtable(source, f"<ops.{name}>", "exec")
    todo, free = list(table.get_children()), set()
    for sym in table.get_symbols():
        if sym.is_referenced() and sym.get_name() != name:
            free.add(sym.get_name())
    while todo:
        scope = todo.pop()
        todo.extend(scope.get_children())
        free |= {s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced()}
    assert free <= ALLOWED_GLOBALS | {name}, f"ops.{name} reads {free - ALLOWED_GLOBALS}"


@pytest.mark.parametrize("name", sorted(DEF_NAMES))
def test_definition_works_alone(name: str) -> None:
    """Exec the definition's source alone and run it on every spec that targets it, with
    the spec's example: same outputs as the real runtime.ops object."""
    original = getattr(ops, name)
    source = inspect.getsource(original)
    namespace = _namespace()
    exec(compile(source, f"<export {name}>", "exec"), namespace)
    assert set(namespace) - set(_namespace()) - {"__builtins__"} == {name}
    copy = namespace[name]
    assert inspect.isclass(copy) == inspect.isclass(original)
    specs = _specs_using(name)
    assert specs, f"ops.{name} is used by no node spec"
    for spec, extra in [(s, e) for s in specs for e in [{}, *EXTRA_PARAMS.get(s.type, [])]]:
        params = {**spec.defaults(), **extra}
        shapes = {p: (BATCH, *s) for p, s in spec.example.items()}
        inputs = []
        for port in spec.input_names(params):
            if port not in shapes:
                inputs.append(None)
            elif spec.example_dtypes.get(port, "float32") == "int64":
                inputs.append(torch.randint(0, 10, shapes[port]))
            else:
                inputs.append(torch.randn(shapes[port], dtype=torch_dtype(
                    spec.example_dtypes.get(port, "float32"))))
        kwargs = call_kwargs(spec, params, infer_values(spec, shapes))
        results = []
        for target in (original, copy):
            torch.manual_seed(0)
            if spec.kind == "module":
                layer = target(**kwargs).eval()
                with torch.no_grad():
                    results.append(layer(*inputs))
            else:
                results.append(target(*inputs, **kwargs))
        expected, got = (split_outputs(spec, params, r) for r in results)
        assert expected.keys() == got.keys()
        # One tensor per output port: a tuple exactly when the spec has several.
        assert isinstance(results[0], tuple) == (len(spec.output_names(params)) > 1)
        for port in expected:
            # Bit for bit; NaN where the other has NaN (Log of a random negative input).
            torch.testing.assert_close(got[port], expected[port], rtol=0, atol=0,
                                       equal_nan=True, msg=f"{spec.type}.{port}")
