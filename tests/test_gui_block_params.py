"""The editor side of blocks with parameters: a Block node's fields for what its definition
declares, linking an inner node's field to a block parameter, and the panel that declares
them, every change one undo step."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QSpinBox

from graph.blocks import group_into_block
from graph.loader import load_file
from graph.spec import ParamSpec
from graph.templates import TEMPLATES_DIR
from gui.commands import SetBlockParams
from gui.inspector import InspectorWidget
from gui.session import EditorSession
from tests.test_gui_inspector import wait_checked

_SESSIONS: list[EditorSession] = []


@pytest.fixture(autouse=True)
def _clear_stacks():
    """Clear each undo stack while its session is alive (see tests/test_gui_inspector.py)."""
    yield
    while _SESSIONS:
        _SESSIONS.pop().undo.clear()


@pytest.fixture
def resnet(qtbot):
    session = EditorSession(load_file(TEMPLATES_DIR / "resnet18_small.json"))
    _SESSIONS.append(session)
    widget = InspectorWidget(session)
    qtbot.addWidget(widget)
    widget.resize(380, 900)
    widget.show()
    return session, widget


def _block_nodes(session):
    return {n.id: n for n in session.doc.graph if n.type == "Block"}


def _basic_block_params(channels: int, cin: int = 16, projects: bool = True) -> int:
    """Two bias-free 3×3 convolutions, two batch norms, a 1×1 projection with its norm."""
    main = cin * channels * 9 + 2 * channels + channels * channels * 9 + 2 * channels
    return main + (cin * channels + 2 * channels if projects else 0)


# --- a Block node's fields --------------------------------------------------------------
def test_block_node_edits_its_definitions_parameters_and_the_check_follows(qtbot, resnet):
    session, w = resnet
    w.show_node("layer2_1")
    assert list(w.editors) == ["repeat", "channels", "stride"]
    channels = w.editors["channels"]
    assert isinstance(channels, QSpinBox) and channels.value() == 32 and channels.minimum() == 1
    assert w.editors["stride"].value() == 2 and w.editors["stride"].maximum() == 4
    assert "Channels of the block's output" in channels.toolTip()
    assert "Declared by block 'BasicBlock': int, default 16, at least 1." in channels.toolTip()
    assert "int, default 1, 1 to 4" in w.editors["stride"].toolTip()
    assert w.shape_label.text() == "Output: N×32×7×7"
    assert w.params_label.text() == f"Parameters: {_basic_block_params(32):,}" == "Parameters: 14,528"

    channels.setValue(48)
    assert _block_nodes(session)["layer2_1"].params["channels"] == 48
    assert session.undo.count() == 1
    wait_checked(qtbot, session)
    assert w.shape_label.text() == "Output: N×48×7×7"
    assert w.params_label.text() == f"Parameters: {_basic_block_params(48):,}" == "Parameters: 28,704"

    session.undo.undo()
    assert _block_nodes(session)["layer2_1"].params["channels"] == 32 and channels.value() == 32
    wait_checked(qtbot, session)
    assert w.params_label.text() == "Parameters: 14,528"


def test_a_refused_value_is_shown_and_not_pushed(resnet):
    session, w = resnet
    w.show_node("layer2_1")
    w.fields["stride"].spin.setRange(0, 10)   # what a typed 0 would be if the editor let it
    w.editors["stride"].setValue(0)
    assert session.undo.count() == 0
    assert w.message.isVisible() and "stride must be at least 1, got 0" in w.message.text()


def test_repeat_field_chains_copies_of_the_block(qtbot, resnet):
    session, w = resnet
    w.show_node("layer2_1")
    repeat = w.editors["repeat"]
    assert repeat.value() == 1 and (repeat.minimum(), repeat.maximum()) == (1, 256)
    repeat.setValue(2)
    assert _block_nodes(session)["layer2_1"].params["repeat"] == 2
    wait_checked(qtbot, session)
    # The second copy has stride 2 as well: 7×7 becomes 4×4, and it projects 32 → 32.
    assert w.shape_label.text() == "Output: N×32×4×4"
    second = _basic_block_params(32, cin=32)
    assert w.params_label.text() == f"Parameters: {14_528 + second:,}" == "Parameters: 34,176"


def test_the_block_node_form_follows_the_declaration(resnet):
    session, w = resnet
    w.show_node("layer2_1")
    definition = session.doc.blocks["BasicBlock"]
    width = ParamSpec("width", "float", 0.5, "A made-up factor.", min=0.0, max=1.0)
    session.undo.push(SetBlockParams(session.doc, "BasicBlock",
                                     definition.block_params + (width,), "Add width"))
    assert list(w.editors) == ["repeat", "channels", "stride", "width"]
    assert w.editors["width"].value() == 0.5
    session.undo.undo()
    assert list(w.editors) == ["repeat", "channels", "stride"]


# --- linking an inner node's field -----------------------------------------------------
def _inside(session, w, node_id: str):
    session.enter_block("BasicBlock")
    w.show_node(node_id)
    return session.doc.blocks["BasicBlock"]


def test_linked_fields_show_the_reference_read_only(resnet):
    session, w = resnet
    _inside(session, w, "conv1")
    row = w.links["out_channels"]
    assert row.is_linked and row.linked.isReadOnly() and row.linked.text() == "= $channels"
    assert row.linked.isVisibleTo(w) and not w.editors["out_channels"].isVisibleTo(w)
    assert "$channels: int, default 16, at least 1" in row.linked.toolTip()
    assert w.links["stride"].linked.text() == "= $stride"
    assert not w.links["kernel_size"].is_linked and w.links["kernel_size"].button.isVisibleTo(w)
    # Each use sizes the block its own way: the figures are the first use's.
    assert w.instance_label.text() == "As used by layer1 (the first use of BasicBlock)"
    assert w.inferred_labels["in_channels"].text() == "in_channels = 16 (from input)"


def test_outside_a_block_fields_have_no_link_button(resnet):
    session, w = resnet
    w.show_node("conv1")   # the main graph's stem convolution
    assert not w.links["out_channels"].button.isVisibleTo(w) and w.instance_label is None


def test_a_port_count_inside_a_block_offers_no_link(resnet):
    # The definition is wired for one count of inputs: every use must have the same.
    session, w = resnet
    session.enter_block("BasicBlock")
    w.show_node("add")
    assert not w.links["num_inputs"].button.isVisibleTo(w)
    w.show_node("conv1")
    assert w.links["kernel_size"].button.isVisibleTo(w)


def test_a_block_declaring_nothing_says_where_to_declare(qtbot):
    doc = load_file(TEMPLATES_DIR / "lenet5.json")
    node = group_into_block(doc, doc.graph, ["conv2", "relu2"], "Stage")
    session = EditorSession(doc)
    _SESSIONS.append(session)
    w = InspectorWidget(session)
    qtbot.addWidget(w)
    w.show_node(node.id)
    assert list(w.editors) == ["repeat"]
    assert w.block_params_note.text().startswith("Stage declares no parameters.")


def test_the_link_menu_offers_declared_parameters_of_a_matching_kind(resnet):
    session, w = resnet
    _inside(session, w, "conv2")
    padding = w.links["padding"]        # two ints: an int parameter fits (one for both axes)
    assert padding.action("link:channels") is not None and padding.action("link:stride")
    bias = w.links["bias"]              # a bool: no bool parameter is declared
    assert bias.action("link:stride") is None
    names = [a.text() for a in bias.menu.actions()]
    assert "No bool parameter declared in this block" in names
    assert padding.action("unlink") is None   # nothing to unlink yet


def test_link_and_unlink_an_inner_parameter_with_undo(qtbot, resnet):
    session, w = resnet
    definition = _inside(session, w, "conv2")
    row = w.links["stride"]
    row.action("link:stride").trigger()
    assert definition.nodes["conv2"].params["stride"] == "$stride"
    assert row.is_linked and row.linked.text() == "= $stride"
    assert session.undo.count() == 1 and session.undo.undoText() == "Use $stride for stride of conv2"
    wait_checked(qtbot, session)
    # layer2_1 (stride 2) now halves twice on its main path: the shortcut no longer fits.
    assert any(d.node_id == "layer2_1" for d in session.result.errors)

    row.action("unlink").trigger()
    # The declared default (1) in the form the field keeps: one per axis.
    assert definition.nodes["conv2"].params["stride"] == [1, 1]
    assert not row.is_linked and w.editors["stride"].isVisibleTo(w)
    assert [s.value() for s in w.editors["stride"].spins] == [1, 1]
    assert session.undo.count() == 2   # unlinking is its own step

    session.undo.undo()
    assert definition.nodes["conv2"].params["stride"] == "$stride" and row.is_linked
    session.undo.undo()
    assert definition.nodes["conv2"].params["stride"] == [1, 1] and not row.is_linked
    wait_checked(qtbot, session)
    assert not session.result.errors


def test_unlinking_puts_back_the_declared_default(resnet):
    session, w = resnet
    definition = _inside(session, w, "conv1")
    w.links["out_channels"].action("unlink").trigger()
    assert definition.nodes["conv1"].params["out_channels"] == 16
    assert w.editors["out_channels"].value() == 16


def test_a_new_block_parameter_from_a_field_is_one_undo_step(resnet):
    session, w = resnet
    definition = _inside(session, w, "conv1")
    w.links["kernel_size"].action("declare").trigger()
    assert [p.name for p in definition.block_params] == ["channels", "stride", "kernel_size"]
    declared = definition.block_params[-1]
    assert (declared.kind, declared.default, declared.length, declared.min) == ("ints", [3, 3], 2, 1)
    assert definition.nodes["conv1"].params["kernel_size"] == "$kernel_size"
    assert session.undo.count() == 1
    session.undo.undo()
    assert [p.name for p in definition.block_params] == ["channels", "stride"]
    assert definition.nodes["conv1"].params["kernel_size"] == [3, 3]


# --- the Block parameters panel --------------------------------------------------------
def _panel(session, w):
    session.enter_block("BasicBlock")
    assert w.hint_text == "Select a node to edit it" and w.block_panel is not None
    return w.block_panel


def _type(edit, text: str) -> None:
    edit.setText(text)
    edit.editingFinished.emit()


def test_the_panel_shows_the_declaration_and_where_it_is_used(resnet):
    session, w = resnet
    panel = _panel(session, w)
    assert [r.name_edit.text() for r in panel.rows] == ["channels", "stride"]
    channels, stride = panel.rows
    assert channels.kind_combo.currentText() == "int" and channels.default_field.spin.value() == 16
    assert channels.min_edit.text() == "1" and channels.max_edit.text() == ""
    assert stride.max_edit.text() == "4"
    assert channels.uses_label.text() == "conv1.out_channels, conv2.out_channels, shortcut.out_channels"
    assert stride.uses_label.text() == "conv1.stride, shortcut.stride"
    w.show_node(None)   # nothing selected on the main graph: no panel
    session.enter_block(None)
    assert w.block_panel is None


def test_add_and_remove_a_parameter_with_undo_and_redo(resnet):
    session, w = resnet
    panel = _panel(session, w)
    definition = session.doc.blocks["BasicBlock"]
    panel.add_button.click()
    assert [p.name for p in definition.block_params] == ["channels", "stride", "param"]
    assert len(panel.rows) == 3 and panel.rows[2].uses_label.text().startswith("nothing yet")

    panel.rows[1].remove_button.click()      # stride: used by conv1 and the shortcut
    assert [p.name for p in definition.block_params] == ["channels", "param"]
    assert definition.nodes["conv1"].params["stride"] == [1, 1]   # its default, per axis
    assert definition.nodes["shortcut"].params["stride"] == 1
    assert all("stride" not in n.params for n in _block_nodes(session).values())
    assert session.undo.count() == 2

    session.undo.undo()
    assert [p.name for p in definition.block_params] == ["channels", "stride", "param"]
    assert definition.nodes["conv1"].params["stride"] == "$stride"
    assert _block_nodes(session)["layer2_1"].params["stride"] == 2
    session.undo.undo()
    assert [p.name for p in definition.block_params] == ["channels", "stride"]
    session.undo.redo()
    session.undo.redo()
    assert [p.name for p in definition.block_params] == ["channels", "param"]
    assert definition.nodes["shortcut"].params["stride"] == 1


def test_renaming_rewrites_the_references_and_the_block_nodes_values(qtbot, resnet):
    session, w = resnet
    panel = _panel(session, w)
    definition = session.doc.blocks["BasicBlock"]
    before = {k: dict(n.params) for k, n in _block_nodes(session).items()}
    _type(panel.rows[0].name_edit, "width")
    assert [p.name for p in definition.block_params] == ["width", "stride"]
    for node_id in ("conv1", "conv2", "shortcut"):
        assert definition.nodes[node_id].params["out_channels"] == "$width"
    uses = _block_nodes(session)
    assert uses["layer2_1"].params == {"block": "BasicBlock", "repeat": 1, "width": 32, "stride": 2}
    assert list(uses["layer2_1"].params) == ["block", "repeat", "width", "stride"]
    assert session.undo.count() == 1
    assert session.undo.undoText() == "Rename block parameter channels to width"
    assert panel.rows[0].title() == "$width"
    wait_checked(qtbot, session)
    assert not session.result.diagnostics

    session.undo.undo()
    assert [p.name for p in definition.block_params] == ["channels", "stride"]
    assert definition.nodes["conv2"].params["out_channels"] == "$channels"
    assert {k: dict(n.params) for k, n in _block_nodes(session).items()} == before
    assert panel.rows[0].name_edit.text() == "channels"
    session.undo.redo()
    assert definition.nodes["shortcut"].params["out_channels"] == "$width"


def test_refused_names_are_explained_and_not_pushed(resnet):
    session, w = resnet
    panel = _panel(session, w)
    _type(panel.rows[0].name_edit, "stride")
    assert "already has a parameter 'stride'" in panel.message.text()
    _type(panel.rows[0].name_edit, "repeat")
    assert "the Block node's own parameter" in panel.message.text()
    _type(panel.rows[0].name_edit, "2nd")
    assert "must be a Python name" in panel.message.text()
    assert session.undo.count() == 0 and panel.message.isVisibleTo(w)
    _type(panel.rows[0].name_edit, "width")
    assert not panel.message.isVisibleTo(w) and session.undo.count() == 1


def test_default_bounds_kind_and_doc_are_undoable_edits(resnet):
    session, w = resnet
    panel = _panel(session, w)
    definition = session.doc.blocks["BasicBlock"]
    spin = panel.rows[0].default_field.spin
    spin.setValue(17)
    spin.setValue(18)   # stepping a spin box is one step
    assert definition.block_params[0].default == 18 and session.undo.count() == 1
    assert panel.rows[0].default_field.spin is spin   # updated in place: focus stays

    _type(panel.rows[0].min_edit, "abc")
    assert "min must be a whole number or empty, not 'abc'" in panel.message.text()
    _type(panel.rows[0].min_edit, "20")
    assert "default: channels must be at least 20, got 18" in panel.message.text()
    assert session.undo.count() == 1
    _type(panel.rows[0].max_edit, "64")
    assert definition.block_params[0].max == 64 and session.undo.count() == 2

    _type(panel.rows[0].doc_edit, "Output channels.")
    assert definition.block_params[0].doc == "Output channels."

    panel.rows[1].kind_combo.setCurrentText("float")
    stride = definition.block_params[1]
    assert (stride.kind, stride.default, stride.min, stride.max) == ("float", 1.0, 1, 4)
    assert panel.rows[1].kind_combo.currentText() == "float"
    assert session.undo.count() == 4   # default, max, doc, kind
    for _ in range(3):
        session.undo.undo()
    assert definition.block_params[0].default == 18 and definition.block_params[0].max is None
    session.undo.undo()
    assert definition.block_params == load_file(
        TEMPLATES_DIR / "resnet18_small.json").blocks["BasicBlock"].block_params


def test_rename_and_removal_reach_list_elements_and_nested_uses():
    """A reference as one element of a list, and a Block node inside another block."""
    from graph.document import Document
    from graph.model import Graph
    from gui.block_param_edits import plan
    doc = Document()
    inner = doc.add_block("Conv", Graph())
    inner.set_block_params((ParamSpec("k", "int", 3, "", min=1),))
    conv = inner.add_node("Conv2d", {"out_channels": 4, "kernel_size": ["$k", 1]})
    outer = doc.add_block("Stage", Graph())
    use = outer.add_node("Block", {"block": "Conv", "k": 5})
    renamed = plan(doc, "Conv", (ParamSpec("size", "int", 3, "", min=1),), {"k": "size"})
    assert renamed.inner == [(conv.id, {"kernel_size": ["$k", 1]}, {"kernel_size": ["$size", 1]})]
    ((graph, before, after),) = renamed.uses
    assert graph is outer and before.params == {"block": "Conv", "repeat": 1, "k": 5}
    assert after.params == {"block": "Conv", "repeat": 1, "size": 5}
    removed = plan(doc, "Conv", ())
    assert removed.inner == [(conv.id, {"kernel_size": ["$k", 1]}, {"kernel_size": [3, 1]})]
    assert removed.uses[0][2].params == {"block": "Conv", "repeat": 1} and use.params["k"] == 5
