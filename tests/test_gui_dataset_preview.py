"""The dataset preview: a training block's data, a few samples with their labels, loaded off
the GUI thread; a dataset that cannot be loaded is a red message, never an exception."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from gui import background
from gui.insights import dataset_samples
from gui.insights.dataset_preview import DatasetPreview

# The first load starts the helper process (spawn, import torch, at a lower priority):
# 2.0–2.7 s on a 2-core machine, 58 s with both cores kept busy (it timed out at 20 s).
# The limit is for a hang.
LOAD_TIMEOUT_MS = 600_000


@pytest.fixture
def preview(qtbot):
    widget = DatasetPreview()
    qtbot.addWidget(widget)
    widget.resize(620, 320)
    return widget


def show(qtbot, preview, training, base_dir=None):
    with qtbot.waitSignal(preview.loaded, timeout=LOAD_TIMEOUT_MS):
        preview.show_dataset(training, base_dir)


def tile_pixmaps(preview):
    return [label.pixmap() for tile in preview._tiles() for label in tile.findChildren(QLabel)
            if not label.pixmap().isNull()]


def test_digits_show_twelve_labelled_samples_of_every_class(qtbot, preview):
    show(qtbot, preview, {"dataset": {"name": "digits"}, "seed": 0})
    assert preview.error_text() == ""
    assert preview.samples_shown() == 12
    labels = preview.labels()
    assert labels[:10] == [str(d) for d in range(10)]   # one of each class first
    assert set(labels) <= {str(d) for d in range(10)}
    caption = preview.caption()
    assert caption.startswith("digits: 1797 samples (1438 train, 359 val)")
    assert "sample 1×8×8 float32" in caption and "10 classes: 0, 1, 2" in caption
    pixmaps = tile_pixmaps(preview)
    assert len(pixmaps) == 12
    assert (pixmaps[0].width(), pixmaps[0].height()) == (64, 64)   # 8×8 blown up 8 times
    assert not preview.showing_scatter()


def test_feature_vectors_are_a_scatter_coloured_by_class(qtbot, preview):
    show(qtbot, preview, {"dataset": "spirals"})
    assert preview.showing_scatter()
    assert preview.samples_shown() == 2000       # capped: 2400 training points
    legend = preview.scatter.getPlotItem().legend
    assert [label.text for _, label in legend.items] == ["arm 0", "arm 1", "arm 2"]
    assert "3 classes: arm 0, arm 1, arm 2" in preview.caption()
    # Showing images again afterwards empties the scatter.
    show(qtbot, preview, {"dataset": {"name": "shapes", "samples": 300}})
    assert not preview.showing_scatter() and preview.samples_shown() == 12
    assert preview.labels()[:6] == ["circle", "ring", "square", "triangle", "cross", "star"]
    assert preview.scatter.getPlotItem().listDataItems() == []


def test_sequences_and_regression_targets(qtbot, preview, tmp_path):
    show(qtbot, preview, {"dataset": {"name": "waveforms", "samples": 200}})
    assert preview.samples_shown() == 12
    assert preview.labels()[:4] == ["sine", "square", "triangle", "sawtooth"]
    assert len(tile_pixmaps(preview)) == 12      # a line drawing per sample

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "rgb.npz", x=rng.integers(0, 255, (20, 8, 8, 3), dtype=np.uint8),
             y=np.linspace(0.0, 1.9, 20))
    show(qtbot, preview, {"dataset": {"path": "rgb.npz", "val_split": 0.0}}, tmp_path)
    assert preview.error_text() == ""
    assert preview.labels()[:3] == ["0", "0.1", "0.2"]   # regression: the number itself
    assert "sample 3×8×8 float32 · regression" in preview.caption()


def test_a_missing_file_is_a_red_message_naming_the_path(qtbot, preview, tmp_path):
    show(qtbot, preview, {"dataset": {"path": "data/missing.csv"}}, tmp_path)
    assert "dataset path data/missing.csv does not exist" in preview.error_text()
    assert str(tmp_path / "data") in preview.error_text()
    assert "e5484d" in preview._error.styleSheet()
    assert preview.samples_shown() == 0 and preview.caption() == "data/missing.csv: not loaded"

    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,abc,x\n7,8,y\n")
    show(qtbot, preview, {"dataset": {"path": "bad.csv"}}, tmp_path)
    assert "bad.csv" in preview.error_text() and "abc" in preview.error_text()

    # A good dataset afterwards clears the message.
    show(qtbot, preview, {"dataset": {"name": "digits"}})
    assert preview.error_text() == "" and preview.samples_shown() == 12


def test_an_unexpected_failure_is_shown_too(qtbot, preview, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(dataset_samples, "prepare_preview", broken)
    assert dataset_samples.prepare_or_error({"dataset": "digits"}, None, 12) == \
        (None, "could not load the dataset: ValueError: boom")

    def dead(*_args):   # the helper process died under the job
        future = Future()
        future.set_exception(BrokenProcessPool("the helper process died"))
        return future

    monkeypatch.setattr(background, "submit", dead)
    show(qtbot, preview, {"dataset": "digits"})
    assert preview.error_text() == "could not load the dataset: the helper process died"


def test_loading_does_not_block_the_gui_thread(qtbot, preview, monkeypatch):
    # The job cannot finish until the test releases it, so whatever the event loop does
    # before the release happened while the data was still loading.
    release = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)

    def held(fn, *args):
        return pool.submit(lambda: (release.wait(120), fn(*args))[1])

    monkeypatch.setattr(background, "submit", held)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    try:
        preview.show_dataset({"dataset": "digits"})   # returns with the job still held
        assert preview.is_loading() and preview.caption() == "Loading digits…"
        qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=LOAD_TIMEOUT_MS)
        assert preview.is_loading()      # the event loop ran while the data loaded
        with qtbot.waitSignal(preview.loaded, timeout=LOAD_TIMEOUT_MS):
            release.set()
    finally:
        release.set()
        timer.stop()
        pool.shutdown()
    assert not preview.is_loading() and preview.samples_shown() == 12


def test_a_newer_request_wins_over_a_slower_older_one(qtbot, preview):
    with qtbot.waitSignal(preview.loaded, timeout=LOAD_TIMEOUT_MS):
        preview.show_dataset({"dataset": {"name": "shapes", "samples": 300}})
        preview.show_dataset({"dataset": "spirals"})
    assert preview.caption().startswith("spirals:") and preview.showing_scatter()
    assert not preview.is_loading()
