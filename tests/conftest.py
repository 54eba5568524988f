"""Shared test setup: the project root importable however pytest is started; Qt headless."""
from __future__ import annotations

import os
import sys
from pathlib import Path

# Editor tests run headless everywhere (CI has no display); set before Qt is imported.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Autosave and settings of windows under test go to a throwaway folder, never the user's.
if "NODETORCH_CONFIG_DIR" not in os.environ:
    import tempfile
    os.environ["NODETORCH_CONFIG_DIR"] = tempfile.mkdtemp(prefix="nodetorch-tests-")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A modal dialog would wait forever for a click on a headless machine: in tests,
    "unsaved changes?" discards and warnings are acknowledged. A test that is about a
    dialog patches it again itself."""
    if "PySide6.QtWidgets" not in sys.modules:
        yield
        return
    from PySide6.QtWidgets import QMessageBox
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.Ok)
    yield
