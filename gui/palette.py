"""The layer palette: every node type by category, a search box, and drags onto the canvas.

The palette never touches the model: a drag carries the type id (and, for a block, its
name) to the canvas, and double-click / Enter emit `activated(type_id, params)`; the main
window turns either into an AddItems command. What it offers (drag payloads, the search
rule, tooltips) is in palette_entries.py.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QLineEdit, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
    QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from graph.catalog import CATEGORIES, SPECS
from graph.spec import NodeSpec
from gui.canvas.view import MIME_NODE_TYPE
from gui.palette_entries import (BLOCK_TYPE, BLOCKS_CATEGORY, BLOCKS_DOC, block_tooltip,
                                 encode_drag, match_score, paletted_specs, spec_tooltip)
from gui.theme import category_color

# Item data roles shared by the palette tree and the quick-add list.
TYPE_ROLE = Qt.UserRole + 1      # type id (children only)
PARAMS_ROLE = Qt.UserRole + 2    # params dict the new node starts with ({} for defaults)
DOC_ROLE = Qt.UserRole + 3       # the grey second line
CATEGORY_ROLE = Qt.UserRole + 4  # category name (category items only)


# --- look -----------------------------------------------------------------------------------
class TwoLineDelegate(QStyledItemDelegate):
    """Draws an entry as its name with a smaller grey line (DOC_ROLE) under it."""

    def sizeHint(self, option, index) -> QSize:
        size = super().sizeHint(option, index)
        if index.data(DOC_ROLE):
            size.setHeight(size.height() + option.fontMetrics.height() + 2)
        return size

    def paint(self, painter: QPainter, option, index) -> None:
        doc = index.data(DOC_ROLE)
        if not doc:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget else None
        text = opt.text
        opt.text = ""
        if style:
            style.drawControl(QStyle.CE_ItemViewItem, opt, painter, widget)
        rect = opt.rect.adjusted(6, 2, -4, -2)
        selected = bool(opt.state & QStyle.State_Selected)
        fm = opt.fontMetrics
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(QPalette.HighlightedText if selected
                                         else QPalette.Text))
        top = QRect(rect.left(), rect.top(), rect.width(), fm.height())
        painter.drawText(top, Qt.AlignLeft | Qt.AlignVCenter, text)
        small = QFont(opt.font)
        small.setPointSizeF(max(6.0, opt.font.pointSizeF() * 0.85))
        painter.setFont(small)
        grey = QColor(opt.palette.color(QPalette.HighlightedText if selected else QPalette.Text))
        grey.setAlpha(200 if selected else 130)
        painter.setPen(grey)
        bottom = QRect(rect.left(), top.bottom() + 2, rect.width(), fm.height())
        line = painter.fontMetrics().elidedText(doc, Qt.ElideRight, bottom.width())
        painter.drawText(bottom, Qt.AlignLeft | Qt.AlignVCenter, line)
        painter.restore()


def _swatch(color: QColor) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing)
    p.setBrush(color)
    p.setPen(color.darker(140))
    p.drawRoundedRect(1, 1, 10, 10, 3, 3)
    p.end()
    return QIcon(pix)


# --- the widget -----------------------------------------------------------------------------
class _PaletteTree(QTreeWidget):
    """A tree whose drags carry the node type (see encode_drag)."""

    def __init__(self, palette: "PaletteWidget") -> None:
        super().__init__()
        self._palette = palette

    def mimeTypes(self) -> list[str]:
        return [MIME_NODE_TYPE]

    def mimeData(self, items) -> QMimeData:
        for item in items:
            data = self._palette.mime_data(item)
            if data is not None:
                return data
        return QMimeData()

    def supportedDropActions(self):
        return Qt.CopyAction

    def keyPressEvent(self, event) -> None:
        # Enter on a highlighted entry adds it, like a double-click. (itemActivated is not
        # used: some platforms activate on a single click, which would add on every drag.)
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            payload = self._palette.payload(self.currentItem())
            if payload is not None:
                self._palette.activated.emit(*payload)
                return
        super().keyPressEvent(event)


class PaletteWidget(QWidget):
    """The "Layers" dock's content. `activated(type_id, params)` on double-click or Enter;
    drags carry encode_drag(type_id, params) under MIME_NODE_TYPE."""

    activated = Signal(str, dict)   # type id, params the new node starts with ({}: defaults)

    def __init__(self, session=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("palette")

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name, category or description; Enter adds the "
                               "highlighted layer, Up/Down move the highlight")
        self.search.textChanged.connect(self.apply_filter)
        self.search.returnPressed.connect(self.activate_current)
        self.search.installEventFilter(self)

        self.tree = _PaletteTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setIndentation(14)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setDefaultDropAction(Qt.CopyAction)
        self.tree.setItemDelegate(TwoLineDelegate(self.tree))
        self.tree.itemDoubleClicked.connect(self._on_double_click)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

        self.categories: dict[str, QTreeWidgetItem] = {}
        self._block_names: tuple[str, ...] = ()
        self._build()
        if session is not None:
            session.view_changed.connect(self.refresh_blocks)
            session.state_changed.connect(self.refresh_blocks)
            # Grouping into a block is an undoable document edit, seen through the stack.
            session.undo.indexChanged.connect(lambda _=None: self.refresh_blocks())
        self.refresh_blocks()

    # --- building ---------------------------------------------------------------------------
    def _category_item(self, name: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name])
        item.setData(0, CATEGORY_ROLE, name)
        item.setFlags(Qt.ItemIsEnabled)
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        item.setIcon(0, _swatch(category_color(name) if name != BLOCKS_CATEGORY
                                else QColor("#7a8794")))
        return item

    def _leaf(self, type_id: str, params: dict, doc: str, tooltip: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([type_id if not params else params.get("block", type_id)])
        item.setData(0, TYPE_ROLE, type_id)
        item.setData(0, PARAMS_ROLE, dict(params))
        item.setData(0, DOC_ROLE, doc)
        item.setToolTip(0, tooltip)
        item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        return item

    def _build(self) -> None:
        by_category: dict[str, list[NodeSpec]] = {c: [] for c in CATEGORIES}
        for spec in paletted_specs():
            by_category.setdefault(spec.category, []).append(spec)
        for name, specs in by_category.items():
            if not specs:
                continue
            cat = self._category_item(name)
            for spec in specs:
                cat.addChild(self._leaf(spec.type, {}, spec.doc, spec_tooltip(spec)))
            self.tree.addTopLevelItem(cat)
            self.categories[name] = cat
            cat.setExpanded(True)

    def available_blocks(self) -> list[str]:
        """Block definitions a node can use here: all of the document's, except the block
        being edited and any block that (directly or not) contains it."""
        if self.session is None:
            return []
        blocks = self.session.doc.blocks
        current = getattr(self.session, "block", None)
        if current is None:
            return sorted(blocks)
        uses: dict[str, set[str]] = {
            name: {n.params.get("block") for n in graph if n.type == BLOCK_TYPE}
            for name, graph in blocks.items()}

        def contains(name: str, seen: set[str]) -> bool:
            if name == current:
                return True
            seen.add(name)
            return any(isinstance(u, str) and u not in seen and contains(u, seen)
                       for u in uses.get(name, ()))

        return sorted(name for name in blocks if not contains(name, set()))

    def refresh_blocks(self) -> None:
        """Rebuild the "Blocks" category when the document's block definitions changed."""
        names = tuple(self.available_blocks())
        if names == self._block_names and (bool(names) == (BLOCKS_CATEGORY in self.categories)):
            return
        self._block_names = names
        old = self.categories.pop(BLOCKS_CATEGORY, None)
        if old is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(old))
        if names:
            cat = self._category_item(BLOCKS_CATEGORY)
            for name in names:
                cat.addChild(self._leaf(BLOCK_TYPE, {"block": name}, BLOCKS_DOC,
                                        block_tooltip(name)))
            self.tree.addTopLevelItem(cat)
            self.categories[BLOCKS_CATEGORY] = cat
            cat.setExpanded(True)
        self.apply_filter(self.search.text())

    # --- items ------------------------------------------------------------------------------
    def entries(self, category: str) -> list[QTreeWidgetItem]:
        cat = self.categories.get(category)
        return [cat.child(i) for i in range(cat.childCount())] if cat else []

    def leaves(self) -> list[QTreeWidgetItem]:
        return [item for cat in self._top_items() for item in
                (cat.child(i) for i in range(cat.childCount()))]

    def visible_leaves(self) -> list[QTreeWidgetItem]:
        """Leaves not hidden by the search, in tree order."""
        return [item for item in self.leaves() if not item.isHidden()
                and not item.parent().isHidden()]

    def _top_items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    @staticmethod
    def payload(item: QTreeWidgetItem) -> tuple[str, dict] | None:
        type_id = item.data(0, TYPE_ROLE) if item is not None else None
        if not type_id:
            return None
        return type_id, dict(item.data(0, PARAMS_ROLE) or {})

    def mime_data(self, item: QTreeWidgetItem) -> QMimeData | None:
        """What a drag of `item` carries (None for a category header)."""
        payload = self.payload(item)
        if payload is None:
            return None
        data = QMimeData()
        data.setData(MIME_NODE_TYPE, QByteArray(encode_drag(*payload)))
        data.setText(item.text(0))
        return data

    # --- search -----------------------------------------------------------------------------
    def _score(self, item: QTreeWidgetItem, query: str) -> int | None:
        type_id, params = self.payload(item)
        if type_id == BLOCK_TYPE:
            return match_score(query, params.get("block", ""), BLOCKS_CATEGORY + " block",
                               BLOCKS_DOC)
        spec = SPECS[type_id]
        return match_score(query, spec.type, spec.category, spec.doc)

    def apply_filter(self, query: str | None = None) -> None:
        """Hide entries that do not fit the search, and categories left empty; highlight
        the best fit (what Enter adds)."""
        query = self.search.text() if query is None else query
        best: tuple[int, int, QTreeWidgetItem] | None = None
        order = 0
        for cat in self._top_items():
            shown = 0
            for i in range(cat.childCount()):
                item = cat.child(i)
                score = self._score(item, query)
                item.setHidden(score is None)
                if score is not None:
                    shown += 1
                    if best is None or (score, order) < best[:2]:
                        best = (score, order, item)
                order += 1
            cat.setHidden(shown == 0)
            if shown and query.strip():
                cat.setExpanded(True)
        if not query.strip():
            self.tree.clearSelection()
            self.tree.setCurrentItem(None)
            return
        if best is not None:
            self.tree.setCurrentItem(best[2])
            self.tree.scrollToItem(best[2])
        else:
            self.tree.setCurrentItem(None)

    def best_match(self) -> QTreeWidgetItem | None:
        """The visible entry the search fits best (catalog order breaks ties)."""
        query = self.search.text()
        ranked = [(self._score(item, query), n, item)
                  for n, item in enumerate(self.visible_leaves())]
        ranked = [r for r in ranked if r[0] is not None]
        return min(ranked, key=lambda r: r[:2])[2] if ranked else None

    def activate_current(self) -> None:
        """Enter in the search box: add the highlighted entry (the best fit unless the user
        moved the highlight)."""
        item = self.tree.currentItem()
        if item is None or item not in self.visible_leaves():
            item = self.best_match()
        payload = self.payload(item)
        if payload is not None:
            self.activated.emit(*payload)

    def _move_highlight(self, step: int) -> None:
        visible = self.visible_leaves()
        if not visible:
            return
        current = self.tree.currentItem()
        if current in visible:
            index = max(0, min(len(visible) - 1, visible.index(current) + step))
        else:
            index = 0 if step > 0 else len(visible) - 1
        self.tree.setCurrentItem(visible[index])
        self.tree.scrollToItem(visible[index])

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and event.type() == QEvent.KeyPress:
            if event.key() in (Qt.Key_Down, Qt.Key_Up):
                self._move_highlight(1 if event.key() == Qt.Key_Down else -1)
                return True
            if event.key() == Qt.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(obj, event)

    # --- activation -------------------------------------------------------------------------
    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        payload = self.payload(item)
        if payload is not None:
            self.activated.emit(*payload)
