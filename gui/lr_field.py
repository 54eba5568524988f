"""The learning-rate field of the training settings: a line edit that takes the number as
typed (`0.003`, `3e-4`, `1e-2`) and commits it only when editing ends (Enter or leaving
the field), never a partial text while typing.

Why not a QDoubleSpinBox: with keyboard tracking it reported every keystroke as a value;
the first `0` of `0.003` was committed as lr 0, the form reloaded it as `0.000000`, and
the six decimals were then full, so the rest of the typing was dropped and the run
trained at lr 0. Here a text that is not a positive number (`0`, empty, `abc`) is refused
with a message beside the field and the previous value stays.
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLineEdit

MAX_LR = 1e6   # the bound runtime/training/config.py checks


def format_lr(value: float) -> str:
    """The value as a person would type it (0.003, 0.0003, 1e-05): 12 significant digits,
    so 5 × 0.0018 shows as 0.009, not 0.009000000000000001."""
    return f"{float(value):.12g}"


def parse_lr(text: str) -> tuple[float | None, str]:
    """(the learning rate, "") or (None, why it is refused)."""
    text = text.strip()
    if not text:
        return None, "is empty: type a number such as 0.001 or 3e-4"
    try:
        value = float(text)
    except ValueError:
        return None, f"{text!r} is not a number: type one such as 0.001 or 3e-4"
    if not math.isfinite(value):
        return None, f"{text!r} is not a finite number"
    if value <= 0:
        return None, f"{text} would not train: it must be above 0 (e.g. 0.001 or 3e-4)"
    if value > MAX_LR:
        return None, f"{text} is above the largest allowed, {MAX_LR:g}"
    return value, ""


def _text(value: float | None) -> str:
    return "" if value is None else format_lr(value)


class LearningRateField(QLineEdit):
    """`committed(value)` when a typed rate is accepted and differs from the shown one;
    `refused(message)` when the text is refused (the previous value is shown again);
    `refused("")` when a later edit is accepted, so the message can be cleared.

    `optional`: an empty field is a value too, None ("not set"), e.g. one-cycle's peak."""

    committed = Signal(object)   # float, or None for an optional field left empty
    refused = Signal(str)

    def __init__(self, label: str = "Learning rate", optional: bool = False,
                 placeholder: str = "e.g. 0.001 or 3e-4", parent=None) -> None:
        super().__init__(parent)
        self.label, self.optional = label, optional
        self._value: float | None = None if optional else 0.0
        self.setPlaceholderText(placeholder)
        self.editingFinished.connect(self._finish)

    def value(self) -> float | None:
        return self._value

    def set_value(self, value: float | None) -> None:
        """Show a value from the document (no signal)."""
        self._value = None if value is None else float(value)
        self.setText(_text(self._value))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key_Escape:   # give up the edit: the stored value again
            self.setText(_text(self._value))
            self.refused.emit("")
            return
        super().keyPressEvent(event)

    def _finish(self) -> None:
        if self.text().strip() == _text(self._value):   # untouched: nothing to commit
            self.refused.emit("")
            return
        if self.optional and not self.text().strip():
            value, why = None, ""
        else:
            value, why = parse_lr(self.text())
            if value is None:
                kept = _text(self._value) or "not set"
                self.setText(_text(self._value))
                self.refused.emit(f"{self.label} {why}; kept {kept}.")
                return
        self.refused.emit("")
        self.setText(_text(value))
        if value != self._value:
            self._value = value
            self.committed.emit(value)
