"""Files around the editor: autosave and crash recovery, recent files, templates, theme and
window state kept in the settings."""
from __future__ import annotations

import json
import logging
import shutil
import sys
import types
from collections import Counter
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox

from graph.loader import load_file
from graph.templates import find_template, list_templates
from gui.app import restore_recoveries
from gui.autosave import (RECOVERY_FORMAT, find_recoveries, offer_restore, recovery_dir,
                          restore_session)
from gui.canvas.view import MIME_NODE_TYPE
from gui.main_window import MainWindow
from gui.session import EditorSession
from gui.theme import DARK, LIGHT, current_theme, palette_for, set_theme

# A 50 ms autosave timer, then the write: up to 0.6 s on a busy 2-core machine.
AUTOSAVE_TIMEOUT_MS = 30_000


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    """Recovery files under tmp_path; the theme back to dark afterwards."""
    folder = tmp_path / "config"
    monkeypatch.setenv("NODETORCH_CONFIG_DIR", str(folder))
    yield folder
    QApplication.instance().setPalette(palette_for(set_theme("dark")))


def settings_for(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)


def make_window(qtbot, tmp_path, session=None, *, track=True, interval_ms=50) -> MainWindow:
    session = session or EditorSession(load_file(find_template("lenet5")))
    win = MainWindow(session, settings_for(tmp_path))
    if track:
        qtbot.addWidget(win)  # closed at teardown: a clean close
    win.autosave.set_interval(interval_ms)
    win.show()
    qtbot.waitExposed(win)
    return win


def saved_copy(tmp_path, name="net.json", template="lenet5") -> Path:
    path = tmp_path / name
    shutil.copy(find_template(template), path)
    return path


