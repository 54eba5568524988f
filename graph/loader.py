"""Reading documents, in stages: parse → check structure → resolve renamed types → build.

Every stage collects all the problems it finds, each with the file, the JSON path and the
node id, instead of stopping at the first. A problem that makes the file unusable raises
LoadError; one the graph can carry (a duplicate id, an edge to nowhere) is recorded in
`Document.load_problems` and the rest of the file still loads.
"""
from __future__ import annotations

import difflib
import json
import re
import stat
from pathlib import Path
from typing import Any

from graph import block_params
from graph.catalog import RENAMED, SPECS
from graph.diagnostics import Diagnostic
from graph.document import FORMAT_NAME, FORMAT_VERSION, Document
from graph.model import Edge, Graph, Node
from graph.gc_pause import gc_paused
from graph.text import as_name, printable, shown

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_INT_DIGITS = 100
# A graph file nests about eight levels (graph, nodes, a node, params, a tuple); past this
# it is not a graph, and Python's json and every walk over the data would recurse deeply.
MAX_JSON_DEPTH = 64
# Longer type names are not compared with the catalog for a "did you mean" (difflib is
# quadratic in the name's length).
MAX_SUGGEST_LENGTH = 100
_NODE_KEYS = {"id", "type", "label", "position", "params"}
_EDGE_KEYS = ("src", "src_port", "dst", "dst_port")
_ORIGIN = [0, 0]
_NO_PARAMS: dict = {}


class LoadError(Exception):
    """The file cannot be used. `problems` lists every reason, each with its location."""

    def __init__(self, source: str, problems: list[Diagnostic]) -> None:
        self.source, self.problems = source, problems
        lines = [f"{source}: {_locate(p)}{p.message}" for p in problems]
        super().__init__("\n".join(lines))


def _locate(p: Diagnostic) -> str:
    where = p.path or ""
    if p.node_id:
        where += f" (node {as_name(p.node_id)})"
    return f"{where}: " if where else ""


def load_file(path: str | Path) -> Document:
    path = Path(path)
    source = printable(str(path), 300)
    raw = _read_bounded(path, source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise LoadError(source, [Diagnostic(
            "parse", f"is not a text file: byte 0x{raw[exc.start]:02x} at offset {exc.start:,} "
            f"(line {line:,}) is not UTF-8; a NodeTorch graph is a UTF-8 .json file")]) from None
    return loads(text, source)


def _read_bounded(path: Path, source: str) -> bytes:
    """The file's bytes, refusing anything that is not a regular file before opening it
    (a FIFO would block, /dev/zero never ends) and never reading past the cap (a file in
    /proc says its size is 0, and a file may grow while it is read)."""
    def refuse(message: str) -> LoadError:
        return LoadError(source, [Diagnostic("read", message)])

    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise refuse("is a folder, not a graph file")
        if not stat.S_ISREG(info.st_mode):
            raise refuse("is not a regular file (a device, pipe or socket); "
                         "open a saved .json graph file")
        if info.st_size > MAX_FILE_BYTES:
            raise refuse(f"is too large to be a graph file ({info.st_size:,} bytes; "
                         f"the limit is {MAX_FILE_BYTES // 2**20} MB)")
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"is too large to be a graph file (over {MAX_FILE_BYTES // 2**20} MB)")
    return raw


def loads(text: str, source: str = "<text>") -> Document:
    with gc_paused():
        return _load(text, source)


def _load(text: str, source: str) -> Document:
    data = _parse(text, source)
    problems: list[Diagnostic] = []
    _check_top(data, problems)
    if problems:
        raise LoadError(source, problems)
    graphs = {"$.graph": data["graph"]}
    graphs.update({f"$.blocks.{name}": g for name, g in data.get("blocks", {}).items()})
    for path, g in graphs.items():
        _check_graph(g, path, problems)
    if problems:
        raise LoadError(source, problems)
    for path, g in graphs.items():
        _resolve_types(g, path, problems)
    if problems:
        raise LoadError(source, problems)
    return _build(data)


# --- stage 1: parse -----------------------------------------------------------------------
def _parse(text: str, source: str) -> Any:
    if not text.strip():
        raise LoadError(source, [Diagnostic("parse", "is empty")])
    bad_numbers = _BadNumber.Collector()
    try:
        data = json.loads(text, parse_constant=bad_numbers.constant,
                          parse_float=bad_numbers.float, parse_int=bad_numbers.int)
    except json.JSONDecodeError as exc:
        # A string still open at the end (json reports where it started) means a cut too.
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = " (the file looks cut off)" if cut else ""
        msg = exc.msg.removesuffix(" at")  # "Unterminated string starting at" + nothing
        raise LoadError(source, [Diagnostic(
            "parse", f"is not valid JSON at line {exc.lineno}, column {exc.colno}: {msg}{hint}")]) from None
    except RecursionError:
        # Deeper than json's own limit; the text scan below says where.
        raise LoadError(source, [_first_too_deep(text)]) from None
    if _too_deep(data):
        raise LoadError(source, [_first_too_deep(text)])
    if bad_numbers.found:
        raise LoadError(source, [Diagnostic("parse", n.reason, path=path)
                                 for path, n in _bad_numbers_in(data)])
    return data


