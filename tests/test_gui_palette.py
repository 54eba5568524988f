"""The layer palette and the quick-add popup, driven through their real widgets."""
from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QTreeWidgetItem  # noqa: E402

from graph.catalog import CATEGORIES, SPECS  # noqa: E402
from graph.loader import load_file  # noqa: E402
from graph.model import Graph  # noqa: E402
from graph.templates import find_template  # noqa: E402
from gui.canvas.view import MIME_NODE_TYPE  # noqa: E402
from gui.palette import PaletteWidget  # noqa: E402
from gui.palette_entries import (  # noqa: E402
    BLOCKS_CATEGORY, decode_drag, encode_drag, match_specs,
)
from gui.quick_add import QuickAddPopup  # noqa: E402
from gui.session import EditorSession  # noqa: E402


@pytest.fixture
def session():
    return EditorSession(load_file(find_template("lenet5")))


@pytest.fixture
def palette(qtbot, session):
    widget = PaletteWidget(session)
    qtbot.addWidget(widget)
    widget.resize(280, 640)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shown_types(palette: PaletteWidget) -> list[str]:
    return [item.data(0, Qt.UserRole + 1) for item in palette.visible_leaves()]


def top_items(palette: PaletteWidget) -> list[QTreeWidgetItem]:
    return [palette.tree.topLevelItem(i) for i in range(palette.tree.topLevelItemCount())]


def item_of(palette: PaletteWidget, text: str) -> QTreeWidgetItem:
    return next(item for item in palette.leaves() if item.text(0) == text)


# --- palette --------------------------------------------------------------------------------
def test_every_spec_is_listed_under_its_category(palette):
    tops = top_items(palette)
    assert [t.text(0) for t in tops] == [c for c in CATEGORIES]   # no blocks in lenet5
    assert all(t.isExpanded() for t in tops)
    non_block = [s for s in SPECS.values() if s.type != "Block"]
    assert sum(t.childCount() for t in tops) == len(non_block)
    for top in tops:
        listed = [top.child(i).text(0) for i in range(top.childCount())]
        assert listed == [s.type for s in non_block if s.category == top.text(0)]
    assert "Block" not in shown_types(palette)
    assert palette.search.placeholderText() == "Search layers…"
    assert palette.search.isClearButtonEnabled()
    tip = item_of(palette, "Conv2d").toolTip(0)
    assert SPECS["Conv2d"].doc.split(":")[0] in tip
    assert "<b>out_channels</b> (8) — How many filters" in tip
    assert "<b>kernel_size</b> ([3, 3])" in tip
    assert "Inferred from the input" in tip and "<b>in_channels</b>" in tip
    assert item_of(palette, "ReLU").data(0, Qt.UserRole + 3) == SPECS["ReLU"].doc


def test_search_conv_filters_types_and_hides_empty_categories(qtbot, palette):
    qtbot.keyClicks(palette.search, "conv")
    shown = shown_types(palette)
    for t in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
              "ConvTranspose3d"):
        assert t in shown
    assert "Linear" not in shown and "ReLU" not in shown
    assert item_of(palette, "Linear").isHidden()
    assert palette.categories["Activation"].isHidden()
    assert not palette.categories["Convolution"].isHidden()
    # Clearing the search shows everything again.
    palette.search.clear()
    assert len(shown_types(palette)) == len(SPECS) - 1
    assert not any(t.isHidden() for t in top_items(palette))


def test_search_matches_doc_words_and_categories(qtbot, palette):
    qtbot.keyClicks(palette.search, "Feature Map")
    shown = shown_types(palette)
    assert "MaxPool2d" in shown and "ConvTranspose2d" in shown and "ZeroPad2d" in shown
    assert "Linear" not in shown and "LSTM" not in shown
    palette.search.clear()
    qtbot.keyClicks(palette.search, "pooling")
    assert set(shown_types(palette)) == {s.type for s in SPECS.values()
                                         if s.category == "Pooling"}


