"""A Keras-style model summary: each node's output shape and parameter count, and totals."""
from __future__ import annotations

from dataclasses import dataclass, field

from graph.document import Document
from graph.model import Graph
from graph.walk import flow_order
from runtime.shapes import NodeShapes, ShapeReport

BYTES_PER_PARAM = 4  # float32


@dataclass
class SummaryRow:
    id: str            # "b1/conv1" for a node inside block instance b1
    type: str
    output_shape: list | None   # ["N", 6, 28, 28]; None when the node returns nothing
    outputs: dict[str, list]
    params: int
    depth: int = 0


@dataclass
class Summary:
    rows: list[SummaryRow] = field(default_factory=list)
    total_params: int = 0

    @property
    def size_mb(self) -> float:
        return self.total_params * BYTES_PER_PARAM / 2**20

    def to_json(self) -> dict:
        return {"total_params": self.total_params,
                "size_mb": round(self.size_mb, 4),
                "nodes": [{"id": r.id, "type": r.type, "output_shape": r.output_shape,
                           "outputs": r.outputs, "params": r.params, "depth": r.depth}
                          for r in self.rows]}

    def totals_text(self) -> str:
        return f"Total parameters: {self.total_params:,} ({self.size_mb:.2f} MB as float32)"

    def table(self, title: str) -> str:
        headers = ("Node", "Type", "Output shape", "Params")
        body = [("  " * r.depth + r.id, r.type, shape_text(r.output_shape), f"{r.params:,}")
                for r in self.rows]
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
                  for i, h in enumerate(headers)]

        def line(cells):
            return "  ".join(c.rjust(w) if i == 3 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "─" * len(line(headers))
        out = [title, rule, line(headers), rule, *map(line, body), rule,
               self.totals_text()]
        return "\n".join(out)


def summarize(doc: Document, shapes: ShapeReport) -> Summary:
    summary = Summary()
    _rows(doc.graph, shapes, "", 0, summary.rows)
    summary.total_params = shapes.total_params
    return summary


def _rows(graph: Graph, shapes: ShapeReport, prefix: str, depth: int, rows: list) -> None:
    # Data-flow order (file order where it is free), so a grouped block sits where it acts.
    order, stuck = flow_order(graph)
    order += stuck  # nodes on a loop, if any
    for node in (graph.nodes[n] for n in order):
        s = shapes.nodes.get(node.id, NodeShapes())
        outputs = {port: ["N", *m.shape] for port, m in s.outputs.items()}
        if node.type == "Output":
            first = next(iter(s.inputs.values()), None)
            shape = ["N", *first.shape] if first is not None else None
        else:
            shape = next(iter(outputs.values()), None)
        label = node.type if node.type != "Block" else f"Block {node.params.get('block')}"
        if node.type == "Block" and len(s.copies) > 1:
            label += f" ×{len(s.copies)}"
        rows.append(SummaryRow(prefix + node.id, label, shape, outputs, s.param_count, depth))
        if node.type == "Block" and s.inner is not None:
            inner_graph = graph.library[node.params["block"]]
            _rows(inner_graph, s.inner, f"{prefix}{node.id}/", depth + 1, rows)


def shape_text(shape: list | None) -> str:
    return "×".join(map(str, shape)) if shape else "—"
