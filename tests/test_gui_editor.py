"""The editor driven through its real widgets: drops, port drags, undo of every command,
clipboard, blocks, files, the rendered window."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from graph.loader import load_file
from graph.templates import find_template
from gui.canvas.view import MIME_NODE_TYPE
from gui.commands import MoveNodes, SetLabel, SetParams
from gui.main_window import MainWindow
from gui.session import EditorSession

# The session re-checks the graph on a timer: up to 0.9 s on a busy 2-core machine.
CHECK_TIMEOUT_MS = 30_000


@pytest.fixture
def window(qtbot, tmp_path):
    session = EditorSession(load_file(find_template("lenet5")))
    win = MainWindow(session, QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.view.fit()
    yield win
    session.undo.setClean()  # closing must not ask


def viewport_point(win, scene_pos: QPointF) -> QPoint:
    return win.view.mapFromScene(scene_pos)


def look_at(win, *node_ids: str) -> None:
    """Zoom 1 centred on these nodes: fitted, a long graph is drawn without its ports."""
    win.view.resetTransform()
    rects = [win.scene.nodes[n].sceneBoundingRect() for n in node_ids]
    united = rects[0]
    for rect in rects[1:]:
        united = united.united(rect)
    win.view.centerOn(united.center())


def drag(win, start: QPointF, end: QPointF) -> None:
    vp = win.view.viewport()
    a, b = viewport_point(win, start), viewport_point(win, end)
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, a)
    QTest.mouseMove(vp, b)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, b)


def test_window_shows_lenet_with_shapes_and_renders(window, tmp_path):
    assert window.windowTitle() == "LeNet-5[*] — NodeTorch"
    assert window.status.text() == "14 nodes · 61,706 parameters · valid"
    assert window.scene.nodes["conv1"].shape_text.startswith("N×6×28×28")
    labels = {(e.src, e.dst): item.label for e, item in window.scene.edges.items()}
    assert labels[("conv1", "relu1")] == "N×6×28×28"
    assert labels[("flatten", "fc1")] == "N×400"
    image: QImage = window.grab().toImage()
    image.save(str(tmp_path / "editor.png"))
    image.save("/tmp/nodetorch-editor.png")
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 50  # nodes, edges, docks: far from a blank window
    conv = window.scene.nodes["conv1"]
    centre = window.view.mapFromScene(conv.mapToScene(conv.boundingRect().center()))
    pixel = window.view.viewport().grab().toImage().pixelColor(centre)
    assert pixel.name() != window.view.backgroundBrush().color().name()


def test_drop_from_palette_adds_the_node_at_the_drop_point(window):
    mime = QMimeData()
    mime.setData(MIME_NODE_TYPE, b"Dropout")
    point = QPoint(200, 150)
    event = QDropEvent(QPointF(point), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    before = set(window.session.graph.nodes)
    window.view.dropEvent(event)
    [added] = set(window.session.graph.nodes) - before
    node = window.session.graph.nodes[added]
    expected = window.view.mapToScene(point)
    assert node.type == "Dropout"
    assert node.position == pytest.approx((expected.x(), expected.y()))
    assert window.session.undo.undoText() == "Add Dropout"


def test_dragging_from_an_output_to_an_input_connects_and_labels_the_edge(window, qtbot):
    graph = window.session.graph
    window.scene.select_node("fc3")
    window.scene.delete_selected()  # frees output's input; fc3's edges go with it
    relu = window.add_node_at(("ReLU", {}), QPointF(2600, 200))
    look_at(window, "relu4", relu)
    src = window.scene.nodes["relu4"].outputs["out"].scene_center()
    dst = window.scene.nodes[relu].inputs["x"].scene_center()
    drag(window, src, dst)
    assert any(e.src == "relu4" and e.dst == relu for e in graph.edges)
    qtbot.waitUntil(lambda: window.scene.nodes[relu].shape_text.startswith("N×84"),
                    timeout=CHECK_TIMEOUT_MS)
    label = next(i.label for e, i in window.scene.edges.items() if e.dst == relu)
    assert label == "N×84"


def test_an_invalid_connection_is_refused_with_the_reason(window):
    edges = list(window.session.graph.edges)
    look_at(window, "conv1", "relu1")
    src = window.scene.nodes["relu1"].outputs["out"].scene_center()
    dst = window.scene.nodes["conv1"].inputs["x"].scene_center()
    drag(window, src, dst)
    assert window.session.graph.edges == edges
    assert window.statusBar().currentMessage() == \
        "Cannot connect: input 'x' of conv1 is already connected"


def test_moving_a_node_is_one_undoable_step(window):
    conv = window.scene.nodes["conv1"]
    start = conv.mapToScene(QPointF(60, 8))
    drag(window, start, start + QPointF(80, 40))
    node = window.session.graph.nodes["conv1"]
    assert node.position != (280.0, 0.0)
    assert window.session.undo.undoText() == "Move conv1"
    window.session.undo.undo()
    assert node.position == (280.0, 0.0)
    assert conv.pos() == QPointF(280, 0)


def every_command(win):
    """(name, action) for each kind of undo command the editor pushes."""
    session, graph = win.session, win.session.graph
    return [
        ("add", lambda: win.add_node_at(("Tanh", {}), QPointF(10, 300))),
        ("delete", lambda: (win.scene.select_node("relu2"), win.scene.delete_selected())),
        ("connect", lambda: (win.scene.select_node("relu2"), win.scene.delete_selected(),
                             win.scene.connect_ports(win.scene.nodes["conv2"].outputs["out"],
                                                     win.scene.nodes["pool2"].inputs["x"]))),
        ("params", lambda: session.undo.push(SetParams(graph, "conv2", {"out_channels": 32}))),
        ("label", lambda: session.undo.push(SetLabel(graph, "fc1", "hidden"))),
        ("move", lambda: session.undo.push(MoveNodes(graph, {"conv1": ((280.0, 0.0), (300.0, 90.0))}))),
        ("paste", lambda: (win.scene.select_node("conv1"), win.duplicate())),
        ("group", lambda: (win.scene.select_node("conv2"), win.scene.nodes["relu2"].setSelected(True),
                           win.group_selection("Stage"))),
    ]


@pytest.mark.parametrize("name", ["add", "delete", "connect", "params", "label", "move", "paste",
                                  "group"])
def test_undo_and_redo_restore_the_exact_document(window, name):
    action = dict(every_command(window))[name]
    session = window.session
    before = session.text()
    depth = session.undo.count()
    action()
    after = session.text()
    assert after != before
    while session.undo.count() > depth and session.undo.canUndo() and session.undo.index() > depth:
        session.undo.undo()
    assert session.text() == before
    while session.undo.canRedo():
        session.undo.redo()
    assert session.text() == after


def test_copy_and_paste_round_trip_through_the_clipboard(window):
    window.scene.select_node("conv1")
    window.scene.nodes["relu1"].setSelected(True)
    window.copy()
    fragment = json.loads(QApplication.clipboard().text())
    assert fragment["format"] == "nodetorch.fragment"
    assert [n["id"] for n in fragment["nodes"]] == ["conv1", "relu1"]
    pasted = window.paste()
    graph = window.session.graph
    assert len(pasted) == 2
    new_conv = next(i for i in pasted if graph.nodes[i].type == "Conv2d")
    assert graph.nodes[new_conv].params == graph.nodes["conv1"].params
    assert sum(1 for e in graph.edges if e.src in pasted and e.dst in pasted) == 1
    assert sorted(window.scene.selected_node_ids()) == sorted(pasted)


def test_group_into_a_block_enter_it_and_expand_it_back(window):
    session = window.session
    before = session.text()
    window.scene.select_node("conv2")
    window.scene.nodes["relu2"].setSelected(True)
    block_node = window.group_selection("Stage")
    assert session.doc.blocks["Stage"] and session.graph.nodes[block_node].type == "Block"
    assert session.recheck().ok
    assert window.status.text() == "13 nodes · 61,706 parameters · valid"
    window.scene.open_block(block_node)
    assert session.block == "Stage" and "Stage" in window.breadcrumb.text()
    assert {i.type for i in window.scene.nodes.values()} == {"Input", "Conv2d", "ReLU", "Output"}
    window.breadcrumb.linkActivated.emit("main")  # the breadcrumb's link leads back out
    assert session.block is None and "Stage" not in window.breadcrumb.text()
    window.scene.select_node(block_node)
    window.expand_selected_block()
    assert session.recheck().ok and "conv2" in session.graph.nodes
    session.undo.undo()
    session.undo.undo()
    assert session.text() == before


def test_save_close_and_open_give_the_same_document(window, tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    window.session.undo.push(SetLabel(window.session.graph, "fc1", "hidden"))
    assert window.isWindowModified()
    window.session.save(path)
    assert not window.isWindowModified() and window.windowTitle() == "mine.json[*] — NodeTorch"
    saved = window.session.text()
    window.new_document()
    assert len(window.session.graph) == 0
    assert window.open_path(path)
    assert window.session.text() == saved == path.read_text()


def test_closing_with_unsaved_changes_asks(window, monkeypatch):
    window.session.undo.push(SetLabel(window.session.graph, "fc1", "hidden"))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Cancel)
    window.close()
    assert asked and window.isVisible()  # cancelled: the window stays, nothing lost
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    window.close()
    assert not window.isVisible()


def test_problems_dock_selects_and_centres_the_node(window, qtbot):
    session = window.session
    session.undo.push(SetParams(session.graph, "conv2", {"kernel_size": [30, 30]}))
    qtbot.waitUntil(lambda: session.result is not None and not session.result.ok,
                    timeout=CHECK_TIMEOUT_MS)
    assert window.status.text().endswith(" · 1 error")
    assert window.scene.nodes["conv2"].problems
    window.problems.node_activated.emit("conv2", None)
    assert window.scene.selected_node_ids() == ["conv2"]


def test_arrange_lays_a_scrambled_graph_out_left_to_right(window):
    graph = window.session.graph
    for i, node_id in enumerate(list(graph.nodes)):
        graph.move_node(node_id, ((i * 7919) % 1300, (i * 104729) % 900))
    scrambled = window.session.text()
    window.arrange()
    xs = {n: graph.nodes[n].position[0] for n in graph.nodes}
    assert all(xs[e.src] < xs[e.dst] for e in graph.edges)
    assert window.session.undo.undoText() == "Arrange"
    window.session.undo.undo()
    assert window.session.text() == scrambled


@pytest.mark.parametrize("modifier", [Qt.ShiftModifier, Qt.ControlModifier])
def test_shift_or_ctrl_click_adds_to_the_selection(window, modifier):
    vp = window.view.viewport()

    def click(node_id, mods=Qt.NoModifier):
        item = window.scene.nodes[node_id]
        QTest.mouseClick(vp, Qt.LeftButton, mods, viewport_point(window, item.mapToScene(QPointF(60, 30))))

    click("conv1")
    click("relu1", modifier)
    assert sorted(window.scene.selected_node_ids()) == ["conv1", "relu1"]
    click("pool1")
    assert window.scene.selected_node_ids() == ["pool1"]


def test_a_long_graph_can_be_scrolled_to_its_far_end(window):
    graph = window.session.graph
    window.session.undo.push(MoveNodes(graph, {"output": ((3640.0, 0.0), (60000.0, 0.0))}))
    window.scene.grow_rect()
    window.focus_node("output")
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert abs(centre.x() - window.scene.nodes["output"].sceneBoundingRect().center().x()) < 50


def test_zoomed_far_out_nodes_are_drawn_as_coloured_blocks(window):
    window.view.resetTransform()
    window.view.scale(0.2, 0.2)
    window.view.centerOn(window.scene.nodes["conv1"])
    image = window.view.viewport().grab().toImage()
    # a corner of the block: its middle holds the node's title, drawn at screen size
    point = window.view.mapFromScene(window.scene.nodes["conv1"].mapToScene(QPointF(8, 4)))
    from gui.theme import category_color
    assert image.pixelColor(point).name() == category_color("Convolution").name()


def test_quick_add_places_the_node_at_the_cursor_fed_by_the_selection(window, qtbot):
    window.scene.select_node("fc3")
    node_id = window.quick_add_node("Softmax", QPointF(3000, 300))
    graph = window.session.graph
    assert graph.nodes[node_id].position == (3000.0, 300.0)
    assert any(e.src == "fc3" and e.dst == node_id for e in graph.edges)
    qtbot.waitUntil(lambda: window.scene.nodes[node_id].shape_text == "N×10",
                    timeout=CHECK_TIMEOUT_MS)
    assert window.scene.selected_node_ids() == [node_id]


def test_file_menu_opens_the_export_dialog_for_the_last_run(window, monkeypatch):
    from gui import export_dialog

    opened = []
    monkeypatch.setattr(export_dialog.ExportDialog, "exec",
                        lambda self: opened.append(self.source_label.text()) or 0)
    action = next(a for a in window.menuBar().actions()[0].menu().actions()
                  if a.text() == "&Export Model…")
    assert action.shortcut().toString() == "Ctrl+E"
    action.trigger()
    assert opened == ["initial weights (not trained)"]


def test_history_names_what_a_delete_took_as_the_canvas_shows_it(window):
    # LeNet-5's conv2 has a label; deleting it takes its two links along.
    window.scene.select_node("conv2")
    window.scene.delete_selected()
    assert window.session.undo.undoText() == "Delete conv2 and 2 links"
    window.session.undo.undo()
    window.scene.select_node("relu1")          # no label: the canvas shows its type
    window.scene.nodes["conv2"].setSelected(True)
    window.scene.delete_selected()
    assert window.session.undo.undoText() == "Delete ReLU, conv2 and 4 links"
