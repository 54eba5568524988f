"""The run history: a document's past runs side by side, what changed between them, and
their epoch curves overlaid, so "did the lower learning rate help?" is one tick away."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from gui.insights.lazy_redraw import LazyRedraw
from gui.insights.run_records import RunRecord, config_diff, metric_series, scan_runs
from gui.theme import current_theme

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False)

COLUMNS = ("Run", "When", "Epochs", "Best val loss", "Val accuracy", "Changes")
COL_NAME, COL_WHEN, COL_EPOCHS, COL_LOSS, COL_ACC, COL_CHANGES = range(len(COLUMNS))
# Distinct on both themes; a run keeps its colour for the widget's life.
PALETTE = ("#3b9cff", "#ff8c42", "#2ec27e", "#e5484d", "#a35ac2", "#f5c211", "#1fb5b5",
           "#d16ba5", "#8f9aa6", "#9bd14b")
FIRST_METRICS = ("val_loss", "train_loss", "val_accuracy")
_CHANGES_SHOWN = 2   # diffs in the cell; the tooltip has them all
_PATH_ROLE = Qt.UserRole


class RunHistoryView(LazyRedraw, QWidget):
    run_selected = Signal(str)   # a run folder, on double click

    def __init__(self, runs_dir: str | Path, graph_name_provider: Callable[[], str | None]
                 | None = None, parent: QWidget | None = None, read_now: bool = True) -> None:
        super().__init__(parent)
        self.runs_dir = Path(runs_dir)
        self._provider = graph_name_provider
        self._runs: list[RunRecord] = []
        self._checked: set[str] = set()
        self._seen: set[str] = set()        # runs listed before: only new ones get ticked
        self._colours: dict[str, str] = {}
        self._curves: dict[str, tuple[list[int], list[float]]] = {}
        self._filling = False

        self.metric_combo = QComboBox()
        self.metric_combo.setToolTip("The epoch metric plotted for the ticked runs")
        self.metric_combo.currentTextChanged.connect(lambda _: self._replot())
        refresh = QPushButton("Refresh")
        refresh.setToolTip(f"Read the run folders under {self.runs_dir} again")
        refresh.clicked.connect(self.refresh)
        self.summary = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(QLabel("Metric:"))
        top.addWidget(self.metric_combo)
        top.addWidget(refresh)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col in range(COL_CHANGES):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemDoubleClicked.connect(
            lambda item, _col: self.run_selected.emit(item.data(COL_NAME, _PATH_ROLE)))

        self.plot = pg.PlotWidget(background=current_theme().base)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "epoch")
        backing = QColor(current_theme().base)
        backing.setAlpha(200)   # curves run under the legend: keep the names readable
        self.plot.addLegend(offset=(-6, 6), brush=pg.mkBrush(backing))
        self.plot.setMinimumHeight(160)

        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.plot)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        if read_now:
            self.refresh()
        else:
            self.refresh_when_seen()

    # --- for the lead and for tests --------------------------------------------------------
    def refresh(self) -> None:
        """Read the runs folder again; a run that appeared since the last look is ticked."""
        self._stale = False
        name = self._provider() if self._provider is not None else None
        self._runs = scan_runs(self.runs_dir, name or None)
        paths = [str(r.path) for r in self._runs]
        self._checked &= set(paths)
        if paths and paths[0] not in self._seen:
            self._checked.add(paths[0])   # the newest run is what one wants to look at
        self._seen.update(paths)
        for path in paths[::-1]:           # oldest first: colours stay put as runs arrive
            self._colours.setdefault(path, PALETTE[len(self._colours) % len(PALETTE)])
        self._fill_metrics()
        self._fill_tree()
        who = f"{name!r}" if name else "all graphs"
        count = len(self._runs)
        self.summary.setText(f"{count} run{'' if count == 1 else 's'} of {who}")
        self.summary.setToolTip(f"Run folders under {self.runs_dir}")
        self._replot()

    def refresh_when_seen(self) -> None:
        """refresh() now if the list can be seen, else when it is next shown or asked for:
        reading every run's metrics is wasted on a tab nobody opens."""
        self._draw_if_visible()

    def flush(self) -> None:   # LazyRedraw: what showing a stale view does
        self.refresh()

    def runs(self) -> list[RunRecord]:
        if self._stale:
            self.refresh()
        return list(self._runs)

    def set_checked(self, paths) -> None:
        self._checked = {str(p) for p in paths} & {str(r.path) for r in self._runs}
        self._fill_tree()
        self._replot()

    def checked(self) -> list[str]:
        return [str(r.path) for r in self._runs if str(r.path) in self._checked]

    def curves(self) -> dict[str, tuple[list[int], list[float]]]:
        return dict(self._curves)

    # --- table ---------------------------------------------------------------------------
    def _fill_tree(self) -> None:
        self._filling = True   # setCheckState would otherwise re-enter _item_changed
        try:
            self.tree.clear()
            for i, run in enumerate(self._runs):
                older = self._runs[i + 1] if i + 1 < len(self._runs) else None
                self.tree.addTopLevelItem(self._row(run, older))
        finally:
            self._filling = False

    def _row(self, run: RunRecord, older: RunRecord | None) -> QTreeWidgetItem:
        path = str(run.path)
        planned = run.planned_epochs
        done = len(run.epochs)
        epochs = f"{done}/{planned}" if planned else str(done)
        if run.status != "finished":   # stopped, failed, or still going / crashed
            epochs += f" ({run.status})"
        changes, tip = _changes(run, older)
        item = QTreeWidgetItem([
            run.name, run.started.strftime("%Y-%m-%d %H:%M") if run.started else "?", epochs,
            _fmt(run.best_val_loss), _fmt_pct(run.final_val_accuracy), changes])
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(COL_NAME, Qt.Checked if path in self._checked else Qt.Unchecked)
        item.setData(COL_NAME, _PATH_ROLE, path)
        item.setIcon(COL_NAME, _swatch(self._colours.get(path, PALETTE[0])))
        best = f"best epoch {run.best_epoch}" if run.best_epoch else "no best epoch yet"
        item.setToolTip(COL_NAME, "\n".join([path, f"graph {run.graph_name}, {best}",
                                             *run.notes]))
        item.setToolTip(COL_CHANGES, tip)
        for col in (COL_EPOCHS, COL_LOSS, COL_ACC):
            item.setTextAlignment(col, Qt.AlignRight | Qt.AlignVCenter)
        if run.notes:   # something could not be read: say so without hiding the run
            font = QFont(item.font(COL_NAME))
            font.setItalic(True)
            item.setFont(COL_NAME, font)
            item.setForeground(COL_NAME, QBrush(QColor("#d9822b")))
        return item

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != COL_NAME:
            return
        path = item.data(COL_NAME, _PATH_ROLE)
        if item.checkState(COL_NAME) == Qt.Checked:
            self._checked.add(path)
        else:
            self._checked.discard(path)
        self._replot()

    # --- plot ----------------------------------------------------------------------------
    def _fill_metrics(self) -> None:
        names: dict[str, None] = {}
        for run in self._runs:
            names.update(dict.fromkeys(run.metric_names()))
        ordered = [m for m in FIRST_METRICS if m in names] + sorted(
            m for m in names if m not in FIRST_METRICS)
        current = self.metric_combo.currentText()
        self.metric_combo.blockSignals(True)   # one replot at the end of refresh, not one per item
        self.metric_combo.clear()
        self.metric_combo.addItems(ordered)
        if current in ordered:
            self.metric_combo.setCurrentText(current)
        self.metric_combo.blockSignals(False)

    def _replot(self) -> None:
        self.plot.clear()
        self._curves = {}
        metric = self.metric_combo.currentText()
        self.plot.setLabel("left", metric)
        if not metric:
            return
        for run in reversed(self._runs):   # oldest first: the legend reads in time order
            path = str(run.path)
            if path not in self._checked:
                continue
            xs, ys = metric_series(run, metric)
            if not xs:
                continue
            self._curves[run.name] = (xs, ys)
            colour = self._colours.get(path, PALETTE[0])
            self.plot.plot(xs, ys, name=run.name, pen=pg.mkPen(colour, width=2),
                           symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None)


def _changes(run: RunRecord, older: RunRecord | None) -> tuple[str, str]:
    """(cell text, tooltip): the settings that differ from the run before this one."""
    if older is None:
        return "first run", "The oldest run listed: nothing to compare with."
    if run.config is None or older.config is None:
        missing = run.name if run.config is None else older.name
        return "? (no settings)", f"{missing} has no readable config.json."
    diff = config_diff(older.config, run.config)
    if not diff:
        return "same settings", f"Same settings as {older.name}."
    cell = "; ".join(diff[:_CHANGES_SHOWN])
    if len(diff) > _CHANGES_SHOWN:
        cell += f"; +{len(diff) - _CHANGES_SHOWN} more"
    return cell, f"Changed since {older.name}:\n" + "\n".join(diff)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
