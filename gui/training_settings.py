"""The training settings form, bound to the document's `training` block: dataset (with a
file/folder picker), recipe, loss, optimizer, learning rate, schedule, epochs, batch size,
device (what this machine has), precision and seed.

Each change is an undo command (SetTraining): it marks the file modified, is saved with
it, and Ctrl+Z takes it back like any graph edit.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QMenu,
                               QPushButton, QSpinBox, QWidget)

from gui.commands import SetTraining
from gui.lr_field import LearningRateField
from gui.schedule_hint import schedule_hint
from runtime.data import BUILTIN_DATASETS, dataset_spec
from runtime.training.config import (DEFAULT_LOSS, LOSSES, OPTIMIZERS, PRECISIONS, RECIPES,
                                     SCHEDULES, TrainConfig)

DEFAULTS = TrainConfig()


def _devices() -> list[tuple[str, str]]:
    try:
        from runtime.training.device import describe_devices
        described = describe_devices()   # asks each CUDA device once
        found = [d for d in described if d[0] != "cpu"]
        cpu = [d for d in described if d[0] == "cpu"]
    except Exception:  # a broken CUDA driver must not stop the editor: offer the basics
        found, cpu = [], [("cpu", "cpu")]
    best = found[0][0] if found else "cpu"
    return [("auto", f"auto — {best}"), *cpu, *found]


class TrainingSettings(QWidget):
    dataset_changed = Signal()

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._loading = False
        self._data = (repr(self.block.get("dataset")), self.block.get("seed"))
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.dataset_combo = QComboBox(editable=True)
        self.dataset_combo.addItems(list(BUILTIN_DATASETS))
        self.dataset_combo.setToolTip("a built-in dataset, or a path to a data file or folder "
                                      "(CSV, image folder, IDX, CIFAR-10 .bin, .npz)")
        self.browse_button = QPushButton("…", maximumWidth=32, toolTip="pick a data file or folder")
        browse = QMenu(self.browse_button)
        browse.addAction("Data file…", self._browse_file)
        browse.addAction("Image folder (one subfolder per class)…", self._browse_folder)
        self.browse_button.setMenu(browse)
        row = QHBoxLayout()
        row.addWidget(self.dataset_combo, 1)
        row.addWidget(self.browse_button)
        form.addRow("Dataset", row)
        self.recipe_combo = self._combo(RECIPES)
        form.addRow("Recipe", self.recipe_combo)
        self.loss_combo = self._combo(LOSSES)
        form.addRow("Loss", self.loss_combo)
        self.optimizer_combo = self._combo(OPTIMIZERS)
        form.addRow("Optimizer", self.optimizer_combo)
        # Committed when editing ends, never per keystroke (see gui/lr_field.py).
        self.lr_edit = LearningRateField()
        form.addRow("Learning rate", self.lr_edit)
        self.lr_message = QLabel(wordWrap=True, visible=False)   # a refused rate, and why
        self.lr_message.setStyleSheet("color: #e05050")
        form.addRow("", self.lr_message)
        self.schedule_combo = self._combo(SCHEDULES)
        form.addRow("Schedule", self.schedule_combo)
        # One-cycle's peak (schedule.max_lr): the templates set it, and it overrides the
        # Learning rate, so it is on screen and editable while one-cycle is chosen.
        self.max_lr_edit = LearningRateField("Peak rate", optional=True,
                                             placeholder="not set: the Learning rate")
        self.max_lr_edit.setToolTip("one-cycle's peak rate (schedule.max_lr); leave empty "
                                    "to peak at the Learning rate")
        form.addRow("Peak rate", self.max_lr_edit)
        # What the rate means under the chosen schedule (one-cycle peaks at max_lr).
        self.schedule_hint = QLabel(wordWrap=True)
        self.schedule_hint.setStyleSheet("color: palette(placeholder-text)")
        form.addRow("", self.schedule_hint)
        self.epochs_spin = QSpinBox(minimum=1, maximum=100_000)
        form.addRow("Epochs", self.epochs_spin)
        self.batch_spin = QSpinBox(minimum=1, maximum=1 << 20)
        form.addRow("Batch size", self.batch_spin)
        self.device_combo = QComboBox()
        for device, text in _devices():
            self.device_combo.addItem(text, device)
        form.addRow("Device", self.device_combo)
        self.precision_combo = self._combo(PRECISIONS)
        self.precision_combo.setToolTip("bf16 / fp16 autocast runs on CUDA; elsewhere the run "
                                        "stays fp32 and its log says so")
        form.addRow("Precision", self.precision_combo)
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1)
        form.addRow("Seed", self.seed_spin)
        self.load()

        self.dataset_combo.currentTextChanged.connect(self._write_dataset)
        self.recipe_combo.currentTextChanged.connect(self._write_recipe)
        self.loss_combo.currentTextChanged.connect(lambda t: self._write("loss", t))
        self.optimizer_combo.currentTextChanged.connect(lambda t: self._write("optimizer.name", t))
        self.lr_edit.committed.connect(lambda v: self._write("optimizer.lr", v))
        self.lr_edit.refused.connect(self._show_lr_message)
        self.max_lr_edit.committed.connect(lambda v: self._write("schedule.max_lr", v))
        self.max_lr_edit.refused.connect(self._show_lr_message)
        self.schedule_combo.currentTextChanged.connect(lambda t: self._write("schedule.name", t))
        self.epochs_spin.valueChanged.connect(lambda v: self._write("epochs", v))
        self.batch_spin.valueChanged.connect(lambda v: self._write("batch_size", v))
        self.device_combo.currentIndexChanged.connect(
            lambda _: self._write("device", self.device_combo.currentData()))
        self.precision_combo.currentTextChanged.connect(lambda t: self._write("precision", t))
        self.seed_spin.valueChanged.connect(lambda v: self._write("seed", v))

    @staticmethod
    def _combo(options) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(options))
        return combo

    @property
    def block(self) -> dict[str, Any]:
        if not isinstance(getattr(self.session.doc, "training", None), dict):
            self.session.doc.training = {}
        return self.session.doc.training

    def widgets(self) -> list[QWidget]:
        return [self.dataset_combo, self.browse_button, self.recipe_combo, self.loss_combo,
                self.optimizer_combo, self.lr_edit, self.schedule_combo, self.max_lr_edit, self.epochs_spin,
                self.batch_spin, self.device_combo, self.precision_combo, self.seed_spin]

    # --- block → form --------------------------------------------------------------------
    def load(self) -> None:
        """Show the document's training block (no writes while loading)."""
        self._loading = True
        try:
            block, d = self.block, DEFAULTS   # what the run uses where the file is silent
            self.dataset_combo.setCurrentText(self.dataset_text())
            recipe = str(block.get("recipe", d.recipe))
            self._choose(self.recipe_combo, recipe)
            self._choose(self.loss_combo, str(block.get("loss", DEFAULT_LOSS.get(recipe, d.loss))))
            opt = block.get("optimizer") if isinstance(block.get("optimizer"), dict) else {}
            self._choose(self.optimizer_combo, str(opt.get("name", d.optimizer.name)).lower())
            lr = opt.get("lr", d.optimizer.lr)
            self.lr_edit.set_value(float(lr) if isinstance(lr, (int, float)) else d.optimizer.lr)
            schedule = block.get("schedule", d.schedule.name)
            schedule_name = str(schedule.get("name", d.schedule.name)
                                if isinstance(schedule, dict) else schedule)
            self._choose(self.schedule_combo, schedule_name)
            max_lr = schedule.get("max_lr") if isinstance(schedule, dict) else None
            self.max_lr_edit.set_value(max_lr if isinstance(max_lr, (int, float)) and max_lr
                                       else None)
            self.layout().setRowVisible(self.max_lr_edit, schedule_name == "onecycle")
            self.epochs_spin.setValue(int(block.get("epochs", d.epochs)))
            self.batch_spin.setValue(int(block.get("batch_size", d.batch_size)))
            device = str(block.get("device", d.device))
            if self.device_combo.findData(device) < 0:
                self.device_combo.addItem(f"{device} — not found here", device)
            self.device_combo.setCurrentIndex(self.device_combo.findData(device))
            self._choose(self.precision_combo, str(block.get("precision", d.precision)))
            self.seed_spin.setValue(int(block.get("seed", d.seed)))
            self._show_schedule_hint()
        finally:
            self._loading = False

    def _show_schedule_hint(self) -> None:
        text = schedule_hint(self.block)
        self.schedule_hint.setText(text)
        self.lr_edit.setToolTip("the optimizer's learning rate; type e.g. 0.003 or 3e-4, then "
                                "Enter\n" + text)
        self.schedule_combo.setToolTip(text)

    def _show_lr_message(self, message: str) -> None:
        self.lr_message.setText(message)
        self.lr_message.setVisible(bool(message))

    def dataset_text(self) -> str:
        dataset = self.block.get("dataset", DEFAULTS.dataset)
        if isinstance(dataset, dict):
            dataset = dataset.get("name", dataset.get("path", ""))
        return str(dataset)

    @staticmethod
    def _choose(combo: QComboBox, text: str) -> None:
        if combo.findText(text) < 0:
            combo.addItem(text)   # a value this version does not know: shown, not lost
        combo.setCurrentText(text)

    # --- form → block --------------------------------------------------------------------
    def _write(self, key: str, value: Any) -> None:
        if not self._loading:
            self.session.undo.push(SetTraining(self.session.doc, key, value, self._changed))

    def _changed(self) -> None:
        self.load()
        data = (repr(self.block.get("dataset")), self.block.get("seed"))
        if data != self._data:   # the data a run would load changed: previews follow
            self._data = data
            self.dataset_changed.emit()

    def _write_recipe(self, recipe: str) -> None:
        if self._loading:
            return
        # One undo step: the recipe and the loss that goes with it.
        self.session.undo.beginMacro(f"Set training recipe {recipe}")
        self._write("recipe", recipe)
        if self.block.get("loss") != DEFAULT_LOSS.get(recipe):
            self._write("loss", DEFAULT_LOSS.get(recipe, "mse"))
        self.session.undo.endMacro()

    def _write_dataset(self, text: str) -> None:
        if self._loading or not text.strip() or text.strip() == self.dataset_text():
            return
        text = text.strip()
        current = self.block.get("dataset")
        current = dict(current) if isinstance(current, dict) else {}
        current.pop("name", None)
        current.pop("path", None)
        self._write("dataset", {**dataset_spec(text), **current})

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Dataset file", "",
                                              "Data (*.csv *.npz *.idx *.gz *.bin *-ubyte);;All files (*)")
        if path:
            self.dataset_combo.setCurrentText(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder")
        if path:
            self.dataset_combo.setCurrentText(path)
