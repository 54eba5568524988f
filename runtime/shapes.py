"""Exact tensor shapes on every edge, found by running the graph on torch's meta device.

Nothing here knows a shape formula: each node's module is built on `meta` (no memory, no
compute) and called on meta tensors, so the shapes are whatever torch itself produces.
Results are cached by (type, parameters, input shapes): after an edit, only nodes whose
inputs or parameters changed are run again, which is exactly the edit's downstream.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import torch

from graph.catalog import get_spec
from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.model import Graph, Node
from runtime import targets
from runtime.shape_errors import explain

META_BATCH = 2  # batch size used on meta; 1 would hide BatchNorm's "needs >1 sample"


@dataclass(frozen=True)
class TensorMeta:
    """A tensor's shape without the batch axis, and its dtype name."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def text(self) -> str:
        return "×".join(["N", *map(str, self.shape)])

    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class NodeShapes:
    inputs: dict[str, TensorMeta] = field(default_factory=dict)
    outputs: dict[str, TensorMeta] = field(default_factory=dict)
    inferred: dict[str, Any] = field(default_factory=dict)
    param_count: int = 0
    # A Block node's inside, shaped for this instance's inputs.
    inner: "ShapeReport | None" = None


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

    def infer(self, doc: Document) -> ShapeReport:
        return self.infer_graph(doc.graph, doc, None)

    def infer_graph(self, graph: Graph, doc: Document, block: str | None,
                    given: dict[str, TensorMeta] | None = None) -> ShapeReport:
        """Shapes of one graph; `given` overrides Input shapes by name (a block's inputs)."""
        report = ShapeReport()
        order = _topological(graph)
        if order is None:
            return report  # a cycle: validation names it; there is no order to run in
        feeding = {(e.dst, e.dst_port): e for e in graph.edges}
        for node_id in order:
            node = graph.nodes[node_id]
            inputs = {}
            for port in graph.ports_of(node)[0]:
                edge = feeding.get((node_id, port))
                meta = report.edge_meta(edge.src, edge.src_port) if edge else None
                if meta is not None:
                    inputs[port] = meta
            shapes = self._node(node, inputs, graph, doc, block, given, report)
            if shapes is not None:
                report.nodes[node_id] = shapes
        return report

    def _node(self, node: Node, inputs: dict[str, TensorMeta], graph: Graph, doc: Document,
              block: str | None, given: dict[str, TensorMeta] | None,
              report: ShapeReport) -> NodeShapes | None:
        spec = get_spec(node.type)
        if spec is None or not _params_ok(spec, node):
            return None
        if spec.kind == "input":
            name = node.params["name"]
            meta = (given or {}).get(name) or TensorMeta(tuple(node.params["shape"]),
                                                          node.params["dtype"])
            return NodeShapes(outputs={"out": meta})
        required = [p for p in graph.ports_of(node)[0] if p not in spec.optional_inputs()]
        if any(p not in inputs for p in required):
            return None  # upstream is missing or broken; that node carries the diagnostic
        if spec.kind == "output":
            return NodeShapes(inputs=inputs)
        if spec.kind == "block":
            return self._block(node, inputs, doc, block, report)
        key = (node.type, _freeze(node.params), tuple(sorted(inputs.items())))
        result = self._cache.get(key)
        if result is None:
            result = self._run(spec, node, inputs)
            self._remember(key, result)
        else:
            self._cache.move_to_end(key)
        if result.error:
            message, hint = result.error
            report.diagnostics.append(Diagnostic("shape", message, node.id, None, "error",
                                                 hint, block))
            return None
        return NodeShapes(inputs, dict(result.outputs), dict(result.inferred), result.param_count)

    def _run(self, spec, node: Node, inputs: dict[str, TensorMeta]) -> _Result:
        self.runs += 1
        names = spec.input_names(node.params)
        try:
            shapes = {p: (META_BATCH, *m.shape) for p, m in inputs.items()}
            inferred = targets.infer_values(spec, shapes)
            fn = targets.instantiate(spec, node.params, inferred, device="meta")
            _check_input_dtypes(spec, fn, inputs)
            args = [_meta_tensor(inputs[p]) if p in inputs else None for p in names]
            with torch.no_grad():
                result = fn(*args)
            outputs = targets.split_outputs(spec, node.params, result)
            metas = {}
            for port, t in outputs.items():
                if not isinstance(t, torch.Tensor) or t.dim() == 0 or t.shape[0] != META_BATCH:
                    raise _BatchLost(port)
                metas[port] = TensorMeta(tuple(t.shape[1:]), str(t.dtype).removeprefix("torch."))
            count = sum(p.numel() for p in fn.parameters()) if isinstance(fn, torch.nn.Module) else 0
            return _Result(metas, inferred, count, None)
        except _BatchLost as exc:
            return _Result({}, {}, 0, (f"{node.title}: its output {exc.args[0]!r} no longer "
                                       "has the batch as its first axis",
                                       "keep axis 0 (the batch) in place"))
        except Exception as exc:  # torch reports shape problems as many exception types
            return _Result({}, {}, 0, explain(spec, node, inputs, exc))

    def _block(self, node: Node, inputs: dict[str, TensorMeta], doc: Document,
               block: str | None, report: ShapeReport) -> NodeShapes | None:
        name = node.params.get("block")
        inner_graph = doc.blocks.get(name)
        if inner_graph is None:
            return None
        given = {}
        inner_inputs = inner_graph.interface()[0]
        for port in inner_inputs:
            if port in inputs:
                given[port] = inputs[port]
        inner = self.infer_graph(inner_graph, doc, name, given)
        errors = [d for d in inner.diagnostics if d.is_error]
        if errors:
            first = errors[0]
            report.diagnostics.append(Diagnostic(
                "shape", f"{node.title}: inside block {name!r}, node {first.node_id}: "
                f"{first.message}", node.id, None, "error", first.hint, block))
            return None
        outputs = {}
        for out_node in inner_graph:
            if out_node.type == "Output" and out_node.id in inner.nodes:
                metas = inner.nodes[out_node.id].inputs
                if "x" in metas:
                    outputs[out_node.params["name"]] = metas["x"]
        return NodeShapes(inputs, outputs, {}, inner.total_params, inner)

    def _remember(self, key: tuple, result: _Result) -> None:
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class _BatchLost(Exception):
    pass


