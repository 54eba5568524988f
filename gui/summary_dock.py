"""The "Model summary" dock: a Keras-style table of every node's output shape and parameter
count, with the total, rebuilt after each check from runtime.summary.summarize.

Nodes inside a block instance are child rows of the block's row (indented). While the graph
has errors the totals give way to "Fix the problems to see the summary", and only the rows
whose shapes are already known are listed.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from gui.session import EditorSession
from gui.theme import current_theme
from runtime.summary import Summary, SummaryRow, shape_text, summarize

DOCK_TITLE = "Model summary"
COLUMNS = ("Node", "Type", "Output shape", "Params")
NODE_COL, TYPE_COL, SHAPE_COL, PARAMS_COL = range(4)
NODE_ID_ROLE = Qt.UserRole + 1   # the row's full id ("b1/conv1"), on the Node cell
FIX_MESSAGE = "Fix the problems to see the summary"


class SummaryWidget(QWidget):
    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(DOCK_TITLE)
        self.setObjectName("SummaryWidget")
        self.summary: Summary | None = None
        self.rows: list[SummaryRow] = []   # as shown

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.tree.setIndentation(14)
        self.tree.headerItem().setTextAlignment(PARAMS_COL, Qt.AlignRight | Qt.AlignVCenter)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col in (NODE_COL, TYPE_COL, PARAMS_COL):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(SHAPE_COL, QHeaderView.Stretch)

        self.total_label = QLabel(self)
        self.total_label.setObjectName("summaryTotal")
        self.total_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.message_label = QLabel(FIX_MESSAGE, self)
        self.message_label.setObjectName("summaryMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(
            f"color: {current_theme().error.name()}; font-weight: bold;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.message_label)
        layout.addWidget(self.tree)
        layout.addWidget(self.total_label)

        session.checked.connect(self.refresh)
        self.refresh()

    @property
    def has_errors(self) -> bool:
        result = self.session.result
        return result is None or not result.ok

    def refresh(self, _result=None) -> None:
        result = self.session.result
        self.tree.clear()
        self.summary = summarize(self.session.doc, result.shapes) if result is not None else None
        rows = self.summary.rows if self.summary else []
        broken = self.has_errors
        if broken:
            rows = [r for r in rows if r.output_shape is not None]   # the part already known
        self.rows = rows
        self._fill(rows)
        self.message_label.setVisible(broken)
        self.message_label.setText(FIX_MESSAGE if not rows or not broken else
                                   f"{FIX_MESSAGE} (the layers checked so far are listed)")
        self.total_label.setVisible(not broken and self.summary is not None)
        self.total_label.setText(self.summary.totals_text() if self.summary else "")

    def _fill(self, rows: list[SummaryRow]) -> None:
        parents: list[QTreeWidgetItem] = []   # parents[d]: the last item at depth d
        muted = QBrush(current_theme().port_label)
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for row in rows:
            name = row.id.rsplit("/", 1)[-1]
            cells = [name, row.type, shape_text(row.output_shape), f"{row.params:,}"]
            item = QTreeWidgetItem(cells)
            item.setData(NODE_COL, NODE_ID_ROLE, row.id)
            item.setTextAlignment(PARAMS_COL, Qt.AlignRight | Qt.AlignVCenter)
            item.setToolTip(NODE_COL, row.id)
            if len(row.outputs) > 1:
                item.setToolTip(SHAPE_COL, "\n".join(f"{port}: {shape_text(shape)}"
                                                     for port, shape in row.outputs.items()))
            if row.depth:
                for col in range(len(COLUMNS)):
                    item.setForeground(col, muted)
            if row.type.startswith("Block "):
                item.setFont(NODE_COL, bold)
            del parents[row.depth:]
            parent = parents[-1] if parents else None
            if parent is None:
                self.tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
            while len(parents) < row.depth:   # a block row left out: hang under what is there
                parents.append(parent)
            parents.append(item)
        self.tree.setRootIsDecorated(any(row.depth for row in rows))
        self.tree.expandAll()

    # --- for tests and the main window ---------------------------------------------------------
    def row_count(self) -> int:
        return len(self.rows)

    def item_for(self, node_id: str) -> QTreeWidgetItem | None:
        """The row of `node_id` (a full id, "b1/conv1" inside a block instance)."""
        for item in _walk(self.tree):
            if item.data(NODE_COL, NODE_ID_ROLE) == node_id:
                return item
        return None


def _walk(tree: QTreeWidget):
    stack = [tree.topLevelItem(i) for i in reversed(range(tree.topLevelItemCount()))]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(item.child(i) for i in reversed(range(item.childCount())))
