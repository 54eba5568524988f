"""Autosave and crash recovery.

While a document has unsaved changes, an `Autosaver` writes its JSON every few seconds
(and at once after a burst of edits) to `<config dir>/recovery/<key>.json`:

    {"format": "nodetorch.recovery", "original_path": "/home/me/net.json" | null,
     "saved_at": "2025-01-01T12:00:00+00:00", "document": "<the graph file's text>"}

The key comes from the document's path, or from a per-document uuid while it has none.
The file goes away when the document is saved, when it is clean again (undone back to the
saved state), and when the window closes cleanly or its changes are discarded. A recovery
file that is still there at the next start means the editor did not close cleanly: the
application offers to restore it (`offer_restore`).

An autosave that fails (disk full, folder not writable) is not only logged: `failed` carries
the file and the reason to the window, which shows them until the work is `safe` again.
Temp files of writes killed halfway are removed when the folder is next read at start.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from graph.atomic_file import remove_stale_temp_files, write_atomic
from graph.loader import LoadError, loads

log = logging.getLogger(__name__)

RECOVERY_FORMAT = "nodetorch.recovery"
CONFIG_ENV = "NODETORCH_CONFIG_DIR"
DEFAULT_INTERVAL_MS = 5000
EDITS_BEFORE_WRITE = 20  # a long burst of edits is written without waiting for the timer
MAX_RECOVERY_BYTES = 64 * 2**20


def config_dir() -> Path:
    """$NODETORCH_CONFIG_DIR, else Qt's per-user application config folder."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    location = QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation)
    return Path(location) if location else Path.home() / ".config" / "NodeTorch"


def recovery_dir(config: str | os.PathLike | None = None) -> Path:
    return Path(config if config is not None else config_dir()) / "recovery"


def key_for_path(path: str | os.PathLike) -> str:
    """A stable file name for a document's recovery copy: readable stem + hash of the path."""
    full = os.path.normcase(os.path.abspath(os.fspath(path)))
    digest = hashlib.sha1(full.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(full).stem)[:40] or "graph"
    return f"{stem}-{digest}"


@dataclass(frozen=True)
class Recovery:
    """A recovery file found on disk."""
    file: Path                    # the recovery file itself
    original_path: Path | None    # where the document lives (None: it was never saved)
    saved_at: str                 # ISO time of the autosave
    document: str                 # the graph file's text
    pid: int | None = None        # the editor process that wrote it
    host: str | None = None

    @property
    def key(self) -> str:
        return self.file.stem

    @property
    def title(self) -> str:
        if self.original_path is not None:
            return self.original_path.name
        try:
            return loads(self.document).name or "Untitled"
        except Exception:   # read_recovery loaded it once; a title is not worth a crash
            return "Untitled"

    def remove(self) -> None:
        _unlink(self.file)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot remove the recovery file %s: %s", path, exc)


def read_recovery(file: Path) -> Recovery:
    """Read and check one recovery file; ValueError (with the reason) when it is unusable."""
    try:
        if file.stat().st_size > MAX_RECOVERY_BYTES:
            raise ValueError("too large")
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != RECOVERY_FORMAT:
        raise ValueError("not a NodeTorch recovery file")
    document, original, saved_at = data.get("document"), data.get("original_path"), data.get("saved_at")
    if not isinstance(document, str):
        raise ValueError("it holds no document")
    if original is not None and not isinstance(original, str):
        raise ValueError("bad original_path")
    try:
        loads(document, str(file))  # a document that cannot be opened is of no use
    except LoadError as exc:
        raise ValueError(f"the document in it cannot be read: {exc}") from None
    except Exception as exc:   # hostile content the loader does not refuse cleanly yet
        raise ValueError(f"the document in it cannot be read: {type(exc).__name__}: "
                         f"{str(exc)[:200]}") from None
    pid, host = data.get("pid"), data.get("host")
    return Recovery(file, Path(original) if original else None,
                    saved_at if isinstance(saved_at, str) else "", document,
                    pid if isinstance(pid, int) else None, host if isinstance(host, str) else None)


def _owner_running(recovery: Recovery) -> bool:
    """Another editor that is still running owns this file (it is live autosave, not a
    crash's leftover). Only checked on POSIX, for a process on this machine."""
    pid = recovery.pid
    if pid is None or pid == os.getpid() or os.name != "posix" or recovery.host != _host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _host() -> str:
    import socket
    return socket.gethostname()


def find_recoveries(config: str | os.PathLike | None = None,
                    include_running: bool = False) -> list[Recovery]:
    """The usable recovery files, most recent first. Corrupt ones are skipped with a
    warning in the log (and left where they are, for a person to look at); so are those of
    another editor process still running (unless include_running)."""
    folder = recovery_dir(config)
    if not folder.is_dir():
        return []
    # At start: autosaves killed between write and rename left these (whose writer is gone).
    for stale in remove_stale_temp_files(folder):
        log.info("removed the temp file %s left by an editor that was killed", stale)
    found = []
    for file in folder.glob("*.json"):
        try:
            recovery = read_recovery(file)
        except ValueError as exc:
            log.warning("skipping the recovery file %s: %s", file, exc)
            continue
        if not include_running and _owner_running(recovery):
            continue
        if _already_saved(recovery):
            log.info("removing the recovery file %s: its document is saved in %s", file,
                     recovery.original_path)
            recovery.remove()
            continue
        found.append(recovery)
    found.sort(key=lambda r: (r.saved_at, _mtime(r.file)), reverse=True)
    return found


