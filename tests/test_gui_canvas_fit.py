"""Fit (F) shows every node of the graph, whatever its length, and a graph opens fitted:
at start-up, after File › Open and after Open Template, once the window has its size."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest

from graph.loader import load_file
from graph.templates import find_template
from gui.canvas.items import NODE_WIDTH
from gui.canvas.view import MIN_ZOOM
from gui.main_window import MainWindow
from gui.session import EditorSession

SIZE = (1400, 860)   # the window's default size


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("NODETORCH_CONFIG_DIR", str(tmp_path / "config"))


def make_window(qtbot, tmp_path, template="lenet5") -> MainWindow:
    session = EditorSession(load_file(find_template(template)))
    win = MainWindow(session, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(win)
    win.resize(*SIZE)
    win.show()
    qtbot.waitExposed(win)
    return win


def hidden_nodes(win) -> list[str]:
    """The nodes whose drawn rectangle is not wholly inside what the view shows."""
    view = win.view
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    return [node_id for node_id, item in win.scene.nodes.items()
            if not visible.contains(item.sceneBoundingRect())]


def zoom_in_on_the_start(win, steps=8) -> None:
    """The user wheels in over the first node: most of the graph leaves the view."""
    view = win.view
    vp = view.viewport()
    first = view.mapFromScene(win.scene.nodes["input"].sceneBoundingRect().center())
    for _ in range(steps):
        event = QWheelEvent(QPointF(first), QPointF(vp.mapToGlobal(first)), QPoint(0, 0),
                            QPoint(0, 120), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        view.wheelEvent(event)


def press_f(qtbot, win) -> None:
    win.activateWindow()
    win.view.setFocus()
    qtbot.waitUntil(lambda: win.view.hasFocus(), timeout=5000)
    QTest.keyClick(win.view, Qt.Key_F)


@pytest.mark.parametrize("template, count", [("lenet5", 14), ("vgg11", 32)])
def test_the_graph_opens_fitted_and_f_fits_it_again(qtbot, tmp_path, template, count):
    win = make_window(qtbot, tmp_path, template)
    assert len(win.scene.nodes) == count
    qtbot.waitUntil(lambda: hidden_nodes(win) == [], timeout=5000)  # opened fitted
    zoom_in_on_the_start(win)
    assert len(hidden_nodes(win)) >= count // 2  # the user really lost most of the graph
    press_f(qtbot, win)
    assert hidden_nodes(win) == []
    # and the fit fills the view: the graph is not drawn smaller than it must be
    view = win.view
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    graph_rect = win.scene.itemsBoundingRect()
    assert graph_rect.width() >= 0.8 * visible.width()


def test_open_and_open_template_show_the_new_graph_fitted(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, "mlp")
    zoom_in_on_the_start(win)
    path = tmp_path / "vgg.json"
    shutil.copy(find_template("vgg11"), path)
    assert win.open_path(path)
    qtbot.waitUntil(lambda: hidden_nodes(win) == [], timeout=5000)
    assert len(win.scene.nodes) == 32
    zoom_in_on_the_start(win)
    assert hidden_nodes(win)
    assert win.open_template(find_template("lenet5"))
    qtbot.waitUntil(lambda: hidden_nodes(win) == [], timeout=5000)
    assert len(win.scene.nodes) == 14


def test_a_fitted_view_stays_fitted_as_the_window_settles_but_not_after_a_zoom(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, "vgg11")
    qtbot.waitUntil(lambda: hidden_nodes(win) == [], timeout=5000)
    win.resize(900, 600)  # the window manager gives the window another size
    qtbot.waitUntil(lambda: win.view.viewport().width() < 700, timeout=5000)
    assert hidden_nodes(win) == []
    zoom_in_on_the_start(win, steps=2)
    zoom = win.view.zoom
    win.resize(*SIZE)
    qtbot.waitUntil(lambda: win.view.viewport().width() > 700, timeout=5000)
    assert win.view.zoom == pytest.approx(zoom)  # the user's zoom is kept


def test_wheel_zooms_in_and_back_out_to_the_fit_of_a_long_graph(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, "vgg11")
    qtbot.waitUntil(lambda: hidden_nodes(win) == [], timeout=5000)
    fitted = win.view.zoom
    assert fitted < MIN_ZOOM  # 8,680 px of graph in one row
    zoom_in_on_the_start(win, steps=3)
    assert win.view.zoom == pytest.approx(fitted * 1.15 ** 3)
    view, vp = win.view, win.view.viewport()
    centre = vp.rect().center()
    for _ in range(10):
        view.wheelEvent(QWheelEvent(QPointF(centre), QPointF(vp.mapToGlobal(centre)), QPoint(0, 0),
                                    QPoint(0, -120), Qt.NoButton, Qt.NoModifier,
                                    Qt.NoScrollPhase, False))
    assert win.view.zoom == pytest.approx(fitted, rel=0.01)  # back to the fit, no further


def test_a_fitted_lenet_still_shows_each_node_title(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, "lenet5")
    qtbot.waitUntil(lambda: hidden_nodes(win) == [], timeout=5000)
    view = win.view
    assert view.zoom < 0.4  # drawn as blocks: the full node card does not fit

    def colours_in(node_id):
        view.viewport().repaint()
        image = view.viewport().grab().toImage()
        item = win.scene.nodes[node_id]
        inner = QRectF(12, 8, NODE_WIDTH - 24, item.height - 16)  # inside the block's edge
        rect = view.mapFromScene(item.mapToScene(inner))
        box = rect.boundingRect()
        return {image.pixel(x, y) for x in range(box.left(), box.right())
                for y in range(box.top(), box.bottom())}

    # a plain block is one colour; with its title drawn in it, text pixels and their blending
    with_title = len(colours_in("conv1"))
    win.scene.nodes["conv1"].title = ""
    assert len(colours_in("conv1")) == 1
    assert with_title > 3
