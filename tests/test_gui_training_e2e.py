"""The whole way through the editor: LeNet-5 opened in the main window, one short epoch of
digits trained through the real training panel and worker process, every live view fed
by it, the hover preview of a node, and the export dialog writing an ONNX file that
onnxruntime runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt

from graph.loader import load_file
from graph.templates import find_template
from gui.main_window import MainWindow
from gui.session import EditorSession

# One epoch: 11.8 s from the click on a busy 2-core machine, the whole test 41 s with both
# cores kept busy; the first preview (it starts the helper process, at a lower priority)
# 3.3 s, and 58 s with both cores kept busy. The limit is for a hang.
RUN_TIMEOUT_MS = 600_000


@pytest.fixture
def window(qtbot, tmp_path):
    doc = load_file(find_template("lenet5"))
    doc.training.update({"epochs": 1, "threads": 1})
    session = EditorSession(doc)
    win = MainWindow(session, QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    win.training.set_runs_dir(tmp_path / "runs")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.view.fit()
    yield win
    win.training.shutdown()
    session.undo.setClean()


def tile_stds(image, channels: int, h: int, w: int) -> list[float]:
    """Pixel spread of each channel tile of a feature-map grid (1-px separators)."""
    cols = int(np.ceil(np.sqrt(channels)))
    ptr = image.constBits()
    rgb = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = rgb[:, :image.width() * 3].reshape(image.height(), image.width(), 3).astype(float)
    stds = []
    for i in range(channels):
        r, c = divmod(i, cols)
        stds.append(float(rgb[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w].std()))
    return stds


def test_lenet5_trains_through_the_editor_and_exports_onnx(qtbot, window, tmp_path):
    import onnxruntime

    panel = window.training
    feature_maps = panel.insights.feature_maps
    assert feature_maps.selected_nodes() == ["conv1"]   # the first conv is watched by default
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.running and window.run_note.isVisibleTo(window)
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_TIMEOUT_MS)
    assert panel.done_event["status"] == "finished", panel.log_view.toPlainText()
    panel.insights.flush()

    # the loss curve has points; validation accuracy is far above chance (10 %)
    x, y = panel.insights.curves.raw_curve.getData()
    assert len(x) >= 10 and np.isfinite(y).all()
    accuracy = panel.epoch_events[-1]["val_accuracy"]
    # one epoch, seeds 0-5 (in-process, same settings): 0.897–0.961; chance 0.1
    assert accuracy > 0.5, accuracy

    # conv1's feature map: 6 channels of 28×28, none of them constant
    image = feature_maps.images()["conv1"]
    assert (image.width(), image.height()) == (3 * 29 - 1, 2 * 29 - 1)
    stds = tile_stds(image.convertToFormat(image.Format.Format_RGB888), 6, 28, 28)
    assert all(s > 1.0 for s in stds), stds
    assert "6×28×28" in feature_maps.caption("conv1")

    # the other views were fed by the same run
    probabilities = panel.insights.predictions.probabilities()
    assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-4
    confusion = panel.insights.confusion.matrix()
    assert confusion.shape == (10, 10) and confusion.sum() == panel.started_event["val_samples"]
    assert panel.insights.weights.heatmap() is not None
    assert window.previews.source.startswith("training · epoch 1")
    assert window.previews.preview("conv1").shape == (6, 28, 28)

    # a checkpoint exists, and the run is listed in the history
    run_dir = Path(panel.last_run_dir)
    assert (run_dir / "checkpoints" / "best").is_dir()
    # (the run list rereads the runs folder in the event loop's next turn after the run)
    # (0.07 s after the run)
    qtbot.waitUntil(lambda: [r.path for r in panel.insights.runs.runs()] == [run_dir],
                    timeout=30_000)
    assert panel.insights.runs.runs()[0].best_epoch == 1

    # hovering conv1 on the canvas shows its output
    node = window.scene.nodes["conv1"]
    window.view.hover_preview(window.view.mapFromScene(node.sceneBoundingRect().center()))
    popup = window.view.preview_popup()
    assert popup.isVisible() and popup.node_id == "conv1"
    assert not popup.image.pixmap().isNull()

    # export the trained weights to ONNX through the dialog, and run the file
    from gui.export_dialog import ExportDialog
    dialog = ExportDialog(window.session, panel.last_run_dir, window)
    qtbot.addWidget(dialog)
    dialog.checks["onnx"].setChecked(True)
    dialog.folder_edit.setText(str(tmp_path / "export"))
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.busy_label.text() == "Done.", timeout=60_000)
    onnx_file = tmp_path / "export" / "model.onnx"
    assert onnx_file in dialog.exported_files()
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = session.run(None, {name: np.random.rand(2, 1, 32, 32).astype(np.float32)})[0]
    assert out.shape == (2, 10)


def test_hover_previews_exist_before_training(qtbot, window):
    previews = window.previews
    # the first preview starts the helper process
    qtbot.waitUntil(lambda: previews.preview("conv1") is not None, timeout=RUN_TIMEOUT_MS)
    assert previews.source.startswith("initial weights · digits, validation sample 0")
    assert previews.preview("pool2").shape == (16, 5, 5)
    node = window.scene.nodes["fc1"]
    window.view.hover_preview(window.view.mapFromScene(node.sceneBoundingRect().center()))
    popup = window.view.preview_popup()
    assert popup.isVisible() and popup.node_id == "fc1"
    assert popup.title.text() == "fc1" and "N×120" in popup.shape.text()
    assert popup.caption.text().startswith("preview 120 · initial weights · digits")
    # moving off the node hides it
    window.view.hover_preview(QPoint(2, 2))
    assert not popup.isVisible()
