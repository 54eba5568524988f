"""File › Open Template…'s dialog driven through its real widgets: the list, the details
pane with counts from the real check, the rendered preview, OK/double-click, broken files."""
from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog

import graph.templates as templates
from graph.templates import find_template
from gui.templates_dialog import NAME_ROLE, TemplatesDialog
from gui.theme import category_color, current_theme


@pytest.fixture
def dialog(qtbot):
    dlg = TemplatesDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def item_named(dlg: TemplatesDialog, name: str):
    matches = [item for item in dlg.items() if item.data(NAME_ROLE) == name]
    assert len(matches) == 1, [i.text() for i in dlg.items()]
    return matches[0]


def click_item(dlg: TemplatesDialog, name: str, double: bool = False) -> None:
    item = item_named(dlg, name)
    centre = dlg.list.visualItemRect(item).center()
    QTest.mouseClick(dlg.list.viewport(), Qt.LeftButton, Qt.NoModifier, centre)
    if double:
        QTest.mouseDClick(dlg.list.viewport(), Qt.LeftButton, Qt.NoModifier, centre)


def test_lists_templates_with_descriptions_and_nothing_selected(dialog):
    assert dialog.windowTitle() == "Open Template"
    lenet, mlp = item_named(dialog, "LeNet-5"), item_named(dialog, "MLP")
    first_line, description = lenet.text().split("\n")
    assert first_line == "LeNet-5" and description.startswith("LeCun's classic convolutional")
    assert "fully connected" in mlp.text().split("\n")[1]
    assert lenet.toolTip().endswith("10 fully connected units.")  # the whole description
    # Nothing chosen yet: OK is off, there is no path, the pane invites a selection.
    assert not dialog.ok_button.isEnabled()
    assert dialog.selected_path() is None
    assert dialog.hint_label.isVisible() and dialog.preview.scene() is None


def test_selecting_lenet_shows_details_and_a_rendered_preview(dialog, qtbot):
    click_item(dialog, "LeNet-5")
    assert dialog.ok_button.isEnabled()
    assert dialog.name_label.text() == "LeNet-5"
    assert dialog.description_label.text().startswith("LeCun's classic")
    assert dialog.stats_label.text() == "14 nodes · 61,706 parameters"
    assert dialog.dataset_label.text() == "Dataset: digits"
    assert not dialog.error_label.isVisible() and not dialog.hint_label.isVisible()

    # The preview is a fitted, non-interactive picture of all 14 nodes.
    view = dialog.preview
    assert view.isVisible() and not view.isInteractive() and view.scene() is not None
    assert len(view.scene().nodes) == 14
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(view.scene().itemsBoundingRect())

    qtbot.wait(20)
    dialog.grab().toImage().save("/tmp/templates_dialog.png")
    image: QImage = view.viewport().grab().toImage()
    image.save("/tmp/templates_dialog_preview.png")
    colours = {image.pixel(x, y) for x in range(0, image.width(), 2)
               for y in range(0, image.height(), 2)}
    assert len(colours) > 8, len(colours)  # background and category-coloured node blocks
    background = current_theme().background.name()
    corner = image.pixelColor(2, 2).name()
    assert corner in (background, current_theme().grid.name())
    # The conv nodes' category colour is on screen, so nodes really were painted.
    conv = category_color("Convolution")

    def near(c, ref, tol=24):
        return all(abs(a - b) <= tol for a, b in
                   zip((c.red(), c.green(), c.blue()), (ref.red(), ref.green(), ref.blue())))
    assert any(near(image.pixelColor(x, y), conv)
               for x in range(image.width()) for y in range(image.height()))

    # A click on a node in the preview neither selects nor moves it.
    conv1 = view.scene().nodes["conv1"]
    before = conv1.pos()
    at = view.mapFromScene(conv1.mapToScene(conv1.boundingRect().center()))
    QTest.mousePress(view.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    QTest.mouseMove(view.viewport(), at + QPoint(40, 10))
    QTest.mouseRelease(view.viewport(), Qt.LeftButton, Qt.NoModifier, at + QPoint(40, 10))
    assert view.scene().selectedItems() == [] and conv1.pos() == before


def test_ok_returns_lenet_path(dialog, qtbot):
    click_item(dialog, "LeNet-5")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    assert dialog.result() == QDialog.Accepted
    assert dialog.selected_path() == find_template("lenet5")


def test_double_click_accepts_and_cancel_rejects(qtbot):
    dlg = TemplatesDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    with qtbot.waitSignal(dlg.accepted, timeout=2000):
        click_item(dlg, "LeNet-5", double=True)
    assert dlg.selected_path() == find_template("lenet5")

    other = TemplatesDialog()
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    with qtbot.waitSignal(other.rejected, timeout=2000):
        qtbot.mouseClick(other.buttons.button(other.buttons.StandardButton.Cancel), Qt.LeftButton)
    assert other.result() == QDialog.Rejected


def test_broken_templates_show_their_error_instead_of_crashing(qtbot, tmp_path, monkeypatch):
    library = tmp_path / "templates"
    library.mkdir()
    shutil.copy(find_template("lenet5"), library / "lenet5.json")
    text = find_template("mlp").read_text(encoding="utf-8")
    (library / "mlp.json").write_text(text[: len(text) // 2], encoding="utf-8")  # truncated
    broken = json.loads(text)
    broken["graph"] = 5  # parses as JSON (so list_templates lists it), but is no graph
    broken["name"] = "Not a graph"
    (library / "wrong.json").write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.setattr(templates, "TEMPLATES_DIR", library)

    dlg = TemplatesDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    names = [item.data(NAME_ROLE) for item in dlg.items()]
    assert names == ["LeNet-5", "Not a graph", "mlp"]  # the unreadable one is still listed
    assert item_named(dlg, "mlp").text() == "mlp\n(cannot be read)"

    click_item(dlg, "mlp")
    assert dlg.error_label.isVisible()
    error = dlg.error_label.text()
    assert error.startswith("This template cannot be opened:")
    assert "mlp.json" in error
    assert not dlg.ok_button.isEnabled() and dlg.selected_path() is None
    assert dlg.preview.scene() is None and not dlg.stats_label.isVisible()
    dlg.accept()  # even called directly, a broken template is not accepted
    assert dlg.result() != QDialog.Accepted and dlg.isVisible()

    click_item(dlg, "Not a graph")
    assert "cannot be opened" in dlg.error_label.text() and "wrong.json" in dlg.error_label.text()
    assert not dlg.ok_button.isEnabled()

    # The valid copy in the same folder still works.
    click_item(dlg, "LeNet-5")
    assert not dlg.error_label.isVisible()
    assert dlg.stats_label.text() == "14 nodes · 61,706 parameters"
    assert dlg.ok_button.isEnabled() and dlg.selected_path() == library / "lenet5.json"
