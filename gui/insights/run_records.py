"""Past runs read back from their folders (no Qt): what was trained, how, and how it went.

A run folder may be half-written (a run still going, a crash, a full disk), so every reader
here takes what it can, records a note about the rest, and never raises.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Settings that change how a run is watched or paced, never what it learns: a diff that
# listed them would bury the changes that explain a different curve.
IGNORED_KEYS = ("watch_nodes", "log_every", "report_interval", "activation_interval", "threads")
# The settings people tweak between runs come first in a diff, the rest in file order.
_KEY_ORDER = ("optimizer", "schedule", "epochs", "batch_size", "loss", "dataset", "augment",
              "recipe", "seed", "grad_clip", "early_stopping", "precision", "device")
# RunFolder.create names folders `<stem>-<YYYYmmdd-HHMMSS>` plus `-2`, `-3`... when taken.
_FOLDER_NAME = re.compile(r"^(?P<stem>.*)-(?P<stamp>\d{8}-\d{6})(?:-(?P<n>\d+))?$")
_STATUS_LINE = re.compile(r"\brun (\w+) after \d+ epoch")
_NOT_METRICS = ("epoch", "best", "seconds", "kind")


@dataclass
class RunRecord:
    path: Path
    name: str                                   # the folder's name
    started: datetime | None
    graph_name: str
    config: dict[str, Any] | None               # None: config.json missing or unreadable
    epochs: list[dict[str, Any]] = field(default_factory=list)   # sorted by "epoch"
    steps: list[tuple[int, float]] = field(default_factory=list)  # (global_step, loss)
    status: str = "incomplete"   # finished, stopped, interrupted, failed, or incomplete
    notes: list[str] = field(default_factory=list)  # what could not be read

    @property
    def planned_epochs(self) -> int | None:
        value = (self.config or {}).get("epochs")
        return value if isinstance(value, int) else None

    @property
    def best_epoch(self) -> int | None:
        # The trainer flags each new best of its monitored metric: the last flag is the best.
        flagged = [r["epoch"] for r in self.epochs if r.get("best") is True]
        if flagged:
            return flagged[-1]
        losses = metric_series(self, "val_loss")
        return losses[0][losses[1].index(min(losses[1]))] if losses[1] else None

    @property
    def best_val_loss(self) -> float | None:
        ys = metric_series(self, "val_loss")[1]
        return min(ys) if ys else None

    @property
    def final_val_accuracy(self) -> float | None:
        ys = metric_series(self, "val_accuracy")[1]
        return ys[-1] if ys else None

    def metric_names(self) -> list[str]:
        names: dict[str, None] = {}
        for record in self.epochs:
            for key, value in record.items():
                if key not in _NOT_METRICS and _number(value) is not None:
                    names[key] = None
        return list(names)


def metric_series(run: RunRecord, metric: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of one metric, skipping epochs where it is missing or not finite."""
    xs, ys = [], []
    for record in run.epochs:
        value = _number(record.get(metric))
        if value is not None and math.isfinite(value):
            xs.append(record["epoch"])
            ys.append(value)
    return xs, ys


def scan_runs(runs_dir: str | Path, graph_name: str | None = None) -> list[RunRecord]:
    """Every run folder under runs_dir (only graph_name's when given), newest first."""
    try:
        folders = [p for p in Path(runs_dir).iterdir() if p.is_dir()]
    except OSError:
        return []
    runs = [read_run(p) for p in folders if _looks_like_run(p)]
    if graph_name is not None:
        stem = _folder_stem(graph_name)
        runs = [r for r in runs if r.graph_name == graph_name
                or (r.graph_name == _stem_of(r.name) and r.graph_name == stem)]
    runs.sort(key=_age_key, reverse=True)
    return runs


def read_run(path: Path) -> RunRecord:
    path = Path(path)
    notes: list[str] = []
    graph = _read_json(path / "graph.json", notes)
    config = _read_json(path / "config.json", notes)
    name = graph.get("name") if isinstance(graph, dict) else None
    run = RunRecord(path=path, name=path.name, started=_started(path),
                    graph_name=name if isinstance(name, str) and name else _stem_of(path.name),
                    config=config if isinstance(config, dict) else None, notes=notes)
    if config is not None and not isinstance(config, dict):
        notes.append("config.json: not a settings object")
    _read_metrics(path / "metrics.jsonl", run)
    run.status = _status(path / "log.txt", run)
    return run


