"""The inspector: a spec-generated form that edits through undo commands and follows the model."""
from __future__ import annotations

import json

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from graph.blocks import group_into_block
from graph.catalog import SPECS
from graph.loader import load_file
from graph.templates import find_template
from gui.commands import SetParams
from gui.inspector import InspectorWidget
from gui.param_editors import TupleEditor
from gui.session import EditorSession

# The session re-checks the graph on a timer: up to 0.9 s on a busy 2-core machine.
CHECK_TIMEOUT_MS = 30_000


_SESSIONS: list[EditorSession] = []


def lenet_session(doc=None) -> EditorSession:
    session = EditorSession(doc or load_file(find_template("lenet5")))
    _SESSIONS.append(session)
    return session


@pytest.fixture(autouse=True)
def _clear_stacks():
    """Clear each undo stack while its session is alive: QUndoStack's destructor emits
    cleanChanged, and gui/session.py relays it through a lambda that then hits a deleted
    session ("Signal source has been deleted" on stderr; not an inspector problem)."""
    yield
    while _SESSIONS:
        _SESSIONS.pop().undo.clear()


@pytest.fixture
def inspector(qtbot):
    session = lenet_session()
    widget = InspectorWidget(session)
    qtbot.addWidget(widget)
    widget.resize(380, 900)
    widget.show()
    return session, widget


def wait_checked(qtbot, session: EditorSession) -> None:
    """The session re-checks on a zero-delay timer after model events."""
    qtbot.waitUntil(lambda: not session._check_timer.isActive(), timeout=CHECK_TIMEOUT_MS)


def test_hint_when_nothing_or_several_selected(inspector):
    session, w = inspector
    assert w.hint_text == "Select a node to edit it"
    w.show_selection(["conv1", "conv2", "fc1"])
    assert w.hint_text == "3 nodes selected" and not w.editors
    w.show_selection(["conv1"])
    assert w.node_id == "conv1" and w.hint is None
    w.show_node(None)
    assert w.hint_text == "Select a node to edit it"


def test_conv_form_is_generated_from_the_spec(inspector):
    session, w = inspector
    w.show_node("conv1")
    assert w.header.text() == "Conv2d" and w.category_label.text() == "Convolution"
    assert "convolution" in w.doc_label.text() and w.doc_label.wordWrap()
    assert w.label_edit.text() == "conv1"

    out = w.editors["out_channels"]
    assert isinstance(out, QSpinBox) and out.value() == 6
    assert out.minimum() == 1 and out.maximum() == 2**31 - 1
    assert out.toolTip() == "How many filters, so how many output channels."
    kernel = w.editors["kernel_size"]
    assert isinstance(kernel, TupleEditor) and len(kernel.spins) == 2
    assert kernel.values() == [5, 5] and all(s.minimum() == 1 for s in kernel.spins)
    assert kernel.spins[0].toolTip() == "The filter's size."
    assert w.editors["padding"].values() == [0, 0] and w.editors["padding"].spins[0].minimum() == 0
    bias = w.editors["bias"]
    assert isinstance(bias, QCheckBox) and bias.isChecked()
    mode = w.editors["padding_mode"]
    assert isinstance(mode, QComboBox) and mode.currentText() == "zeros"
    assert [mode.itemText(i) for i in range(mode.count())] == ["zeros", "reflect", "replicate",
                                                               "circular"]
    assert w.inferred_labels["in_channels"].text() == "in_channels = 1 (from input)"
    assert w.inferred_labels["in_channels"].toolTip() == "the input's channel axis"
    assert w.shape_label.text() == "Output: N×6×28×28"
    assert w.params_label.text() == "Parameters: 156"


