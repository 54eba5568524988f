"""What the canvas draws: nodes with ports and badges, and curved edges with shape labels.

Items hold no graph data of their own beyond ids: they are redrawn from the model.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsObject

from gui.theme import category_color, current_theme

NODE_WIDTH = 168
LOW_DETAIL = 0.4  # below this zoom, text is unreadable: draw shapes only (fast frames)
TITLE_H = 22
ROW_H = 16
PORT_R = 5.5
SMALL_TITLE_MIN_PX = 24  # a node drawn narrower than this shows no title at all


class PortItem(QGraphicsItem):
    """A port circle; `is_output` ports start drags, input ports accept them."""

    def __init__(self, node: "NodeItem", name: str, is_output: bool) -> None:
        super().__init__(node)
        self.node, self.name, self.is_output = node, name, is_output
        self.setAcceptHoverEvents(True)
        self._hover = False
        self.setCursor(Qt.CrossCursor)

    def boundingRect(self) -> QRectF:
        r = PORT_R + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if _lod(option, painter) < LOW_DETAIL:
            return
        theme = current_theme()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(theme.port_edge, 1.2))
        painter.setBrush(theme.port_hover if self._hover else theme.port_fill)
        painter.drawEllipse(QPointF(0, 0), PORT_R, PORT_R)

    def hoverEnterEvent(self, event) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self.update()

    def scene_center(self) -> QPointF:
        return self.mapToScene(QPointF(0, 0))


class NodeItem(QGraphicsObject):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.title, self.type, self.category = "", "", ""
        self.summary, self.shape_text = "", ""
        self.problems: list[str] = []
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self.height = TITLE_H + 2 * ROW_H + 8
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable |
                      QGraphicsItem.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)

    def set_content(self, title: str, type_id: str, category: str, summary: str,
                    inputs: list[str], outputs: list[str]) -> None:
        self.prepareGeometryChange()
        self.title, self.type, self.category, self.summary = title, type_id, category, summary
        rows = max(len(inputs), len(outputs), 1)
        self.height = TITLE_H + max(rows * ROW_H, 2 * ROW_H) + 10
        self._ports(self.inputs, inputs, False)
        self._ports(self.outputs, outputs, True)
        self.update()

    def _ports(self, current: dict[str, PortItem], names: list[str], is_output: bool) -> None:
        for name in list(current):
            if name not in names:
                current.pop(name).setParentItem(None)
        for i, name in enumerate(names):
            port = current.get(name) or PortItem(self, name, is_output)
            current[name] = port
            port.setPos(NODE_WIDTH if is_output else 0, TITLE_H + 12 + i * ROW_H)

    def set_check(self, shape_text: str, problems: list[str]) -> None:
        if (shape_text, problems) == (self.shape_text, self.problems):
            return  # most nodes are unchanged by an edit: no tooltip reset, no repaint
        self.shape_text, self.problems = shape_text, problems
        self.setToolTip("\n\n".join(problems))
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-PORT_R - 2, -12, NODE_WIDTH + 2 * PORT_R + 4, self.height + 14)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = current_theme()
        body = QRectF(0, 0, NODE_WIDTH, self.height)
        if _lod(option, painter) < LOW_DETAIL:
            painter.fillRect(body, theme.selection if self.isSelected() else category_color(self.category))
            if self.problems:
                painter.fillRect(QRectF(NODE_WIDTH - 30, -10, 34, 34), theme.error)
            if getattr(self.scene(), "titles_when_small", False):
                _small_title(painter, body, self.title, theme)
            return
        painter.setRenderHint(QPainter.Antialiasing)
        selected = self.isSelected()
        painter.setPen(QPen(theme.selection if selected else theme.node_edge, 2.2 if selected else 1))
        painter.setBrush(theme.node_fill)
        painter.drawRoundedRect(body, 6, 6)
        head = QPainterPath()
        head.addRoundedRect(QRectF(0, 0, NODE_WIDTH, TITLE_H), 6, 6)
        head.addRect(QRectF(0, TITLE_H - 6, NODE_WIDTH, 6))
        painter.fillPath(head.simplified(), category_color(self.category))
        painter.setPen(theme.title_text)
        bold = QFont(painter.font())
        bold.setBold(True)
        bold.setPointSizeF(9)
        painter.setFont(bold)
        painter.drawText(QRectF(8, 0, NODE_WIDTH - 16, TITLE_H), Qt.AlignVCenter | Qt.AlignLeft,
                         self.title)
        small = QFont(painter.font())
        small.setBold(False)
        small.setPointSizeF(8)
        painter.setFont(small)
        painter.setPen(theme.text)
        inner = QRectF(12, TITLE_H + 3, NODE_WIDTH - 24, ROW_H)
        painter.drawText(inner, Qt.AlignHCenter | Qt.AlignVCenter, self.summary or self.type)
        painter.setPen(theme.shape_text)
        painter.drawText(QRectF(12, self.height - ROW_H - 4, NODE_WIDTH - 24, ROW_H),
                         Qt.AlignHCenter | Qt.AlignVCenter, self.shape_text)
        for port in (*self.inputs.values(), *self.outputs.values()):
            painter.setPen(theme.port_label)
            x = port.pos().x()
            rect = QRectF(x + 8, port.pos().y() - 7, 60, 14) if not port.is_output \
                else QRectF(x - 68, port.pos().y() - 7, 60, 14)
            if len(self.inputs) + len(self.outputs) > 2:
                painter.drawText(rect, (Qt.AlignLeft if not port.is_output else Qt.AlignRight)
                                 | Qt.AlignVCenter, port.name)
        if self.problems:
            painter.setPen(Qt.NoPen)
            painter.setBrush(theme.error)
            painter.drawEllipse(QPointF(NODE_WIDTH - 4, -2), 9, 9)
            painter.setPen(QColor("white"))
            painter.setFont(bold)
            painter.drawText(QRectF(NODE_WIDTH - 13, -11, 18, 18), Qt.AlignCenter,
                             str(len(self.problems)) if len(self.problems) < 10 else "!")

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged and self.scene() is not None:
            self.scene().node_moved(self)
        return super().itemChange(change, value)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.type == "Block" and self.scene() is not None:
            self.scene().open_block(self.node_id)
        else:
            super().mouseDoubleClickEvent(event)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, edge, source: PortItem, target: PortItem) -> None:
        super().__init__()
        self.edge, self.source, self.target = edge, source, target
        self.label = ""
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setZValue(0)
        self.update_path()

    def update_path(self) -> None:
        a, b = self.source.scene_center(), self.target.scene_center()
        self.setPath(curve(a, b))

    def set_label(self, text: str) -> None:
        if text != self.label:
            self.label = text
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = current_theme()
        if _lod(option, painter) < LOW_DETAIL:
            painter.setPen(QPen(theme.selection if self.isSelected() else theme.edge, 0))
            painter.drawPath(self.path())
            return
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(theme.selection if self.isSelected() else theme.edge, 2.0)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())
        if self.label:
            mid = self.path().pointAtPercent(0.5)
            font = QFont(painter.font())
            font.setPointSizeF(7.5)
            painter.setFont(font)
            width = painter.fontMetrics().horizontalAdvance(self.label) + 8
            box = QRectF(mid.x() - width / 2, mid.y() - 16, width, 13)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QBrush(theme.label_fill))
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(theme.shape_text)
            painter.drawText(box, Qt.AlignCenter, self.label)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-60, -20, 60, 20)

    def shape(self) -> QPainterPath:
        from PySide6.QtGui import QPainterPathStroker
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())


def _small_title(painter: QPainter, body: QRectF, title: str, theme) -> None:
    """A fitted long graph draws its nodes small: their titles at a fixed screen size, so
    the fitted view still says which block is which (skipped where they cannot fit)."""
    screen = painter.worldTransform().mapRect(body)
    if screen.width() < SMALL_TITLE_MIN_PX or screen.height() < 11:
        return
    painter.save()
    painter.resetTransform()
    font = QFont(painter.font())
    font.setPointSizeF(7.5)
    painter.setFont(font)
    painter.setPen(theme.title_text)
    text = QFontMetricsF(font).elidedText(title, Qt.ElideRight, screen.width() - 2)
    painter.drawText(screen, Qt.AlignCenter, text)
    painter.restore()


def _lod(option, painter: QPainter) -> float:
    return option.levelOfDetailFromTransform(painter.worldTransform())


def curve(a: QPointF, b: QPointF) -> QPainterPath:
    path = QPainterPath(a)
    dx = max(abs(b.x() - a.x()) * 0.5, 40)
    path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
    return path