def infer_shapes(doc: Document) -> ShapeReport:
    """One-off shape inference (no cache kept)."""
    return ShapeInference().infer(doc)


def _topological(graph: Graph) -> list[str] | None:
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.src, e.dst) for e in graph.edges)
    try:
        return list(nx.topological_sort(g))
    except nx.NetworkXUnfeasible:
        return None


def _check_input_dtypes(spec, fn, inputs: dict[str, TensorMeta]) -> None:
    """Meta kernels skip dtype checks that the real forward does: a layer with float
    weights fed integer ids fails only on the CPU. Integer inputs are fine only where the
    spec says a port takes them (Embedding's token ids)."""
    if not isinstance(fn, torch.nn.Module):
        return
    if not any(p.is_floating_point() for p in fn.parameters()):
        return
    for port, meta in inputs.items():
        if not targets.torch_dtype(meta.dtype).is_floating_point and \
                not spec.example_dtypes.get(port, "float32").startswith("int"):
            raise TypeError(f"input {port!r} must hold floating-point numbers "
                            f"(dtype float32), not {meta.dtype}")


def _params_ok(spec, node: Node) -> bool:
    return all(p.check(node.params.get(p.name, p.default))[1] is None for p in spec.params)


def _meta_tensor(meta: TensorMeta) -> torch.Tensor:
    return torch.empty((META_BATCH, *meta.shape), dtype=targets.torch_dtype(meta.dtype),
                       device="meta")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value
