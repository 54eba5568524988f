"""The window's chrome: check boxes that show in the dark theme, one problem count in the
status bar and the Problems dock, Save As naming the document, dialogs starting in the last
folder used."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import (QApplication, QCheckBox, QFileDialog, QListWidget,
                               QListWidgetItem, QStyle, QStyleFactory, QStyleOptionButton)

from graph.loader import load_file
from graph.templates import find_template
from gui.check_indicators import CheckIndicatorStyle, install_indicator_style
from gui.commands import RemoveItems
from gui.main_window import MainWindow
from gui.session import EditorSession
from gui.theme import DARK, LIGHT, apply_to_app, palette_for, set_theme
from tests.qt_pixels import pixels
from tests.test_gui_files import drop_node, menu_action

CHECK_TIMEOUT_MS = 30_000   # the re-check runs on a timer: well under 1 s on a busy machine
NON_TEXT_CONTRAST = 3.0     # WCAG 2.1, 1.4.11: a control's boundary against what is next to it


@pytest.fixture(autouse=True)
def dark_afterwards(tmp_path, monkeypatch):
    monkeypatch.setenv("NODETORCH_CONFIG_DIR", str(tmp_path / "config"))
    yield
    QApplication.instance().setPalette(palette_for(set_theme("dark")))


def luminance(rgb) -> float:
    def channel(v):
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(float(c)) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb_at(image: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    b, g, r, _ = image[y, x]   # Format_RGB32 on a little-endian machine: B, G, R, A
    return int(r), int(g), int(b)


def indicator_rect(box: QCheckBox):
    option = QStyleOptionButton()
    option.initFrom(box)
    option.rect = box.rect()
    return box.style().subElementRect(QStyle.SE_CheckBoxIndicator, option, box)


def check_box(qtbot, checked: bool, style=None) -> QCheckBox:
    box = QCheckBox("normalise rows")
    if style is not None:
        box.setStyle(style)
    box.setChecked(checked)
    box.resize(180, 28)
    qtbot.addWidget(box)
    return box


def border_contrast(box: QCheckBox) -> float:
    """The median contrast of the indicator's top edge against the widget's background."""
    image, rect = pixels(box), indicator_rect(box)
    background = rgb_at(image, box.width() - 2, 1)
    edge = [contrast(rgb_at(image, x, rect.top()), background)
            for x in range(rect.left() + rect.width() // 4, rect.right() - rect.width() // 4)]
    return float(np.median(edge))


@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_unticked_and_ticked_check_boxes_stand_out_from_the_window(qtbot, qapp, theme, tmp_path):
    apply_to_app(qapp, theme)
    assert isinstance(qapp.style(), CheckIndicatorStyle)
    off, on = check_box(qtbot, False), check_box(qtbot, True)
    assert border_contrast(off) >= NON_TEXT_CONTRAST
    assert border_contrast(on) >= NON_TEXT_CONTRAST
    # Ticked: a filled box with a light mark in it, plainly unlike the unticked one.
    image, rect = pixels(on), indicator_rect(on)
    background = rgb_at(image, on.width() - 2, 1)
    corner_fill = rgb_at(image, rect.left() + 3, rect.top() + 3)
    assert contrast(corner_fill, background) >= NON_TEXT_CONTRAST
    inside = image[rect.top() + 2:rect.bottom() - 1, rect.left() + 2:rect.right() - 1, :3]
    mark = qapp.palette().highlightedText().color()
    near_mark = np.abs(inside.astype(int) - [mark.blue(), mark.green(), mark.red()]).max(axis=2) < 60
    assert near_mark.sum() >= 8, "no tick mark drawn in the ticked box"
    off_inside = pixels(off)[rect.top() + 2:rect.bottom() - 1, rect.left() + 2:rect.right() - 1, :3]
    assert np.abs(off_inside.astype(int) - inside.astype(int)).max() > 100
    # Looked at: the pair side by side, in this theme.
    on.grab().save(str(tmp_path / f"ticked_{theme.name}.png"))
    off.grab().save(str(tmp_path / f"unticked_{theme.name}.png"))


def test_plain_fusion_hides_the_unticked_box_in_the_dark_theme(qtbot, qapp):
    """The trap itself: without the indicator style the border is the window's colour."""
    apply_to_app(qapp, DARK)
    plain = QStyleFactory.create("Fusion")
    assert border_contrast(check_box(qtbot, False, plain)) < 1.5


