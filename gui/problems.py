"""The "Problems" dock: every error and warning of the live check, and of the file as loaded.

One row per problem, errors first: severity, the node (or "graph"), where it lives (the main
graph or a block), the message and the hint. Clicking a row, or pressing Enter on it, emits
`node_activated(node_id, block)`; the main window then shows that node. The widget only
reads the session; it never changes the model.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from graph.diagnostics import Diagnostic
from graph.text import as_name
from gui.session import EditorSession
from gui.theme import current_theme

DOCK_TITLE = "Problems"
COLUMNS = ("Severity", "Node", "Where", "Message", "Hint")
SEVERITY_COL, NODE_COL, WHERE_COL, MESSAGE_COL, HINT_COL = range(5)
DIAGNOSTIC_ROLE = Qt.UserRole + 1   # the row's Diagnostic, on the Severity cell

_SEVERITY_RANK = {"error": 0, "warning": 1}
_WARNING_COLOR = QColor("#e0a100")
_INFO_COLOR = QColor("#3b7dd8")


def severity_color(severity: str) -> QColor:
    if severity == "error":
        return QColor(current_theme().error)
    return _WARNING_COLOR if severity == "warning" else _INFO_COLOR


def count_text(diagnostics: list[Diagnostic]) -> str:
    """'No problems', '1 error', '3 errors, 1 warning' (errors, then warnings, then the rest)."""
    if not diagnostics:
        return "No problems"
    counts: dict[str, int] = {}
    for d in diagnostics:
        counts[d.severity] = counts.get(d.severity, 0) + 1
    order = sorted(counts, key=lambda s: (_SEVERITY_RANK.get(s, 2), s))
    return ", ".join(f"{counts[s]} {s}{'' if counts[s] == 1 else 's'}" for s in order)


def document_problems(session: EditorSession) -> list[Diagnostic]:
    """The live check's problems plus the file's load problems, errors first: what the
    Problems dock lists and what the status bar counts."""
    result = session.result
    found = list(result.diagnostics) if result is not None else []
    # check_document usually includes the load problems already: list each once.
    known = set(found)
    found += [p for p in session.doc.load_problems if p not in known]
    # A stable sort: within one severity the check's own order stays.
    return sorted(found, key=lambda d: _SEVERITY_RANK.get(d.severity, 2))


def status_text(diagnostics: list[Diagnostic]) -> str:
    """The status bar's word on the check, the same count as the dock: 'valid',
    'valid, 2 warnings', '6 errors, 6 warnings'."""
    if not diagnostics:
        return "valid"
    counted = count_text(diagnostics)
    return counted if any(d.is_error for d in diagnostics) else f"valid, {counted}"


class _ProblemTree(QTreeWidget):
    """A tree whose Enter/Return is reported once, like a click (not as Qt's platform-
    dependent 'activated', which a double click would fire a second time)."""

    enter_pressed = Signal(object)   # QTreeWidgetItem

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self.enter_pressed.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)


class ProblemsWidget(QWidget):
    node_activated = Signal(str, object)   # (node id, block name or None for the main graph)

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(DOCK_TITLE)
        self.setObjectName("ProblemsWidget")
        self.diagnostics: list[Diagnostic] = []   # as shown, in row order

        self.count_label = QLabel("No problems", self)
        self.count_label.setObjectName("problemsCount")
        self.tree = _ProblemTree(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.tree.setTextElideMode(Qt.ElideRight)
        self.tree.setIconSize(QSize(12, 12))
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col in (SEVERITY_COL, NODE_COL, WHERE_COL):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(MESSAGE_COL, QHeaderView.Interactive)
        header.resizeSection(MESSAGE_COL, 360)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.count_label)
        layout.addWidget(self.tree)

        self.tree.itemClicked.connect(self._activate)
        self.tree.enter_pressed.connect(self._activate)
        session.checked.connect(self.refresh)
        self.refresh()

    # --- contents ----------------------------------------------------------------------------
    def problems(self) -> list[Diagnostic]:
        """The live check's problems plus the file's load problems, errors first."""
        return document_problems(self.session)

    def refresh(self, _result=None) -> None:
        current = self.tree.currentItem()
        keep = current.data(SEVERITY_COL, DIAGNOSTIC_ROLE) if current is not None else None
        self.diagnostics = self.problems()
        self.tree.clear()
        items = [self._item(d) for d in self.diagnostics]
        self.tree.addTopLevelItems(items)
        if keep is not None and keep in self.diagnostics:
            self.tree.setCurrentItem(items[self.diagnostics.index(keep)])
        self.count_label.setText(count_text(self.diagnostics))
        errors = any(d.is_error for d in self.diagnostics)
        color = severity_color("error" if errors else "warning") if self.diagnostics else None
        style = f"color: {color.name()}; font-weight: bold;" if color else ""
        self.count_label.setStyleSheet(style)

    def row_count(self) -> int:
        return self.tree.topLevelItemCount()

    def row_texts(self, row: int) -> list[str]:
        item = self.tree.topLevelItem(row)
        return [item.text(c) for c in range(len(COLUMNS))]

    def row_of(self, node_id: str | None, block: str | None = None) -> int:
        """The first row about `node_id` (None: a graph-level problem) in `block`, or -1."""
        for i, d in enumerate(self.diagnostics):
            if d.node_id == node_id and d.block == block:
                return i
        return -1

    def _item(self, d: Diagnostic) -> QTreeWidgetItem:
        node_text = "graph"
        if d.node_id:
            node_type = self._node_type(d)
            # Ids come from the file: escaped (a U+202E would turn the row around) and cut.
            node_text = f"{as_name(d.node_id)} ({node_type})" if node_type else as_name(d.node_id)
        where = f"block {as_name(d.block)}" if d.block else "main graph"
        item = QTreeWidgetItem([d.severity.capitalize(), node_text, where, d.message, d.hint])
        color = severity_color(d.severity)
        item.setIcon(SEVERITY_COL, _dot_icon(color))
        item.setForeground(SEVERITY_COL, QBrush(color))
        item.setData(SEVERITY_COL, DIAGNOSTIC_ROLE, d)
        tip = d.message + (f"\nHint: {d.hint}" if d.hint else "")
        if d.path:
            tip += f"\nIn the file at {d.path} (found when it was opened)"
        for col in range(len(COLUMNS)):
            item.setToolTip(col, tip)
        if not d.node_id:
            item.setToolTip(NODE_COL, "a problem of the graph as a whole")
        return item

    def _node_type(self, d: Diagnostic) -> str:
        graph = self.session.doc.graph if d.block is None else self.session.doc.blocks.get(d.block)
        node = graph.nodes.get(d.node_id) if graph is not None else None
        return node.type if node is not None else ""

    # --- activation ---------------------------------------------------------------------------
    def _activate(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        d = item.data(SEVERITY_COL, DIAGNOSTIC_ROLE)
        if isinstance(d, Diagnostic) and d.node_id:
            self.node_activated.emit(d.node_id, d.block)


def _dot_icon(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)