def test_enter_emits_activated_with_the_best_match(qtbot, palette):
    qtbot.keyClicks(palette.search, "relu")
    assert palette.tree.currentItem().text(0) == "ReLU"
    with qtbot.waitSignal(palette.activated) as sig:
        qtbot.keyClick(palette.search, Qt.Key_Return)
    assert sig.args == ["ReLU", {}]
    # Down moves the highlight to the next visible entry, and Enter takes that one.
    palette.search.clear()
    qtbot.keyClicks(palette.search, "conv")
    assert palette.tree.currentItem().text(0) == "Conv1d"
    qtbot.keyClick(palette.search, Qt.Key_Down)
    with qtbot.waitSignal(palette.activated) as sig:
        qtbot.keyClick(palette.search, Qt.Key_Return)
    assert sig.args == ["Conv2d", {}]


def test_double_click_emits_activated(qtbot, palette):
    item = item_of(palette, "Dropout")
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    # A real double-click is press, release, double-click (QAbstractItemView wants the press).
    qtbot.mouseClick(palette.tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert palette.tree.currentItem() is item
    got = []
    palette.activated.connect(lambda *args: got.append(args))
    qtbot.mouseDClick(palette.tree.viewport(), Qt.LeftButton, pos=rect.center())
    QApplication.processEvents()      # anything the clicks posted, handled: no second emit
    assert got == [("Dropout", {})]   # once, not once per click
    # Double-clicking a category header adds nothing.
    header = palette.categories["Regularization"]
    rect = palette.tree.visualItemRect(header)
    qtbot.mouseDClick(palette.tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert got == [("Dropout", {})]


def test_drag_mime_data_decodes_to_the_type(palette):
    item = item_of(palette, "MaxPool2d")
    data = palette.tree.mimeData([item])
    assert data.hasFormat(MIME_NODE_TYPE)
    raw = bytes(data.data(MIME_NODE_TYPE))
    assert raw == b"MaxPool2d"   # what GraphView emits as the dropped type today
    assert decode_drag(raw) == ("MaxPool2d", {})
    assert palette.tree.mimeData([palette.categories["Pooling"]]).formats() == []
    assert item.flags() & Qt.ItemIsDragEnabled
    assert not palette.categories["Pooling"].flags() & Qt.ItemIsDragEnabled


def test_encode_decode_round_trip():
    for type_id, params in [("Conv2d", {}), ("Block", {"block": "Res Unit"}),
                            ("Linear", {"out_features": 7})]:
        assert decode_drag(encode_drag(type_id, params)) == (type_id, params)
    assert encode_drag("Block", {"block": "Res"}) == b"Block:Res"
    assert decode_drag("ReLU") == ("ReLU", {})


def test_block_definitions_appear_under_blocks(qtbot, session, palette):
    assert BLOCKS_CATEGORY not in palette.categories
    inner = Graph()
    inner.add_node("Input", {"shape": [4]})
    session.doc.add_block("Stem", inner)
    session.doc.add_block("Head", Graph())
    session.state_changed.emit()
    tops = [t.text(0) for t in top_items(palette)]
    assert tops[-1] == BLOCKS_CATEGORY
    entries = palette.entries(BLOCKS_CATEGORY)
    assert [e.text(0) for e in entries] == ["Head", "Stem"]
    data = palette.tree.mimeData([entries[1]])
    assert decode_drag(bytes(data.data(MIME_NODE_TYPE))) == ("Block", {"block": "Stem"})
    # Searching finds blocks by name; Enter adds a Block node using it.
    qtbot.keyClicks(palette.search, "stem")
    assert shown_types(palette) == ["Block"]
    with qtbot.waitSignal(palette.activated) as sig:
        qtbot.keyClick(palette.search, Qt.Key_Return)
    assert sig.args == ["Block", {"block": "Stem"}]
    # Inside a block, that block is not offered (it cannot contain itself).
    session.enter_block("Stem")
    assert [e.text(0) for e in palette.entries(BLOCKS_CATEGORY)] == ["Head"]
    session.enter_block(None)
    session.doc.remove_block("Head")
    session.doc.remove_block("Stem")
    session.view_changed.emit()
    assert BLOCKS_CATEGORY not in palette.categories


def test_grouping_through_the_undo_stack_refreshes_blocks(session, palette):
    from graph.blocks import group_into_block
    from gui.commands import DocumentEdit

    graph = session.graph
    session.undo.push(DocumentEdit(
        session.doc, lambda: group_into_block(session.doc, graph, ["conv1", "relu1"], "Stem"),
        "Group into block", session.watch_block))
    assert [e.text(0) for e in palette.entries(BLOCKS_CATEGORY)] == ["Stem"]
    session.undo.undo()
    assert BLOCKS_CATEGORY not in palette.categories
    session.undo.redo()
    assert [e.text(0) for e in palette.entries(BLOCKS_CATEGORY)] == ["Stem"]
    # Leave the stack clean: session.py's cleanChanged lambda outliving the session on
    # teardown prints "Signal source has been deleted" otherwise.
    session.undo.setClean()


def test_palette_renders(qtbot, palette):
    qtbot.keyClicks(palette.search, "conv")
    qtbot.wait(20)
    image = palette.grab().toImage()
    assert palette.grab().save("/tmp/palette.png")
    colours = {image.pixel(x, y) for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3)}
    assert len(colours) > 8
    palette.search.clear()
    assert palette.grab().save("/tmp/palette_all.png")


# --- shared matching ------------------------------------------------------------------------
def test_match_specs_ranks_prefix_before_substring_before_doc():
    names = [s.type for s in match_specs("relu")]
    assert names[0] == "ReLU"
    assert names.index("LeakyReLU") < names.index("GELU") if "GELU" in names else True
    assert set(names[:3]) == {"ReLU", "LeakyReLU", "PReLU"}
    assert "SiLU" in names   # doc: "a smooth ReLU"
    conv = [s.type for s in match_specs("conv")]
    assert conv[:6] == ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                        "ConvTranspose3d"]
    assert [s.type for s in match_specs("")] == [s.type for s in SPECS.values()
                                                 if s.type != "Block"]
    assert match_specs("zzzz") == []