def drop_node(win, type_id="Dropout", point=QPoint(120, 90)) -> str:
    """Drop a node from the palette onto the canvas, as a drag would."""
    mime = QMimeData()
    mime.setData(MIME_NODE_TYPE, type_id.encode())
    before = set(win.session.graph.nodes)
    win.view.dropEvent(QDropEvent(QPointF(point), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    [added] = set(win.session.graph.nodes) - before
    return added


def recovery_files(config) -> list[Path]:
    folder = recovery_dir(config)
    return sorted(folder.glob("*.json")) if folder.exists() else []


def crash(win) -> None:
    """The process dies: no closeEvent, no save, nothing cleaned up."""
    win.hide()
    win.deleteLater()
    QApplication.sendPostedEvents(win, QEvent.DeferredDelete)


def menu_action(win, menu_title: str, text: str):
    for top in win.menuBar().actions():
        if top.text() == menu_title:
            for action in top.menu().actions():
                if action.text() == text:
                    return action
    raise LookupError(f"{menu_title} › {text}")


def background_colour(win) -> str:
    win.view.viewport().repaint()
    image = win.view.viewport().grab().toImage()
    counts = Counter(image.pixelColor(x, y).name()
                     for x in range(0, image.width(), 5) for y in range(0, image.height(), 5))
    return counts.most_common(1)[0][0]


# --- autosave -----------------------------------------------------------------------------
def test_unsaved_changes_are_autosaved_to_a_recovery_file(qtbot, tmp_path, config):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    # Nothing to recover while the document is saved, and no write pending (once the
    # events of opening it have been handled).
    QApplication.processEvents()
    assert recovery_files(config) == [] and not win.autosave.timer.isActive()
    added = drop_node(win)
    assert win.isWindowModified()
    qtbot.waitUntil(lambda: len(recovery_files(config)) == 1, timeout=AUTOSAVE_TIMEOUT_MS)
    [file] = recovery_files(config)
    data = json.loads(file.read_text(encoding="utf-8"))
    assert data["format"] == RECOVERY_FORMAT
    assert data["original_path"] == str(path)
    assert data["saved_at"]
    assert data["document"] == win.session.text()
    assert added in {n["id"] for n in json.loads(data["document"])["graph"]["nodes"]}
    assert path.read_text(encoding="utf-8") == find_template("lenet5").read_text(encoding="utf-8")
    # later edits are written too, to the same file
    win.scene.select_node("relu1")
    win.scene.delete_selected()
    qtbot.waitUntil(lambda: json.loads(file.read_text(encoding="utf-8"))["document"]
                    == win.session.text(), timeout=AUTOSAVE_TIMEOUT_MS)
    assert "relu1" not in win.session.graph.nodes and recovery_files(config) == [file]
    # undone back to the saved state: nothing to recover any more
    win.session.undo.undo()
    win.session.undo.undo()
    assert not win.session.modified and recovery_files(config) == []


def test_crash_then_restore_gives_back_the_edited_document_marked_modified(qtbot, tmp_path, config,
                                                                          monkeypatch):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path), track=False, interval_ms=60_000)
    drop_node(win, "Dropout")
    win.scene.select_node("fc3")
    win.scene.delete_selected()
    win.autosave.write_now()
    edited = win.session.text()
    crash(win)
    del win

    [recovery] = find_recoveries(config)
    assert recovery.original_path == path and recovery.document == edited
    assert restore_session(recovery).text() == edited
    asked = []

    def answer_yes(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.Yes
    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    chosen = offer_restore(None, config)
    assert [r.file for r in chosen] == [recovery.file]
    assert "NodeTorch closed without saving" in asked[0] and "net.json" in asked[0]

    # the next start: the start-up template in the window, then the recovered document in it
    start = EditorSession(load_file(find_template("lenet5")))
    win2 = make_window(qtbot, tmp_path, start)
    assert restore_recoveries(win2, chosen) == [win2]
    session = win2.session
    assert session.text() == edited
    assert session.modified and session.path == path
    assert win2.isWindowModified() and win2.windowTitle() == "net.json[*] — NodeTorch"
    assert "fc3" not in win2.scene.nodes and len(win2.scene.nodes) == len(session.graph.nodes)
    # Save writes back to the original file and the recovery copy goes
    assert win2.save()
    assert path.read_text(encoding="utf-8") == edited
    assert not session.modified and not win2.isWindowModified()
    assert recovery_files(config) == []


def test_untitled_work_is_recovered_and_keeps_one_recovery_file(qtbot, tmp_path, config, monkeypatch):
    win = make_window(qtbot, tmp_path, track=False, interval_ms=60_000)
    drop_node(win, "ReLU")
    win.autosave.write_now()
    edited = win.session.text()
    [file] = recovery_files(config)
    assert file.name.startswith("untitled-")
    assert json.loads(file.read_text(encoding="utf-8"))["original_path"] is None
    crash(win)

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    win2 = make_window(qtbot, tmp_path, interval_ms=60_000)
    restore_recoveries(win2, offer_restore(win2, config))
    assert win2.session.text() == edited and win2.session.path is None and win2.session.modified
    assert win2.windowTitle() == "LeNet-5[*] — NodeTorch"
    drop_node(win2, "Dropout", QPoint(60, 60))
    win2.autosave.write_now()
    assert recovery_files(config) == [file]  # the same file goes on, no orphan left behind
    assert json.loads(file.read_text(encoding="utf-8"))["document"] == win2.session.text()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert win2.close()
    assert recovery_files(config) == []


def test_declining_a_restore_discards_or_keeps_the_files(qtbot, tmp_path, config, monkeypatch):
    win = make_window(qtbot, tmp_path, track=False)
    drop_node(win)
    win.autosave.write_now()
    crash(win)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Cancel)
    assert offer_restore(None, config) == [] and len(recovery_files(config)) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert offer_restore(None, config) == [] and recovery_files(config) == []


def test_saving_and_closing_remove_the_recovery_file(qtbot, tmp_path, config, monkeypatch):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    drop_node(win)
    assert win.autosave.write_now() is not None and len(recovery_files(config)) == 1
    win.save()
    assert recovery_files(config) == [] and load_file(path).graph.nodes.keys() == \
        win.session.doc.graph.nodes.keys()

    # close → "Save?" → Cancel: still open, the recovery file stays
    drop_node(win, "ReLU", QPoint(60, 60))
    win.autosave.write_now()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Cancel)
    assert not win.close() and win.isVisible() and len(recovery_files(config)) == 1
    # → Save: saved to the file, the recovery file gone, autosave stopped
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Save)
    assert win.close()
    assert recovery_files(config) == [] and not win.autosave.timer.isActive()
    assert len(load_file(path).graph.nodes) == len(win.session.doc.graph.nodes)

    # → Discard: the file is untouched, the recovery file gone
    win2 = make_window(qtbot, tmp_path, EditorSession.open(path))
    before = path.read_text(encoding="utf-8")
    drop_node(win2, "Dropout", QPoint(200, 200))
    qtbot.waitUntil(lambda: len(recovery_files(config)) == 1, timeout=AUTOSAVE_TIMEOUT_MS)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert win2.close()
    assert recovery_files(config) == [] and path.read_text(encoding="utf-8") == before
    QApplication.processEvents()
    assert not win2.autosave.timer.isActive()   # closed: no write pending
    assert recovery_files(config) == []