def test_spin_edit_pushes_one_merged_command_and_rechecks(qtbot, inspector):
    session, w = inspector
    w.show_node("conv1")
    out = w.editors["out_channels"]
    out.setValue(8)
    node = session.graph.nodes["conv1"]
    assert node.params["out_channels"] == 8
    assert session.undo.count() == 1 and session.undo.text(0) == "Set out_channels of conv1"
    # Typing 1, 12, 16: still one undo step.
    for v in (1, 12, 16):
        out.setValue(v)
    assert session.undo.count() == 1 and node.params["out_channels"] == 16
    out.setValue(8)
    wait_checked(qtbot, session)
    assert session.result.shapes.nodes["conv2"].inferred["in_channels"] == 8
    assert w.shape_label.text() == "Output: N×8×28×28"
    # conv2's inspector shows the new inferred value.
    w.show_node("conv2")
    assert w.inferred_labels["in_channels"].text() == "in_channels = 8 (from input)"
    w.show_node("conv1")
    session.undo.undo()
    assert node.params["out_channels"] == 6
    assert w.editors["out_channels"].value() == 6
    assert session.undo.index() == 0 and session.undo.count() == 1  # undo pushed nothing
    session.undo.redo()
    assert w.editors["out_channels"].value() == 8


def test_typing_into_the_spin_box(qtbot, inspector):
    session, w = inspector
    w.show_node("conv1")
    out = w.editors["out_channels"]
    out.selectAll()
    qtbot.keyClicks(out, "32")
    assert session.graph.nodes["conv1"].params["out_channels"] == 32
    assert session.undo.count() == 1


def test_tuple_edits_and_refusals(qtbot, inspector):
    session, w = inspector
    w.show_node("conv1")
    kernel = w.editors["kernel_size"]
    kernel.spins[1].setValue(3)
    assert session.graph.nodes["conv1"].params["kernel_size"] == [5, 3]
    assert session.undo.count() == 1
    # A value ParamSpec.check rejects (past MAX_INT) is refused and explained.
    out = w.editors["out_channels"]
    out.setValue(20_000_000)
    assert session.graph.nodes["conv1"].params["out_channels"] == 6
    assert session.undo.count() == 1
    assert w.message.isVisible()
    assert w.message.text() == "out_channels must be at most 16777216, got 20000000"
    assert out.property("invalid") is True and "border" in out.styleSheet()
    out.setValue(10)
    assert not w.message.isVisible() and out.styleSheet() == ""
    assert session.graph.nodes["conv1"].params["out_channels"] == 10


def test_variable_length_tuple_line_edit(qtbot, inspector):
    session, w = inspector
    w.show_node("input")
    shape = w.editors["shape"]
    assert shape.line_edit is not None and shape.line_edit.text() == "1, 32, 32"
    assert shape.line_edit.toolTip() == session.graph.spec_of("input").param("shape").doc
    shape.line_edit.selectAll()
    qtbot.keyClicks(shape.line_edit, "3, x")
    qtbot.keyClick(shape.line_edit, Qt.Key_Return)
    assert session.undo.count() == 0
    assert session.graph.nodes["input"].params["shape"] == [1, 32, 32]
    assert "'x' is not a whole number" in w.message.text() and w.message.isVisible()
    assert shape.property("invalid") is True and "border" in shape.line_edit.styleSheet()
    # In range per element but not per ParamSpec (shape entries must be >= 1).
    shape.line_edit.setText("0, 32, 32")
    shape.line_edit.editingFinished.emit()
    assert session.undo.count() == 0
    assert w.message.text() == "shape must be at least 1, got 0"
    shape.line_edit.setText("3, 32, 32")
    shape.line_edit.editingFinished.emit()
    assert session.undo.count() == 1 and not w.message.isVisible()
    assert session.graph.nodes["input"].params["shape"] == [3, 32, 32]
    wait_checked(qtbot, session)
    assert session.result.shapes.nodes["conv1"].inferred["in_channels"] == 3


def test_label_edit_pushes_set_label(qtbot, inspector):
    session, w = inspector
    w.show_node("fc1")
    w.label_edit.selectAll()
    qtbot.keyClicks(w.label_edit, "hidden")
    qtbot.keyClick(w.label_edit, Qt.Key_Return)
    assert session.graph.nodes["fc1"].label == "hidden"
    assert session.undo.count() == 1 and session.undo.text(0) == "Rename fc1"
    session.undo.undo()
    assert w.label_edit.text() == "fc1"