def _too_deep(data: Any) -> bool:
    """Does the data nest deeper than MAX_JSON_DEPTH? One level of containers at a time,
    no recursion."""
    level = [data] if type(data) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return True
        deeper = []
        for value in level:
            for v in value.values() if type(value) is dict else value:
                if type(v) is dict or type(v) is list:
                    deeper.append(v)
        level = deeper
    return False


def _bad_numbers_in(data: Any) -> list[tuple[str, "_BadNumber"]]:
    """The bad numbers with their JSON paths, in file order (only run when json's hooks
    saw one: paths are put together only for what is reported)."""
    bad = []
    # (value, parent entry, key in parent)
    stack: list[tuple[Any, Any, Any]] = [(data, None, None)]
    while stack:
        entry = stack.pop()
        value = entry[0]
        if isinstance(value, dict):
            stack.extend((v, entry, k) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, entry, i) for i, v in enumerate(value))
        elif isinstance(value, _BadNumber):
            bad.append((_path_of(entry), value))
    bad.reverse()  # the stack visits the last item first
    return bad


def _path_of(entry) -> str:
    parts = []
    while entry[1] is not None:
        parts.append(entry[2])
        entry = entry[1]
    return _json_path(parts[::-1])


_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"\s*:?|[\[\]{},]')


def _first_too_deep(text: str) -> Diagnostic:
    """Where the text first nests deeper than MAX_JSON_DEPTH, with the JSON path there,
    found without recursion (one pass over brackets, commas and strings). Slow-ish, so
    only run once the data is known to be too deep."""
    path: list[str | int] = []   # per open container: its current key (object) or index
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            if len(path) >= MAX_JSON_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - text.rfind("\n", 0, match.start())
                return Diagnostic(
                    "parse", f"nests deeper than {MAX_JSON_DEPTH} levels at line {line:,}, "
                    f"column {column:,}; a graph file is never nested that deeply",
                    path=_json_path(path))
            path.append(0 if token == "[" else "")
        elif token == "]" or token == "}":
            if path:
                path.pop()
        elif token == ",":
            if path and isinstance(path[-1], int):
                path[-1] += 1
        elif token.endswith(":") and path and isinstance(path[-1], str):
            try:
                path[-1] = json.loads(token[:-1].rstrip())
            except ValueError:
                path[-1] = "?"
    return Diagnostic("parse", f"nests deeper than {MAX_JSON_DEPTH} levels; a graph file is "
                      "never nested that deeply")


def _json_path(parts: list[str | int]) -> str:
    text = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return printable(text, 200)


