"""File › Export…'s dialog driven through its real widgets: ticking formats, the folder,
the Export button, the per-format result list, a failing format, the enabled state."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

import runtime.export as export
from graph.loader import load_file
from graph.templates import find_template
from gui.export_dialog import ERROR_COLOR, ExportDialog
from gui.session import EditorSession


@pytest.fixture
def dialog(qtbot):
    session = EditorSession(load_file(find_template("lenet5")))
    dlg = ExportDialog(session, None)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def tick(qtbot, box):
    """Click the checkbox's indicator (the widget's centre can lie past its text)."""
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))


def click_export(qtbot, dlg):
    assert dlg.export_button.isEnabled()
    qtbot.mouseClick(dlg.export_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.busy_label.text() == "Done.", timeout=30000)


def test_onnx_and_graph_file(qtbot, dialog, tmp_path):
    import onnxruntime

    assert dialog.windowTitle() == "Export"
    assert dialog.source_label.text() == "initial weights (not trained)"
    tick(qtbot, dialog.checks["onnx"])
    tick(qtbot, dialog.checks["graph"])
    assert dialog.selected_formats() == ["onnx", "graph"]
    dialog.folder_edit.clear()
    qtbot.keyClicks(dialog.folder_edit, str(tmp_path))
    click_export(qtbot, dialog)

    onnx_file = tmp_path / "model.onnx"
    assert onnx_file.is_file()
    assert onnx_file in dialog.exported_files()
    sess = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [3] + [int(d) for d in inp.shape[1:]]
    out = sess.run(None, {inp.name: np.random.rand(*shape).astype(np.float32)})
    assert out[0].shape == (3, 10)

    graph_file = tmp_path / "graph.json"
    assert graph_file in dialog.exported_files()
    from gui.export_dialog import dumps
    assert dumps(load_file(graph_file)) == dialog.session.text()
    assert graph_file.read_text(encoding="utf-8") == dialog.session.text()

    texts = dialog.result_texts()
    assert len(texts) == 2
    assert any("onnxruntime matches" in t for t in texts)


def test_failing_format_is_listed_and_others_still_export(qtbot, dialog, tmp_path,
                                                          monkeypatch):
    real = export.export_model

    def fake(doc, state, fmt, out, **kw):
        if fmt == "torchscript":
            raise export.ExportError("TorchScript cannot hold this model; try ONNX")
        return real(doc, state, fmt, out, **kw)

    monkeypatch.setattr(export, "export_model", fake)
    for key in ("torchscript", "safetensors", "graph"):
        dialog.checks[key].setChecked(True)
    dialog.folder_edit.setText(str(tmp_path))
    click_export(qtbot, dialog)

    texts = dialog.result_texts()
    assert len(texts) == 3
    failed = [dialog.results.item(i) for i in range(3) if "TorchScript" in texts[i]]
    assert len(failed) == 1
    assert "TorchScript cannot hold this model; try ONNX" in failed[0].text()
    assert failed[0].foreground().color() == ERROR_COLOR
    assert not (tmp_path / "model.torchscript.pt").exists()
    assert (tmp_path / "model.safetensors").is_file()
    assert (tmp_path / "graph.json").is_file()
    assert set(dialog.exported_files()) == {tmp_path / "model.safetensors",
                                            tmp_path / "graph.json"}


def test_export_disabled_without_format_or_folder(qtbot, dialog, tmp_path):
    assert not dialog.export_button.isEnabled()
    dialog.folder_edit.setText(str(tmp_path))
    assert not dialog.export_button.isEnabled()  # no format ticked
    tick(qtbot, dialog.checks["state_dict"])
    assert dialog.checks["state_dict"].isChecked()
    assert dialog.export_button.isEnabled()
    dialog.folder_edit.clear()
    assert not dialog.export_button.isEnabled()  # empty folder
    dialog.folder_edit.setText("   ")
    assert not dialog.export_button.isEnabled()
    dialog.folder_edit.setText(str(tmp_path))
    tick(qtbot, dialog.checks["state_dict"])
    assert not dialog.export_button.isEnabled()


def test_a_gan_run_exports_the_part_chosen(qtbot, tmp_path):
    """A GAN run holds two models: the dialog offers the part, the generator first, and
    each exports with its own best checkpoint's weights."""
    from runtime.training.config import parse_config
    from runtime.training.trainer import Trainer
    from tests.test_training import gan

    doc = gan()
    cfg = parse_config({**doc.training, "epochs": 1, "threads": 1})
    result = Trainer(doc, cfg, emit=lambda e: None, runs_dir=tmp_path / "runs",
                     base_dir=tmp_path).fit()
    assert result.status == "finished", result.error
    dlg = ExportDialog(EditorSession(doc), result.run_dir)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.part_combo.isVisible() and dlg.selected_part() == "generator"
    assert "best-generator" in dlg.source_label.text()
    dlg.folder_edit.setText(str(tmp_path / "g"))
    tick(qtbot, dlg.checks["onnx"])
    click_export(qtbot, dlg)
    assert not dlg.result_texts()[0].startswith("ONNX: failed"), dlg.result_texts()
    dlg.part_combo.setCurrentText("discriminator")
    assert "best-discriminator" in dlg.source_label.text()
    dlg.folder_edit.setText(str(tmp_path / "d"))
    click_export(qtbot, dlg)
    assert not dlg.result_texts()[0].startswith("ONNX: failed"), dlg.result_texts()
    import onnx
    inputs = {part: onnx.load(str(tmp_path / part / "model.onnx")).graph.input[0]
              for part in ("g", "d")}
    dims = {p: [d.dim_value for d in i.type.tensor_type.shape.dim][1:] for p, i in inputs.items()}
    assert dims == {"g": [4], "d": [2]}   # the generator takes noise, the discriminator points


def test_a_plain_run_shows_no_part_choice(dialog):
    assert not dialog.part_combo.isVisible() and dialog.selected_part() is None