def test_form_follows_edits_made_elsewhere_without_pushing(qtbot, inspector):
    session, w = inspector
    w.show_node("conv2")
    # Another view edits the model through the undo stack.
    session.undo.push(SetParams(session.graph, "conv2", {"kernel_size": [3, 3], "bias": False}))
    assert w.editors["kernel_size"].values() == [3, 3]
    assert not w.editors["bias"].isChecked()
    assert session.undo.count() == 1
    session.undo.undo()
    assert w.editors["kernel_size"].values() == [5, 5] and w.editors["bias"].isChecked()
    assert session.undo.count() == 1 and session.undo.index() == 0


def test_removed_node_clears_and_diagnostics_show(qtbot, inspector):
    session, w = inspector
    w.show_node("fc1")
    # Disconnect fc1's input: inferred value and shape go, a diagnostic appears.
    from gui.commands import RemoveItems
    session.undo.push(RemoveItems(session.graph, [], session.graph.edges_into("fc1")))
    wait_checked(qtbot, session)
    assert w.inferred_labels["in_features"].text() == "in_features — (connect an input)"
    assert "input 'x' of fc1 is not connected" in w.diagnostics_text
    assert "Hint: drag an edge" in w.diagnostics_text
    assert w.shape_label.text() == "Output: — (not known yet)"
    assert w.diagnostics_label.isVisible()
    session.undo.push(RemoveItems(session.graph, ["fc1"], []))
    assert w.hint_text == "Select a node to edit it" and w.node_id is None


def test_float_editor_and_activation_plot_follow_params(qtbot, inspector):
    session, w = inspector
    graph = session.graph
    from gui.commands import AddItems
    from graph.model import Node
    session.undo.push(AddItems(graph, [Node("leaky", "LeakyReLU", {"negative_slope": 0.01})], [],
                               "Add"))
    w.show_node("leaky")
    slope = w.editors["negative_slope"]
    assert isinstance(slope, QDoubleSpinBox) and slope.decimals() == 6
    assert slope.minimum() == 0.0 and slope.value() == pytest.approx(0.01)
    x, y = w.curve.getData()
    assert y[0] == pytest.approx(-0.05, abs=1e-6)
    slope.setValue(0.2)
    assert graph.nodes["leaky"].params["negative_slope"] == pytest.approx(0.2)
    x, y = w.curve.getData()
    _, dy = w.derivative_curve.getData()
    assert y[0] == pytest.approx(-1.0, abs=1e-6) and dy[0] == pytest.approx(0.2)
    session.undo.undo()  # undoes the slope edit; the plot follows
    assert w.curve.getData()[1][0] == pytest.approx(-0.05, abs=1e-6)
    assert slope.value() == pytest.approx(0.01)


def test_relu_plot_matches_torch(inspector):
    session, w = inspector
    w.show_node("relu1")
    assert w.plot is not None and not w.inferred_labels
    x, y = w.curve.getData()
    _, dy = w.derivative_curve.getData()
    assert x[0] == -5 and x[-1] == 5
    at = lambda v: int(abs(x - v).argmin())  # noqa: E731
    assert y[at(-1.0)] == 0 and y[at(2.0)] == pytest.approx(2.0)
    assert dy[at(-1.0)] == 0 and dy[at(2.0)] == 1
    assert list(y) == pytest.approx(torch.relu(torch.tensor(x)).tolist())


def test_softmax_plot_sweeps_one_logit(qtbot):
    session = lenet_session()
    from gui.commands import AddItems
    from graph.model import Node
    session.undo.push(AddItems(session.graph, [Node("sm", "Softmax", {"dim": 1})], [], "Add"))
    w = InspectorWidget(session)
    qtbot.addWidget(w)
    w.show_node("sm")
    x, y = w.curve.getData()
    _, dy = w.derivative_curve.getData()
    expected = torch.sigmoid(torch.tensor(x))  # softmax([x, 0])[0]
    assert list(y) == pytest.approx(expected.tolist(), abs=1e-6)
    assert list(dy) == pytest.approx((expected * (1 - expected)).tolist(), abs=1e-6)
    assert "first of two logits" in w.plot.getPlotItem().titleLabel.text


