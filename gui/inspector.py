"""The inspector: edits the selected node's label and parameters, and shows what the live
check found out about it (inferred constructor arguments, output shapes, parameter count,
problems).

The form is generated from the node's spec (graph/spec.py): one editor per ParamSpec kind.
Following the model/view rule, an edit never touches the model: it pushes a SetParams or
SetLabel command on the session's undo stack, and the form follows the model's events
(so undo/redo and edits made elsewhere show up here without pushing anything).
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout,
    QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget,
)

from graph.catalog import get_spec
from graph.model import Graph, GraphEvent
from graph.spec import NodeSpec, ParamSpec
from gui.commands import SetLabel, SetParams
from gui.session import EditorSession
from gui.theme import category_color, current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

INT_LIMIT = 2**31 - 1          # what a QSpinBox can hold
FLOAT_LIMIT = 1e9              # range of a float editor whose spec gives no bound
INVALID_STYLE = "border: 1px solid #e5484d;"
PLOT_RANGE = (-5.0, 5.0)
PLOT_POINTS = 201
HINT_NONE = "Select a node to edit it"


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


def _show_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


# --- the activation preview -------------------------------------------------------------------
def activation_curve(spec: NodeSpec, params: dict[str, Any]) -> tuple[Any, Any, Any, str]:
    """(x, f(x), f'(x), title) for an activation on PLOT_RANGE, computed by torch itself.
    Softmax/LogSoftmax are swept over the first of two logits, the other fixed at 0."""
    import torch

    from runtime import targets

    params = dict(params)
    softmax = spec.type in ("Softmax", "LogSoftmax")
    if softmax:
        params["dim"] = -1
    if spec.type == "PReLU":
        params["num_parameters"] = 1  # one slope shows the curve; per-channel ones start equal
    fn = targets.instantiate(spec, params, {})
    x = torch.linspace(*PLOT_RANGE, PLOT_POINTS, dtype=torch.float32, requires_grad=True)
    with torch.enable_grad():
        if softmax:
            logits = torch.stack([x, torch.zeros_like(x)], dim=-1)
            y = fn(logits)[:, 0]
        else:
            y = fn(x)
        (dy,) = torch.autograd.grad(y.sum(), x)
    title = (f"{spec.type}([x, 0])[0]: first of two logits swept, the other fixed at 0"
             if softmax else f"{spec.type} and its derivative")
    return (x.detach().numpy(), y.detach().numpy(), dy.detach().numpy(), title)


# --- the widget -------------------------------------------------------------------------------
class InspectorWidget(QWidget):
    """Shows and edits one node of the graph on screen. The main window calls show_node
    (or show_selection) when the canvas selection changes."""

    TITLE = "Inspector"

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(self.TITLE)
        self.setObjectName("inspector")
        self.setMinimumWidth(260)
        self.node_id: str | None = None
        self._graph: Graph | None = None
        self._clear_refs()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        outer.addWidget(self.scroll)
        self._content: QWidget | None = None

        session.graph_changed.connect(self._on_graph_event)
        session.checked.connect(self._on_checked)
        session.view_changed.connect(self._on_view_changed)
        self._show_hint(HINT_NONE)

    @classmethod
    def dock(cls, session: EditorSession, parent: QWidget | None = None) -> QDockWidget:
        """A dock titled "Inspector" holding a new inspector (`dock.widget()`)."""
        dock = QDockWidget(cls.TITLE, parent)
        dock.setObjectName("inspector_dock")
        dock.setWidget(cls(session, dock))
        return dock

    # --- what is shown --------------------------------------------------------------------
    def show_selection(self, node_ids: list[str]) -> None:
        if len(node_ids) == 1:
            self.show_node(node_ids[0])
        elif node_ids:
            self.node_id, self._graph = None, None
            self._show_hint(f"{len(node_ids)} nodes selected")
        else:
            self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        graph = self._current_graph()
        if node_id is None or graph is None or node_id not in graph.nodes:
            self.node_id, self._graph = None, None
            self._show_hint(HINT_NONE)
            return
        self.node_id, self._graph = node_id, graph
        self._build()

    def _current_graph(self) -> Graph | None:
        try:
            return self.session.graph
        except KeyError:  # the block being edited is gone
            return None

    def _clear_refs(self) -> None:
        self.editors: dict[str, QWidget] = {}
        self.fields: dict[str, _Field] = {}
        self.inferred_labels: dict[str, QLabel] = {}
        self.hint: QLabel | None = None
        self.header: QLabel | None = None
        self.category_label: QLabel | None = None
        self.doc_label: QLabel | None = None
        self.label_edit: QLineEdit | None = None
        self.message: QLabel | None = None
        self.shape_label: QLabel | None = None
        self.params_label: QLabel | None = None
        self.diagnostics_label: QLabel | None = None
        self.block_label: QLabel | None = None
        self.edit_inside_button: QPushButton | None = None
        self.plot: pg.PlotWidget | None = None
        self.curve = None
        self.derivative_curve = None
        self._synced: dict[str, Any] = {}
        self._invalid: dict[str, str] = {}

    def _set_content(self, content: QWidget) -> None:
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self._content = content
        self.scroll.setWidget(content)

    def _show_hint(self, text: str) -> None:
        self._clear_refs()
        content = QWidget()
        layout = QVBoxLayout(content)
        self.hint = QLabel(text)
        self.hint.setAlignment(Qt.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: gray; padding: 24px;")
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self._set_content(content)

    @property
    def hint_text(self) -> str:
        return self.hint.text() if self.hint is not None else ""

    # --- building the form ----------------------------------------------------------------
    def _build(self) -> None:
        self._clear_refs()
        node = self._graph.nodes[self.node_id]
        spec = get_spec(node.type)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setSpacing(6)

        # Header: type id, category, what the layer does.
        self.header = QLabel(node.type)
        font = self.header.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.header.setFont(font)
        layout.addWidget(self.header)
        category = spec.category if spec else "Unknown type"
        self.category_label = QLabel(category)
        self.category_label.setStyleSheet(f"color: {category_color(category).name()};"
                                          " font-weight: bold;")
        layout.addWidget(self.category_label)
        self.doc_label = QLabel(spec.doc if spec else
                                f"NodeTorch does not know the node type {node.type!r}.")
        self.doc_label.setWordWrap(True)
        layout.addWidget(self.doc_label)
        layout.addWidget(_separator())

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.label_edit = QLineEdit(node.label)
        self.label_edit.setPlaceholderText(node.type)
        self.label_edit.setToolTip("The name shown on the node (leave empty for the type).")
        self.label_edit.editingFinished.connect(self._on_label_edited)
        form.addRow("Label", self.label_edit)

        if spec is not None and spec.kind == "block":
            self.block_label = QLabel(str(node.params.get("block", "")))
            self.block_label.setToolTip(spec.param("block").doc)
            self.block_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            form.addRow("Block", self.block_label)
            self.edit_inside_button = QPushButton("Edit inside")
            self.edit_inside_button.setToolTip("Open this block's definition on the canvas.")
            self.edit_inside_button.clicked.connect(self._enter_block)
            form.addRow("", self.edit_inside_button)
        elif spec is not None:
            for pspec in spec.params:
                field = _FIELDS[pspec.kind](pspec, lambda name=pspec.name: self._on_edit(name))
                field.set_tooltip(pspec.doc)
                field.set_silently(node.params.get(pspec.name, pspec.default))
                self._synced[pspec.name] = copy.deepcopy(node.params.get(pspec.name, pspec.default))
                self.fields[pspec.name] = field
                self.editors[pspec.name] = field.editor
                name_label = QLabel(pspec.name)
                name_label.setToolTip(pspec.doc)
                form.addRow(name_label, field.widget)
        layout.addLayout(form)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {current_theme().error.name()};")
        self.message.hide()
        layout.addWidget(self.message)

        if spec is not None and spec.inferred:
            layout.addWidget(_section("Read from the input"))
            for name, rule in spec.inferred.items():
                label = QLabel()
                label.setToolTip(rule.doc)
                label.setWordWrap(True)
                self.inferred_labels[name] = label
                layout.addWidget(label)

        layout.addWidget(_section("Check"))
        self.shape_label = QLabel()
        self.shape_label.setWordWrap(True)
        layout.addWidget(self.shape_label)
        self.params_label = QLabel()
        layout.addWidget(self.params_label)
        self.diagnostics_label = QLabel()
        self.diagnostics_label.setWordWrap(True)
        self.diagnostics_label.setTextFormat(Qt.RichText)
        layout.addWidget(self.diagnostics_label)

        if spec is not None and spec.category == "Activation" and spec.target:
            layout.addWidget(_section("Curve"))
            self.plot = pg.PlotWidget(background=current_theme().base)
            self.plot.setMinimumHeight(190)
            self.plot.setMaximumHeight(230)
            self.plot.showGrid(x=True, y=True, alpha=0.25)
            self.plot.addLegend(offset=(6, 6))
            self.curve = self.plot.plot([], [], name="f(x)",
                                        pen=pg.mkPen(category_color(spec.category), width=2))
            self.derivative_curve = self.plot.plot(
                [], [], name="f′(x)", pen=pg.mkPen("#3b9cff", width=1.5, style=Qt.DashLine))
            layout.addWidget(self.plot)
            self._refresh_plot()

        layout.addStretch(1)
        self._set_content(content)
        self._refresh_info()

    def _enter_block(self) -> None:
        if self.block_label is not None:
            self.session.enter_block(self.block_label.text())

    # --- edits → commands -----------------------------------------------------------------
    def _on_label_edited(self) -> None:
        node = self._node()
        if node is None or self.label_edit is None:
            return
        text = self.label_edit.text().strip()
        if text != node.label:
            self.session.undo.push(SetLabel(self._graph, self.node_id, text))

    def _on_edit(self, name: str) -> None:
        node = self._node()
        field = self.fields.get(name)
        if node is None or field is None:
            return
        value, problem = field.value()
        if problem is None:
            value, problem = field.spec.check(value)
        if problem is not None:
            self._set_invalid(name, problem)
            return
        self._set_invalid(name, None)
        if isinstance(value, tuple):
            value = list(value)
        if _same(value, node.params.get(name, field.spec.default)):
            return
        self.session.undo.push(SetParams(self._graph, self.node_id, {name: value}))

    def _set_invalid(self, name: str, problem: str | None) -> None:
        field = self.fields[name]
        field.set_invalid(problem is not None)
        if problem is None:
            self._invalid.pop(name, None)
        else:
            self._invalid[name] = problem
        if self.message is not None:
            self.message.setText("\n".join(self._invalid.values()))
            self.message.setVisible(bool(self._invalid))

    @property
    def message_text(self) -> str:
        return self.message.text() if self.message is not None and self._invalid else ""

    # --- following the model --------------------------------------------------------------
    def _node(self):
        if self.node_id is None or self._graph is None:
            return None
        return self._graph.nodes.get(self.node_id)

    def _on_view_changed(self) -> None:
        # Another graph is on screen (entered/left a block, document replaced): node ids
        # there mean other nodes.
        if self._graph is not self._current_graph():
            self.show_node(None)

    def _on_graph_event(self, graph: Graph, event: GraphEvent) -> None:
        if graph is not self._graph or self.node_id is None:
            return
        if event.node is None or event.node.id != self.node_id:
            return
        if event.kind == "node_removed":
            self.show_node(None)
        elif event.kind == "node_added":
            # Removed and put back (a document restore): a new Node object.
            self._build()
        elif event.kind == "node_changed":
            if event.field == "label":
                self._refresh_label()
            elif event.field == "params":
                self._refresh_params()

    def _refresh_label(self) -> None:
        node = self._node()
        if node is not None and self.label_edit is not None and self.label_edit.text() != node.label:
            was = self.label_edit.blockSignals(True)
            self.label_edit.setText(node.label)
            self.label_edit.blockSignals(was)

    def _refresh_params(self) -> None:
        node = self._node()
        if node is None:
            return
        if self.block_label is not None:
            self.block_label.setText(str(node.params.get("block", "")))
        for name, field in self.fields.items():
            value = node.params.get(name, field.spec.default)
            if name in self._synced and _same(value, self._synced[name]) and name in self._invalid:
                continue  # the user's refused text stays until the model changes this field
            field.set_silently(value)
            self._synced[name] = copy.deepcopy(value)
            if name in self._invalid:
                self._set_invalid(name, None)
        self._refresh_plot()

    def _on_checked(self, _result) -> None:
        if self._node() is not None:
            self._refresh_info()

    def _shape_report(self):
        """The check's ShapeReport for the graph on screen; inside a block, the report of
        the first instance of that block found (nested blocks included)."""
        result = self.session.result
        if result is None:
            return None
        if self.session.block is None:
            return result.shapes
        doc = self.session.doc
        todo = [(doc.graph, result.shapes, 0)]
        while todo:
            graph, report, depth = todo.pop(0)
            for node_id, node in graph.nodes.items():
                if node.type != "Block":
                    continue
                shapes = report.nodes.get(node_id)
                if shapes is None or shapes.inner is None:
                    continue
                name = node.params.get("block")
                if name == self.session.block:
                    return shapes.inner
                if name in doc.blocks and depth < 16:
                    todo.append((doc.blocks[name], shapes.inner, depth + 1))
        return None

    def _refresh_info(self) -> None:
        node = self._node()
        if node is None or self.shape_label is None:
            return
        spec = get_spec(node.type)
        report = self._shape_report()
        shapes = report.nodes.get(self.node_id) if report is not None else None

        for name, label in self.inferred_labels.items():
            rule = spec.inferred[name]
            value = shapes.inferred.get(name) if shapes is not None else None
            source = "input" if len(spec.inputs) <= 1 else f"input {rule.port}"
            if value is not None:
                label.setText(f"{name} = {_show_value(value)} (from {source})")
            elif self._graph.edges_into(self.node_id, rule.port):
                label.setText(f"{name} — (the input's shape is not known yet)")
            else:
                label.setText(f"{name} — (connect an input)")

        outs = self._graph.ports_of(node)[1]
        if shapes is not None and shapes.outputs:
            if len(shapes.outputs) == 1 and len(outs) <= 1:
                text = f"Output: {next(iter(shapes.outputs.values())).text()}"
            else:
                text = "Outputs: " + ", ".join(f"{p} {m.text()}" for p, m in shapes.outputs.items())
        elif not outs:
            text = "Output: none (this node ends the network)"
            if shapes is not None and shapes.inputs:
                text = "Input: " + ", ".join(m.text() for m in shapes.inputs.values())
        else:
            text = "Output: — (not known yet)"
        self.shape_label.setText(text)
        count = shapes.param_count if shapes is not None else 0
        self.params_label.setText(f"Parameters: {count:,}" if shapes is not None
                                  else "Parameters: —")

        problems = []
        result = self.session.result
        for d in (result.diagnostics if result is not None else []):
            if d.node_id == self.node_id and d.block == self.session.block:
                color = current_theme().error.name() if d.is_error else "#e0a020"
                line = f"<span style='color:{color}'>{_html(d.message)}"
                if d.hint:
                    line += f"<br/><i>Hint: {_html(d.hint)}</i>"
                problems.append(line + "</span>")
        self.diagnostics_label.setText("<br/><br/>".join(problems))
        self.diagnostics_label.setVisible(bool(problems))

    def _refresh_plot(self) -> None:
        node = self._node()
        if self.plot is None or node is None:
            return
        spec = get_spec(node.type)
        if any(p.check(node.params.get(p.name, p.default))[1] for p in spec.params):
            self.plot.setTitle("no curve: a parameter is invalid")
            return
        try:
            x, y, dy, title = activation_curve(spec, node.params)
        except Exception as exc:  # a preview must never break the inspector
            self.curve.setData([], [])
            self.derivative_curve.setData([], [])
            self.plot.setTitle(f"no curve: {exc}")
            return
        self.curve.setData(x, y)
        self.derivative_curve.setData(x, dy)
        self.plot.setTitle(f"<span style='font-size:8pt'>{_html(title)}</span>")

    @property
    def diagnostics_text(self) -> str:
        return self.diagnostics_label.text() if self.diagnostics_label is not None else ""


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.HLine)
    line.setFrameShadow(QFrame.Sunken)
    return line


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setStyleSheet("font-weight: bold; margin-top: 6px;")
    return label
