"""The inspector: edits the selected node's label and parameters, and shows what the live
check found out about it (inferred constructor arguments, output shapes, parameter count,
problems).

The form is generated from the node's spec (graph/spec.py): one editor per ParamSpec kind.
Following the model/view rule, an edit never touches the model: it pushes a SetParams or
SetLabel command on the session's undo stack, and the form follows the model's events
(so undo/redo and edits made elsewhere show up here without pushing anything).

Blocks with parameters: a Block node's form has its `repeat` and one field per parameter
its definition declares; inside a definition every field has a "$" button that links it to
a declared parameter (gui/param_link.py), and with no node selected the inspector shows the
definition's "Block parameters" panel (gui/block_params_editor.py).
"""
from __future__ import annotations

import copy
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout, QFrame, QLabel, QLineEdit, QPushButton, QScrollArea, QVBoxLayout,
    QWidget,
)

from graph.block_params import can_be_parameter, substitute
from graph.catalog import get_spec
from graph.model import Graph, GraphEvent
from graph.spec import ParamSpec
from gui.activation_plot import make_activation_plot, update_activation_plot
from gui.block_param_edits import checked_param, fresh_name
from gui.block_params_editor import BlockParamsPanel
from gui.commands import LinkParam, SetBlockParams, SetLabel, SetParams
from gui.param_editors import _FIELDS, _Field, _same
from gui.param_link import LinkableRow, is_linked
from gui.inspector_info import _show_value, declared_tooltip, diagnostics_html, first_use
from gui.session import EditorSession
from gui.theme import category_color, current_theme