def test_corrupt_recovery_files_are_skipped_with_a_warning(qtbot, tmp_path, config, caplog,
                                                          monkeypatch):
    folder = recovery_dir(config)
    folder.mkdir(parents=True)
    (folder / "garbage.json").write_bytes(b"\x00\xff{ not json")
    (folder / "other.json").write_text('{"format": "something else", "document": "{}"}')
    (folder / "nodoc.json").write_text(json.dumps({"format": RECOVERY_FORMAT, "document": 3}))
    (folder / "baddoc.json").write_text(json.dumps({"format": RECOVERY_FORMAT, "original_path": None,
                                                    "saved_at": "x", "document": "{\"graph\": 1}"}))
    (folder / "list.json").write_text("[1, 2]")
    good_text = EditorSession(load_file(find_template("mlp"))).text()
    for name, when in (("good-old", "2024-01-01T00:00:00+00:00"),
                       ("good-new", "2025-01-01T00:00:00+00:00")):
        (folder / f"{name}.json").write_text(json.dumps({
            "format": RECOVERY_FORMAT, "original_path": None, "saved_at": when,
            "document": good_text}))
    with caplog.at_level(logging.WARNING, logger="gui.autosave"):
        found = find_recoveries(config)
    assert [r.file.stem for r in found] == ["good-new", "good-old"]  # most recent first
    skipped = {Path(r.args[0]).name for r in caplog.records if "skipping" in r.getMessage()}
    assert skipped == {"garbage.json", "other.json", "nodoc.json", "baddoc.json", "list.json"}

    # restoring two: the first goes in the window, the second in a window of its own
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    win = make_window(qtbot, tmp_path)
    windows = restore_recoveries(win, offer_restore(win, config))
    assert len(windows) == 2
    for w in windows[1:]:
        qtbot.addWidget(w)
    assert all(w.session.text() == good_text and w.session.modified for w in windows)
    assert (folder / "garbage.json").exists()  # left for a person to look at


def test_the_live_autosave_of_another_running_editor_is_not_offered(tmp_path, config):
    import os
    import socket

    folder = recovery_dir(config)
    folder.mkdir(parents=True)
    text = EditorSession(load_file(find_template("mlp"))).text()
    for name, pid in (("running", os.getppid()), ("mine", os.getpid()), ("gone", 2**22 + 12345)):
        (folder / f"{name}.json").write_text(json.dumps({
            "format": RECOVERY_FORMAT, "original_path": None, "saved_at": "2025-01-01T00:00:00",
            "document": text, "pid": pid, "host": socket.gethostname()}))
    assert {r.key for r in find_recoveries(config)} == {"mine", "gone"}
    assert {r.key for r in find_recoveries(config, include_running=True)} == {"mine", "gone", "running"}