def config_diff(base: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """What changed from base to other, one 'dotted.key: old → new' line per setting."""
    a, b = _flatten(base or {}), _flatten(other or {})
    keys = list(dict.fromkeys([*b, *a]))
    rank = {k: i for i, k in enumerate(_KEY_ORDER)}
    keys.sort(key=lambda k: rank.get(k.split(".")[0], len(rank)))  # stable: file order kept
    missing = object()
    lines = []
    for key in keys:
        old, new = a.get(key, missing), b.get(key, missing)
        if _same_number(old, new) or (old == new and type(old) is type(new)):
            continue  # the type check keeps true → 1 a change
        lines.append(f"{key}: {_show(old, missing)} → {_show(new, missing)}")
    return lines


# --- reading ---------------------------------------------------------------------------
def _looks_like_run(path: Path) -> bool:
    return any((path / f).exists() for f in ("config.json", "metrics.jsonl", "graph.json")) \
        or bool(_FOLDER_NAME.match(path.name))


def _read_json(path: Path, notes: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        notes.append(f"{path.name}: missing")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        notes.append(f"{path.name}: unreadable ({_short(exc)})")
    return None


def _read_metrics(path: Path, run: RunRecord) -> None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        run.notes.append("metrics.jsonl: missing")
        return
    except OSError as exc:
        run.notes.append(f"metrics.jsonl: unreadable ({_short(exc)})")
        return
    bad: list[int] = []
    by_epoch: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad.append(number)  # typically the last line, cut off by a crash mid-write
            continue
        if not isinstance(record, dict):
            bad.append(number)
            continue
        kind = record.get("kind")
        if kind == "epoch" and isinstance(record.get("epoch"), int):
            # A run resumed from an earlier checkpoint repeats epochs: the latest counts.
            by_epoch[record["epoch"]] = {k: _clean(v) for k, v in record.items()}
        elif kind == "step":
            step, loss = record.get("global_step"), _number(record.get("loss"))
            if isinstance(step, int) and loss is not None:
                run.steps.append((step, loss))
    run.epochs = [by_epoch[e] for e in sorted(by_epoch)]
    if bad:
        where = ", ".join(str(n) for n in bad[:5]) + (", ..." if len(bad) > 5 else "")
        run.notes.append(f"metrics.jsonl: {len(bad)} unreadable line(s) skipped ({where})")


def _status(log: Path, run: RunRecord) -> str:
    try:
        found = _STATUS_LINE.findall(log.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        found = []
    if found:
        return found[-1]
    planned = run.planned_epochs
    return "finished" if planned and run.epochs and run.epochs[-1]["epoch"] >= planned \
        else "incomplete"


def _started(path: Path) -> datetime | None:
    match = _FOLDER_NAME.match(path.name)
    if match:
        try:
            return datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S")
        except ValueError:
            pass
    try:
        return datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        return None


def _age_key(run: RunRecord) -> tuple[float, int, str]:
    match = _FOLDER_NAME.match(run.name)
    suffix = int(match["n"]) if match and match["n"] else 1  # `-2` started after its twin
    when = run.started.timestamp() if run.started else 0.0
    return when, suffix, run.name


def _stem_of(folder_name: str) -> str:
    match = _FOLDER_NAME.match(folder_name)
    return match["stem"] if match else folder_name


def _folder_stem(graph_name: str) -> str:
    # The same cleaning RunFolder.create applies to a document name.
    return re.sub(r"[^0-9A-Za-z_.-]+", "-", graph_name).strip("-") or "run"


def _number(value: Any) -> float | None:
    value = _clean(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _clean(value: Any) -> Any:
    # RunFolder writes non-finite floats as "nan"/"inf" strings (JSON has no NaN); other
    # writers use null or bare NaN. All become floats (None stays None: "not measured").
    if isinstance(value, str) and value.lower() in ("nan", "inf", "-inf", "infinity",
                                                    "-infinity"):
        return float(value)
    return value


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


# --- diffing ---------------------------------------------------------------------------
def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not prefix and key in IGNORED_KEYS:
            continue
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _same_number(a: Any, b: Any) -> bool:
    # 1 and 1.0 are the same setting (hand-written configs mix them).
    numeric = (int, float)
    return isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) \
        and not isinstance(b, bool) and a == b


def _show(value: Any, missing: object) -> str:
    if value is missing:
        return "(unset)"
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return format(value, ".6g")
    return str(value)