def _already_saved(recovery: Recovery) -> bool:
    """The original file holds exactly the recovered document (the editor was killed after
    saving and before removing its recovery copy): there is nothing to recover."""
    if recovery.original_path is None:
        return False
    data = recovery.document.encode("utf-8", "surrogatepass")
    try:
        if recovery.original_path.stat().st_size != len(data):
            return False
        return recovery.original_path.read_bytes() == data
    except OSError:
        return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def restore_session(recovery: Recovery):
    """An EditorSession holding the recovered document, marked modified, whose Save writes
    back to the original file."""
    from gui.session import EditorSession

    session = EditorSession(loads(recovery.document, str(recovery.file)), recovery.original_path)
    session.undo.resetClean()
    return session


def offer_restore(parent=None, config: str | os.PathLike | None = None) -> list[Recovery]:
    """Ask whether to restore the documents left by an editor that did not close cleanly.
    Returns the recoveries to restore (all of them on Yes); Discard deletes them; Cancel
    keeps them for the next start."""
    from PySide6.QtWidgets import QMessageBox

    recoveries = find_recoveries(config)
    if not recoveries:
        return []
    names = "\n".join(f"  • {r.title}   (autosaved {_when(r.saved_at)})" for r in recoveries[:10])
    more = f"\n  … and {len(recoveries) - 10} more" if len(recoveries) > 10 else ""
    answer = QMessageBox.question(
        parent, "Restore unsaved work",
        f"NodeTorch closed without saving changes to:\n{names}{more}\n\nRestore "
        f"{'it' if len(recoveries) == 1 else 'them'}? (Discard deletes the recovered copies; "
        "Cancel keeps them for next time.)",
        QMessageBox.Yes | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Yes)
    if answer == QMessageBox.Yes:
        return recoveries
    if answer == QMessageBox.Discard:
        for r in recoveries:
            r.remove()
    return []


def _when(saved_at: str) -> str:
    try:
        return datetime.fromisoformat(saved_at).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "at an unknown time"


class Autosaver(QObject):
    """Writes a session's document to its recovery file while it has unsaved changes."""

    failed = Signal(str, str)   # (recovery file, reason): the unsaved work has no copy
    safe = Signal()             # written again, or nothing left to protect (saved, clean)

    def __init__(self, session, config: str | os.PathLike | None = None,
                 interval_ms: int = DEFAULT_INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.config = Path(config) if config is not None else None
        self._untitled_key = f"untitled-{uuid.uuid4().hex[:12]}"
        self._written: Path | None = None   # the recovery file this document owns now
        self._edits = 0
        self.enabled = True
        self.timer = QTimer(self, singleShot=True, interval=interval_ms)
        self.timer.timeout.connect(self.write_now)
        session.undo.indexChanged.connect(self._changed)
        session.undo.cleanChanged.connect(self._clean_changed)

    # --- where -----------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return recovery_dir(self.config)

    @property
    def file(self) -> Path:
        """The recovery file for the document as it is now (its path may have changed)."""
        path = self.session.path
        return self.folder / f"{key_for_path(path) if path is not None else self._untitled_key}.json"

    @property
    def written(self) -> Path | None:
        return self._written

    def set_interval(self, ms: int) -> None:
        self.timer.setInterval(ms)

    # --- when ------------------------------------------------------------------------------
    def _changed(self, _index: int = 0) -> None:
        if not self.enabled:
            return
        if not self.session.modified:
            self.discard()
            return
        self._edits += 1
        if self._edits >= EDITS_BEFORE_WRITE:
            self.write_now()
        elif not self.timer.isActive():
            self.timer.start()

    def _clean_changed(self, clean: bool) -> None:
        if clean:
            self.discard()  # saved (or undone back to the saved state): nothing to recover
        else:
            self._changed()

    def write_now(self) -> Path | None:
        """Write the recovery file now (when the document has unsaved changes)."""
        self.timer.stop()
        self._edits = 0
        if not self.enabled or not self.session.modified:
            return None
        target = self.file
        path = self.session.path
        wrapper = {"format": RECOVERY_FORMAT,
                   "original_path": str(Path(path).absolute()) if path is not None else None,
                   "saved_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                   "pid": os.getpid(), "host": _host(),
                   "document": self.session.text()}
        try:
            # ASCII: a file name that is not valid Unicode still writes (and reads back)
            write_atomic(target, json.dumps(wrapper, indent=1) + "\n")
        except (OSError, ValueError) as exc:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            log.warning("cannot write the recovery file %s: %s", target, reason)
            self.failed.emit(str(target), reason)
            return None
        if self._written is not None and self._written != target:
            _unlink(self._written)  # saved under another name since: the old copy is stale
        self._written = target
        self.safe.emit()
        return target

    def discard(self) -> None:
        """Remove this document's recovery file (saved, discarded, closed cleanly)."""
        self.timer.stop()
        self._edits = 0
        if self._written is not None:
            _unlink(self._written)
        self._written = None
        self.safe.emit()

    def adopt(self, recovery: Recovery) -> None:
        """Continue a restored document's recovery file (same key, so no orphan is left)."""
        if recovery.original_path is None:
            self._untitled_key = recovery.key
        self._written = recovery.file

    def new_document(self) -> None:
        """Another document is now in the session: forget the old one's file, new key."""
        self.discard()
        self._untitled_key = f"untitled-{uuid.uuid4().hex[:12]}"

    def stop(self) -> None:
        self.timer.stop()
        self.enabled = False
