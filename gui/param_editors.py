"""The inspector's parameter editors: one editor per ParamSpec kind (spin boxes, TupleEditor,
optional-value editors), each reporting parse problems and showing a red border when the
value is refused.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLineEdit, QSpinBox, QWidget,
)

from graph.spec import ParamSpec

INT_LIMIT = 2**31 - 1          # what a QSpinBox can hold
FLOAT_LIMIT = 1e9              # range of a float editor whose spec gives no bound
INVALID_STYLE = "border: 1px solid #e5484d;"
# A spin box sizes itself for its widest value (ten digits for an unbounded int): this
# narrower minimum lets the inspector fit a normal dock, with two or three per row.
SPIN_MIN_WIDTH = 56


# --- one editor per parameter kind ----------------------------------------------------------
class _Field:
    """One parameter's editor. `widget` goes in the form; `editor` is the main input widget
    (tests reach it through InspectorWidget.editors). value() returns (value, problem) where
    problem is a parse problem (the text is not a list of numbers); range problems are left
    to ParamSpec.check."""

    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        self.spec = spec
        self.changed = changed
        self.widget: QWidget = QWidget()
        self.editor: QWidget = self.widget

    def value(self) -> tuple[Any, str | None]:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def widgets(self) -> list[QWidget]:
        """The widgets whose signals must be blocked while the form follows the model."""
        return [self.editor]

    def set_invalid(self, invalid: bool) -> None:
        self.editor.setProperty("invalid", invalid)
        self.editor.setStyleSheet(INVALID_STYLE if invalid else "")

    def set_tooltip(self, text: str) -> None:
        for w in self.widgets():
            w.setToolTip(text)

    def set_silently(self, value: Any) -> None:
        blocked = [(w, w.blockSignals(True)) for w in self.widgets()]
        try:
            self.set_value(value)
        finally:
            for w, was in blocked:
                w.blockSignals(was)


class _IntField(_Field):
    """QSpinBox; an optional int shows "none" at one below its minimum."""

    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        super().__init__(spec, changed)
        spin = QSpinBox()
        lo, hi = _int_bounds(spec)
        if spec.optional:
            lo = lo - 1 if lo > -INT_LIMIT - 1 else lo  # one below the spec's minimum
            spin.setSpecialValueText("none")
        spin.setRange(lo, hi)
        spin.setMinimumWidth(SPIN_MIN_WIDTH)
        spin.valueChanged.connect(lambda _: self.changed())
        self.widget = self.editor = self.spin = spin

    def value(self):
        v = self.spin.value()
        if self.spec.optional and v == self.spin.minimum():
            return None, None
        return v, None

    def set_value(self, value):
        if value is None:
            self.spin.setValue(self.spin.minimum())
        elif isinstance(value, int) and not isinstance(value, bool):
            if value != self.spin.value():
                self.spin.setValue(value)


class _FloatSpin(QDoubleSpinBox):
    """Shows 0.5 rather than 0.500000; the decimals still set the precision."""

    def textFromValue(self, value: float) -> str:
        text = f"{value:.{self.decimals()}f}"
        if "." in text:
            text = text.rstrip("0")
            if text.endswith("."):
                text += "0"
        return text


class _FloatField(_Field):
    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        super().__init__(spec, changed)
        spin = _FloatSpin()
        lo = spec.min if spec.min is not None else -FLOAT_LIMIT
        hi = spec.max if spec.max is not None else FLOAT_LIMIT
        small = (hi - lo) <= 10 or (isinstance(spec.default, (int, float)) and
                                    spec.default and abs(spec.default) < 0.1)
        spin.setDecimals(6 if small else 4)
        spin.setRange(lo, hi)
        spin.setSingleStep(0.01 if (hi - lo) <= 10 else 0.1)
        spin.valueChanged.connect(lambda _: self._on_change())
        self.spin = self.editor = spin
        self.none = None
        if spec.optional:
            self.none = QCheckBox("none")
            self.none.toggled.connect(self._on_none)
            self.widget = _row(spin, self.none)
        else:
            self.widget = spin

    def widgets(self):
        return [self.spin] + ([self.none] if self.none else [])

    def _on_change(self):
        self.changed()

    def _on_none(self, checked: bool):
        self.spin.setEnabled(not checked)
        self.changed()

    def value(self):
        if self.none is not None and self.none.isChecked():
            return None, None
        return float(self.spin.value()), None

    def set_value(self, value):
        if self.none is not None:
            self.none.setChecked(value is None)
            self.spin.setEnabled(value is not None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            # A value finer than the editor's precision (eps 1e-8) gets more decimals.
            needed = self.spin.decimals()
            while needed < 12 and value and abs(round(value, needed) - value) > abs(value) * 1e-9:
                needed += 1
            if needed != self.spin.decimals():
                self.spin.setDecimals(needed)
            if value != self.spin.value():
                self.spin.setValue(value)


class _BoolField(_Field):
    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        super().__init__(spec, changed)
        if spec.optional:
            # An optional bool has three states: the combo says which.
            combo = QComboBox()
            combo.addItems(["none", "true", "false"])
            combo.currentIndexChanged.connect(lambda _: self.changed())
            self.widget = self.editor = combo
        else:
            box = QCheckBox()
            box.toggled.connect(lambda _: self.changed())
            self.widget = self.editor = box

    def value(self):
        if isinstance(self.editor, QComboBox):
            return (None, True, False)[self.editor.currentIndex()], None
        return self.editor.isChecked(), None

    def set_value(self, value):
        if isinstance(self.editor, QComboBox):
            self.editor.setCurrentIndex({None: 0, True: 1, False: 2}.get(value, 0))
        elif isinstance(value, bool):
            self.editor.setChecked(value)


class _ChoiceField(_Field):
    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        super().__init__(spec, changed)
        combo = QComboBox()
        self.options = list(spec.choices)
        if spec.optional:
            self.options.insert(0, None)
        combo.addItems(["none" if c is None else str(c) for c in self.options])
        combo.currentIndexChanged.connect(lambda _: self.changed())
        self.widget = self.editor = combo

    def value(self):
        i = self.editor.currentIndex()
        return (self.options[i] if 0 <= i < len(self.options) else None), None

    def set_value(self, value):
        if value in self.options:
            self.editor.setCurrentIndex(self.options.index(value))


class _StrField(_Field):
    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        super().__init__(spec, changed)
        edit = QLineEdit()
        if spec.optional:
            edit.setPlaceholderText("none")
        edit.editingFinished.connect(self.changed)
        self.widget = self.editor = edit

    def value(self):
        text = self.editor.text()
        return (None if self.spec.optional and not text else text), None

    def set_value(self, value):
        text = "" if value is None else str(value)
        if text != self.editor.text():
            self.editor.setText(text)


class TupleEditor(QWidget):
    """Editor for an "ints" parameter: a row of spin boxes when the spec fixes the length,
    else a line edit that takes "3, 3". `spins` / `line_edit` are the inner editors."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.spins: list[QSpinBox] = []
        self.line_edit: QLineEdit | None = None
        self.none_box: QCheckBox | None = None
        lo, hi = _int_bounds(spec)
        if spec.length is not None:
            for _ in range(spec.length):
                spin = QSpinBox()
                spin.setRange(lo, hi)
                spin.setMinimumWidth(SPIN_MIN_WIDTH)
                self.spins.append(spin)
                layout.addWidget(spin)
            if spec.optional:
                self.none_box = QCheckBox("none")
                layout.addWidget(self.none_box)
        else:
            self.line_edit = QLineEdit()
            self.line_edit.setPlaceholderText("none" if spec.optional else "e.g. 3, 3")
            layout.addWidget(self.line_edit)

    def values(self) -> list[int]:
        return [s.value() for s in self.spins]