# --- quick add ------------------------------------------------------------------------------
@pytest.fixture
def popup(qtbot):
    widget = QuickAddPopup()
    qtbot.addWidget(widget)
    widget.open_at(QPoint(100, 100), QPointF(12.5, -40))
    qtbot.waitExposed(widget)
    return widget


def test_quick_add_enter_chooses_the_best_match(qtbot, popup):
    assert popup.isVisible() and popup.windowFlags() & Qt.Popup
    qtbot.keyClicks(popup.edit, "relu")
    assert popup.matches()[0] == "ReLU"
    with qtbot.waitSignal(popup.chosen) as sig:
        qtbot.keyClick(popup.edit, Qt.Key_Return)
    assert sig.args[0] == "ReLU" and sig.args[1] == QPointF(12.5, -40)
    assert not popup.isVisible()


def test_quick_add_down_picks_the_second_match(qtbot, popup):
    qtbot.keyClicks(popup.edit, "relu")
    second = popup.matches()[1]
    qtbot.keyClick(popup.edit, Qt.Key_Down)
    assert popup.current_type() == second
    with qtbot.waitSignal(popup.chosen) as sig:
        qtbot.keyClick(popup.edit, Qt.Key_Return)
    assert sig.args[0] == second == "LeakyReLU"


def test_quick_add_escape_closes_without_choosing(qtbot, popup):
    qtbot.keyClicks(popup.edit, "lin")
    assert popup.matches()[0] == "Linear"
    with qtbot.assertNotEmitted(popup.chosen):
        qtbot.keyClick(popup.edit, Qt.Key_Escape)
    assert not popup.isVisible()
    # Reopening starts fresh.
    popup.open_at(QPoint(10, 10), QPointF(1, 2))
    assert popup.edit.text() == "" and len(popup.matches()) == len(SPECS) - 1
