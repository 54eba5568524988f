"""File › Export…: write the model in the formats the user ticks into one folder.

Weights come from a run folder's best checkpoint (runtime.export.parts.open_export_source),
or, without a run, from the freshly initialised model ("initial weights (not trained)"). A
GAN file trains two models: a Part choice picks the generator (the default) or the
discriminator, each exported as the block it is. Each format is exported
with runtime.export.export_model, which checks what it wrote (onnxruntime, torch.jit.load,
a fresh interpreter, ...). Exports run synchronously, one after another, with the event
loop pumped between formats so the busy label repaints. A failure is listed in red next to
its format; it never raises to the user and the other formats still export.

File names inside the chosen folder:
    safetensors        model.safetensors
    state_dict         model.pt
    TorchScript        model.torchscript.pt
    ONNX               model.onnx (plus external data, if any)
    standalone .py     model_code.py + model_code.pt (its weights; named apart from the
                       state_dict's model.pt so both can be exported together)
    graph file         graph.json
"""
from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QFileDialog,
                               QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout)

import runtime.export as export
from graph.fileformat import write_atomic, dumps
from runtime.export.parts import GAN_PARTS, gan_block, open_export_source, part_document
from runtime.messages import first_line

# (key, label, file name in the folder); key is the export_model format or "graph".
FORMATS: tuple[tuple[str, str, str], ...] = (
    ("safetensors", "safetensors", "model.safetensors"),
    ("state_dict", "state_dict", "model.pt"),
    ("torchscript", "TorchScript", "model.torchscript.pt"),
    ("onnx", "ONNX", "model.onnx"),
    ("python", "standalone .py", "model_code.py"),
    ("graph", "graph file (.json)", "graph.json"),
)
ERROR_COLOR = QColor("#d9534f")


class ExportDialog(QDialog):
    def __init__(self, session, run_dir: Path | None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.session = session
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._files: list[Path] = []
        self._state: dict[str, torch.Tensor] | None = None
        self._doc = session.doc
        self._source_name = ""

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.source_label = QLabel()
        self.source_label.setWordWrap(True)
        self.source_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow("Weights:", self.source_label)
        self.part_combo = QComboBox()
        self.part_combo.addItems(list(GAN_PARTS))
        self.part_combo.setToolTip("A GAN trains two models; export one of them.")
        self.part_combo.currentIndexChanged.connect(self._load_weights)
        form.addRow("Part:", self.part_combo)
        self._is_gan = session.doc.training.get("recipe") == "gan"
        self.part_combo.setVisible(self._is_gan)
        form.labelForField(self.part_combo).setVisible(self._is_gan)
        layout.addLayout(form)

        box = QGroupBox("Formats")
        box_layout = QVBoxLayout(box)
        self.checks: dict[str, QCheckBox] = {}
        for key, label, name in FORMATS:
            check = QCheckBox(f"{label}  —  {name}")
            check.toggled.connect(self._update_enabled)
            box_layout.addWidget(check)
            self.checks[key] = check
        layout.addWidget(box)

        row = QHBoxLayout()
        row.addWidget(QLabel("Folder:"))
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("choose a folder to write into")
        self.folder_edit.textChanged.connect(self._update_enabled)
        row.addWidget(self.folder_edit, 1)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        row.addWidget(self.browse_button)
        layout.addLayout(row)

        buttons = QHBoxLayout()
        self.busy_label = QLabel("")
        buttons.addWidget(self.busy_label, 1)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.run_export)
        buttons.addWidget(self.export_button)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        self.results = QListWidget()
        self.results.setWordWrap(True)
        layout.addWidget(self.results, 1)

        self._busy = False
        self._load_weights()
        self._update_enabled()
        self.resize(620, 480)

    # --- weights ------------------------------------------------------------------------------

    def selected_part(self) -> str | None:
        return self.part_combo.currentText() if self._is_gan else None

    def _load_weights(self, *_args) -> None:
        part = self.selected_part()
        self.source_label.setStyleSheet("")
        try:
            if self.run_dir is None:
                from runtime.compile import compile_document

                doc = self.session.doc
                if part is not None:
                    doc = part_document(doc, gan_block(doc, None, part), part)
                self._state = compile_document(doc).module.state_dict()
                self._doc = doc
                what = f"the {part}'s " if part else ""
                self.source_label.setText(f"{what}initial weights (not trained)")
            else:
                source = open_export_source(self.run_dir, part)
                self._state, self._doc = source.state, source.doc
                self._source_name = source.source_name or str(source.where)
                self.source_label.setText(f"trained weights from {source.where}")
        except Exception as exc:  # CompileError, WeightsError, LoadError: shown, never raised
            self._state = None
            self.source_label.setText(f"weights unavailable: {first_line(exc)}")
            self.source_label.setStyleSheet(f"color: {ERROR_COLOR.name()}")

    # --- UI state -----------------------------------------------------------------------------

    def selected_formats(self) -> list[str]:
        return [key for key, _, _ in FORMATS if self.checks[key].isChecked()]

    def _update_enabled(self, *_args) -> None:
        ok = (not self._busy and bool(self.selected_formats())
              and bool(self.folder_edit.text().strip()))
        self.export_button.setEnabled(ok)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into folder",
                                                  self.folder_edit.text().strip())
        if folder:
            self.folder_edit.setText(folder)

    def exported_files(self) -> list[Path]:
        return list(self._files)

    # --- exporting ----------------------------------------------------------------------------

    def run_export(self) -> None:
        formats = self.selected_formats()
        text = self.folder_edit.text().strip()
        if not formats or not text:
            return
        folder = Path(text).expanduser()
        self._files = []
        self.results.clear()
        self._busy = True
        self._update_enabled()
        try:
            for key in formats:
                label = next(lbl for k, lbl, _ in FORMATS if k == key)
                self.busy_label.setText(f"Exporting {label}…")
                QApplication.processEvents()
                try:
                    files, summary = self._export_one(key, folder)
                except Exception as exc:  # every failure is listed, never raised
                    self._add_result(label, first_line(exc), error=True)
                else:
                    self._files.extend(files)
                    self._add_result(label, summary, error=False)
                QApplication.processEvents()
        finally:
            self._busy = False
            self.busy_label.setText("Done.")
            self._update_enabled()

    def _export_one(self, key: str, folder: Path) -> tuple[list[Path], str]:
        name = next(n for k, _, n in FORMATS if k == key)
        target = folder / name
        if key == "graph":
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(target, dumps(self._doc))
            return [target], f"wrote {target}"
        if self._state is None:
            raise export.ExportError(f"no weights to export: {self.source_label.text()}")
        result = export.export_model(self._doc, self._state, key, target,
                                     source_name=self._source_name)
        return list(result.files), result.summary()

    def _add_result(self, label: str, message: str, error: bool) -> None:
        item = QListWidgetItem(f"{label}: {'failed — ' if error else ''}{message}")
        if error:
            item.setForeground(QBrush(ERROR_COLOR))
        self.results.addItem(item)

    def result_texts(self) -> list[str]:
        return [self.results.item(i).text() for i in range(self.results.count())]
