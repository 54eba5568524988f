"""File handling for the main window: New, Open, Open Recent, Open Template, Save, Save As,
Revert, the unsaved-changes question, the recent-files list and restoring recovered work.

``FileActions`` is a mixin for ``MainWindow``: it relies on the window's ``session``,
``settings``, ``autosave``, ``view``, ``_action`` and ``_refresh_title``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from graph.loader import LoadError
from graph.text import printable as safe_text
from gui.autosave import Recovery
from gui.session import UNTITLED, EditorSession

FILE_FILTER = "NodeTorch graphs (*.json);;All files (*)"
MAX_RECENT = 10
RECENT_KEY = "recent_files"
LAST_FOLDER_KEY = "last_folder"   # where the last Open or Save went: the dialogs start there
REASON_CHARS = 300
LOAD_ERROR_CHARS = 3000   # a LoadError lists every problem found, each with its place

log = logging.getLogger(__name__)


def printable(text: str, keep_newlines: bool = False, limit: int = REASON_CHARS) -> str:
    """`text` fit to show: control and bidi characters escaped (a file's content cannot fake
    lines or reorder text), about `limit` characters at most (graph.text does the work)."""
    if not keep_newlines:
        return safe_text(text, limit)
    kept = "\n".join(safe_text(line, limit) for line in text[:limit * 4].split("\n"))
    return kept if len(kept) <= limit else kept[:limit] + f"… ({len(kept) - limit:,} more characters)"


def describe_failure(exc: BaseException) -> str:
    """Why a file could not be opened: a LoadError's own message (it names the file and the
    place), else the exception's type and message."""
    if isinstance(exc, LoadError):
        return printable(str(exc), keep_newlines=True, limit=LOAD_ERROR_CHARS)
    return printable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class FileActions:
    """The File menu and the methods about documents on disk."""

    def _build_file_menu(self, bar) -> None:
        file = bar.addMenu("&File")
        self._action(file, "&New", self.new_document, QKeySequence.New)
        self._action(file, "&Open…", self.open_dialog, QKeySequence.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        self._action(file, "Open &Template…", self.open_template_dialog, "Ctrl+Shift+N")
        file.addSeparator()
        self._action(file, "&Save", self.save, QKeySequence.Save)
        self._action(file, "Save &As…", self.save_as, QKeySequence.SaveAs)
        self._action(file, "&Revert", self.revert)
        file.addSeparator()
        self._action(file, "&Export Model…", self.export_dialog, "Ctrl+E")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit)

    # --- files ----------------------------------------------------------------------------
    def new_document(self) -> None:
        if self.maybe_save():
            from graph.document import Document
            self._replace(Document(name=UNTITLED), None)

    def _replace(self, doc, path: Path | None) -> None:
        """Put another document in the session (the old one was saved or discarded)."""
        self.autosave.discard()
        self.session.replace_document(doc)
        self.session.path = path
        self.autosave.new_document()
        self._refresh_title()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", self.last_folder(), FILE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        doc = self._load(path, "Cannot open file")
        if doc is None:
            return False
        self._replace(doc, Path(path))
        self.add_recent_file(path)
        self.remember_folder(path)
        self.view.fit()
        return True

    def _load(self, path: str | Path, failure_title: str):
        """The document at `path` once the current one may go, else None (the user
        cancelled, or the file is unreadable and was reported)."""
        if not self.maybe_save():
            return None
        return self._read_document(path, failure_title)

    def _read_document(self, path: str | Path, failure_title: str):
        """The document at `path`, else None after saying why; the open one is kept."""
        try:
            return EditorSession.open(path).doc
        except LoadError as exc:
            QMessageBox.warning(self, failure_title, describe_failure(exc))
        except Exception as exc:  # noqa: BLE001 - a file, whatever it holds, must not crash us
            log.exception("opening %s failed", path)
            QMessageBox.warning(self, failure_title,
                                f"{printable(str(path))} cannot be opened: "
                                f"{describe_failure(exc)}\n\nThe document you had open is "
                                "unchanged.")
        return None

    def open_template_dialog(self) -> bool:
        from gui.templates_dialog import TemplatesDialog

        dialog = TemplatesDialog(self)
        if dialog.exec() != QDialog.Accepted:
            return False
        path = dialog.selected_path()
        return self.open_template(path) if path is not None else False

    def open_template(self, path: str | Path) -> bool:
        """A template opens as a new untitled document (Save asks where to put it)."""
        doc = self._load(path, "Cannot open template")
        if doc is None:
            return False
        self._replace(doc, None)
        self.view.fit()
        return True

    def restore(self, recovery: Recovery) -> bool:
        """Open a recovered document in this window: modified, saved back to its own file."""
        from graph.loader import loads

        try:
            doc = loads(recovery.document, str(recovery.file))
        except Exception as exc:  # noqa: BLE001 - LoadError, or content the loader chokes on
            QMessageBox.warning(self, "Cannot restore", f"{recovery.file}: {describe_failure(exc)}")
            return False
        self._replace(doc, recovery.original_path)
        self.autosave.adopt(recovery)
        self.session.undo.resetClean()  # modified: the recovered changes are not saved yet
        self._refresh_title()
        self.view.fit()
        self.statusBar().showMessage(f"Restored unsaved changes to {self.session.title}", 6000)
        return True

    def save(self) -> bool:
        if self.session.path is None:
            return self.save_as()
        return self._save_to(self.session.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save graph as", self._save_as_start(),
                                              FILE_FILTER)
        if not path:
            return False
        return self._save_to(Path(path), name_from_file=True)

    def _save_as_start(self) -> str:
        """The file the Save As dialog proposes: beside the document's own file, else in the
        last folder used (not the folder the editor was launched from)."""
        if self.session.path is not None:
            return str(self.session.path.absolute())
        name = self.session.title
        if not name.lower().endswith(".json"):
            name += ".json"
        folder = self.last_folder()
        return str(Path(folder) / name) if folder else name

    def _save_to(self, path: Path, name_from_file: bool = False) -> bool:
        # The recovery copy first holds what is being saved: killed after the save and before
        # the copy is removed, the editor leaves a copy equal to the file, which the next
        # start drops, never an older one that would be restored over the newer file.
        self.autosave.write_now()
        old_name = self.session.doc.name
        renamed = name_from_file and self.session.name_from_file(path)
        try:
            self.session.save(path)
        except OSError as exc:
            if renamed:  # not saved: the document keeps the name it had
                self.session.doc.name = old_name
            QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.autosave.discard()  # saved: the recovery copy is not needed any more
        self.add_recent_file(path)
        self.remember_folder(path)
        self._refresh_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def revert(self) -> None:
        if self.session.path is not None:
            doc = self._read_document(self.session.path, "Cannot revert")
            if doc is not None:
                self._replace(doc, self.session.path)

    # --- the last folder used -------------------------------------------------------------
    def last_folder(self) -> str:
        """The folder of the last file opened or saved, while it exists; else '' (Qt's
        dialogs then start in the current folder)."""
        value = self.settings.value(LAST_FOLDER_KEY, "")
        folder = str(value) if isinstance(value, str) else ""
        return folder if folder and Path(folder).is_dir() else ""

    def remember_folder(self, path: str | Path) -> None:
        self.settings.setValue(LAST_FOLDER_KEY, str(Path(path).absolute().parent))

    # --- recent files ---------------------------------------------------------------------
    def _stored_recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # an INI file gives back a one-item list as a string
            value = [value] if value else []
        return [str(v) for v in (value or []) if v]

    def recent_files(self) -> list[str]:
        """Most recent first; files that no longer exist are dropped (and forgotten)."""
        stored = self._stored_recent()
        existing = [p for p in stored if Path(p).is_file()]
        if existing != stored:
            self.settings.setValue(RECENT_KEY, existing)
        return existing

    def add_recent_file(self, path: str | Path) -> None:
        text = str(Path(path).absolute())
        files = [text] + [p for p in self._stored_recent() if p != text]
        self.settings.setValue(RECENT_KEY, files[:MAX_RECENT])
        self._rebuild_recent_menu()

    def clear_recent_files(self) -> None:
        self.settings.setValue(RECENT_KEY, [])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.recent_files()
        for k, path in enumerate(files, 1):
            name, folder = (str(x).replace("&", "&&") for x in (Path(path).name, Path(path).parent))
            action = menu.addAction(f"&{k % 10}  {name}   ({folder})")
            action.setData(path)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("&Clear Recent Files", self.clear_recent_files)
        clear.setEnabled(bool(files))

    def maybe_save(self) -> bool:
        """True when it is fine to drop the document (saved, or the user said so)."""
        if not self.session.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.session.title}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def export_dialog(self) -> None:
        """Export the last run's best weights (or, before any run, the initial ones)."""
        from gui.export_dialog import ExportDialog

        dialog = ExportDialog(self.session, self.training.last_run_dir, self)
        dialog.exec()
