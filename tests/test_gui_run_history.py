"""The run history: past run folders are read back (even broken ones), their settings are
diffed against the run before, and ticked runs' epoch curves are overlaid."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui.insights.run_history import (COL_ACC, COL_CHANGES, COL_EPOCHS, COL_LOSS, COL_NAME,
                                      RunHistoryView)
from gui.insights.run_records import config_diff, scan_runs


def config(lr: float = 0.001, epochs: int = 3, dataset: str = "digits", **extra) -> dict:
    return {"dataset": {"name": dataset}, "recipe": "classification", "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": lr, "betas": [0.9, 0.999]},
            "schedule": {"name": "none"}, "epochs": epochs, "batch_size": 64, "seed": 0,
            "threads": 1, "watch_nodes": [], "log_every": 10, **extra}


def make_run(runs: Path, stamp: str, graph: str = "LeNet-5", cfg: dict | None = None,
             val_losses=(1.0, 0.5, 0.25), status: str | None = "finished",
             suffix: str = "") -> Path:
    folder = runs / f"{graph}-{stamp}{suffix}"
    folder.mkdir(parents=True)
    (folder / "graph.json").write_text(json.dumps({"format": "nodetorch.graph", "name": graph}))
    if cfg is not False:
        (folder / "config.json").write_text(json.dumps(cfg or config()))
    lines = []
    for epoch, loss in enumerate(val_losses, 1):
        lines.append({"kind": "step", "epoch": epoch, "global_step": epoch * 10, "loss": loss * 2,
                      "lr": 0.001})
        lines.append({"kind": "epoch", "epoch": epoch, "train_loss": loss * 1.5, "val_loss": loss,
                      "val_accuracy": 1 - loss / 2, "lr": 0.001, "best": True, "seconds": 1.0})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    if status:
        (folder / "log.txt").write_text(f"10:00:00 run {status} after {len(val_losses)} "
                                        f"epoch(s): {folder}\n")
    return folder


# --- reading run folders -------------------------------------------------------------------
def test_scan_lists_newest_first_and_filters_by_graph(tmp_path):
    runs = tmp_path / "runs"
    old = make_run(runs, "20250101-100000")
    new = make_run(runs, "20250102-090000")
    twin = make_run(runs, "20250102-090000", suffix="-2")   # same second: created after `new`
    make_run(runs, "20250103-000000", graph="MLP")
    (runs / "notes.txt").write_text("not a run")

    found = scan_runs(runs, "LeNet-5")
    assert [r.path for r in found] == [twin, new, old]
    assert len(scan_runs(runs)) == 4 and scan_runs(runs)[0].graph_name == "MLP"
    assert scan_runs(tmp_path / "nowhere") == []

    run = found[-1]
    assert run.name == "LeNet-5-20250101-100000" and run.graph_name == "LeNet-5"
    assert run.started.isoformat() == "2025-01-01T10:00:00"
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3]
    assert run.steps == [(10, 2.0), (20, 1.0), (30, 0.5)]
    assert run.status == "finished" and run.notes == []
    assert run.best_epoch == 3 and run.best_val_loss == 0.25
    assert run.final_val_accuracy == 0.875
    assert run.config["optimizer"]["lr"] == 0.001 and run.planned_epochs == 3


def test_broken_folders_are_listed_with_a_note(tmp_path):
    runs = tmp_path / "runs"
    cut = make_run(runs, "20250101-100000", status=None)
    with open(cut / "metrics.jsonl", "a") as f:       # a crash mid-write
        f.write('{"kind": "epoch", "epoch": 4, "val_lo')
    no_config = make_run(runs, "20250101-110000", cfg=False)
    bad_config = make_run(runs, "20250101-120000")
    (bad_config / "config.json").write_text("{not json")
    nan = make_run(runs, "20250101-130000")
    (nan / "metrics.jsonl").write_text(
        '{"kind": "epoch", "epoch": 1, "val_loss": null, "train_loss": "nan", "best": false}\n'
        '{"kind": "epoch", "epoch": 2, "val_loss": 0.5, "train_loss": NaN, "best": true}\n'
        '[1, 2]\n')
    empty = runs / "LeNet-5-20250101-140000"
    empty.mkdir()

    found = {r.path: r for r in scan_runs(runs, "LeNet-5")}
    assert set(found) == {cut, no_config, bad_config, nan, empty}

    assert [e["epoch"] for e in found[cut].epochs] == [1, 2, 3]
    assert found[cut].notes == ["metrics.jsonl: 1 unreadable line(s) skipped (7)"]
    assert found[cut].status == "finished"   # all planned epochs are there, log or not
    assert found[no_config].config is None and found[no_config].notes == ["config.json: missing"]
    assert found[bad_config].config is None
    assert found[bad_config].notes[0].startswith("config.json: unreadable (")
    assert found[nan].best_val_loss == 0.5 and found[nan].best_epoch == 2
    assert math.isnan(found[nan].epochs[0]["train_loss"])
    assert found[nan].notes == ["metrics.jsonl: 1 unreadable line(s) skipped (3)"]
    assert found[empty].epochs == [] and found[empty].status == "incomplete"
    assert found[empty].graph_name == "LeNet-5"   # from the folder name: no graph.json
    assert found[empty].best_val_loss is None and found[empty].best_epoch is None


def test_config_diff_lists_dotted_changes_that_matter():
    base = config(lr=0.001, epochs=3, dataset="digits")
    other = config(lr=0.01, epochs=5, dataset="shapes", threads=4, watch_nodes=["conv1"],
                   log_every=1, report_interval=1.0)
    assert config_diff(base, other) == ["optimizer.lr: 0.001 → 0.01", "epochs: 3 → 5",
                                        "dataset.name: digits → shapes"]
    assert config_diff(base, base) == []
    assert config_diff(config(), config(grad_clip=1.0, augment={"flip": True})) == [
        "augment.flip: (unset) → true", "grad_clip: (unset) → 1"]
    assert config_diff({"epochs": 3, "grad_clip": None}, {"epochs": 3.0, "grad_clip": 0.5}) \
        == ["grad_clip: null → 0.5"]
    assert config_diff({"optimizer": {"betas": [0.9, 0.999]}},
                       {"optimizer": {"betas": [0.5, 0.999]}}) == [
        "optimizer.betas: [0.9, 0.999] → [0.5, 0.999]"]
    assert config_diff({"x": {"nesterov": True}}, {"x": {"nesterov": 1}}) == [
        "x.nesterov: true → 1"]


# --- the view ------------------------------------------------------------------------------
@pytest.fixture
def three_runs(tmp_path):
    runs = tmp_path / "runs"
    paths = [make_run(runs, "20250101-100000", cfg=config(lr=0.01), val_losses=(2.0, 1.0)),
             make_run(runs, "20250101-110000", cfg=config(lr=0.001), val_losses=(1.0, 0.6, 0.3)),
             make_run(runs, "20250101-120000", cfg=config(lr=0.003, epochs=5, batch_size=32),
                      val_losses=(0.9, 0.4), status="stopped")]
    make_run(runs, "20250101-130000", graph="MLP")
    return runs, paths


def rows(view):
    return [view.tree.topLevelItem(i) for i in range(view.tree.topLevelItemCount())]


def test_table_lists_the_documents_runs_with_what_changed(qtbot, three_runs):
    runs, (a, b, c) = three_runs
    view = RunHistoryView(runs, graph_name_provider=lambda: "LeNet-5")
    qtbot.addWidget(view)
    assert [r.path for r in view.runs()] == [c, b, a]
    items = rows(view)
    assert [i.text(COL_NAME) for i in items] == [c.name, b.name, a.name]
    assert [i.text(COL_EPOCHS) for i in items] == ["2/5 (stopped)", "3/3", "2/3"]
    assert [i.text(COL_LOSS) for i in items] == ["0.4", "0.3", "1"]
    assert [i.text(COL_ACC) for i in items] == ["80.0%", "85.0%", "50.0%"]
    assert [i.text(COL_CHANGES) for i in items] == [
        "optimizer.lr: 0.001 → 0.003; epochs: 3 → 5; +1 more",
        "optimizer.lr: 0.01 → 0.001", "first run"]
    assert items[0].toolTip(COL_CHANGES) == (
        f"Changed since {b.name}:\noptimizer.lr: 0.001 → 0.003\nepochs: 3 → 5\n"
        "batch_size: 64 → 32")
    # Only the newest run is ticked at first.
    assert [i.checkState(COL_NAME) for i in items] == [Qt.Checked, Qt.Unchecked, Qt.Unchecked]
    assert view.curves() == {c.name: ([1, 2], [0.9, 0.4])}

    every = RunHistoryView(runs)   # no provider: every graph's runs
    qtbot.addWidget(every)
    assert len(every.runs()) == 4


def test_ticked_runs_are_overlaid_and_the_metric_can_change(qtbot, three_runs):
    runs, (a, b, c) = three_runs
    view = RunHistoryView(runs, graph_name_provider=lambda: "LeNet-5")
    qtbot.addWidget(view)
    combo = view.metric_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "val_loss", "train_loss", "val_accuracy", "lr"]

    view.set_checked([a, b])
    assert view.curves() == {a.name: ([1, 2], [2.0, 1.0]), b.name: ([1, 2, 3], [1.0, 0.6, 0.3])}
    legend = view.plot.getPlotItem().legend
    assert sorted(label.text for _, label in legend.items) == sorted([a.name, b.name])

    combo.setCurrentText("val_accuracy")
    assert view.curves()[b.name] == ([1, 2, 3], [0.5, 0.7, 0.85])

    rows(view)[0].setCheckState(COL_NAME, Qt.Checked)   # the user ticks the newest run
    assert set(view.curves()) == {a.name, b.name, c.name}
    rows(view)[2].setCheckState(COL_NAME, Qt.Unchecked)
    assert set(view.curves()) == {b.name, c.name}


def test_refresh_ticks_a_new_run_and_keeps_the_others(qtbot, three_runs):
    runs, (a, b, c) = three_runs
    view = RunHistoryView(runs, graph_name_provider=lambda: "LeNet-5")
    qtbot.addWidget(view)
    view.set_checked([a])
    view.metric_combo.setCurrentText("train_loss")
    d = make_run(runs, "20250101-140000", val_losses=(0.5,))
    view.refresh()
    assert view.runs()[0].path == d
    assert view.checked() == [str(d), str(a)]
    assert view.metric_combo.currentText() == "train_loss"
    assert view.curves()[d.name] == ([1], [0.75])
    view.refresh()                    # nothing new: the ticks stay as they are
    assert view.checked() == [str(d), str(a)]


def test_double_click_selects_the_run_folder(qtbot, three_runs):
    runs, (a, b, c) = three_runs
    view = RunHistoryView(runs, graph_name_provider=lambda: "LeNet-5")
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    item = rows(view)[1]
    rect = view.tree.visualItemRect(item)
    # A real double click is press, release, double click: the view wants the first press.
    qtbot.mouseClick(view.tree.viewport(), Qt.LeftButton, pos=rect.center())
    with qtbot.waitSignal(view.run_selected, timeout=2000) as blocker:
        qtbot.mouseDClick(view.tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert blocker.args == [str(b)]


def test_a_real_training_run_is_found_with_its_epoch(tmp_path):
    from graph.loader import load_file
    from graph.templates import find_template
    from runtime.training.config import parse_config
    from runtime.training.trainer import Trainer

    doc = load_file(find_template("lenet5"))
    cfg = parse_config({**doc.training, "epochs": 1, "dataset": {"name": "digits",
                        "resize_to_input": True}, "threads": 1, "batch_size": 64})
    result = Trainer(doc, cfg, runs_dir=tmp_path / "runs", base_dir=tmp_path).fit()
    assert result.status == "finished", result.error

    (run,) = scan_runs(tmp_path / "runs", doc.name)
    assert run.path == result.run_dir and run.graph_name == "LeNet-5"
    assert run.status == "finished" and run.notes == []
    assert [e["epoch"] for e in run.epochs] == [1]
    assert run.best_epoch == 1 and math.isfinite(run.best_val_loss)
    assert 0.0 < run.final_val_accuracy <= 1.0 and run.steps
    assert run.config["epochs"] == 1 and run.config["batch_size"] == 64
