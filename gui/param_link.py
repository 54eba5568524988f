"""An inner node's parameter field that can use a block parameter instead of a value.

Inside a block definition every field of the inspector gets a small "$" button: its menu
offers the definition's declared parameters of a matching kind, a new parameter made from
the field, and, when the field is linked, a way back to a plain value. A linked field shows
"= $channels" read-only in place of its editor.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMenu, QToolButton, QWidget

from graph.block_params import REFERENCE, reference
from graph.spec import ParamSpec
from gui.inspector_info import _show_value, declared_summary
from gui.param_editors import _Field

LINKED_STYLE = "QLineEdit { color: #3b82f6; font-style: italic; }"


def compatible(field: ParamSpec, p: ParamSpec) -> bool:
    """Can a field of spec `field` take block parameter `p`'s values?"""
    if field.kind == p.kind:
        if field.kind == "choice":
            return set(p.choices) <= set(field.choices)
        if field.kind == "ints":
            return field.length is None or p.length in (None, field.length)
        return True
    if field.kind == "float" and p.kind == "int":
        return True
    # torch's shorthand: one int for every axis of a fixed-length tuple (stride=2).
    return field.kind == "ints" and p.kind == "int" and field.length is not None


def is_linked(value: Any) -> bool:
    if reference(value) is not None:
        return True
    return isinstance(value, list) and any(reference(v) is not None for v in value)


def linked_text(value: Any) -> str:
    return "= " + (_show_value(value) if isinstance(value, list) else str(value))


class LinkableRow(QWidget):
    """The field's editor, or "= $name" while linked, and the "$" button with its menu.

    Callbacks: candidates() → the declared parameters (all kinds); link(value) pushes the
    new value (a "$name" or a plain value) as one undo step; declare() makes a parameter
    from this field and links it; unlink_value(value) → the plain value to put back."""

    def __init__(self, field: _Field, candidates: Callable[[], tuple[ParamSpec, ...]],
                 link: Callable[[Any, str], None], declare: Callable[[], None] | None,
                 unlink_value: Callable[[Any], Any], in_block: bool) -> None:
        super().__init__()
        self.field = field
        self._candidates, self._link, self._declare = candidates, link, declare
        self._unlink_value = unlink_value
        self.value: Any = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(field.widget, 1)
        self.linked = QLineEdit()
        self.linked.setReadOnly(True)
        self.linked.setStyleSheet(LINKED_STYLE)
        self.linked.hide()
        layout.addWidget(self.linked, 1)
        self.button = QToolButton()
        self.button.setText(REFERENCE)
        self.button.setAutoRaise(True)
        self.button.setPopupMode(QToolButton.InstantPopup)
        self.button.setToolTip("Use one of the block's parameters instead of a value")
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self.fill_menu)
        self.button.setMenu(self.menu)
        self.button.setVisible(in_block)
        self.in_block = in_block
        layout.addWidget(self.button)

    @property
    def is_linked(self) -> bool:
        return is_linked(self.value)

    def show_value(self, value: Any) -> None:
        """Follow the model: the editor for a value, the read-only text for a reference."""
        self.value = value
        linked = is_linked(value)
        self.field.widget.setVisible(not linked)
        self.linked.setVisible(linked)
        self.button.setVisible(self.in_block or linked)
        if linked:
            self.linked.setText(linked_text(value))
            names = sorted({r for v in (value if isinstance(value, list) else [value])
                            if (r := reference(v)) is not None})
            declared = {p.name: p for p in self._candidates()}
            lines = [f"${n}: " + (declared_summary(declared[n]) if n in declared else
                                  "not declared by this block") for n in names]
            self.linked.setToolTip("Each Block node using this block sets it.\n" + "\n".join(lines))
        else:
            self.field.set_silently(value)

    def fill_menu(self) -> None:
        """Built when opened, so it always lists the declaration as it is now."""
        menu = self.menu
        menu.clear()
        spec = self.field.spec
        matching = [p for p in self._candidates() if compatible(spec, p)]
        current = reference(self.value)
        if matching:
            menu.addSection("Use block parameter")
            for p in matching:
                action = menu.addAction(f"{REFERENCE}{p.name}   ({declared_summary(p)})")
                action.setCheckable(True)
                action.setChecked(p.name == current)
                action.setObjectName(f"link:{p.name}")
                action.triggered.connect(
                    lambda _=False, n=p.name: self._link(REFERENCE + n, f"Use ${n} for {spec.name}"))
        else:
            none = menu.addAction(f"No {spec.kind} parameter declared in this block")
            none.setEnabled(False)
        if self._declare is not None and self.in_block:
            action = menu.addAction(f"New block parameter from {spec.name}…")
            action.setObjectName("declare")
            action.setToolTip("Declare a block parameter with this field's kind, range and "
                              "value, and use it here")
            action.triggered.connect(lambda _=False: self._declare())
        if self.is_linked:
            menu.addSeparator()
            plain = self._unlink_value(self.value)
            action = menu.addAction(f"Unlink (use the value {_show_value(plain)})")
            action.setObjectName("unlink")
            action.triggered.connect(
                lambda _=False, v=plain: self._link(v, f"Unlink {spec.name}"))

    def action(self, object_name: str):
        """The menu entry with this object name, as the menu would show it now (tests)."""
        self.fill_menu()
        return next((a for a in self.menu.actions() if a.objectName() == object_name), None)
