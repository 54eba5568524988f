"""Exact tensor shapes on every edge, found by running the graph on torch's meta device.

Nothing here knows a shape formula: each node's module is built on `meta` (no memory, no
compute) and called on meta tensors, so the shapes are whatever torch itself produces.
Results are cached by (type, parameters, input shapes): after an edit, only nodes whose
inputs or parameters changed are run again, which is exactly the edit's downstream.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch

from graph import block_params, walk
from graph.catalog import get_spec
from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.model import Graph, Node
from graph.text import as_name, shown
from graph.walk import block_structure, drive, run_through_graph
from runtime import node_checks, targets
from runtime.shape_errors import explain

META_BATCH = 2  # batch size used on meta; 1 would hide BatchNorm's "needs >1 sample"


class TensorMeta(NamedTuple):
    """A tensor's shape without the batch axis, and its dtype name. A named tuple: every
    node's cache key holds its input metas, and a tuple hashes and compares in C."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def text(self) -> str:
        return "×".join(["N", *map(str, self.shape)])

    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class NodeShapes:
    inputs: dict[str, TensorMeta] = field(default_factory=dict)
    outputs: dict[str, TensorMeta] = field(default_factory=dict)
    inferred: dict[str, Any] = field(default_factory=dict)
    param_count: int = 0
    # A Block node's inside, shaped for this instance's inputs and values; with repeat,
    # `copies` holds each chained copy's (inner is the first).
    inner: "ShapeReport | None" = None
    copies: "list[ShapeReport]" = field(default_factory=list)


