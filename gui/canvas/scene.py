"""The canvas scene: draws the graph on screen and turns mouse gestures into undo commands.

It listens to the session (model events, check results) and never changes the model
itself: moves, connections and deletions go through commands on the undo stack.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from graph.catalog import get_spec
from graph.model import Edge
from gui.canvas.items import EdgeItem, NodeItem, PortItem, curve
from gui.commands import Connect, MoveNodes, RemoveItems
from gui.session import EditorSession
from gui.theme import current_theme


DEFAULT_RECT = QRectF(-5000, -5000, 10000, 10000)
SMALL_TITLES_MAX_NODES = 200  # zoomed out, a bigger graph draws blocks only (fast frames)


class GraphScene(QGraphicsScene):
    message = Signal(str)            # a sentence for the status bar (e.g. why a link was refused)

    def __init__(self, session: EditorSession) -> None:
        super().__init__()
        self.session = session
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self._drag_start: dict[str, tuple[float, float]] = {}
        self._link_from: PortItem | None = None
        self._link_path: QGraphicsPathItem | None = None
        self._full_detail = True
        self._edge_cache = None
        self.setSceneRect(DEFAULT_RECT)
        session.graph_changed.connect(self._on_graph_event)
        session.checked.connect(self.apply_check)
        session.view_changed.connect(self.rebuild)
        self.rebuild()

    # --- building from the model --------------------------------------------------------------
    def rebuild(self) -> None:
        self.clear()
        self.nodes.clear()
        self.edges.clear()
        graph = self.session.graph
        for node in graph:
            self._add_node(node.id)
        for edge in graph.edges:
            self._add_edge(edge)
        if self.session.result is not None:
            self.apply_check(self.session.result)
        self.grow_rect()

    def set_detail(self, full: bool) -> None:
        """Zoomed far out, ports are invisible anyway: hiding them saves thousands of
        paint calls per frame on a big graph."""
        if full == self._full_detail:
            return
        self._full_detail = full
        for item in self.nodes.values():
            for port in (*item.inputs.values(), *item.outputs.values()):
                port.setVisible(full)
        # Zoomed out, all edges are drawn as one cached path (see drawForeground).
        for edge_item in self.edges.values():
            edge_item.setVisible(full)
        self._edge_cache = None

    def grow_rect(self) -> None:
        """Keep every node reachable by scrolling, however far a long graph reaches."""
        rect = self.itemsBoundingRect().adjusted(-2000, -2000, 2000, 2000)
        self.setSceneRect(rect.united(DEFAULT_RECT))

    def _add_node(self, node_id: str) -> None:
        item = NodeItem(node_id)
        self.nodes[node_id] = item
        self.addItem(item)
        self._refresh_node(node_id)
        if not self.sceneRect().contains(item.sceneBoundingRect()):
            self.grow_rect()

    def _refresh_node(self, node_id: str) -> None:
        graph = self.session.graph
        node, item = graph.nodes[node_id], self.nodes[node_id]
        spec = get_spec(node.type)
        ins, outs = graph.ports_of(node)
        item.set_content(node.title, node.type, spec.category if spec else "",
                         _summary(spec, node.params), ins, outs)
        item.setPos(*node.position)
        if not self._full_detail:
            for port in (*item.inputs.values(), *item.outputs.values()):
                port.setVisible(False)
        for edge, edge_item in list(self.edges.items()):
            if node_id in (edge.src, edge.dst):
                self._remove_edge(edge)
                self._add_edge(edge)

    def _add_edge(self, edge: Edge) -> None:
        src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
        if src is None or dst is None:
            return
        a, b = src.outputs.get(edge.src_port), dst.inputs.get(edge.dst_port)
        if a is None or b is None:
            return  # an edge on a port that no longer exists: the Problems dock names it
        item = EdgeItem(edge, a, b)
        self.edges[edge] = item
        self.addItem(item)
        item.setVisible(self._full_detail)
        self._edge_cache = None
        if self.session.result is not None:
            item.set_label(self._edge_label(edge))

    def _remove_edge(self, edge: Edge) -> None:
        self._edge_cache = None
        item = self.edges.pop(edge, None)
        if item is not None:
            self.removeItem(item)

    def _on_graph_event(self, graph, event) -> None:
        if graph is not self.session.graph:
            return
        if event.kind == "node_added":
            self._add_node(event.node.id)
        elif event.kind == "node_removed":
            item = self.nodes.pop(event.node.id, None)
            if item is not None:
                self.removeItem(item)
        elif event.kind == "node_changed" and event.node.id in self.nodes:
            self._refresh_node(event.node.id)
        elif event.kind == "edge_added":
            self._add_edge(event.edge)
        elif event.kind == "edge_removed":
            self._remove_edge(event.edge)

    @property
    def titles_when_small(self) -> bool:
        return len(self.nodes) <= SMALL_TITLES_MAX_NODES

    # --- check results --------------------------------------------------------------------
    def shapes(self):
        """The shape report for the graph on screen."""
        return self.session.screen_shapes()

    def apply_check(self, result) -> None:
        report = self.shapes()
        problems: dict[str, list[str]] = {}
        for d in result.diagnostics:
            if d.block == self.session.block and d.node_id:
                problems.setdefault(d.node_id, []).append(
                    f"{d.message}" + (f"\nHint: {d.hint}" if d.hint else ""))
        for node_id, item in self.nodes.items():
            shapes = report.nodes.get(node_id) if report else None
            text = ""
            if shapes is not None and shapes.outputs:
                text = next(iter(shapes.outputs.values())).text()
                if shapes.param_count:
                    text += f"  ·  {shapes.param_count:,} p"
            item.set_check(text, problems.get(node_id, []))
        for edge, item in self.edges.items():
            item.set_label(self._edge_label(edge, report))

    def _edge_label(self, edge: Edge, report=None) -> str:
        report = report if report is not None else self.shapes()
        meta = report.edge_meta(edge.src, edge.src_port) if report else None
        return meta.text() if meta is not None else ""

    # --- moving ---------------------------------------------------------------------------
    def node_moved(self, item: NodeItem) -> None:
        self._edge_cache = None
        for edge, edge_item in self.edges.items():
            if item.node_id in (edge.src, edge.dst):
                edge_item.update_path()

    def mousePressEvent(self, event) -> None:
        port = self._port_at(event.scenePos())
        if event.button() == Qt.LeftButton and port is not None and port.is_output:
            self._start_link(port)
            event.accept()
            return
        if event.modifiers() & Qt.ShiftModifier:
            # Shift adds to the selection as Ctrl does (Qt's own rule knows only Ctrl).
            event.setModifiers(event.modifiers() | Qt.ControlModifier)
        super().mousePressEvent(event)
        self._drag_start = {i.node_id: (i.pos().x(), i.pos().y()) for i in self.selected_nodes()}

    def mouseMoveEvent(self, event) -> None:
        if self._link_from is not None:
            self._link_path.setPath(curve(self._link_from.scene_center(), event.scenePos()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._link_from is not None:
            self._finish_link(event.scenePos())
            return
        if event.modifiers() & Qt.ShiftModifier:  # items settle the selection on release too
            event.setModifiers(event.modifiers() | Qt.ControlModifier)
        super().mouseReleaseEvent(event)
        moves = {}
        for node_id, old in self._drag_start.items():
            item = self.nodes.get(node_id)
            if item is not None and (item.pos().x(), item.pos().y()) != old:
                moves[node_id] = (old, (item.pos().x(), item.pos().y()))
        self._drag_start = {}
        if moves:
            self.session.undo.push(MoveNodes(self.session.graph, moves))
            self.grow_rect()

    # --- linking ports --------------------------------------------------------------------
    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def _start_link(self, port: PortItem) -> None:
        self._link_from = port
        self._link_path = QGraphicsPathItem()
        self._link_path.setPen(QPen(current_theme().selection, 2, Qt.DashLine))
        self._link_path.setZValue(5)
        self.addItem(self._link_path)

    def _finish_link(self, pos: QPointF) -> None:
        source = self._link_from
        self.removeItem(self._link_path)
        self._link_from, self._link_path = None, None
        target = self._port_at(pos)
        if target is None or target.is_output:
            return
        self.connect_ports(source, target)

    def connect_ports(self, source: PortItem, target: PortItem) -> bool:
        edge = Edge(source.node.node_id, source.name, target.node.node_id, target.name)
        problem = self.session.graph.connect_problem(edge)
        if problem:
            self.message.emit(f"Cannot connect: {problem}")
            return False
        self.session.undo.push(Connect(self.session.graph, edge))
        return True

    # --- selection and deletion -----------------------------------------------------------
    def selected_nodes(self) -> list[NodeItem]:
        return [i for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selected_nodes()]

    def delete_selected(self) -> None:
        node_ids = self.selected_node_ids()
        edges = [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]
        if node_ids or edges:
            self.session.undo.push(RemoveItems(self.session.graph, node_ids, edges))

    def select_node(self, node_id: str) -> NodeItem | None:
        self.clearSelection()
        item = self.nodes.get(node_id)
        if item is not None:
            item.setSelected(True)
        return item

    def open_block(self, node_id: str) -> None:
        name = self.session.graph.nodes[node_id].params.get("block")
        if name in self.session.doc.blocks:
            self.session.enter_block(name)

    def drawForeground(self, painter, rect) -> None:
        if self._full_detail or not self.edges:
            return
        if self._edge_cache is None:
            self._edge_cache = _all_edges(self.edges.values())
        painter.setPen(QPen(current_theme().edge, 0))
        painter.drawPath(self._edge_cache)

    def drawBackground(self, painter, rect) -> None:
        theme = current_theme()
        painter.fillRect(rect, theme.background)
        step = 24
        if painter.worldTransform().m11() * step < 8:
            return  # grid lines closer than 8 px are noise, and cost a frame
        painter.setPen(QPen(theme.grid, 1))
        left, top = int(rect.left()) - int(rect.left()) % step, int(rect.top()) - int(rect.top()) % step
        lines = []
        from PySide6.QtCore import QLineF
        x = left
        while x < rect.right():
            lines.append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            lines.append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        painter.drawLines(lines)


def _all_edges(edges) -> QPainterPath:
    path = QPainterPath()
    for item in edges:
        path.addPath(item.path())
    return path


def _summary(spec, params) -> str:
    if spec is None or not spec.summary:
        return ""
    try:
        values = {k: ("×".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                  for k, v in params.items()}
        text = spec.summary.format(**values)
    except (KeyError, IndexError, ValueError):
        return ""
    repeat = params.get("repeat") if spec.kind == "block" else None
    return f"{text} ×{repeat}" if isinstance(repeat, int) and repeat > 1 else text
