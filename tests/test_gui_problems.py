"""The Problems and Model summary docks, driven through a real EditorSession."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from graph.blocks import group_into_block
from graph.loader import load_file, loads
from graph.templates import find_template
from gui.commands import RemoveItems, SetParams
from gui.problems import (HINT_COL, MESSAGE_COL, NODE_COL, SEVERITY_COL, WHERE_COL,
                          ProblemsWidget, count_text)
from gui.session import EditorSession
from gui.summary_dock import NODE_COL as S_NODE
from gui.summary_dock import PARAMS_COL, SHAPE_COL, TYPE_COL, SummaryWidget
from gui.theme import current_theme

# The session re-checks the graph on a timer: up to 0.5 s on a busy 2-core machine.
CHECK_TIMEOUT_MS = 30_000


def lenet_session() -> EditorSession:
    return EditorSession(load_file(find_template("lenet5")))


def break_conv2(qtbot, session: EditorSession) -> None:
    with qtbot.waitSignal(session.checked, timeout=CHECK_TIMEOUT_MS):
        session.undo.push(SetParams(session.graph, "conv2", {"kernel_size": [30, 30]}))


def shown(qtbot, widget, width=900, height=320):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def assert_not_blank(image: QImage) -> None:
    """More than a background: many distinct colours and dark text pixels somewhere."""
    assert not image.isNull() and image.width() > 100 and image.height() > 100
    colours = set()
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            colours.add(image.pixel(x, y))
    assert len(colours) > 20, f"only {len(colours)} colours: looks blank"


# --- Problems ---------------------------------------------------------------------------------
def test_a_healthy_graph_has_no_problems(qtbot):
    session = lenet_session()
    problems = shown(qtbot, ProblemsWidget(session))
    assert problems.windowTitle() == "Problems"
    assert problems.row_count() == 0
    assert problems.count_label.text() == "No problems"


def test_shape_error_is_listed_and_activates_its_node(qtbot):
    session = lenet_session()
    problems = shown(qtbot, ProblemsWidget(session))
    break_conv2(qtbot, session)
    row = problems.row_of("conv2")
    assert row == 0
    severity, node, where, message, hint = problems.row_texts(row)
    assert severity == "Error"
    assert node == "conv2 (Conv2d)"
    assert where == "main graph"
    assert "kernel 30×30 does not fit the 14×14 input" in message
    assert "smaller kernel" in hint
    assert problems.count_label.text() == "1 error"
    item = problems.tree.topLevelItem(row)
    assert not item.icon(SEVERITY_COL).isNull()
    assert item.foreground(SEVERITY_COL).color() == current_theme().error

    # A click on the row...
    rect = problems.tree.visualItemRect(item)
    with qtbot.waitSignal(problems.node_activated, timeout=1000) as click:
        qtbot.mouseClick(problems.tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert click.args == ["conv2", None]
    assert problems.tree.currentItem() is item
    # ...and Enter on it, each emit once.
    emitted = []
    problems.node_activated.connect(lambda *args: emitted.append(args))
    problems.tree.setFocus()
    QTest.keyClick(problems.tree, Qt.Key_Return)
    assert emitted == [("conv2", None)]

    # Undo fixes it, and the list empties.
    with qtbot.waitSignal(session.checked, timeout=CHECK_TIMEOUT_MS):
        session.undo.undo()
    assert problems.row_count() == 0
    assert problems.count_label.text() == "No problems"


def test_missing_output_is_a_graph_level_row_and_errors_come_first(qtbot):
    session = lenet_session()
    problems = shown(qtbot, ProblemsWidget(session))
    with qtbot.waitSignal(session.checked, timeout=CHECK_TIMEOUT_MS):
        session.undo.push(RemoveItems(session.graph, ["output"], []))
    row = problems.row_of(None)
    assert row == 0
    severity, node, where, message, _ = problems.row_texts(row)
    assert (severity, node, where) == ("Error", "graph", "main graph")
    assert "no Output" in message
    severities = [problems.row_texts(i)[SEVERITY_COL] for i in range(problems.row_count())]
    assert severities == sorted(severities, key=lambda s: s != "Error")
    assert severities.count("Warning") == 13   # every node now leads nowhere
    assert problems.count_label.text() == "1 error, 13 warnings"
    # A graph-level row names no node: activating it emits nothing.
    emitted = []
    problems.node_activated.connect(lambda *args: emitted.append(args))
    item = problems.tree.topLevelItem(row)
    qtbot.mouseClick(problems.tree.viewport(), Qt.LeftButton,
                     pos=problems.tree.visualItemRect(item).center())
    assert emitted == []


def test_load_problems_are_listed(qtbot):
    data = json.loads(find_template("lenet5").read_text(encoding="utf-8"))
    data["graph"]["nodes"].append(dict(data["graph"]["nodes"][2]))   # relu1 a second time
    doc = loads(json.dumps(data), "twice.json")
    assert [p.code for p in doc.load_problems] == ["duplicate_id"]
    session = EditorSession(doc)
    problems = shown(qtbot, ProblemsWidget(session))
    texts = [problems.row_texts(i) for i in range(problems.row_count())]
    dup = [t for t in texts if "is used twice" in t[MESSAGE_COL]]
    assert len(dup) == 1, texts                      # listed once, though the check has it too
    assert dup[0][NODE_COL] == "relu1_2 (ReLU)"
    assert dup[0][HINT_COL] == "give every node its own id"
    item = problems.tree.topLevelItem(texts.index(dup[0]))
    assert "$.graph.nodes[14].id" in item.toolTip(MESSAGE_COL)
    # Load problems stay while the document does, even when the check leaves them out.
    session.result.diagnostics[:] = [d for d in session.result.diagnostics
                                     if d.code != "duplicate_id"]
    problems.refresh()
    assert any("is used twice" in problems.row_texts(i)[MESSAGE_COL]
               for i in range(problems.row_count()))


def test_problem_inside_a_block_names_the_block(qtbot):
    session = lenet_session()
    doc = session.doc
    group_into_block(doc, doc.graph, ["fc2", "relu4"], "Head")
    session.replace_document(doc)
    problems = shown(qtbot, ProblemsWidget(session))
    assert problems.row_count() == 0
    inner = doc.blocks["Head"]
    relu = next(n.id for n in inner if n.type == "ReLU")
    edge = inner.edges_into(relu)[0]
    with qtbot.waitSignal(session.checked, timeout=CHECK_TIMEOUT_MS):
        session.undo.push(RemoveItems(inner, [], [edge]))
    row = problems.row_of(relu, "Head")
    assert row >= 0, [problems.row_texts(i) for i in range(problems.row_count())]
    assert problems.row_texts(row)[WHERE_COL] == "block Head"
    with qtbot.waitSignal(problems.node_activated, timeout=1000) as click:
        problems.tree.setCurrentItem(problems.tree.topLevelItem(row))
        QTest.keyClick(problems.tree, Qt.Key_Enter)
    assert click.args == [relu, "Head"]


def test_count_text():
    from graph.diagnostics import Diagnostic
    d = [Diagnostic("a", "m", severity="warning"), Diagnostic("b", "m"), Diagnostic("c", "m"),
         Diagnostic("d", "m")]
    assert count_text([]) == "No problems"
    assert count_text(d) == "3 errors, 1 warning"
    assert count_text(d[:2]) == "1 error, 1 warning"


# --- Model summary ----------------------------------------------------------------------------
def test_summary_of_lenet5(qtbot):
    session = lenet_session()
    summary = shown(qtbot, SummaryWidget(session), 520, 420)
    assert summary.windowTitle() == "Model summary"
    assert summary.row_count() == 14
    conv1 = summary.item_for("conv1")
    assert conv1.text(TYPE_COL) == "Conv2d"
    assert conv1.text(SHAPE_COL) == "N×6×28×28"
    assert conv1.text(PARAMS_COL) == "156"
    assert summary.item_for("fc1").text(PARAMS_COL) == "48,120"
    assert summary.item_for("fc1").textAlignment(PARAMS_COL) & Qt.AlignRight
    assert summary.item_for("output").text(SHAPE_COL) == "N×10"
    assert summary.total_label.isVisible()
    assert summary.total_label.text() == "Total parameters: 61,706 (0.24 MB as float32)"
    assert not summary.message_label.isVisible()


def test_summary_asks_for_fixes_while_broken_and_recovers(qtbot):
    session = lenet_session()
    summary = shown(qtbot, SummaryWidget(session), 520, 420)
    break_conv2(qtbot, session)
    assert summary.message_label.isVisible()
    assert "Fix the problems to see the summary" in summary.message_label.text()
    assert not summary.total_label.isVisible()
    # The part before the break is still listed; nothing after it.
    assert [summary.tree.topLevelItem(i).text(S_NODE) for i in range(summary.row_count())] == \
        ["input", "conv1", "relu1", "pool1"]
    assert summary.item_for("conv1").text(SHAPE_COL) == "N×6×28×28"
    assert summary.item_for("fc1") is None
    with qtbot.waitSignal(session.checked, timeout=CHECK_TIMEOUT_MS):
        session.undo.undo()
    assert not summary.message_label.isVisible()
    assert summary.row_count() == 14
    assert "61,706" in summary.total_label.text()


def test_block_rows_are_indented_under_their_block(qtbot):
    session = lenet_session()
    doc = session.doc
    node = group_into_block(doc, doc.graph, ["conv2", "relu2"], "Stage")
    session.replace_document(doc)
    summary = shown(qtbot, SummaryWidget(session), 520, 480)
    block_item = summary.item_for(node.id)
    assert block_item.text(TYPE_COL) == "Block Stage"
    assert block_item.text(SHAPE_COL) == "N×16×10×10"
    assert block_item.text(PARAMS_COL) == "2,416"
    children = [block_item.child(i) for i in range(block_item.childCount())]
    conv = next(c for c in children if c.text(TYPE_COL) == "Conv2d")
    assert conv.text(PARAMS_COL) == "2,416"
    assert conv.parent() is block_item
    rect_block = summary.tree.visualItemRect(block_item)
    rect_conv = summary.tree.visualItemRect(conv)
    assert rect_conv.left() > rect_block.left()   # drawn indented
    assert "61,706" in summary.total_label.text()


# --- pictures ---------------------------------------------------------------------------------
def test_grab_pictures(qtbot):
    session = lenet_session()
    problems = shown(qtbot, ProblemsWidget(session), 980, 300)
    summary = shown(qtbot, SummaryWidget(session), 520, 440)
    summary_image = summary.grab().toImage()
    assert summary_image.save("/tmp/summary.png")
    assert_not_blank(summary_image)
    with qtbot.waitSignal(session.checked, timeout=CHECK_TIMEOUT_MS):
        session.undo.push(RemoveItems(session.graph, ["output"], []))
    break_conv2(qtbot, session)
    image = problems.grab().toImage()
    assert image.save("/tmp/problems.png")
    assert_not_blank(image)
    # An error row's severity dot is drawn in the error colour (row 1: row 0 may be the
    # current row, drawn highlighted).
    assert [problems.row_texts(i)[NODE_COL] for i in (0, 1)] == ["graph", "conv2 (Conv2d)"]
    item = problems.tree.topLevelItem(1)
    problems.tree.setCurrentItem(problems.tree.topLevelItem(0))
    image = problems.grab().toImage()
    assert problems.row_texts(1)[SEVERITY_COL] == "Error"
    rect = problems.tree.visualItemRect(item)
    top_left = problems.tree.viewport().mapTo(problems, rect.topLeft())
    dpr = image.devicePixelRatio()
    middle = int((top_left.y() + rect.height() // 2) * dpr)
    band = [QColor(image.pixel(int((top_left.x() + x) * dpr), middle)) for x in range(2, 30)]
    assert any(c.red() > 180 and c.green() < 110 for c in band), [c.name() for c in band]
