"""The quick-add popup: Tab (or a double-click on empty canvas) opens a search box at the
cursor; typing narrows the layer list, Up/Down pick, Enter adds, Esc closes.

Like the palette it never touches the model: it emits `chosen(type_id, scene_pos)` and the
main window pushes the AddItems command.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from gui.palette import DOC_ROLE, TYPE_ROLE, TwoLineDelegate
from gui.palette_entries import match_specs, spec_tooltip


class QuickAddPopup(QFrame):
    chosen = Signal(str, QPointF)    # type id, scene position to add it at

    MAX_ROWS = 9

    def __init__(self, parent=None) -> None:
        super().__init__(parent, Qt.Popup | Qt.FramelessWindowHint)
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.StyledPanel)
        self.scene_pos = QPointF()

        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add layer…")
        self.edit.textChanged.connect(self.refresh)
        self.edit.installEventFilter(self)

        self.list = QListWidget(self)
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.list.setFocusPolicy(Qt.NoFocus)   # typing stays in the search box
        self.list.setUniformItemSizes(True)
        self.list.itemClicked.connect(lambda item: self._choose(item))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(300, 340)
        self.refresh("")

    # --- showing ----------------------------------------------------------------------------
    def open_at(self, global_pos: QPoint, scene_pos: QPointF) -> None:
        """Show at `global_pos` (kept on screen); a choice will be added at `scene_pos`."""
        self.scene_pos = QPointF(scene_pos)
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self.refresh("")
        pos = QPoint(global_pos)
        screen = QGuiApplication.screenAt(pos) or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            pos.setX(max(area.left(), min(pos.x(), area.right() - self.width())))
            pos.setY(max(area.top(), min(pos.y(), area.bottom() - self.height())))
        self.move(pos)
        self.show()
        self.raise_()
        self.activateWindow()
        self.edit.setFocus(Qt.PopupFocusReason)

    # --- list -------------------------------------------------------------------------------
    def refresh(self, query: str | None = None) -> None:
        query = self.edit.text() if query is None else query
        self.list.clear()
        for spec in match_specs(query):
            item = QListWidgetItem(spec.type)
            item.setData(TYPE_ROLE, spec.type)
            item.setData(DOC_ROLE, spec.doc)
            item.setToolTip(spec_tooltip(spec))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def matches(self) -> list[str]:
        return [self.list.item(i).data(TYPE_ROLE) for i in range(self.list.count())]

    def current_type(self) -> str | None:
        item = self.list.currentItem()
        return item.data(TYPE_ROLE) if item is not None else None

    def _move(self, step: int) -> None:
        count = self.list.count()
        if count:
            row = self.list.currentRow()
            self.list.setCurrentRow(max(0, min(count - 1, row + step)))

    def _choose(self, item: QListWidgetItem | None = None) -> None:
        item = item or self.list.currentItem()
        if item is None:
            return
        type_id = item.data(TYPE_ROLE)
        self.close()
        self.chosen.emit(type_id, QPointF(self.scene_pos))

    # --- keys -------------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == QEvent.KeyPress:
            if self._key(event.key()):
                return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:
        if not self._key(event.key()):
            super().keyPressEvent(event)

    def _key(self, key: int) -> bool:
        if key == Qt.Key_Down:
            self._move(1)
        elif key == Qt.Key_Up:
            self._move(-1)
        elif key == Qt.Key_PageDown:
            self._move(self.MAX_ROWS)
        elif key == Qt.Key_PageUp:
            self._move(-self.MAX_ROWS)
        elif key in (Qt.Key_Return, Qt.Key_Enter):
            self._choose()
        elif key == Qt.Key_Escape:
            self.close()
        else:
            return False
        return True
