"""Block definitions with parameters, and repeated blocks.

A definition declares parameters (`Graph.block_params`, ParamSpecs like any node's); an
inner node uses one by writing "$name" as a parameter's value, or as one element of a
list ("kernel_size": ["$k", "$k"]). A Block node sets the values next to its `block`
parameter, and `repeat` chains that many copies of the block.

Everything after validation (shapes, lowering, compile, code export) works on the *bound*
inside: a copy of the definition with every reference replaced by the Block node's value.
A definition that declares nothing and uses no reference is its own bound inside, so plain
blocks cost nothing extra.
"""
from __future__ import annotations

import keyword
import weakref
from typing import Any

from graph.catalog import get_spec
from graph.model import Edge, Graph, Node
from graph.spec import PARAM_KINDS, ParamSpec

REFERENCE = "$"
MAX_REPEAT = 256
# Kinds a block parameter may have (every kind an inner node's parameter has).
BLOCK_PARAM_KINDS = PARAM_KINDS
# Bound copies remembered per definition (one per distinct set of values in use), kept
# beside the definition rather than on it: a copied or saved definition carries none.
_BOUND_KEPT = 64
_bound: "weakref.WeakKeyDictionary[Graph, dict]" = weakref.WeakKeyDictionary()
_uses: "weakref.WeakKeyDictionary[Graph, tuple[int, bool]]" = weakref.WeakKeyDictionary()


def reference(value: Any) -> str | None:
    """The block parameter `value` refers to ("$channels" → "channels"), or None."""
    if isinstance(value, str) and value.startswith(REFERENCE) and value[1:].isidentifier():
        return value[1:]
    return None


def references_in(params: dict[str, Any]) -> dict[str, str]:
    """parameter → the block parameter it uses, for every reference in `params` (whole
    values and list elements; a list with several references names the first)."""
    found = {}
    for key, value in params.items():
        name = reference(value)
        if name is None and isinstance(value, list):
            name = next((r for v in value if (r := reference(v)) is not None), None)
        if name is not None:
            found[key] = name
    return found


def whole_references(params: dict[str, Any]) -> dict[str, str]:
    """parameter → block parameter, only where the whole value is the reference (what
    code export turns into a constructor argument of the block's class)."""
    return {key: name for key, value in params.items() if (name := reference(value))}


# Parameters that shape the definition itself (its ports, the blocks it uses and how
# many): every use must have the same, and the expanded size must be countable unbound.
_FIXED = {("Input", "name"), ("Output", "name"), ("Block", "block"), ("Block", "repeat")}


def can_be_parameter(type_id: str, param: str) -> bool:
    """May a node of `type_id` inside a definition take `param` from a block parameter?
    Not where it sets a port count (Concat's num_inputs, a recurrent layer's
    state_output): the definition is wired for one count."""
    if (type_id, param) in _FIXED:
        return False
    spec = get_spec(type_id)
    ports = (spec.inputs + spec.outputs) if spec else ()
    return all(param not in (p.count_param, p.when) for p in ports)


def declared(definition: Graph) -> dict[str, ParamSpec]:
    return {p.name: p for p in definition.block_params}


def node_values(node: Node, definition: Graph) -> dict[str, Any]:
    """The values a Block node gives its definition's parameters (defaults where unset)."""
    return {p.name: node.params.get(p.name, p.default) for p in definition.block_params}


def repeat_of(node: Node) -> int:
    """How many chained copies a Block node stands for; a bad value counts as one
    (validation reports it)."""
    value = node.params.get("repeat", 1)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REPEAT:
        return value
    return 1


def uses_parameters(definition: Graph) -> bool:
    """Does the definition declare parameters or use any reference?"""
    cache = _uses.get(definition)
    if cache is not None and cache[0] == definition.revision:
        return cache[1]
    answer = bool(definition.block_params) or any(
        references_in(n.params) for n in definition)
    _uses[definition] = (definition.revision, answer)
    return answer


def bind(definition: Graph, values: dict[str, Any]) -> Graph:
    """The inside one Block node gets: `definition` with references replaced by `values`
    (a reference to an undeclared parameter stays as it is; validation names it). Copies
    are remembered by the definition's revision and the values, so an unchanged block
    used many times is bound once, and walks over it keep their cached order."""
    if not uses_parameters(definition):
        return definition
    key = _values_key(values)
    cache = _bound.setdefault(definition, {})
    if cache.get("revision") != definition.revision:
        cache.clear()
        cache["revision"] = definition.revision
    bound = cache.get(key)
    if bound is None:
        bound = _bound_copy(definition, values)
        if len(cache) > _BOUND_KEPT:
            cache.clear()
            cache["revision"] = definition.revision
        cache[key] = bound
    return bound


def bind_node(node: Node, definition: Graph) -> Graph:
    return bind(definition, node_values(node, definition))


def bound_with_defaults(definition: Graph) -> Graph:
    """The definition as validation sees it: every parameter at its declared default."""
    return bind(definition, {p.name: p.default for p in definition.block_params})


def substitute(params: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        name = reference(value)
        if name is not None and name in values:
            out[key] = _copy(values[name])
        elif isinstance(value, list) and any(reference(v) in values for v in value):
            out[key] = [values[r] if (r := reference(v)) in values else v for v in value]
        else:
            out[key] = value
    return out


def _bound_copy(definition: Graph, values: dict[str, Any]) -> Graph:
    bound = Graph()
    bound.library = definition.library
    for node in definition:
        bound.insert_node(Node(node.id, node.type, substitute(node.params, values), node.label,
                               node.position, node.extra))
    for edge in definition.edges:
        bound.insert_edge(Edge(*edge))
    return bound


def _values_key(values: dict[str, Any]) -> str:
    try:
        return repr(sorted(values.items()))
    except (RecursionError, TypeError):
        return repr(id(values))


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


# --- the file format of a declaration ---------------------------------------------------
def param_to_dict(p: ParamSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"name": p.name, "kind": p.kind, "default": _copy(p.default)}
    if p.doc:
        data["doc"] = p.doc
    for key in ("min", "max"):
        if getattr(p, key) is not None:
            data[key] = getattr(p, key)
    if p.choices:
        data["choices"] = list(p.choices)
    if p.length is not None:
        data["length"] = p.length
    return data


def param_from_dict(data: Any, where: str) -> tuple[ParamSpec | None, str | None]:
    """A declared parameter read from a file, or (None, the problem in words)."""
    if not isinstance(data, dict):
        return None, f"{where} must be an object with name, kind and default"
    name, kind = data.get("name"), data.get("kind", "int")
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return None, f"{where}: name must be a Python name, found {name!r:.40}"
    if name in ("block", "repeat"):
        return None, f"{where}: name {name!r} is the Block node's own parameter; pick another"
    if kind not in BLOCK_PARAM_KINDS:
        return None, f"{where}: kind must be one of {', '.join(BLOCK_PARAM_KINDS)}, found {kind!r:.40}"
    bounds = {}
    for key in ("min", "max"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return None, f"{where}: {key} must be a number, found {value!r:.40}"
        bounds[key] = value
    choices = data.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, (str, int, float)) for c in choices):
        return None, f"{where}: choices must be a list of values"
    length = data.get("length")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                               or not 1 <= length <= 16):
        return None, f"{where}: length must be a whole number from 1 to 16"
    spec = ParamSpec(name, kind, data.get("default"), str(data.get("doc", ""))[:500],
                     bounds["min"], bounds["max"], tuple(choices), length)
    problem = spec.check(spec.default)[1]
    if problem:
        return None, f"{where}: default: {problem}"
    return spec, None
