"""New, pasted and duplicated nodes never land exactly on another node; Ctrl+D offsets
the copy and gives it a label of its own; Ctrl-click adds to and takes from the selection."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from graph.loader import load_file
from graph.model import Graph
from graph.templates import find_template
from gui.canvas.placement import NEAR, free_offset, unique_label
from gui.canvas.view import MIME_NODE_TYPE
from gui.main_window import MainWindow
from gui.session import EditorSession


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NODETORCH_CONFIG_DIR", str(tmp_path / "config"))
    session = EditorSession(load_file(find_template("lenet5")))
    window = MainWindow(session, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.view.resetTransform()  # zoom 1: nodes big enough to click on their titles
    yield window
    session.undo.setClean()


def click(win, node_id: str, modifiers=Qt.NoModifier) -> None:
    item = win.scene.nodes[node_id]
    win.view.centerOn(item)
    point = win.view.mapFromScene(item.mapToScene(QPointF(60, 8)))  # on the title
    QTest.mouseClick(win.view.viewport(), Qt.LeftButton, modifiers, point)


def ctrl_d(qtbot, win) -> None:
    win.view.setFocus()
    qtbot.waitUntil(lambda: win.view.hasFocus(), timeout=5000)
    QTest.keyClick(win.view, Qt.Key_D, Qt.ControlModifier)


def overlapping(graph) -> list[tuple[str, str]]:
    nodes = list(graph)
    return [(a.id, b.id) for i, a in enumerate(nodes) for b in nodes[i + 1:]
            if abs(a.position[0] - b.position[0]) < NEAR and abs(a.position[1] - b.position[1]) < NEAR]


def test_ctrl_d_offsets_the_copy_and_labels_it_anew_each_time(qtbot, win):
    graph = win.session.graph
    click(win, "conv1")
    assert win.scene.selected_node_ids() == ["conv1"]
    x, y = graph.nodes["conv1"].position
    ctrl_d(qtbot, win)
    [first] = win.scene.selected_node_ids()
    assert first != "conv1" and graph.nodes[first].label == "conv1_2"
    assert graph.nodes[first].position == (x + 40, y + 40)
    assert graph.nodes[first].params == graph.nodes["conv1"].params
    # Ctrl+D of the original again: the new copy cannot land on the first one
    click(win, "conv1")
    ctrl_d(qtbot, win)
    [second] = win.scene.selected_node_ids()
    assert graph.nodes[second].label == "conv1_3"
    assert graph.nodes[second].position == (x + 80, y + 80)
    # and Ctrl+D of a copy numbers on from the copies
    ctrl_d(qtbot, win)
    [third] = win.scene.selected_node_ids()
    assert graph.nodes[third].label == "conv1_4"
    assert overlapping(graph) == []
    # a node without a label stays unlabelled (its title is its type, as the original's)
    click(win, "relu1")
    ctrl_d(qtbot, win)
    [relu] = win.scene.selected_node_ids()
    assert graph.nodes[relu].label == "" and graph.nodes[relu].type == "ReLU"
    win.session.undo.undo()
    assert relu not in graph.nodes


def test_pasting_twice_keeps_every_copy_visible(qtbot, win):
    graph = win.session.graph
    click(win, "conv1")
    click(win, "relu1", Qt.ControlModifier)
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key_C, Qt.ControlModifier)
    QTest.keyClick(win.view, Qt.Key_V, Qt.ControlModifier)
    QTest.keyClick(win.view, Qt.Key_V, Qt.ControlModifier)
    assert len(graph) == 18
    assert overlapping(graph) == []
    labels = sorted(n.label for n in graph if n.label.startswith("conv1"))
    assert labels == ["conv1", "conv1_2", "conv1_3"]
    # the pasted pair keeps its own layout: relu1 280 px right of conv1 in every copy
    copies = [n for n in graph if n.type == "Conv2d" and n.label.startswith("conv1_")]
    for conv in copies:
        [edge] = [e for e in graph.edges if e.src == conv.id]
        relu = graph.nodes[edge.dst]
        assert relu.position[0] - conv.position[0] == 280 and relu.position[1] == conv.position[1]


def test_a_drop_onto_a_node_is_nudged_clear_of_it(win):
    graph = win.session.graph
    target = win.view.mapFromScene(QPointF(*graph.nodes["pool1"].position))
    mime = QMimeData()
    mime.setData(MIME_NODE_TYPE, b"Dropout")
    before = set(graph.nodes)
    win.view.dropEvent(QDropEvent(QPointF(target), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    [added] = set(graph.nodes) - before
    x, y = graph.nodes["pool1"].position
    assert graph.nodes[added].position == (x + 40, y + 40)
    assert overlapping(graph) == []


def test_ctrl_click_toggles_a_node_in_and_out_of_the_selection(win):
    click(win, "conv1")
    click(win, "relu1", Qt.ControlModifier)
    click(win, "pool1", Qt.ControlModifier)
    assert sorted(win.scene.selected_node_ids()) == ["conv1", "pool1", "relu1"]
    click(win, "relu1", Qt.ControlModifier)
    assert sorted(win.scene.selected_node_ids()) == ["conv1", "pool1"]
    click(win, "conv2")
    assert win.scene.selected_node_ids() == ["conv2"]


def test_unique_label_numbers_on_from_the_highest_suffix_free():
    assert unique_label("conv1", set()) == "conv1"
    assert unique_label("conv1", {"conv1"}) == "conv1_2"
    assert unique_label("conv1", {"conv1", "conv1_2", "conv1_3"}) == "conv1_4"
    assert unique_label("conv1_2", {"conv1", "conv1_2"}) == "conv1_3"
    assert unique_label("block_0", {"block_0"}) == "block_2"


def test_free_offset_moves_a_group_as_one_until_none_of_it_overlaps():
    graph = Graph()
    graph.add_node("ReLU", position=(0.0, 0.0))
    graph.add_node("ReLU", position=(40.0, 40.0))
    assert free_offset(graph, [(500.0, 0.0)]) == (0.0, 0.0)
    assert free_offset(graph, [(0.0, 0.0)]) == (80.0, 80.0)
    # a pair 40 px apart on the diagonal: one of the two hits a node until three steps
    assert free_offset(graph, [(-40.0, -40.0), (0.0, 0.0)]) == (120.0, 120.0)
