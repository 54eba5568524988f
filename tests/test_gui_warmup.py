"""Start-up warm-up: it runs a real check on a background thread and leaves the shape
cache of the editor untouched."""
from __future__ import annotations

import gc

from gui.warmup import freeze_start_up_objects, start_background_warm_up


def test_background_warm_up_finishes_and_freeze_moves_objects_out_of_gc():
    thread = start_background_warm_up()
    thread.join(timeout=60)
    assert not thread.is_alive()
    before = gc.get_freeze_count()
    freeze_start_up_objects()
    try:
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