@pytest.mark.parametrize("wrapped", [True, False], ids=["indicator-style", "plain-fusion"])
def test_checkable_rows_of_a_list_show_their_box_in_the_dark_theme(qtbot, qapp, wrapped):
    apply_to_app(qapp, DARK)
    watch = QListWidget()
    if not wrapped:
        watch.setStyle(QStyleFactory.create("Fusion"))
    qtbot.addWidget(watch)
    item = QListWidgetItem("conv1 (Conv2d)")
    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
    item.setCheckState(Qt.Unchecked)
    watch.addItem(item)
    watch.resize(220, 80)
    image = pixels(watch.viewport())
    row = watch.visualItemRect(item)
    base = qapp.palette().base().color()
    base_rgb = (base.red(), base.green(), base.blue())
    # The box sits left of the text: only the first 20 px of the row.
    strong = sum(contrast(rgb_at(image, x, y), base_rgb) >= NON_TEXT_CONTRAST
                 for y in range(row.top(), row.bottom() + 1) for x in range(0, 20))
    if wrapped:
        assert strong >= 30, f"only {strong} pixels of the unticked box stand out"
    else:
        assert strong < 5


def make_window(qtbot, settings_path: Path, session=None) -> MainWindow:
    session = session or EditorSession(load_file(find_template("lenet5")))
    win = MainWindow(session, QSettings(str(settings_path), QSettings.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_the_window_draws_visible_boxes_in_the_export_dialog(qtbot, tmp_path):
    from gui.export_dialog import ExportDialog

    win = make_window(qtbot, tmp_path / "s.ini")
    assert isinstance(QApplication.style(), CheckIndicatorStyle)
    win.theme_actions["light"].trigger()
    win.theme_actions["dark"].trigger()
    assert isinstance(QApplication.style(), CheckIndicatorStyle)
    assert install_indicator_style() is QApplication.style()   # wrapped once, not twice
    dialog = ExportDialog(win.session, None, win)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    boxes = dialog.findChildren(QCheckBox)
    assert len(boxes) >= 3
    for box in boxes:
        assert border_contrast(box) >= NON_TEXT_CONTRAST, box.text()
    dialog.grab().save(str(tmp_path / "export_dialog_dark.png"))


# --- one problem count ---------------------------------------------------------------------
def test_status_bar_and_problems_dock_give_the_same_count(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path / "s.ini")
    assert win.status.text() == "14 nodes · 61,706 parameters · valid"
    # Two loose ReLUs: each an error (input not connected) and a warning (reaches no Output).
    first = drop_node(win, "ReLU", QPoint(60, 60))
    drop_node(win, "ReLU", QPoint(60, 160))
    qtbot.waitUntil(lambda: win.problems.count_label.text() == "2 errors, 2 warnings",
                    timeout=CHECK_TIMEOUT_MS)
    assert win.status.text() == "16 nodes · 61,706 parameters · 2 errors, 2 warnings"
    with qtbot.waitSignal(win.session.checked, timeout=CHECK_TIMEOUT_MS):
        win.session.undo.push(RemoveItems(win.session.graph, [first], [], "Delete"))
    assert win.problems.count_label.text() == "1 error, 1 warning"
    assert win.status.text().endswith(" · 1 error, 1 warning")
    with qtbot.waitSignal(win.session.checked, timeout=CHECK_TIMEOUT_MS):
        win.session.undo.undo()
        win.session.undo.undo()
        win.session.undo.undo()
    assert win.problems.count_label.text() == "No problems"
    assert win.status.text().endswith(" · valid")


def test_status_bar_counts_warnings_of_a_valid_graph(qtbot, tmp_path):
    doc = load_file(find_template("lenet5"))
    loose = doc.graph.add_node("ReLU", position=(0.0, 400.0))
    doc.graph.connect("conv1", "out", loose.id, "x")   # fed, but feeds nothing: a warning
    win = make_window(qtbot, tmp_path / "s.ini", EditorSession(doc))
    assert win.problems.count_label.text() == "1 warning"
    assert win.status.text() == "15 nodes · 61,706 parameters · valid, 1 warning"


# --- Save As names the document; dialogs start in the last folder ---------------------------
class DialogCalls:
    """Stands in for QFileDialog's static functions: records the folder each call starts
    in and answers with the next path given."""

    def __init__(self, monkeypatch) -> None:
        self.starts: list[str] = []
        self.answers: list[Path] = []
        monkeypatch.setattr(QFileDialog, "getSaveFileName", self._answer)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", self._answer)

    def _answer(self, _parent, _caption, start="", _filter="", *a, **k):
        self.starts.append(start)
        return (str(self.answers.pop(0)), "") if self.answers else ("", "")


def test_save_as_names_an_untitled_document_from_its_file(qtbot, tmp_path, monkeypatch):
    from runtime.lower import class_name

    dialogs = DialogCalls(monkeypatch)
    win = make_window(qtbot, tmp_path / "s.ini")
    menu_action(win, "&File", "&New").trigger()
    assert win.session.doc.name == "Untitled"
    drop_node(win, "Input", QPoint(80, 80))
    target = tmp_path / "my_net.json"
    dialogs.answers.append(target)
    menu_action(win, "&File", "&Save").trigger()   # untitled: Save asks where, as Save As
    assert win.session.path == target and not win.session.modified
    assert win.session.doc.name == "my_net"
    assert json.loads(target.read_text(encoding="utf-8"))["name"] == "my_net"
    assert load_file(target).name == "my_net" and class_name(load_file(target).name) == "MyNet"
    assert win.breadcrumb.text() == "my_net" and win.windowTitle() == "my_net.json[*] — NodeTorch"
    # Named now: a copy saved elsewhere keeps the name.
    copy = tmp_path / "copy_of_it.json"
    dialogs.answers.append(copy)
    menu_action(win, "&File", "Save &As…").trigger()
    assert win.session.path == copy and load_file(copy).name == "my_net"


@pytest.mark.parametrize("name", ["", "Untitled", "  "])
def test_a_document_without_a_name_of_its_own_takes_the_file_name(qtbot, tmp_path, monkeypatch,
                                                                 name):
    dialogs = DialogCalls(monkeypatch)
    doc = load_file(find_template("lenet5"))
    doc.name = name
    win = make_window(qtbot, tmp_path / "s.ini", EditorSession(doc))
    dialogs.answers.append(tmp_path / "digits v2.json")
    assert win.save_as()
    assert load_file(tmp_path / "digits v2.json").name == "digits v2"


def test_a_named_document_keeps_its_name_on_save_as(qtbot, tmp_path, monkeypatch):
    dialogs = DialogCalls(monkeypatch)
    win = make_window(qtbot, tmp_path / "s.ini")   # the LeNet-5 template, not saved yet
    dialogs.answers.append(tmp_path / "mine.json")
    assert win.save_as()
    assert win.session.doc.name == "LeNet-5" and load_file(tmp_path / "mine.json").name == "LeNet-5"


def test_a_failed_save_leaves_the_name_as_it_was(qtbot, tmp_path, monkeypatch):
    dialogs = DialogCalls(monkeypatch)
    win = make_window(qtbot, tmp_path / "s.ini")
    menu_action(win, "&File", "&New").trigger()
    taken = tmp_path / "net.json"
    taken.mkdir()   # a folder by that name: the save fails with an OSError
    dialogs.answers.append(taken)
    assert not win.save_as()
    assert win.session.doc.name == "Untitled" and win.session.path is None


def test_open_and_save_dialogs_start_in_the_last_folder_used(qtbot, tmp_path, monkeypatch):
    dialogs = DialogCalls(monkeypatch)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(find_template("mlp"), first / "net.json")
    settings = tmp_path / "s.ini"
    win = make_window(qtbot, settings)
    open_action = menu_action(win, "&File", "&Open…")
    open_action.trigger()
    assert dialogs.starts == [""]   # nothing used yet: Qt's own default
    dialogs.answers.append(first / "net.json")
    open_action.trigger()
    assert win.session.path == first / "net.json"
    open_action.trigger()
    assert dialogs.starts[-1] == str(first)
    # Save As of an opened file proposes the file itself; the save moves the last folder.
    dialogs.answers.append(second / "other.json")
    menu_action(win, "&File", "Save &As…").trigger()
    assert dialogs.starts[-1] == str(first / "net.json")
    assert (second / "other.json").is_file()
    open_action.trigger()
    assert dialogs.starts[-1] == str(second)
    # A new document's Save proposes its name in that folder, after a restart too.
    win.settings.sync()
    win.close()
    win2 = make_window(qtbot, settings)
    menu_action(win2, "&File", "&New").trigger()
    menu_action(win2, "&File", "&Save").trigger()   # cancelled in the dialog
    assert dialogs.starts[-1] == str(second / "Untitled.json")
    # A folder that is gone is not proposed.
    shutil.rmtree(second)
    menu_action(win2, "&File", "&Open…").trigger()
    assert dialogs.starts[-1] == ""