class _IntsField(_Field):
    def __init__(self, spec: ParamSpec, changed: Callable[[], None]) -> None:
        super().__init__(spec, changed)
        tup = TupleEditor(spec)
        for spin in tup.spins:
            spin.valueChanged.connect(lambda _: self.changed())
        if tup.none_box is not None:
            tup.none_box.toggled.connect(self._on_none)
        if tup.line_edit is not None:
            tup.line_edit.editingFinished.connect(self.changed)
        self.widget = self.editor = self.tuple = tup

    def widgets(self):
        t = self.tuple
        return [t, *t.spins, *([t.line_edit] if t.line_edit else []),
                *([t.none_box] if t.none_box else [])]

    def set_invalid(self, invalid: bool) -> None:
        self.tuple.setProperty("invalid", invalid)
        for w in [*self.tuple.spins, *([self.tuple.line_edit] if self.tuple.line_edit else [])]:
            w.setStyleSheet(INVALID_STYLE if invalid else "")

    def _on_none(self, checked: bool) -> None:
        for spin in self.tuple.spins:
            spin.setEnabled(not checked)
        self.changed()

    def value(self):
        t = self.tuple
        if t.none_box is not None and t.none_box.isChecked():
            return None, None
        if t.line_edit is None:
            return t.values(), None
        text = t.line_edit.text().strip()
        if not text and self.spec.optional:
            return None, None
        parts = [p.strip() for p in text.strip("()[]").replace(";", ",").split(",")]
        if parts and parts[-1] == "":
            parts.pop()  # "3, 3," is fine
        numbers = []
        for part in parts:
            try:
                numbers.append(int(part))
            except ValueError:
                shown = part or "an empty entry"
                return None, (f"{self.spec.name} must be whole numbers separated by commas "
                              f"(like 3, 3); {shown!r} is not a whole number"
                              if part else f"{self.spec.name}: {shown} between commas")
        return numbers, None

    def set_value(self, value):
        t = self.tuple
        if t.none_box is not None:
            t.none_box.setChecked(value is None)
            for spin in t.spins:
                spin.setEnabled(value is not None)
        if value is None:
            if t.line_edit is not None:
                t.line_edit.setText("")
            return
        if isinstance(value, int) and not isinstance(value, bool) and t.spins:
            value = [value] * len(t.spins)
        if not isinstance(value, (list, tuple)):
            return
        if t.line_edit is not None:
            text = ", ".join(str(v) for v in value)
            if text != t.line_edit.text():
                t.line_edit.setText(text)
        else:
            for spin, v in zip(t.spins, value):
                if isinstance(v, int) and v != spin.value():
                    spin.setValue(v)


_FIELDS = {"int": _IntField, "float": _FloatField, "bool": _BoolField,
           "choice": _ChoiceField, "str": _StrField, "ints": _IntsField}


def _int_bounds(spec: ParamSpec) -> tuple[int, int]:
    lo = int(spec.min) if spec.min is not None else -INT_LIMIT - 1
    hi = int(spec.max) if spec.max is not None else INT_LIMIT
    return max(lo, -INT_LIMIT - 1), min(hi, INT_LIMIT)


def _row(*widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w)
    return box


def _same(a: Any, b: Any) -> bool:
    """Model values compared as the file sees them ((5, 5) == [5, 5]; True != 1)."""
    a, b = (list(v) if isinstance(v, tuple) else v for v in (a, b))
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b