# --- recent files, templates --------------------------------------------------------------
def test_recent_files_follow_open_and_save_and_persist(qtbot, tmp_path, monkeypatch):
    a, b = saved_copy(tmp_path, "a.json"), saved_copy(tmp_path, "b.json", "mlp")
    win = make_window(qtbot, tmp_path)
    assert win.recent_files() == []
    win.recent_menu.aboutToShow.emit()
    assert [x.text() for x in win.recent_menu.actions() if not x.isSeparator()] == \
        ["No recent files", "&Clear Recent Files"]
    assert win.open_path(a)
    c = tmp_path / "c.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(c), ""))
    assert menu_action(win, "&File", "Save &As…").trigger() is None and c.exists()
    assert win.recent_files() == [str(c), str(a)]
    assert win.open_path(b) and win.recent_files() == [str(b), str(c), str(a)]
    win.save()  # saving b again moves nothing but keeps it first
    assert win.recent_files() == [str(b), str(c), str(a)]

    # the menu, most recent first; choosing an entry opens that file
    win.recent_menu.aboutToShow.emit()
    entries = [x for x in win.recent_menu.actions() if x.data()]
    assert [x.data() for x in entries] == [str(b), str(c), str(a)]
    assert entries[0].text().startswith("&1  b.json")
    entries[2].trigger()
    assert win.session.path == a and win.recent_files()[0] == str(a)

    # another window with the same settings sees the list; a missing file is pruned when shown
    win.settings.sync()
    c.unlink()
    win2 = MainWindow(EditorSession(), settings_for(tmp_path))
    qtbot.addWidget(win2)
    win2.recent_menu.aboutToShow.emit()
    assert [x.data() for x in win2.recent_menu.actions() if x.data()] == [str(a), str(b)]
    assert win2.recent_files() == [str(a), str(b)]

    # at most ten
    for k in range(12):
        win2.add_recent_file(saved_copy(tmp_path, f"n{k}.json"))
    assert len(win2.recent_files()) == 10 and win2.recent_files()[0] == str(tmp_path / "n11.json")
    menu_action(win2, "&File", "Open &Recent").menu().aboutToShow.emit()
    [clear] = [x for x in win2.recent_menu.actions() if x.text() == "&Clear Recent Files"]
    clear.trigger()
    assert win2.recent_files() == []


def test_open_template_makes_a_new_untitled_document(qtbot, tmp_path, config, monkeypatch):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    drop_node(win)
    win.autosave.write_now()
    mlp = next(t for t in list_templates() if t.key == "mlp")
    choice = {"accept": False}

    class FakeTemplatesDialog(QDialog):
        def exec(self):
            return QDialog.Accepted if choice["accept"] else QDialog.Rejected

        def selected_path(self):
            return mlp.path

    monkeypatch.setitem(sys.modules, "gui.templates_dialog",
                        types.SimpleNamespace(TemplatesDialog=FakeTemplatesDialog))
    action = menu_action(win, "&File", "Open &Template…")
    action.trigger()  # cancelled: nothing changes
    assert win.session.path == path and win.session.modified

    choice["accept"] = True
    action.trigger()  # "Save changes?" → Discard (the tests' default)
    assert win.session.path is None and win.session.doc.name == mlp.name
    assert win.session.text() == EditorSession(load_file(mlp.path)).text()
    assert not win.session.modified and win.windowTitle() == f"{mlp.name}[*] — NodeTorch"
    assert set(win.scene.nodes) == set(win.session.graph.nodes)
    assert recovery_files(config) == []  # the discarded changes leave no recovery behind
    assert path.read_text(encoding="utf-8") == find_template("lenet5").read_text(encoding="utf-8")
    # edits of the template are autosaved as untitled work, and Save asks for a name
    drop_node(win, "ReLU")
    [file] = [f for f in [win.autosave.write_now()] if f]
    assert file.name.startswith("untitled-")
    target = tmp_path / "mine.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert win.save() and win.session.path == target and recovery_files(config) == []


# --- theme and window state -----------------------------------------------------------------
def test_theme_switch_redraws_the_canvas_and_persists(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    win.view.fit()
    dark, light = win.theme_actions["dark"], win.theme_actions["light"]
    assert dark.isChecked() and not light.isChecked() and dark.actionGroup().isExclusive()
    assert background_colour(win) == DARK.background.name()
    light.trigger()
    assert light.isChecked() and not dark.isChecked() and current_theme() is LIGHT
    assert background_colour(win) == LIGHT.background.name()
    assert QApplication.palette().color(QApplication.palette().ColorRole.Window) == LIGHT.window
    win.close()

    set_theme("dark")  # a new start: the saved choice wins over the default
    win2 = make_window(qtbot, tmp_path)
    assert current_theme() is LIGHT and win2.theme_actions["light"].isChecked()
    assert background_colour(win2) == LIGHT.background.name()
    win2.theme_actions["dark"].trigger()
    assert background_colour(win2) == DARK.background.name()
    assert settings_for(tmp_path).value("theme") == "dark"


def test_window_geometry_and_docks_are_restored(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    win.resize(640, 480)  # within the offscreen screen: restoreGeometry keeps it on screen
    win.docks["History"].hide()
    assert win.close()
    win2 = make_window(qtbot, tmp_path)
    assert not win2.docks["History"].isVisible() and win2.docks["Inspector"].isVisible()
    assert (win2.width(), win2.height()) == (640, 480)
