"""CSV / TSV dataset loader: a table with a header row, one target column.

Every error is a DataError whose message names the file (and the row or column).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runtime.data.builtin import RawData
from runtime.data import limits
from runtime.data.bundle import DataError

MAX_CATEGORIES = 50          # a categorical CSV feature with more values is an id, not a feature


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def load_csv(path: Path, options: dict[str, Any]) -> RawData:
    """A table with a header row. Feature columns: numbers, or categories (one-hot encoded).

    Option `csv`: {"features": [names or indices] | null (all but the target),
    "target": name or index (default: the last column), "task": "auto" | "classification"
    | "regression", "delimiter": "," (";" and tabs too; .tsv files default to tab)}.
    Rows are numbered as a spreadsheet shows them: the header is row 1.
    """
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file")
    opts = dict(options.get("csv") or {})
    unknown = set(opts) - {"features", "target", "task", "delimiter"}
    if unknown:
        raise DataError(f"unknown dataset.csv option(s) {sorted(unknown)}; options: features, "
                        "target, task, delimiter")
    delimiter = opts.get("delimiter", "\t" if path.suffix.lower() == ".tsv" else ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DataError(f"dataset.csv.delimiter must be one character, got {delimiter!r}")
    task = opts.get("task", "auto")
    if task not in ("auto", "classification", "regression"):
        raise DataError(f"dataset.csv.task must be auto, classification or regression, "
                        f"got {task!r}")
    raw = limits.open_data_file(path, limits.MAX_CSV_BYTES, "a CSV file")
    try:
        with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
            records = list(enumerate(csv.reader(fh, delimiter=delimiter), start=1))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file ({_where_not_utf8(path)})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    records = [(n, row) for n, row in records if any(cell.strip() for cell in row)]
    if not records:
        raise DataError(f"{path} is empty: a CSV dataset needs a header row and data rows")
    header_row, header = records[0]
    header = [h.strip() for h in header]
    rows = records[1:]
    if not rows:
        raise DataError(f"{path} has a header but no data rows")
    width = len(header)
    for number, row in rows:
        if len(row) != width:
            raise DataError(f"{path}, row {number}: {len(row)} cells, but the header (row "
                            f"{header_row}) has {width} columns")

    def column(ref: Any, what: str) -> int:
        if isinstance(ref, bool):
            ref = str(ref)
        if isinstance(ref, int):
            if -width <= ref < width:
                return ref % width
            raise DataError(f"{path}: {what} column index {ref} is out of range; the file has "
                            f"{width} columns")
        if isinstance(ref, str) and ref.strip() in header:
            return header.index(ref.strip())
        raise DataError(f"{path}: there is no {what} column {ref!r}; columns: "
                        f"{', '.join(header)}")

    target = column(opts.get("target", -1), "target")
    features = opts.get("features")
    if features is None:
        feature_cols = [i for i in range(width) if i != target]
    elif isinstance(features, (list, tuple)):
        feature_cols = [column(f, "feature") for f in features]
    else:
        raise DataError(f"dataset.csv.features must be a list of column names, got {features!r}")
    if target in feature_cols:
        raise DataError(f"{path}: column {header[target]!r} is both the target and a feature")
    if not feature_cols:
        raise DataError(f"{path}: no feature columns (the file has only the target column)")

    def cells(col: int) -> list[tuple[int, str]]:
        return [(number, row[col].strip()) for number, row in rows]

    def numeric(col: int, reason: str) -> np.ndarray:
        out = np.empty(len(rows), np.float64)
        for i, (number, text) in enumerate(cells(col)):
            value = _number(text)
            if value is None or not math.isfinite(value):
                if text == "":
                    what = "the cell is empty"
                elif value is None:
                    what = f"{text!r} is not a number"
                else:
                    what = f"{text!r} is not a finite number"
                raise DataError(f"{path}, row {number}, column {header[col]!r}: {what} "
                                f"({reason})")
            out[i] = value
        return out

    def categories(col: int, empty: str) -> tuple[list[str], list[str]]:
        """A text column's cells and its sorted distinct values; an empty cell is an error."""
        found = cells(col)
        for number, text in found:
            if text == "":
                raise DataError(f"{path}, row {number}, column {header[col]!r}: {empty}")
        texts = [t for _, t in found]
        return texts, sorted(set(texts))

    def is_numeric_column(col: int) -> bool:
        values = [t for _, t in cells(col)]
        parsed = sum(_number(t) is not None for t in values if t != "")
        filled = sum(t != "" for t in values)
        return filled > 0 and parsed * 2 >= filled       # mostly numbers: a numeric column

    parts: list[np.ndarray] = []
    names: list[str] = []
    for col in feature_cols:
        if is_numeric_column(col):
            parts.append(numeric(col, "a numeric column")[:, None])
            names.append(header[col])
            continue
        values, cats = categories(col, "the cell is empty (a categorical column)")
        if len(cats) > MAX_CATEGORIES:
            raise DataError(f"{path}: column {header[col]!r} holds text with {len(cats)} "
                            f"different values; categorical columns are one-hot encoded and "
                            f"may have at most {MAX_CATEGORIES}: leave it out with "
                            "dataset.csv.features")
        index = {c: i for i, c in enumerate(cats)}
        onehot = np.zeros((len(rows), len(cats)), np.float64)
        onehot[np.arange(len(rows)), [index[v] for v in values]] = 1.0
        parts.append(onehot)
        names.extend(f"{header[col]}={c}" for c in cats)
    x = np.concatenate(parts, axis=1)

    target_name = header[target]
    target_numeric = is_numeric_column(target)
    if task == "auto":
        if not target_numeric:
            task = "classification"
        else:
            values = numeric(target, "the target column")
            whole = np.all(values == np.round(values))
            task = "classification" if whole and len(np.unique(values)) <= 20 else "regression"
    if task == "regression":
        y = torch.from_numpy(numeric(target, "a regression target").astype(np.float32))[:, None]
        class_names: list[str] = []
    else:
        if target_numeric:
            values = numeric(target, "the target column")
            uniq = np.unique(values)
            y_np = np.searchsorted(uniq, values)
            class_names = [_number_name(v) for v in uniq]
        else:
            texts, class_names = categories(target, "the target cell is empty")
            index = {c: i for i, c in enumerate(class_names)}
            y_np = np.array([index[t] for t in texts])
        y = torch.from_numpy(y_np.astype(np.int64))
    desc = (f"{path.name}: {len(rows)} rows, {x.shape[1]} features "
            f"({', '.join(names[:6])}{', …' if len(names) > 6 else ''}), target {target_name!r}")
    return RawData(torch.from_numpy(x.astype(np.float32)), y, task, class_names, desc)


def _where_not_utf8(path: Path) -> str:
    """'invalid start byte at byte 70000 (row 12)': the decoder reads in chunks and counts
    from its chunk, so the file is decoded again, whole, to name the true place."""
    data = limits.read_data_file(path, limits.MAX_CSV_BYTES, "a CSV file")
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        start = bom + exc.start
        row = data.count(b"\n", 0, start) + 1
        return f"{exc.reason} at byte {start} (row {row})"
    return "it changed while being read"


def _number_name(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(float(value))