HINT_NONE = "Select a node to edit it"


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
        self.links: dict[str, LinkableRow] = {}
        self.block_panel: BlockParamsPanel | None = None
        self.block_params_note: QLabel | None = None
        self.instance_label: QLabel | None = None
        self._definition: Graph | None = None   # a shown Block node's definition
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
        block = self.session.block
        if text == HINT_NONE and block is not None and block in self.session.doc.blocks:
            # Nothing selected inside a block: what the block itself takes.
            self.block_panel = BlockParamsPanel(self.session, block)
            self.hint.setStyleSheet("color: gray; padding: 8px;")
            layout.addWidget(self.block_panel)
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
            self._add_field(form, node, spec.param("repeat"), spec.param("repeat").doc)
            self._add_declared_fields(form, node)
            layout.addLayout(form)
        elif spec is not None:
            for pspec in spec.params:
                self._add_field(form, node, pspec, pspec.doc)
            layout.addLayout(form)
        else:
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
        if self._in_definition() and self._graph.block_params:
            # Each use sizes the block its own way: say which one these figures are for.
            use = first_use(self.session.doc, self.session.block)
            if use is not None:
                self.instance_label = QLabel(f"As used by {use} (the first use of {self.session.block})")
                self.instance_label.setWordWrap(True)
                self.instance_label.setStyleSheet("color: gray;")
                layout.addWidget(self.instance_label)
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
            self.plot, self.curve, self.derivative_curve = make_activation_plot(spec)
            layout.addWidget(self.plot)
            self._refresh_plot()

        layout.addStretch(1)
        self._set_content(content)
        self._refresh_info()

    def _enter_block(self) -> None:
        if self.block_label is not None:
            self.session.enter_block(self.block_label.text())

    def _add_field(self, form: QFormLayout, node, pspec: ParamSpec, tooltip: str) -> None:
        field = _FIELDS[pspec.kind](pspec, lambda name=pspec.name: self._on_edit(name))
        field.set_tooltip(tooltip)
        value = node.params.get(pspec.name, pspec.default)
        row = LinkableRow(field, self._declared_here,
                          lambda v, text, name=pspec.name: self._link(name, v, text),
                          lambda name=pspec.name: self._declare_from(name),
                          lambda v, s=pspec: self._plain_value(s, v),
                          in_block=self._in_definition() and
                          can_be_parameter(node.type, pspec.name))
        row.show_value(value)
        self._synced[pspec.name] = copy.deepcopy(value)
        self.fields[pspec.name] = field
        self.editors[pspec.name] = field.editor
        self.links[pspec.name] = row
        name_label = QLabel(pspec.name)
        name_label.setToolTip(tooltip)
        form.addRow(name_label, row)

    def _add_declared_fields(self, form: QFormLayout, node) -> None:
        """A Block node's fields for the parameters its definition declares (in the same
        form as repeat, so the editors line up)."""
        name = node.params.get("block")
        self._definition = self.session.doc.blocks.get(name) if isinstance(name, str) else None
        if self._definition is None:
            return
        declared = self._definition.block_params
        form.addRow(_section(f"Parameters of {name}"))
        if not declared:
            self.block_params_note = QLabel(
                f"{name} declares no parameters. Edit inside and, with no node selected, "
                "add some in its Block parameters panel.")
            self.block_params_note.setWordWrap(True)
            self.block_params_note.setStyleSheet("color: gray;")
            form.addRow(self.block_params_note)
            return
        for p in declared:
            self._add_field(form, node, p, declared_tooltip(p, name))

    # --- block parameters: linking an inner node's field ----------------------------------
    def _in_definition(self) -> bool:
        """Is the graph shown a block definition (so its fields may use its parameters)?"""
        block = self.session.block
        return block is not None and self._graph is self.session.doc.blocks.get(block)

    def _declared_here(self) -> tuple[ParamSpec, ...]:
        return self._graph.block_params if self._graph is not None and self._in_definition() else ()

    def _plain_value(self, spec: ParamSpec, value: Any) -> Any:
        """The value a linked field gets back on unlinking: the declared defaults put in
        for its references, or the field's own default when that does not fit."""
        defaults = {p.name: p.default for p in self._declared_here()}
        plain = substitute({"v": value}, defaults)["v"]
        checked, problem = spec.check(plain)
        if problem is not None or is_linked(plain):
            checked = spec.default
        return list(checked) if isinstance(checked, tuple) else copy.deepcopy(checked)

    def _link(self, name: str, value: Any, text: str) -> None:
        node = self._node()
        if node is None or _same(value, node.params.get(name)):
            return
        self.session.undo.push(LinkParam(self._graph, self.node_id, name, value,
                                         f"{text} of {node.title}"))

    def _declare_from(self, name: str) -> None:
        """Declare a block parameter shaped like this field (kind, range, doc, the value it
        has now) and link the field to it: one undo step."""
        node, field = self._node(), self.fields.get(name)
        if node is None or field is None or not self._in_definition():
            return
        spec = field.spec
        value = node.params.get(name, spec.default)
        if is_linked(value):
            value = self._plain_value(spec, value)
        if value is None:
            value = spec.default
        declared = self._graph.block_params
        p = ParamSpec(fresh_name(self._graph, name), spec.kind,
                      list(value) if isinstance(value, (list, tuple)) else value, spec.doc,
                      spec.min, spec.max, spec.choices if spec.kind == "choice" else (),
                      spec.length if spec.kind == "ints" else None)
        p, problem = checked_param(p, declared)
        if problem is not None:
            self._set_invalid(name, f"cannot make {name} a block parameter: {problem}")
            return
        undo = self.session.undo
        undo.beginMacro(f"Make {name} of {node.title} block parameter ${p.name}")
        undo.push(SetBlockParams(self.session.doc, self.session.block, declared + (p,),
                                 f"Add block parameter {p.name}"))
        undo.push(LinkParam(self._graph, self.node_id, name, "$" + p.name, f"Use ${p.name}"))
        undo.endMacro()

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
        panel = self.block_panel
        if panel is not None and graph is panel.definition and not event.kind.startswith("edge") \
                and event.field != "position":
            panel.refresh()   # the declaration, or where inner nodes use it
        if event.kind == "block_params":
            if self._definition is not None and graph is self._definition:
                self._build()   # a shown Block node's definition declares other parameters
            return
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
            if self.session.doc.blocks.get(node.params.get("block")) is not self._definition:
                self._build()   # another definition: other parameters
                return
        for name, field in self.fields.items():
            value = node.params.get(name, field.spec.default)
            if name in self._synced and _same(value, self._synced[name]) and name in self._invalid:
                continue  # the user's refused text stays until the model changes this field
            self.links[name].show_value(value)
            self._synced[name] = copy.deepcopy(value)
            if name in self._invalid:
                self._set_invalid(name, None)
        self._refresh_plot()

    def _on_checked(self, _result) -> None:
        if self._node() is not None:
            self._refresh_info()

    def _refresh_info(self) -> None:
        node = self._node()
        if node is None or self.shape_label is None:
            return
        spec = get_spec(node.type)
        report = self.session.screen_shapes()
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

        problems = diagnostics_html(self.session.result, self.node_id, self.session.block)
        self.diagnostics_label.setText("<br/><br/>".join(problems))
        self.diagnostics_label.setVisible(bool(problems))

    def _refresh_plot(self) -> None:
        node = self._node()
        if self.plot is None or node is None:
            return
        update_activation_plot(self.plot, self.curve, self.derivative_curve,
                               get_spec(node.type), node.params)

    @property
    def diagnostics_text(self) -> str:
        return self.diagnostics_label.text() if self.diagnostics_label is not None else ""


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.HLine)
    line.setFrameShadow(QFrame.Sunken)
    return line


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setStyleSheet("font-weight: bold; margin-top: 6px;")
    return label
