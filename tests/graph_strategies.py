"""Hypothesis strategies for graph files: valid random graphs over the whole catalog, and
hostile documents (wrong types anywhere, deep nesting, blocks that use themselves, rings,
odd ids and parameters).

Every strategy draws a JSON-ready Python value (dicts, lists, str, numbers); `as_text`
turns one into the text of a file. graph/ has no torch, and neither does this module.
"""
from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from graph.catalog import SPECS
from graph.spec import ParamSpec

FORMAT = {"format": "nodetorch.graph", "version": 1}
LAYER_TYPES = sorted(t for t in SPECS if t not in ("Input", "Output", "Block"))

# Text a person should never see echoed raw: line breaks that forge lines, terminal
# escapes, a right-to-left override, a lone surrogate, NUL, very long and odd names.
ODD_STRINGS = (
    "", " ", "id\r\nerror: spoofed", "\r", "\n", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07",
    "\u202egnp.exe", "\ud800", "\udfff", "\x00", "\ufeff", "a" * 300, "é" * 100,
    "..", "/", "../../etc/passwd", "CON", "nul", "$.graph", "__init__", "self", "forward",
    "training", "1x", "class", "x\"\"\"y", "{0}", "%s", "\\", "😀", "\u200d", "\t",
)


def odd_text(max_size: int = 30) -> st.SearchStrategy[str]:
    control = st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Co"])
    return st.one_of(
        st.sampled_from(ODD_STRINGS),
        st.text(max_size=max_size),
        st.text(alphabet=control, max_size=max_size),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=max_size),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value, numbers at their edges (huge ints, tiny and huge floats)."""
    scalars = st.one_of(
        st.none(), st.booleans(),
        st.integers(), st.sampled_from([0, -1, 1, 2**24, 2**24 + 1, 2**31, 2**63, -(2**63), 10**30]),
        st.floats(allow_nan=False, allow_infinity=False),
        odd_text(),
    )
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(odd_text(10), inner, max_size=4)), max_leaves=max_leaves)


def as_text(value: Any, ascii_only: bool = True) -> str:
    # ensure_ascii writes a lone surrogate as the escape \ud800, which is valid JSON text.
    return json.dumps(value, ensure_ascii=ascii_only)


def deep(depth: int, leaf: str = "1") -> str:
    """JSON text of a list nested `depth` deep, built as text (json.dumps would recurse)."""
    return "[" * depth + leaf + "]" * depth


# --- valid random graphs ------------------------------------------------------------------

def _small_int(p: ParamSpec, span: int = 6) -> st.SearchStrategy[int]:
    lo = int(p.min) if p.min is not None else 0
    hi = int(p.max) if p.max is not None else lo + span
    return st.integers(lo, min(hi, lo + span)) if lo >= -8 else st.integers(-8, min(hi, 8))


@st.composite
def param_value(draw, p: ParamSpec) -> Any:
    """A value within the parameter's declared kind and bounds, kept small so most graphs
    fit in memory and many are valid."""
    if p.optional and draw(st.integers(0, 3)) == 0:
        return None
    if p.kind == "bool":
        return draw(st.booleans())
    if p.kind == "choice":
        return draw(st.sampled_from(p.choices))
    if p.kind == "float":
        lo = p.min if p.min is not None else -4.0
        hi = p.max if p.max is not None else lo + 4.0
        return draw(st.one_of(st.sampled_from([lo, hi, p.default if p.default is not None else lo]),
                              st.floats(lo, min(hi, lo + 4.0))))
    if p.kind == "int":
        if p.name in ("dim", "start_dim", "end_dim"):
            return draw(st.integers(-3, 3))
        return draw(_small_int(p))
    if p.kind == "ints":
        length = p.length if p.length is not None else draw(st.integers(max(p.min_length, 1), 3))
        lo = int(p.min) if p.min is not None else 0
        if p.name in ("dims",):
            return [0, *draw(st.permutations(list(range(1, length + 1))))]
        values = st.integers(max(lo, -1), max(lo, -1) + 4)
        return draw(st.lists(values, min_size=length, max_size=length))
    if p.kind == "str":
        return draw(st.text(min_size=1, max_size=8))
    return p.default


@st.composite
def input_params(draw, name: str) -> dict:
    rank = draw(st.integers(1, 4))
    shape = draw(st.lists(st.integers(1, 8), min_size=rank, max_size=rank))
    dtype = draw(st.sampled_from(["float32", "float32", "float32", "float64", "int64"]))
    return {"name": name, "shape": shape, "dtype": dtype}


@st.composite
def graph_body(draw, max_layers: int = 6, blocks: tuple[str, ...] = (),
               odd_ids: bool = False, inputs: int | None = None) -> dict:
    """One graph: Inputs, random layers (and uses of `blocks`, each with one input "x"
    and one output "out"), and an Output for every result nothing else consumes."""
    ids: set[str] = set()

    def new_id(base: str) -> str:
        wanted = draw(odd_text(12)) if odd_ids and draw(st.booleans()) else base
        node_id, k = wanted or base, 2
        while node_id in ids:
            node_id, k = f"{wanted}_{k}", k + 1
        ids.add(node_id)
        return node_id

    nodes, edges, results = [], [], []
    for i in range(inputs if inputs is not None else draw(st.integers(1, 2))):
        node_id = new_id(f"in{i}")
        nodes.append({"id": node_id, "type": "Input", "params": draw(input_params(f"x{i}"))})
        results.append((node_id, "out"))
    consumed: set[tuple[str, str]] = set()
    for i in range(draw(st.integers(0, max_layers))):
        if blocks and draw(st.integers(0, 4)) == 0:
            type_id, params, ins, outs = "Block", {"block": draw(st.sampled_from(blocks))}, ["x"], ["out"]
        else:
            type_id = draw(st.sampled_from(LAYER_TYPES))
            spec = SPECS[type_id]
            params = {p.name: draw(param_value(p)) for p in spec.params
                      if draw(st.integers(0, 2)) > 0}
            merged = {**spec.defaults(), **params}
            ins, outs = spec.input_names(merged), spec.output_names(merged)
            optional = spec.optional_inputs()
            ins = [p for p in ins if p not in optional or draw(st.booleans())]
        node_id = new_id(f"n{i}")
        node: dict[str, Any] = {"id": node_id, "type": type_id, "params": params}
        if draw(st.integers(0, 5)) == 0:
            node["label"] = draw(odd_text(16))
        nodes.append(node)
        for port in ins:
            # Mostly the latest result (chains), sometimes any earlier one (branches).
            src = results[-1] if draw(st.integers(0, 2)) else draw(st.sampled_from(results))
            edges.append({"src": src[0], "src_port": src[1], "dst": node_id, "dst_port": port})
            consumed.add(src)
        results.extend((node_id, port) for port in outs)
    for k, (src, port) in enumerate(r for r in results if r not in consumed):
        node_id = new_id(f"out{k}")
        nodes.append({"id": node_id, "type": "Output", "params": {"name": f"y{k}"}})
        edges.append({"src": src, "src_port": port, "dst": node_id, "dst_port": "x"})
    return {"nodes": nodes, "edges": edges}


@st.composite
def valid_documents(draw, max_layers: int = 6, odd_ids: bool = False) -> dict:
    """Documents the loader accepts; many (not all) also pass validation."""
    blocks: dict[str, dict] = {}
    for k in range(draw(st.integers(0, 2))):
        name = f"B{k}"
        body = draw(graph_body(max_layers=3, blocks=tuple(blocks), odd_ids=odd_ids, inputs=1))
        # A block's interface is its Input/Output names: exactly one "x" in, one "out" out.
        outs = [n for n in body["nodes"] if n["type"] == "Output"]
        body["nodes"][0]["params"]["name"] = "x"
        for j, n in enumerate(outs):
            n["params"]["name"] = "out" if j == 0 else f"extra{j}"
        if draw(st.booleans()):
            _declare_a_parameter(draw, body)
        blocks[name] = body
    doc = {**FORMAT, "name": draw(st.sampled_from(["fuzz", "Net", "", "1x"])),
           "graph": draw(graph_body(max_layers=max_layers, blocks=tuple(blocks), odd_ids=odd_ids))}
    if blocks:
        doc["blocks"] = blocks
        for body in [doc["graph"], *blocks.values()]:
            for node in body["nodes"]:
                if node["type"] == "Block":
                    _set_block_values(draw, node, blocks[node["params"]["block"]])
    return doc


def _declare_a_parameter(draw, body: dict) -> None:
    """Make one whole-number parameter of an inner layer a block parameter "$p"."""
    choices = [(n, p) for n in body["nodes"] if n["type"] in SPECS and n["type"] != "Block"
               for p in SPECS[n["type"]].params if p.kind == "int"]
    if not choices:
        return
    node, p = draw(st.sampled_from(choices))
    default = node["params"].get(p.name, p.default)
    body["params"] = [{"name": "p", "kind": "int", "default": default}]
    node["params"][p.name] = "$p"


def _set_block_values(draw, node: dict, definition: dict) -> None:
    if definition.get("params") and draw(st.booleans()):
        node["params"]["p"] = draw(st.integers(-1, 9))
    if draw(st.integers(0, 3)) == 0:
        node["params"]["repeat"] = draw(st.integers(0, 3))


# --- hostile documents --------------------------------------------------------------------

def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, path + (i,))
    return out


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated_documents(draw) -> dict:
    """A valid document with one to three places replaced by any JSON value: wrong types
    in every field the format has."""
    doc = draw(valid_documents(max_layers=4))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        doc = _replace(doc, path, draw(json_values()))
    return doc


def _node(node_id: str, type_id: str, **params) -> dict:
    return {"id": node_id, "type": type_id, "params": params}


def _edge(src: str, dst: str, src_port: str = "out", dst_port: str = "x") -> dict:
    return {"src": src, "src_port": src_port, "dst": dst, "dst_port": dst_port}


def chain_document(n: int, type_id: str = "ReLU", ring: bool = False, node_id=None) -> dict:
    """Input → n layers → Output; ring=True feeds the last layer back into the first
    instead (a loop of n nodes, no Input)."""
    node_id = node_id or (lambda i: f"r{i}")
    layers = [_node(node_id(i), type_id) for i in range(n)]
    edges = [_edge(node_id(i), node_id(i + 1)) for i in range(n - 1)]
    if ring:
        edges.append(_edge(node_id(n - 1), node_id(0)))
        nodes = layers
    else:
        nodes = [_node("in", "Input", shape=[4]), *layers, _node("out", "Output")]
        edges += [_edge("in", node_id(0)), _edge(node_id(n - 1), "out")]
    return {**FORMAT, "graph": {"nodes": nodes, "edges": edges}}


def block_body(*inner: dict) -> dict:
    """Input "x" → inner nodes in a line → Output "out"."""
    nodes = [_node("i", "Input", name="x", shape=[4]), *inner, _node("o", "Output", name="out")]
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [_edge(a, b) for a, b in zip(ids, ids[1:])]}


def using_blocks(blocks: dict[str, dict], main_uses: str) -> dict:
    return {**FORMAT, "blocks": blocks,
            "graph": block_body(_node("b", "Block", block=main_uses))}


def nested_blocks(depth: int) -> dict:
    """B0 uses B1 uses ... B(depth-1), which holds one ReLU: valid, and `depth` deep."""
    blocks = {f"B{k}": block_body(_node("u", "Block", block=f"B{k + 1}")) for k in range(depth - 1)}
    blocks[f"B{depth - 1}"] = block_body(_node("r", "ReLU"))
    return using_blocks(blocks, "B0")


def all_use_all(k: int) -> dict:
    """k blocks, each holding one use of every block (itself included)."""
    uses = [_node(f"u{j}", "Block", block=f"B{j}") for j in range(k)]
    return using_blocks({f"B{i}": block_body(*uses) for i in range(k)}, "B0")


@st.composite
def structural_documents(draw) -> dict:
    """Well-formed JSON whose graph is wrong in a way that once crashed or hung a walk."""
    kind = draw(st.sampled_from([
        "self_block", "mutual_blocks", "ring", "deep_param", "nested_blocks", "all_use_all",
        "block_param_list", "block_input_list_name", "odd_ids", "dangling", "huge_params",
        "zero_upsample", "float64_linear"]))
    if kind == "self_block":
        return using_blocks({"A": block_body(_node("u", "Block", block="A"))}, "A")
    if kind == "mutual_blocks":
        return using_blocks({"A": block_body(_node("u", "Block", block="B")),
                             "B": block_body(_node("u", "Block", block="A"))}, "A")
    if kind == "ring":
        return chain_document(draw(st.integers(1, 60)), ring=True)
    if kind == "deep_param":
        depth = draw(st.integers(1, 120))
        value: Any = draw(json_values(3))
        for _ in range(depth):
            value = [value] if draw(st.booleans()) else {"k": value}
        doc = chain_document(1)
        doc["graph"]["nodes"][1]["params"][draw(st.sampled_from(["deep", "nonsense"]))] = value
        return doc
    if kind == "nested_blocks":
        return nested_blocks(draw(st.integers(1, 40)))
    if kind == "all_use_all":
        return all_use_all(draw(st.integers(1, 5)))
    if kind == "block_param_list":
        return {**FORMAT, "graph": {"nodes": [_node("b", "Block", block=draw(json_values(3)))]}}
    if kind == "block_input_list_name":
        body = block_body(_node("r", "ReLU"))
        body["nodes"][0]["params"]["name"] = draw(st.one_of(st.lists(st.integers(), max_size=2),
                                                             json_values(3)))
        return using_blocks({"A": body}, "A")
    if kind == "odd_ids":
        names = draw(st.lists(odd_text(), min_size=3, max_size=3, unique=True))
        return chain_document(3, node_id=lambda i: names[i])
    if kind == "dangling":
        doc = chain_document(2)
        doc["graph"]["edges"].append(_edge(draw(odd_text()), "r0", dst_port=draw(odd_text())))
        return doc
    if kind == "huge_params":
        type_id = draw(st.sampled_from(LAYER_TYPES))
        spec = SPECS[type_id]
        params = {p.name: draw(st.one_of(st.sampled_from([2**24, 2**24 - 1, -(2**24), 0, 10**30]),
                                         json_values(3))) for p in spec.params}
        doc = chain_document(1, type_id)
        doc["graph"]["nodes"][0]["params"]["shape"] = draw(
            st.lists(st.sampled_from([1, 2, 1 << 20]), min_size=1, max_size=4))
        doc["graph"]["nodes"][1]["params"] = params
        return doc
    if kind == "zero_upsample":
        doc = chain_document(1, "Upsample")
        doc["graph"]["nodes"][0]["params"]["shape"] = [1, 4, 4]
        doc["graph"]["nodes"][1]["params"] = {
            "scale_factor": draw(st.sampled_from([0.01, 0.1, 0.2])),
            "mode": draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))}
        return doc
    doc = chain_document(1, draw(st.sampled_from(["Linear", "LayerNorm", "BatchNorm1d", "GRU",
                                                  "LSTM", "RNN", "MultiheadAttention"])))
    doc["graph"]["nodes"][0]["params"].update(shape=[3, 4], dtype="float64")
    if doc["graph"]["nodes"][1]["type"] == "MultiheadAttention":
        doc["graph"]["edges"][0]["dst_port"] = "query"
        doc["graph"]["nodes"][1]["params"]["num_heads"] = 2
    return doc


def hostile_texts() -> st.SearchStrategy[str]:
    """File text: mostly hostile documents, some broken or non-document JSON."""
    documents = st.one_of(mutated_documents(), structural_documents(), json_values())
    return st.one_of(
        documents.map(as_text),
        st.tuples(documents, st.booleans()).map(lambda t: as_text(*t)),
        st.tuples(valid_documents(), st.integers(0, 400)).map(
            lambda t: as_text(t[0])[: t[1]]),           # cut off mid-file
        st.integers(1, 3000).map(deep),                 # nested far past any graph
        odd_text(200),
    )


def any_document_texts() -> st.SearchStrategy[str]:
    return st.one_of(valid_documents().map(as_text),
                     valid_documents(odd_ids=True).map(as_text), hostile_texts())
