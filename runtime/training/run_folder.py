"""A run's folder: what was trained, with which settings, how it went, and its weights.

  graph.json         the graph file exactly as trained
  config.json        the training settings after defaults and overrides
  metrics.jsonl      one JSON object per logged step and per epoch
  metrics.csv        one row per epoch (for a spreadsheet)
  log.txt            the run's log lines
  tensorboard/       TensorBoard event files
  checkpoints/       epoch-NNN/, last/, best/ (see checkpoint.py)
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from graph.fileformat import write_atomic

CSV_COLUMNS = ("epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds")


@contextlib.contextmanager
def _writing(path: Path):
    """An OSError from a write names the file (os.write and flush do not)."""
    try:
        yield
    except OSError as exc:
        if exc.filename:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


class RunFolder:
    """Every write raises OSError naming its file; close() never raises (a run that has
    failed must still be able to end: see `close`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self._writer = None
        self._metrics_file = None
        self._csv_keys: list[str] | None = None

    @classmethod
    def create(cls, parent: str | Path, name: str) -> "RunFolder":
        """A new folder `parent/<name>-<YYYYmmdd-HHMMSS>` (suffixed if taken)."""
        parent = Path(parent)
        stem = re.sub(r"[^0-9A-Za-z_.-]+", "-", name).strip("-") or "run"
        base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        path, k = parent / base, 2
        while path.exists():
            path, k = parent / f"{base}-{k}", k + 1
        path.mkdir(parents=True)
        return cls(path)

    def write_inputs(self, graph_text: str, config: dict[str, Any]) -> None:
        write_atomic(self.path / "graph.json", graph_text)
        write_atomic(self.path / "config.json", json.dumps(config, indent=2) + "\n")

    def checkpoint_dir(self, name: str) -> Path:
        return self.checkpoints / name

    # --- metrics -------------------------------------------------------------------------
    def log_metrics(self, record: dict[str, Any]) -> None:
        path = self.path / "metrics.jsonl"
        with _writing(path):
            if self._metrics_file is None:
                self._metrics_file = open(path, "a", encoding="utf-8")
            self._metrics_file.write(json.dumps(_finite(record)) + "\n")

    def log_epoch_row(self, row: dict[str, Any]) -> None:
        path = self.path / "metrics.csv"
        with _writing(path):
            if self._csv_keys is None:
                extra = sorted(k for k in row if k not in CSV_COLUMNS and _is_number(row[k]))
                self._csv_keys = list(CSV_COLUMNS) + extra
                if not path.exists():
                    with open(path, "w", newline="", encoding="utf-8") as f:
                        csv.writer(f).writerow(self._csv_keys)
            with open(path, "a", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow([_cell(row.get(k)) for k in self._csv_keys])

    def log_line(self, text: str) -> None:
        path = self.path / "log.txt"
        with _writing(path), open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {text}\n")

    # --- TensorBoard ---------------------------------------------------------------------
    def scalar(self, tag: str, value: float, step: int) -> None:
        if value is None or not math.isfinite(value):
            return
        self._tensorboard().add_scalar(tag, value, step)

    def flush(self) -> None:
        if self._metrics_file is not None:
            with _writing(self.path / "metrics.jsonl"):
                self._metrics_file.flush()
        if self._writer is not None:
            with _writing(self.path / "tensorboard"):
                self._writer.flush()

    def close(self) -> OSError | None:
        """Close the files; what could not be written (a full disk) is returned, not raised:
        the run is ending either way and its checkpoints are already committed."""
        failed: OSError | None = None
        if self._metrics_file is not None:
            file, self._metrics_file = self._metrics_file, None
            try:
                with _writing(self.path / "metrics.jsonl"):
                    file.close()
            except OSError as exc:
                failed = exc
                with contextlib.suppress(OSError):
                    file.close()   # the buffer was dropped by the failed flush; release it
        if self._writer is not None:
            writer, self._writer = self._writer, None
            try:
                with _writing(self.path / "tensorboard"):
                    writer.close()
            except OSError as exc:
                failed = failed or exc
        return failed

    def _tensorboard(self):
        if self._writer is None:
            # Imported on first use: it pulls in tensorboard, which a headless check never needs.
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(str(self.path / "tensorboard"))
        return self._writer


class NullRunFolder(RunFolder):
    """Stands in on ranks other than 0 of a distributed run: they write nothing."""

    def __init__(self) -> None:
        super().__init__(Path("."))

    def write_inputs(self, *_: Any) -> None: ...
    def log_metrics(self, *_: Any) -> None: ...
    def log_epoch_row(self, *_: Any) -> None: ...
    def log_line(self, *_: Any) -> None: ...
    def scalar(self, *_: Any) -> None: ...


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
