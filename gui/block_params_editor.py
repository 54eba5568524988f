"""The "Block parameters" panel: declares the parameters of the block definition on screen.

Shown by the inspector while a block is being edited and no node is selected. One box per
declared parameter (name, kind, default, range, choices or length, doc, where it is used,
remove) and an "Add parameter" button. Every change goes through SetBlockParams on the
session's undo stack, checked first the way the file format reads a declaration; the panel
follows the model's "block_params" events, updating in place while only values change
(so a spin box keeps its focus as it steps) and rebuilding when the shape of a row does.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from graph.block_params import BLOCK_PARAM_KINDS, REFERENCE
from graph.model import Graph
from graph.spec import ParamSpec
from gui.block_param_edits import checked_param, fresh_name, uses_of, with_kind
from gui.commands import SetBlockParams
from gui.param_editors import _FIELDS, _Field, _same
from gui.session import EditorSession
from gui.theme import current_theme

NUMERIC_KINDS = ("int", "float", "ints")


def _layout_of(p: ParamSpec) -> tuple:
    """What decides a row's widgets: a change here rebuilds the row, anything else is
    shown in place."""
    return (p.name, p.kind, p.min, p.max, tuple(p.choices), p.length)


class BlockParamsPanel(QWidget):
    def __init__(self, session: EditorSession, block: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.block = session, block
        self.setObjectName("block_params_panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(f"Parameters of block {block!r}")
        self.title.setStyleSheet("font-weight: bold; margin-top: 6px;")
        layout.addWidget(self.title)
        intro = QLabel("Each Block node using this block sets these values. An inner node "
                       f"uses one through the {REFERENCE} button beside a field.")
        intro.setWordWrap(True)
        intro.setStyleSheet("color: gray;")
        layout.addWidget(intro)
        self.rows_box = QWidget()
        self.rows_layout = QVBoxLayout(self.rows_box)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.rows_box)
        self.empty_label = QLabel("No parameters yet.")
        self.empty_label.setStyleSheet("color: gray;")
        layout.addWidget(self.empty_label)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {current_theme().error.name()};")
        self.message.hide()
        layout.addWidget(self.message)
        self.add_button = QPushButton("Add parameter")
        self.add_button.setToolTip("Declare a new parameter (a whole number to start with)")
        self.add_button.clicked.connect(self.add_param)
        layout.addWidget(self.add_button, 0, Qt.AlignLeft)
        self.rows: list[_ParamRow] = []
        self._layout: tuple | None = None
        self.refresh()

    @property
    def definition(self) -> Graph | None:
        return self.session.doc.blocks.get(self.block)

    # --- following the model --------------------------------------------------------------
    def refresh(self) -> None:
        definition = self.definition
        if definition is None:
            return
        params = definition.block_params
        shape = tuple(_layout_of(p) for p in params)
        if shape != self._layout:
            self._rebuild(params)
            self._layout = shape
        else:
            for row, p in zip(self.rows, params):
                row.show_param(p)
        for row, p in zip(self.rows, params):
            row.show_uses(uses_of(definition, p.name))
        self.empty_label.setVisible(not params)

    def _rebuild(self, params: tuple[ParamSpec, ...]) -> None:
        for row in self.rows:
            row.hide()
            row.deleteLater()
        self.rows = []
        for index, p in enumerate(params):
            row = _ParamRow(self, index, p)
            self.rows.append(row)
            self.rows_layout.addWidget(row)

    # --- edits → commands -----------------------------------------------------------------
    def commit(self, index: int, changed: ParamSpec, text: str, merge_key: str | None = None) -> bool:
        """Declare `changed` in place of parameter `index`; False (and the problem shown)
        when the declaration would not load from a file."""
        current = self.definition.block_params
        old = current[index]
        others = current[:index] + current[index + 1:]
        spec, problem = checked_param(changed, others)
        if problem is not None:
            self.show_problem(f"{old.name}: {problem}")
            return False
        self.show_problem(None)
        if spec == old:
            return True
        renamed = {old.name: spec.name} if spec.name != old.name else None
        params = current[:index] + (spec,) + current[index + 1:]
        self.session.undo.push(SetBlockParams(self.session.doc, self.block, params, text,
                                              renamed=renamed, merge_key=merge_key))
        return True

    def add_param(self) -> None:
        definition = self.definition
        name = fresh_name(definition)
        p = ParamSpec(name, "int", 1, "", min=1)
        self.session.undo.push(SetBlockParams(self.session.doc, self.block,
                                              definition.block_params + (p,),
                                              f"Add block parameter {name}"))

    def remove_param(self, index: int) -> None:
        current = self.definition.block_params
        name = current[index].name
        self.show_problem(None)
        self.session.undo.push(SetBlockParams(self.session.doc, self.block,
                                              current[:index] + current[index + 1:],
                                              f"Remove block parameter {name}"))

    def show_problem(self, text: str | None) -> None:
        self.message.setText(text or "")
        self.message.setVisible(bool(text))


class _ParamRow(QGroupBox):
    """One declared parameter's editors."""

    def __init__(self, panel: BlockParamsPanel, index: int, p: ParamSpec) -> None:
        super().__init__(f"{REFERENCE}{p.name}")
        self.panel, self.index, self.param = panel, index, p
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        self.name_edit = QLineEdit(p.name)
        self.name_edit.setToolTip("A Python name. Renaming rewrites the inner nodes that use it "
                                  "and the values Block nodes give it.")
        self.name_edit.editingFinished.connect(self._on_name)
        form.addRow("Name", self.name_edit)

        self.kind_combo = QComboBox()
        self.kind_combo.addItems(list(BLOCK_PARAM_KINDS))
        self.kind_combo.setCurrentText(p.kind)
        self.kind_combo.currentTextChanged.connect(self._on_kind)
        form.addRow("Kind", self.kind_combo)

        self.default_field: _Field = _FIELDS[p.kind](p, self._on_default)
        self.default_field.set_silently(p.default)
        self.default_field.set_tooltip("The value used where a Block node does not set one "
                                       "(and what validation checks the block with).")
        form.addRow("Default", self.default_field.widget)

        self.min_edit = self.max_edit = self.choices_edit = None
        self.length_spin = None
        if p.kind in NUMERIC_KINDS:
            self.min_edit = self._bound_edit(p.min, "min")
            self.max_edit = self._bound_edit(p.max, "max")
            form.addRow("Min", self.min_edit)
            form.addRow("Max", self.max_edit)
        if p.kind == "choice":
            self.choices_edit = QLineEdit(", ".join(str(c) for c in p.choices))
            self.choices_edit.setToolTip("The values allowed, separated by commas")
            self.choices_edit.editingFinished.connect(self._on_choices)
            form.addRow("Choices", self.choices_edit)
        if p.kind == "ints":
            self.length_spin = QSpinBox()
            self.length_spin.setRange(0, 16)
            self.length_spin.setSpecialValueText("any")
            self.length_spin.setValue(p.length or 0)
            self.length_spin.setToolTip("How many numbers the list holds (any: free length)")
            self.length_spin.valueChanged.connect(self._on_length)
            form.addRow("Length", self.length_spin)

        self.doc_edit = QLineEdit(p.doc)
        self.doc_edit.setCursorPosition(0)   # a long doc shows its start, not its end
        self.doc_edit.setToolTip(p.doc)
        self.doc_edit.setPlaceholderText("what it sets (shown as the tooltip)")
        self.doc_edit.editingFinished.connect(self._on_doc)
        form.addRow("Doc", self.doc_edit)

        self.uses_label = QLabel()
        self.uses_label.setWordWrap(True)
        self.uses_label.setStyleSheet("color: gray;")
        form.addRow("Used by", self.uses_label)

        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the parameter; inner nodes that use it get its "
                                      "default value back")
        self.remove_button.clicked.connect(lambda: self.panel.remove_param(self.index))
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        form.addRow(buttons)

    def _bound_edit(self, value: float | None, which: str) -> QLineEdit:
        edit = QLineEdit("" if value is None else _num(value))
        edit.setPlaceholderText("none")
        edit.setToolTip(f"The smallest value allowed (empty: no bound)" if which == "min"
                        else "The largest value allowed (empty: no bound)")
        edit.editingFinished.connect(lambda: self._on_bound(which))
        return edit

    # --- the model → the widgets ----------------------------------------------------------
    def show_param(self, p: ParamSpec) -> None:
        self.param = p
        self.setTitle(f"{REFERENCE}{p.name}")
        _set_text(self.name_edit, p.name)
        value, _ = self.default_field.value()
        if not _same(value, p.default):
            self.default_field.set_silently(p.default)
        _set_text(self.doc_edit, p.doc)

    def show_uses(self, uses: list[str]) -> None:
        self.uses_label.setText(", ".join(uses) if uses else
                                f"nothing yet: link an inner node's field with its {REFERENCE} button")

    # --- the widgets → commands -----------------------------------------------------------
    def _on_name(self) -> None:
        name = self.name_edit.text().strip()
        if name != self.param.name:
            self.panel.commit(self.index, replace(self.param, name=name),
                              f"Rename block parameter {self.param.name} to {name}")

    def _on_kind(self, kind: str) -> None:
        if kind == self.param.kind:
            return
        changed = with_kind(self.param, kind)
        if checked_param(changed, ())[1] is not None:
            changed = replace(changed, min=None, max=None)  # the bounds made no sense for it
        if not self.panel.commit(self.index, changed, f"Make block parameter {self.param.name} {kind}"):
            self.kind_combo.blockSignals(True)
            self.kind_combo.setCurrentText(self.param.kind)
            self.kind_combo.blockSignals(False)

    def _on_default(self) -> None:
        value, problem = self.default_field.value()
        if problem is not None:
            self.panel.show_problem(f"{self.param.name}: {problem}")
            return
        if isinstance(value, tuple):
            value = list(value)
        if not _same(value, self.param.default):
            self.panel.commit(self.index, replace(self.param, default=value),
                              f"Set default of block parameter {self.param.name}",
                              merge_key=f"{self.param.name}.default")

    def _on_bound(self, which: str) -> None:
        edit = self.min_edit if which == "min" else self.max_edit
        text = edit.text().strip()
        if text == "":
            value = None
        else:
            value = _parse_number(text, integer=self.param.kind != "float")
            if value is None:
                what = "a whole number" if self.param.kind != "float" else "a number"
                self.panel.show_problem(f"{self.param.name}: {which} must be {what} or empty, "
                                        f"not {text!r}")
                return
        if value != getattr(self.param, which):
            self.panel.commit(self.index, replace(self.param, **{which: value}),
                              f"Set {which} of block parameter {self.param.name}")

    def _on_doc(self) -> None:
        doc = self.doc_edit.text().strip()
        if doc != self.param.doc:
            self.panel.commit(self.index, replace(self.param, doc=doc),
                              f"Describe block parameter {self.param.name}")

    def _on_choices(self) -> None:
        choices = tuple(_parse_choice(c) for c in self.choices_edit.text().split(",") if c.strip())
        if not choices:
            self.panel.show_problem(f"{self.param.name}: list at least one choice")
            return
        if choices != tuple(self.param.choices):
            default = self.param.default if self.param.default in choices else choices[0]
            self.panel.commit(self.index, replace(self.param, choices=choices, default=default),
                              f"Set choices of block parameter {self.param.name}")

    def _on_length(self, length: int) -> None:
        length = length or None
        default = list(self.param.default) if isinstance(self.param.default, list) else [1]
        if length is not None and len(default) != length:
            default = (default + default[-1:] * length)[:length]
        self.panel.commit(self.index, replace(self.param, length=length, default=default),
                          f"Set length of block parameter {self.param.name}")


def _set_text(edit: QLineEdit, text: str) -> None:
    if edit.text() != text:
        was = edit.blockSignals(True)
        edit.setText(text)
        edit.setCursorPosition(0)
        edit.blockSignals(was)


def _parse_number(text: str, integer: bool) -> float | int | None:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return None


def _parse_choice(text: str) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def _num(v: float) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
