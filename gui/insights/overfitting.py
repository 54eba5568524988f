"""Spotting overfitting in the per-epoch history: the validation loss turned up after its
lowest point while the training loss went on falling. Plain numbers in, a sentence out."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

RISE = 0.02          # validation loss at least 2 % above its minimum counts as risen...
RISING_EPOCHS = 2    # ...and only when it stayed so for this many epochs (one bump is noise)


@dataclass(frozen=True)
class Overfitting:
    epoch: int               # the epoch with the lowest validation loss: it starts after it
    best_val: float
    last_val: float
    train_then: float
    train_now: float

    @property
    def headline(self) -> str:
        return f"overfitting after epoch {self.epoch}"

    @property
    def explanation(self) -> str:
        return (f"Overfitting after epoch {self.epoch}: the validation loss rose from "
                f"{self.best_val:.4g} to {self.last_val:.4g} while the training loss kept "
                f"falling ({self.train_then:.4g} → {self.train_now:.4g}).\n"
                "The network is memorising the training samples instead of learning what "
                "generalises to new ones.\n"
                f"The weights of epoch {self.epoch} are kept as checkpoints/best. To go further: "
                "stop earlier (early stopping), add data or augmentation, add Dropout or weight "
                "decay, or make the network smaller.")


def find_overfitting(epochs: list[dict[str, Any]]) -> Overfitting | None:
    val = [_number(e.get("val_loss")) for e in epochs]
    train = [_number(e.get("train_loss")) for e in epochs]
    finite = [i for i, v in enumerate(val) if v is not None]
    if len(finite) < RISING_EPOCHS + 1:
        return None
    low = min(finite, key=lambda i: val[i])
    after = [i for i in finite if i > low]
    if len(after) < RISING_EPOCHS:
        return None
    risen = all(val[i] > val[low] * (1 + RISE) + 1e-12 for i in after[-RISING_EPOCHS:])
    last = after[-1]
    if not risen or train[low] is None or train[last] is None or train[last] >= train[low]:
        return None
    return Overfitting(int(epochs[low]["epoch"]), val[low], val[last], train[low], train[last])


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