def test_block_node_has_edit_inside(qtbot):
    doc = load_file(find_template("lenet5"))
    block_node = group_into_block(doc, doc.graph, ["conv2", "relu2"], "Stage")
    session = lenet_session(doc)
    w = InspectorWidget(session)
    qtbot.addWidget(w)
    w.show_node(block_node.id)
    assert w.block_label.text() == "Stage" and list(w.editors) == ["repeat"]
    assert w.shape_label.text() == "Output: N×16×10×10"
    assert w.params_label.text() == "Parameters: 2,416"
    qtbot.mouseClick(w.edit_inside_button, Qt.LeftButton)
    assert session.block == "Stage"
    assert w.hint_text == "Select a node to edit it"  # the graph on screen changed
    # Nodes inside the block: edits go to the block's graph, shapes come from its instance.
    w.show_node("conv2")
    assert w.inferred_labels["in_channels"].text() == "in_channels = 6 (from input)"
    w.editors["out_channels"].setValue(20)
    assert doc.blocks["Stage"].nodes["conv2"].params["out_channels"] == 20
    assert "conv2" not in doc.graph.nodes and session.undo.count() == 1
    wait_checked(qtbot, session)
    assert w.shape_label.text() == "Output: N×20×10×10"


def test_every_spec_gets_a_form(qtbot):
    """One editor per ParamSpec, of the kind's widget type, valued from the defaults."""
    session = lenet_session()
    from gui.commands import AddItems
    from graph.model import Node
    nodes = [Node(f"t{i}", t, SPECS[t].defaults()) for i, t in enumerate(SPECS) if t != "Block"]
    session.undo.push(AddItems(session.graph, nodes, [], "Add all"))
    w = InspectorWidget(session)
    qtbot.addWidget(w)
    kinds = {"int": QSpinBox, "float": QDoubleSpinBox, "choice": QComboBox, "str": QLineEdit,
             "ints": TupleEditor}
    for node in nodes:
        w.show_node(node.id)
        spec = SPECS[node.type]
        assert set(w.editors) == {p.name for p in spec.params}, node.type
        for p in spec.params:
            editor = w.editors[p.name]
            if p.kind == "bool":
                assert isinstance(editor, QComboBox if p.optional else QCheckBox)
            else:
                assert isinstance(editor, kinds[p.kind]), (node.type, p.name)
        assert (w.plot is not None) == (spec.category == "Activation"), node.type
        if w.plot is not None:
            assert len(w.curve.getData()[0]) == 201, node.type
    assert session.undo.count() == 1  # showing forms pushed nothing
    # Optional values: MaxPool2d's stride is None, shown by its "none" box.
    pool = next(n for n in nodes if n.type == "MaxPool2d")
    w.show_node(pool.id)
    stride = w.editors["stride"]
    assert stride.none_box.isChecked() and not stride.spins[0].isEnabled()
    stride.none_box.setChecked(False)
    assert session.graph.nodes[pool.id].params["stride"] == [1, 1]
    stride.none_box.setChecked(True)
    assert session.graph.nodes[pool.id].params["stride"] is None
    assert session.undo.count() == 2  # both stride edits merged into one step
    emb = next(n for n in nodes if n.type == "Embedding")
    w.show_node(emb.id)
    pad = w.editors["padding_idx"]
    assert pad.text() == "none"
    pad.setValue(0)
    assert session.graph.nodes[emb.id].params["padding_idx"] == 0


def test_grab_png(inspector):
    session, w = inspector
    w.show_node("conv1")
    pixmap = w.grab()
    assert pixmap.save("/tmp/inspector.png")
    image = pixmap.toImage().convertToFormat(QImage.Format_RGB32)
    colors = {image.pixel(x, y) for x in range(0, image.width(), 3)
              for y in range(0, image.height(), 3)}
    assert image.width() > 200 and len(colors) > 20
    # Also the activation form with its plot.
    w.show_node("relu1")
    assert w.grab().save("/tmp/inspector_relu.png")
    json.dumps(session.doc.graph.nodes["conv1"].params)  # model untouched and serialisable