class _BadNumber:
    """Stands in for a number no graph may hold (NaN, 1e400, a 5000-digit integer) while
    json parses, so that the problem can be reported with its JSON path afterwards."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    class Collector:
        """json's number hooks for one parse; `found` tells whether any number was bad,
        so a clean file (nearly all) is never walked to look for them."""

        def __init__(self) -> None:
            self.found = False

        def _bad(self, reason: str) -> "_BadNumber":
            self.found = True
            return _BadNumber(reason)

        def constant(self, name: str) -> "_BadNumber":
            return self._bad(f"holds {name}, which is not a number a graph file may contain")

        def float(self, text: str) -> "float | _BadNumber":
            value = float(text)
            if value in (float("inf"), float("-inf")):
                return self._bad(f"holds the number {text[:20]}, which is too large")
            return value

        def int(self, text: str) -> "int | _BadNumber":
            # Python refuses int() past 4300 digits, and ints past ~1e308 cannot become
            # floats; no graph needs a number that long.
            digits = len(text.lstrip("-"))
            if digits > MAX_INT_DIGITS:
                return self._bad(f"holds a whole number {digits} digits long, which is too large")
            return int(text)


# --- stage 2: structure -------------------------------------------------------------------
def _check_top(data: Any, problems: list[Diagnostic]) -> None:
    def bad(path: str, message: str) -> None:
        problems.append(Diagnostic("structure", message, path=path))

    if not isinstance(data, dict):
        bad("$", f"must be a JSON object, found {_kind(data)}")
        return
    fmt = data.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        bad("$.format", f"says {shown(fmt)}; a NodeTorch graph says {FORMAT_NAME!r}")
    version = data.get("version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        bad("$.version", f"must be a positive whole number, found {shown(version)}")
    elif version > FORMAT_VERSION:
        bad("$.version", f"is {version}: this file was written by a newer NodeTorch "
                         f"(this one reads up to version {FORMAT_VERSION})")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            bad(f"$.{key}", f"must be text, found {_kind(data[key])}")
    if "graph" not in data:
        bad("$", "has no \"graph\" key: nothing to load")
    elif not isinstance(data["graph"], dict):
        bad("$.graph", f"must be an object with nodes and edges, found {_kind(data['graph'])}")
    if not isinstance(data.get("blocks", {}), dict):
        bad("$.blocks", f"must be an object of block definitions, found {_kind(data['blocks'])}")
    if not isinstance(data.get("training", {}), dict):
        bad("$.training", f"must be an object, found {_kind(data['training'])}")


def _check_graph(g: Any, path: str, problems: list[Diagnostic]) -> None:
    def bad(where: str, message: str, node_id: str | None = None) -> None:
        problems.append(Diagnostic("structure", message, node_id=node_id, path=where))

    if not isinstance(g, dict):
        bad(path, f"must be an object with nodes and edges, found {_kind(g)}")
        return
    nodes, edges = g.get("nodes"), g.get("edges", [])
    if not isinstance(nodes, list):
        bad(f"{path}.nodes", "is missing" if nodes is None else f"must be a list, found {_kind(nodes)}")
        nodes = []
    if not isinstance(edges, list):
        bad(f"{path}.edges", f"must be a list, found {_kind(edges)}")
        edges = []
    for i, n in enumerate(nodes):
        _check_node(n, path, i, bad)
    for i, e in enumerate(edges):
        if type(e) is dict and type(e.get("src")) is str and type(e.get("dst")) is str and \
                type(e.get("src_port")) is str and type(e.get("dst_port")) is str:
            continue  # the usual case, checked without building its path
        where = f"{path}.edges[{i}]"
        if not isinstance(e, dict):
            bad(where, f"must be an object, found {_kind(e)}")
            continue
        for key in _EDGE_KEYS:
            if not isinstance(e.get(key), str):
                bad(f"{where}.{key}", "is missing" if key not in e else
                    f"must be text, found {_kind(e[key])}")


def _check_node(n: Any, path: str, i: int, bad) -> None:
    pos = n.get("position", _ORIGIN) if type(n) is dict else None
    if type(n) is dict and type(n.get("id")) is str and n["id"] and \
            type(n.get("type")) is str and n["type"] and type(n.get("label", "")) is str and \
            type(n.get("params", _NO_PARAMS)) is dict and (pos is _ORIGIN or (
                type(pos) is list and len(pos) == 2 and _is_coord(pos[0]) and
                _is_coord(pos[1]))):
        return  # the usual case, checked without building its path
    where = f"{path}.nodes[{i}]"
    if not isinstance(n, dict):
        bad(where, f"must be an object, found {_kind(n)}")
        return
    node_id = n.get("id") if isinstance(n.get("id"), str) else None
    for key in ("id", "type"):
        if key not in n:
            bad(f"{where}.{key}", "is missing", node_id)
        elif not isinstance(n[key], str) or not n[key]:
            bad(f"{where}.{key}", f"must be non-empty text, found {_kind(n[key])}", node_id)
    if "label" in n and not isinstance(n["label"], str):
        bad(f"{where}.label", f"must be text, found {_kind(n['label'])}", node_id)
    if "params" in n and not isinstance(n["params"], dict):
        bad(f"{where}.params", f"must be an object, found {_kind(n['params'])}", node_id)
    pos = n.get("position", [0, 0])
    if not (isinstance(pos, list) and len(pos) == 2 and all(_is_coord(v) for v in pos)):
        bad(f"{where}.position", f"must be [x, y] with two numbers, found {_short(pos)}", node_id)


# --- stage 3: renamed and unknown types ---------------------------------------------------
def _resolve_types(g: dict, path: str, problems: list[Diagnostic]) -> None:
    for i, n in enumerate(g["nodes"]):
        type_id = RENAMED.get(n["type"], n["type"])
        if type_id in SPECS:
            n["type"] = type_id
            continue
        close = (difflib.get_close_matches(type_id, list(SPECS), n=1)
                 if len(type_id) <= MAX_SUGGEST_LENGTH else [])
        hint = f"did you mean {close[0]!r}?" if close else "`python main.py nodes` lists the node types"
        problems.append(Diagnostic("unknown_type", f"unknown node type {shown(n['type'])}: {hint}",
                                   node_id=n["id"], path=f"{path}.nodes[{i}].type"))


# --- stage 4: build -----------------------------------------------------------------------
def _build(data: dict) -> Document:
    problems: list[Diagnostic] = []
    blocks = {name: _build_graph(g, f"$.blocks.{name}", name, problems)
              for name, g in data.get("blocks", {}).items()}
    for name, g in data.get("blocks", {}).items():
        blocks[name].block_params = _block_params(g.get("params", []), f"$.blocks.{name}.params",
                                                  name, problems)
    main = _build_graph(data["graph"], "$.graph", None, problems)
    known = {"format", "version", "name", "description", "graph", "blocks", "training"}
    return Document(
        graph=main, blocks=blocks,
        name=data.get("name", ""), description=data.get("description", ""),
        training=data.get("training", {}),
        extra={k: v for k, v in data.items() if k not in known},
        load_problems=problems,
    )


def _build_graph(g: dict, path: str, block: str | None, problems: list[Diagnostic]) -> Graph:
    graph = Graph()
    renamed: dict[str, str] = {}
    for i, n in enumerate(g["nodes"]):
        node_id = n["id"]
        if node_id in graph.nodes:
            new_id = _free_id(graph, node_id)
            problems.append(Diagnostic(
                "duplicate_id", f"id {shown(node_id)} is used twice; the second {n['type']} was "
                f"renamed {shown(new_id)}", node_id=new_id, block=block, path=f"{path}.nodes[{i}].id",
                hint="give every node its own id"))
            renamed.setdefault(node_id, new_id)
            node_id = new_id
        params = SPECS[n["type"]].defaults()
        params.update(n.get("params", _NO_PARAMS))
        extra = {} if n.keys() <= _NODE_KEYS else {k: v for k, v in n.items()
                                                      if k not in _NODE_KEYS}
        pos = n.get("position", _ORIGIN)
        graph.insert_node(Node(node_id, n["type"], params, n.get("label", ""),
                               (float(pos[0]), float(pos[1])), extra))
    for i, e in enumerate(g.get("edges", [])):
        edge = Edge(e["src"], e["src_port"], e["dst"], e["dst_port"])
        if edge.src not in graph.nodes or edge.dst not in graph.nodes:
            missing = [x for x in (edge.src, edge.dst) if x not in graph.nodes]
            present = next((x for x in (edge.src, edge.dst) if x in graph.nodes), None)
            problems.append(Diagnostic(
                "dangling_edge", f"edge {edge} refers to node {shown(missing[0])}, which does not "
                "exist; the edge was dropped", node_id=present, block=block, path=f"{path}.edges[{i}]",
                hint="reconnect the node by hand"))
            continue
        if graph.has_edge(edge):
            problems.append(Diagnostic("duplicate_edge", f"edge {edge} is listed twice; "
                                       "kept once", node_id=edge.dst, severity="warning",
                                       block=block, path=f"{path}.edges[{i}]"))
            continue
        graph.insert_edge(edge)
    return graph


MAX_BLOCK_PARAMS = 256   # more than any block needs; a hostile file's million stop here


def _block_params(entries: Any, path: str, block: str,
                  problems: list[Diagnostic]) -> tuple:
    """A block definition's declared parameters; a bad entry is reported and left out
    (its references then show as undeclared, on the nodes that use them)."""
    if not isinstance(entries, list):
        problems.append(Diagnostic("block_param", f"must be a list of parameters, found "
                                   f"{_kind(entries)}", block=block, path=path))
        return ()
    found: dict[str, Any] = {}
    if len(entries) > MAX_BLOCK_PARAMS:
        problems.append(Diagnostic("block_param", f"declares {len(entries):,} parameters; "
                                   f"the first {MAX_BLOCK_PARAMS} are kept", block=block,
                                   path=path, severity="warning"))
    for i, entry in enumerate(entries[:MAX_BLOCK_PARAMS]):
        where = f"block parameter {i + 1}"
        spec, problem = block_params.param_from_dict(entry, where)
        if spec is not None and spec.name in found:
            spec, problem = None, f"{where}: {spec.name!r} is declared twice"
        if spec is None:
            problems.append(Diagnostic("block_param", problem, block=block, path=f"{path}[{i}]",
                                       hint="fix or remove this parameter"))
            continue
        found[spec.name] = spec
    return tuple(found.values())


def _free_id(graph: Graph, base: str) -> str:
    k = 2
    while f"{base}_{k}" in graph.nodes:
        k += 1
    return f"{base}_{k}"


def _is_coord(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e9


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return f"{names.get(type(value), type(value).__name__)} {_short(value)}"


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 30 else text[:27] + "..."