@dataclass
class ShapeReport:
    nodes: dict[str, NodeShapes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def edge_meta(self, src: str, src_port: str) -> TensorMeta | None:
        shapes = self.nodes.get(src)
        return shapes.outputs.get(src_port) if shapes else None

    @property
    def total_params(self) -> int:
        return sum(s.param_count for s in self.nodes.values())


@dataclass(frozen=True)
class _Result:
    outputs: dict[str, TensorMeta]
    inferred: dict[str, Any]
    param_count: int
    error: tuple[str, str] | None  # (message, hint)


class ShapeInference:
    """Keeps a cache across calls so an editor can re-run it after every edit."""

    def __init__(self, cache_size: int = 8192) -> None:
        self._cache: OrderedDict[tuple, _Result] = OrderedDict()
        self._cache_size = cache_size
        self.runs = 0  # nodes actually run on meta (a test checks the cache works)
        # Per call of infer_graph: how blocks use each other, and each block's shapes
        # by input shapes.
        self._structure = walk.BlockStructure({})
        self._instances: dict[tuple, ShapeReport] = {}
        # Per call too: nodes with the same type, parameters and inputs share one
        # NodeShapes (read-only to every reader), so a long chain of repeated layers
        # costs a dictionary lookup per node.
        self._shared: dict[tuple, NodeShapes] = {}

    def infer(self, doc: Document) -> ShapeReport:
        return self.infer_graph(doc.graph, doc, None)

    def infer_graph(self, graph: Graph, doc: Document, block: str | None,
                    given: dict[str, TensorMeta] | None = None) -> ShapeReport:
        """Shapes of one graph; `given` overrides Input shapes by name (a block's inputs)."""
        self._structure = block_structure(doc)
        self._instances = {}
        self._shared = {}
        return drive(self._walk(graph, doc, block, given))

    def _walk(self, graph: Graph, doc: Document, block: str | None,
              given: dict[str, TensorMeta] | None):
        """A walk (graph.walk.drive) that returns the ShapeReport of `graph`. The values
        carried along edges are TensorMeta; a node whose shapes are unknown carries none."""
        report = ShapeReport()

        def call(node: Node, inputs: dict[str, TensorMeta], ports: list[str]):
            if node.type == "Block":
                shapes = yield from self._block(node, inputs, doc, block, report)
            else:
                shapes = self._node(node, inputs, ports, block, given, report)
            if shapes is None:
                return {}
            report.nodes[node.id] = shapes
            return shapes.outputs

        yield from run_through_graph(graph, call)
        return report

    def _node(self, node: Node, inputs: dict[str, TensorMeta], ports: list[str],
              block: str | None, given: dict[str, TensorMeta] | None,
              report: ShapeReport) -> NodeShapes | None:
        spec = get_spec(node.type)
        if spec is None:
            return None
        if len(inputs) < len(ports):
            optional = spec.optional_inputs()
            if any(p not in inputs and p not in optional for p in ports):
                return None  # upstream is missing or broken; that node carries the diagnostic
        if spec.kind in ("input", "output"):
            if not _params_ok(spec, node):
                return None
            if spec.kind == "output":
                return NodeShapes(inputs=inputs)
            name = node.params["name"]
            meta = (given or {}).get(name) or TensorMeta(tuple(node.params["shape"]),
                                                          node.params["dtype"])
            return NodeShapes(outputs={"out": meta})
        key = (node.type, _freeze(node.params), tuple(sorted(inputs.items())))
        shared = self._shared.get(key)
        if shared is not None:
            return shared  # the same layer on the same inputs earlier in this walk
        result = self._cache.get(key)
        if result is None:
            # Only parameters that pass their checks are ever cached, so a hit needs no
            # check (on 100,000 nodes the checks were a third of the time).
            if not _params_ok(spec, node):
                return None
            result = self._run(spec, node, inputs)
            self._remember(key, result)
        else:
            self._cache.move_to_end(key)
        if result.error:
            message, hint = result.error
            report.diagnostics.append(Diagnostic("shape", message, node.id, None, "error",
                                                 hint, block))
            return None
        shapes = NodeShapes(inputs, dict(result.outputs), dict(result.inferred),
                            result.param_count)
        self._shared[key] = shapes
        return shapes

    def _run(self, spec, node: Node, inputs: dict[str, TensorMeta]) -> _Result:
        self.runs += 1
        names = spec.input_names(node.params)
        try:
            shapes = {p: (META_BATCH, *m.shape) for p, m in inputs.items()}
            inferred = targets.infer_values(spec, shapes)
            fn = targets.instantiate(spec, node.params, inferred, device="meta")
            # Before anything runs: what the real forward pass would refuse, or what the
            # real build would allocate past the budget (counted here on meta, for free).
            node_checks.check_budget(node, fn)
            node_checks.check_input_dtypes(spec, node, fn, inputs)
            args = [_meta_tensor(inputs[p]) if p in inputs else None for p in names]
            with torch.no_grad():
                result = fn(*args)
            outputs = targets.split_outputs(spec, node.params, result)
            metas = {}
            for port, t in outputs.items():
                if not isinstance(t, torch.Tensor) or t.dim() == 0 or t.shape[0] != META_BATCH:
                    raise _BatchLost(port)
                metas[port] = TensorMeta(tuple(t.shape[1:]), str(t.dtype).removeprefix("torch."))
            node_checks.check_outputs(node, outputs)
            count = sum(p.numel() for p in fn.parameters()) if isinstance(fn, torch.nn.Module) else 0
            return _Result(metas, inferred, count, None)
        except _BatchLost as exc:
            return _Result({}, {}, 0, (f"{node.title}: its output {exc.args[0]!r} no longer "
                                       "has the batch as its first axis",
                                       "keep axis 0 (the batch) in place"))
        except node_checks.NodeRefused as exc:
            return _Result({}, {}, 0, (exc.message, exc.hint))
        except Exception as exc:  # torch reports shape problems as many exception types
            return _Result({}, {}, 0, explain(spec, node, inputs, exc))

    def _block(self, node: Node, inputs: dict[str, TensorMeta], doc: Document,
               block: str | None, report: ShapeReport):
        name = walk.block_ref(node)
        definition = doc.blocks.get(name) if name is not None else None
        if definition is None or not self._structure.buildable(name):
            return None  # undefined, self-using or too deep: validation names it
        values = block_params.node_values(node, definition)
        inner_graph = block_params.bind(definition, values)
        inner_inputs, inner_outputs = inner_graph.interface()
        if any(p not in inputs for p in inner_inputs):
            return None  # upstream is missing or broken; that node carries the diagnostic
        repeat = block_params.repeat_of(node)
        if len(inner_inputs) != 1 or len(inner_outputs) != 1:
            repeat = 1  # copies cannot be chained; validation says so on the node
        given = {port: inputs[port] for port in inner_inputs}
        copies: list[ShapeReport] = []
        for copy_index in range(repeat):
            # One walk per block, values and input shapes: a block used a thousand times
            # with the same inputs (or nested uses that double at every level) is shaped once.
            key = (name, _freeze(values), tuple(sorted(given.items())))
            inner = self._instances.get(key)
            if inner is None:
                inner = yield self._walk(inner_graph, doc, name, given)
                self._instances[key] = inner
            errors = [d for d in inner.diagnostics if d.is_error]
            if errors:
                first = errors[0]
                which = f" (copy {copy_index + 1} of {repeat})" if repeat > 1 else ""
                report.diagnostics.append(Diagnostic(
                    "shape", f"{node.title}: inside block {shown(name)}{which}, node "
                    f"{as_name(first.node_id or '')}: {first.message}", node.id, None, "error",
                    first.hint, block))
                return None
            outputs = {}
            for out_node in inner_graph:
                if out_node.type == "Output" and out_node.id in inner.nodes:
                    metas = inner.nodes[out_node.id].inputs
                    if "x" in metas and isinstance(out_node.params.get("name"), str):
                        outputs[out_node.params["name"]] = metas["x"]
            copies.append(inner)
            if copy_index + 1 < repeat:
                if inner_outputs[0] not in outputs:
                    return None
                given = {inner_inputs[0]: outputs[inner_outputs[0]]}
        return NodeShapes(inputs, outputs, {}, sum(c.total_params for c in copies), copies[0],
                          copies)

    def _remember(self, key: tuple, result: _Result) -> None:
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class _BatchLost(Exception):
    pass


def infer_shapes(doc: Document) -> ShapeReport:
    """One-off shape inference (no cache kept)."""
    return ShapeInference().infer(doc)



def _params_ok(spec, node: Node) -> bool:
    return not spec.problems(node.params)


def _meta_tensor(meta: TensorMeta) -> torch.Tensor:
    return torch.empty((META_BATCH, *meta.shape), dtype=targets.torch_dtype(meta.dtype),
                       device="meta")


def _freeze(params: dict[str, Any]) -> str:
    """Parameters as a cache key. repr keeps True apart from 1 and 1.0, and refuses
    nesting past the interpreter's limit with a RecursionError instead of overflowing."""
    try:
        return repr(sorted(params.items()))
    except (RecursionError, TypeError):
        return repr(id(params))  # not cacheable: such parameters fail their check anyway
