"""The editor-kill campaign's fast profile: a few real editors killed -9 while they edit,
save and autosave (scripts/campaigns/editor_kills.py runs ≥ 100). About 25 s here."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(__import__("os"), "fork"),
                                reason="forks editors and reads /proc (Linux)")


def test_killed_editors_lose_nothing_and_leave_nothing_running():
    from scripts.campaigns.editor_kills import run

    result = run(4, seed=1)
    assert result.cases == 4 and result.hangs == 0 and result.unhandled == 0, result.examples
    assert result.corrupt_files == 0 and result.lost_edits == 0, result.examples
    assert result.temp_files_left == 0 and result.children_left == 0, result.examples
    assert result.kills_with_helper >= 1   # the children check had children to check
