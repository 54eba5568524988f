"""The editor under faults it can see: an autosave that fails is shown (with the file and
the reason) until one succeeds; a file that makes loading raise anything at all gives a
message naming the file and keeps the open document; stale temp files go at start."""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

import gui.autosave
import gui.session
from graph.atomic_file import temp_name
from graph.loader import load_file
from graph.templates import find_template
from gui.app import run as run_editor
from gui.autosave import RECOVERY_FORMAT, find_recoveries, recovery_dir
from gui.main_window import MainWindow
from gui.session import EditorSession

SHOTS = os.environ.get("NODETORCH_TEST_SHOTS")   # a folder: save what the user would see


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("NODETORCH_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def warnings(monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda parent, title, text, *a, **k: shown.append((title, text)) or QMessageBox.Ok)
    return shown


def make_window(qtbot, tmp_path, session=None) -> MainWindow:
    session = session or EditorSession(load_file(find_template("lenet5")))
    win = MainWindow(session, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(win)
    win.autosave.set_interval(60_000)   # written when the test says so
    win.show()
    qtbot.waitExposed(win)
    return win


def edit(win) -> None:
    win.scene.select_node("relu1")
    win.scene.delete_selected()
    assert win.session.modified


def saved_copy(tmp_path) -> Path:
    path = tmp_path / "net.json"
    shutil.copy(find_template("lenet5"), path)
    return path


def shot(win, name: str) -> None:
    if SHOTS:
        win.grab().save(str(Path(SHOTS) / name))


# --- a failed autosave is shown ---------------------------------------------------------------
def test_a_failed_autosave_is_shown_until_one_succeeds(qtbot, tmp_path, config, monkeypatch):
    win = make_window(qtbot, tmp_path, EditorSession.open(saved_copy(tmp_path)))
    notice = win.autosave_notice
    assert not notice.isVisible()
    real_write = gui.autosave.write_atomic

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(gui.autosave, "write_atomic", disk_full)
    edit(win)
    assert win.autosave.write_now() is None
    target = str(win.autosave.file)
    assert notice.isVisible()
    assert "Autosave failed" in notice.text() and "No space left on device" in notice.text()
    assert target in notice.text() and "Ctrl+S" in notice.toolTip()
    shot(win, "autosave-failed.png")
    win.autosave.write_now()        # failing again: still shown
    assert notice.isVisible()

    monkeypatch.setattr(gui.autosave, "write_atomic", real_write)   # space freed
    assert win.autosave.write_now() == Path(target)
    assert not notice.isVisible()
    assert json.loads(Path(target).read_text(encoding="utf-8"))["document"] == win.session.text()


def test_saving_the_document_clears_the_failed_autosave_notice(qtbot, tmp_path, monkeypatch):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    monkeypatch.setattr(gui.autosave, "write_atomic",
                        lambda *_a: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system")))
    edit(win)
    win.autosave.write_now()
    assert win.autosave_notice.isVisible() and "Read-only file system" in win.autosave_notice.text()
    assert win.save()
    assert not win.autosave_notice.isVisible() and "relu1" not in load_file(path).graph.nodes


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_recovery_folder_is_reported(qtbot, tmp_path, config):
    folder = recovery_dir(config)
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        win = make_window(qtbot, tmp_path)
        edit(win)
        assert win.autosave.write_now() is None
        assert win.autosave_notice.isVisible() and "Permission denied" in win.autosave_notice.text()
    finally:
        folder.chmod(0o700)


def test_a_timer_autosave_that_fails_is_shown_too(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path)
    monkeypatch.setattr(gui.autosave, "write_atomic",
                        lambda *_a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    win.autosave.set_interval(20)
    edit(win)
    qtbot.waitUntil(win.autosave_notice.isVisible, timeout=10_000)
    assert "No space left on device" in win.autosave_notice.text()


# --- opening never raises -----------------------------------------------------------------------
@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"),
                                   TypeError("unhashable type: 'list'"), MemoryError()])
def test_a_file_that_makes_loading_raise_is_reported_and_the_document_kept(
        qtbot, tmp_path, warnings, monkeypatch, error):
    current = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(current))
    edit(win)
    before = win.session.text()
    hostile = tmp_path / "hostile.json"
    hostile.write_text("{}", encoding="utf-8")

    def raising(path):
        raise error
    monkeypatch.setattr(gui.session, "load_file", raising)
    assert win.open_path(hostile) is False
    [(title, text)] = warnings
    assert title == "Cannot open file"
    assert str(hostile) in text and type(error).__name__ in text and "unchanged" in text
    if str(error):
        assert str(error) in text
    assert win.session.text() == before and win.session.path == current and win.session.modified
    assert str(hostile) not in win.recent_files()


def test_a_file_whose_check_raises_is_reported_and_the_document_kept(qtbot, tmp_path, warnings,
                                                                      monkeypatch):
    win = make_window(qtbot, tmp_path)
    before = win.session.text()
    other = saved_copy(tmp_path)
    real_check = gui.session.check_for_recipe

    def check(doc, *args, **kwargs):
        if "conv1" in doc.graph.nodes and len(doc.graph.nodes) == len(load_file(other).graph.nodes):
            raise RecursionError("maximum recursion depth exceeded")
        return real_check(doc, *args, **kwargs)
    win.scene.select_node("relu1")
    win.scene.delete_selected()   # the open document differs from the file now
    before = win.session.text()
    monkeypatch.setattr(gui.session, "check_for_recipe", check)
    assert win.open_path(other) is False
    [(title, text)] = warnings
    assert "net.json" in text and "RecursionError" in text
    assert win.session.text() == before


def test_revert_to_a_file_that_became_unreadable_keeps_the_document(qtbot, tmp_path, warnings,
                                                                     monkeypatch):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    edit(win)
    before = win.session.text()
    monkeypatch.setattr(gui.session, "load_file",
                        lambda p: (_ for _ in ()).throw(TypeError("'list' object is not callable")))
    win.revert()
    [(title, text)] = warnings
    assert title == "Cannot revert" and str(path) in text and "TypeError" in text
    assert win.session.text() == before and win.session.modified


def test_the_reason_shown_escapes_control_characters_and_is_cut(qtbot, tmp_path, warnings,
                                                                monkeypatch):
    win = make_window(qtbot, tmp_path)
    monkeypatch.setattr(gui.session, "load_file", lambda p: (_ for _ in ()).throw(
        ValueError("id\r\nerror: spoofed\u202e" + "x" * 100_000)))
    win.open_path(tmp_path / "bad.json")
    [(_title, text)] = warnings
    assert "\r" not in text and "\u202e" not in text and "\\r\\nerror: spoofed\\u202e" in text
    assert len(text) < 1000 and " characters]…" in text  # cut in the middle, length said


def test_starting_the_editor_on_a_file_that_makes_loading_raise_exits_with_a_message(
        tmp_path, capsys, monkeypatch, qapp):
    path = saved_copy(tmp_path)
    monkeypatch.setattr(gui.session, "load_file",
                        lambda p: (_ for _ in ()).throw(RecursionError("maximum recursion depth exceeded")))
    assert run_editor([str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "RecursionError: maximum recursion depth exceeded" in err


def test_a_recovery_file_whose_document_makes_loading_raise_is_skipped(config, monkeypatch, caplog):
    folder = recovery_dir(config)
    folder.mkdir(parents=True)
    text = EditorSession(load_file(find_template("mlp"))).text()
    for name in ("hostile", "good"):
        (folder / f"{name}.json").write_text(json.dumps({
            "format": RECOVERY_FORMAT, "original_path": None, "saved_at": "2025-01-01T00:00:00",
            "document": text if name == "good" else text.replace("MLP", "HOSTILE")}))
    real_loads = gui.autosave.loads

    def loads(document, *args):
        if "HOSTILE" in document:
            raise RecursionError("maximum recursion depth exceeded")
        return real_loads(document, *args)
    monkeypatch.setattr(gui.autosave, "loads", loads)
    assert [r.key for r in find_recoveries(config)] == ["good"]
    assert any("hostile.json" in r.getMessage() and "RecursionError" in r.getMessage()
               for r in caplog.records)


# --- stale temp files of killed autosaves go at start -------------------------------------------
def test_stale_autosave_temp_files_are_removed_when_recoveries_are_looked_for(config):
    import subprocess
    import sys

    folder = recovery_dir(config)
    folder.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = folder / temp_name("net-0123.json", int(gone.stdout))
    live = folder / temp_name("net-0123.json", os.getppid())
    stranger = folder / "notes.txt"
    for p in (stale, live, stranger):
        p.write_text("x")
    assert find_recoveries(config) == []
    assert not stale.exists() and live.exists() and stranger.exists()


# --- killed between saving the file and removing the recovery copy ----------------------------
def test_a_recovery_copy_left_by_a_kill_right_after_a_save_is_not_restored_over_the_file(
        qtbot, tmp_path, config, monkeypatch):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    edit(win)
    win.autosave.write_now()               # an autosave of the first edit
    win.scene.select_node("fc3")
    win.scene.delete_selected()            # a second edit, then Save; killed before the
    monkeypatch.setattr(win.autosave, "discard", lambda: None)   # copy is removed
    assert win.save()
    saved = path.read_text(encoding="utf-8")
    [left] = sorted(recovery_dir(config).glob("*.json"))
    assert json.loads(left.read_text(encoding="utf-8"))["document"] == saved  # not the older one
    assert find_recoveries(config) == [] and not left.exists()
    assert "fc3" not in load_file(path).graph.nodes and path.read_text(encoding="utf-8") == saved


def test_a_recovery_copy_newer_than_the_file_is_still_offered(qtbot, tmp_path, config):
    path = saved_copy(tmp_path)
    win = make_window(qtbot, tmp_path, EditorSession.open(path))
    edit(win)
    written = win.autosave.write_now()
    [found] = find_recoveries(config)
    assert found.file == written and found.document == win.session.text()
