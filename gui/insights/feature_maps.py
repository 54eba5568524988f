"""The "Feature maps" view: what the watched layers output for one fixed validation sample,
refreshed from the run's "activations" events.

The user ticks the nodes to watch (`watch_changed` tells the training panel, which asks the
run to capture them). Events can come faster than pictures are worth drawing, so the latest
one is kept and drawn at most 4 times a second; a hidden view draws when it is shown.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGridLayout, QHBoxLayout,
                               QLabel, QListWidget, QListWidgetItem, QScrollArea, QSpinBox,
                               QVBoxLayout, QWidget)

from gui.insights import node_caption
from gui.insights.images import (COLORMAPS, channel_grid, sample_qimage, to_qimage,
                                 vector_strip)
from gui.insights.lazy_redraw import LazyRedraw

REDRAW_MS = 250                 # at most 4 redraws a second
MIN_IMAGE_WIDTH = 160           # small maps are enlarged (nearest neighbour) to this
MAX_IMAGE_WIDTH = 256           # big ones are shrunk to this
MIN_IMAGE_HEIGHT = 16           # a vector strip is never a hairline
CELL_WIDTH = MAX_IMAGE_WIDTH + 16
NODE_ID_ROLE = Qt.UserRole + 1
WAITING = "waiting for the next capture"


def shape_text(shape) -> str:
    return "×".join(str(int(s)) for s in shape)


def enlarge(image: QImage) -> QPixmap:
    """Scale for display: integer nearest-neighbour enlargement so each value is a crisp
    block, smooth shrinking for big images, and a minimum height for strips."""
    w, h = max(1, image.width()), max(1, image.height())
    if w > MAX_IMAGE_WIDTH:
        return QPixmap.fromImage(image.scaledToWidth(MAX_IMAGE_WIDTH, Qt.SmoothTransformation))
    k = max(1, math.ceil(MIN_IMAGE_WIDTH / w))
    k = min(k, max(1, MAX_IMAGE_WIDTH // w))
    ky = max(k, math.ceil(MIN_IMAGE_HEIGHT / h))
    return QPixmap.fromImage(image.scaled(w * k, h * ky, Qt.IgnoreAspectRatio,
                                          Qt.FastTransformation))


class _Cell(QWidget):
    """One picture with a title and a one-line note (value range, or why it is empty)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel(wordWrap=True)
        self.title.setStyleSheet("font-weight: bold")
        self.picture = QLabel(alignment=Qt.AlignLeft | Qt.AlignTop)
        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet("color: gray")
        for widget in (self.title, self.picture, self.note):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setFixedWidth(CELL_WIDTH)

    def show_image(self, title: str, image: QImage | None, note: str = "") -> None:
        self.title.setText(title)
        self.picture.setPixmap(enlarge(image) if image is not None else QPixmap())
        self.picture.setVisible(image is not None)
        self.note.setText(note)
        self.note.setVisible(bool(note))


class FeatureMapView(LazyRedraw, QWidget):
    watch_changed = Signal(list)    # the ticked node ids, in graph order

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.class_names: list[str] = []
        self._pending: dict | None = None   # arrived, not drawn yet
        self._last: dict | None = None      # drawn; redrawn when a setting changes
        self._images: dict[str, QImage] = {}
        self._sample: QImage | None = None
        self._cells: dict[str, _Cell] = {}
        self._columns = 0
        self.draw_count = 0
        self._timer = self._make_redraw_timer(REDRAW_MS)
        self._build()
        self.refresh_nodes()
        session.graph_changed.connect(self._graph_changed)
        session.document_replaced.connect(self.refresh_nodes)

    # --- widgets ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.node_list = QListWidget()
        self.node_list.setToolTip("Tick the layers whose outputs the run should capture")
        self.node_list.itemChanged.connect(self._tick_changed)
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.cap_spin = QSpinBox(minimum=1, maximum=64, value=16)
        self.cap_spin.setToolTip("Show at most this many channels per layer")
        self.per_channel_check = QCheckBox("Per channel scaling", checked=True)
        self.per_channel_check.setToolTip(
            "On: each channel uses its full colour range. Off: one range for the layer, "
            "so channel strengths compare.")
        for signal in (self.colormap_combo.currentIndexChanged, self.cap_spin.valueChanged,
                       self.per_channel_check.toggled):
            signal.connect(self.redraw)

        controls = QWidget()
        side = QVBoxLayout(controls)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(QLabel("Watch"))
        side.addWidget(self.node_list, 1)
        form = QFormLayout()
        form.addRow("Colours", self.colormap_combo)
        form.addRow("Channels", self.cap_spin)
        side.addLayout(form)
        side.addWidget(self.per_channel_check)
        controls.setMaximumWidth(220)

        self.sample_cell = _Cell()
        self.sample_cell.show_image("Sample", None, "waiting for the run's first capture")
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.scroll = QScrollArea(widgetResizable=True)
        self.scroll.setWidget(self._grid_host)

        layout = QHBoxLayout(self)
        layout.addWidget(controls)
        layout.addWidget(self.scroll, 1)

    # --- the node list ----------------------------------------------------------------------
    def _graph(self):
        """The trained model is the document's main graph, whatever block is on screen."""
        return self.session.doc.graph

    def _graph_changed(self, graph, event) -> None:
        # Only what the list shows: which nodes there are and their names.
        if graph is self._graph() and (event.kind in ("node_added", "node_removed")
                                       or event.field == "label"):
            self.refresh_nodes()

    def _nodes(self) -> list:
        return [n for n in self._graph() if n.type != "Output"]

    def refresh_nodes(self) -> None:
        """Rebuild the list from the graph, keeping ticks; if every ticked node is gone (or
        on first build) tick the default again."""
        before = self.selected_nodes()
        first = self.node_list.count() == 0
        nodes = self._nodes()
        self.node_list.blockSignals(True)
        self.node_list.clear()
        for node in nodes:
            item = QListWidgetItem(node_caption(node))
            item.setData(NODE_ID_ROLE, node.id)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if node.id in before else Qt.Unchecked)
            self.node_list.addItem(item)
        if not self.selected_nodes() and (first or before):
            self._tick_default(nodes)
        self.node_list.blockSignals(False)
        if self.selected_nodes() != before:
            self._selection_changed()

    def _tick_default(self, nodes: list) -> None:
        """The first convolution shows the most at a glance; else the first layer."""
        convs = [n.id for n in nodes if n.type.startswith("Conv")]
        layers = [n.id for n in nodes if n.type != "Input"]
        pick = (convs or layers)[:1]
        for item in self._items():
            if item.data(NODE_ID_ROLE) in pick:
                item.setCheckState(Qt.Checked)

    def _items(self) -> list[QListWidgetItem]:
        return [self.node_list.item(i) for i in range(self.node_list.count())]

    def selected_nodes(self) -> list[str]:
        return [item.data(NODE_ID_ROLE) for item in self._items()
                if item.checkState() == Qt.Checked]

    def set_selected_nodes(self, ids) -> None:
        before = self.selected_nodes()
        wanted = set(ids)
        self.node_list.blockSignals(True)
        for item in self._items():
            item.setCheckState(Qt.Checked if item.data(NODE_ID_ROLE) in wanted
                               else Qt.Unchecked)
        self.node_list.blockSignals(False)
        if self.selected_nodes() != before:
            self._selection_changed()

    def _tick_changed(self, _item: QListWidgetItem) -> None:
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.watch_changed.emit(self.selected_nodes())
        self.redraw()

    # --- events -----------------------------------------------------------------------------
    def handle_event(self, ev: dict) -> None:
        kind = ev.get("kind")
        if kind == "started":
            self.class_names = list(ev.get("class_names") or [])
        elif kind == "activations":
            self._pending = ev
            self._schedule()

    def reset(self) -> None:
        """A new run: forget the pictures (class names come again with its started event)."""
        self._timer.stop()
        self._pending = self._last = None
        self.redraw()

    def flush(self) -> None:
        """Draw the newest event now."""
        self._timer.stop()
        if self._pending is not None:
            self._last, self._pending = self._pending, None
            self.redraw()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._arrange()

    # --- drawing ----------------------------------------------------------------------------
    def images(self) -> dict[str, QImage]:
        """The last drawn pictures by node id, before enlarging (for tests and export)."""
        return dict(self._images)

    def sample_image(self) -> QImage | None:
        return self._sample

    def caption(self, node_id: str | None = None) -> str:
        """The words shown with a node's picture (None: the sample's), title and note."""
        cell = self.sample_cell if node_id is None else self._cells.get(node_id)
        if cell is None:
            return ""
        return "\n".join(t for t in (cell.title.text(), cell.note.text()) if t)

    def redraw(self) -> None:
        """Draw the last event with the current settings and ticks."""
        self.draw_count += 1
        ev = self._last
        self._draw_sample(ev)
        self._images = {}
        nodes = {n.id: n for n in self._graph()}
        captured = (ev or {}).get("nodes") or {}
        wanted = [i for i in self.selected_nodes() if i in nodes]
        for stale in set(self._cells) - set(wanted):
            self._cells.pop(stale).deleteLater()
        for node_id in wanted:
            if node_id not in self._cells:
                self._cells[node_id] = _Cell()
            cell = self._cells[node_id]
            node = nodes[node_id]
            name = node_caption(node)
            if node_id in captured:
                self._draw_node(cell, node_id, name, np.asarray(captured[node_id]))
            else:
                cell.show_image(name, None, WAITING)
        self._columns = 0                   # cells may have changed: lay out again
        self._arrange()

    def _draw_sample(self, ev: dict | None) -> None:
        sample = None if ev is None else ev.get("sample")
        if sample is None:
            self._sample = None
            self.sample_cell.show_image("Sample", None, "waiting for the run's first capture")
            return
        self._sample = sample_qimage(sample, self.colormap_combo.currentText())
        self.sample_cell.show_image("Sample", self._sample, self._sample_note(ev))

    def _sample_note(self, ev: dict) -> str:
        parts = []
        if ev.get("label") is not None:
            parts.append(f"label {self._class_name(int(ev['label']))}")
        probs = ev.get("probabilities")
        if probs is not None and len(probs):
            best = int(np.argmax(probs))
            parts.append(f"predicted {self._class_name(best)} ({float(probs[best]):.0%})")
        if ev.get("epoch") is not None:
            parts.append(f"epoch {ev['epoch']}")
        return " · ".join(parts)

    def _class_name(self, index: int) -> str:
        if 0 <= index < len(self.class_names):
            return self.class_names[index]
        return str(index)

    def _draw_node(self, cell: _Cell, node_id: str, name: str, out: np.ndarray) -> None:
        colormap = self.colormap_combo.currentText()
        title = f"{name} · {shape_text(out.shape)}"
        if out.ndim == 3:
            image, shown = channel_grid(out, self.cap_spin.value(), colormap,
                                        self.per_channel_check.isChecked())
            title += f", showing {shown}"
        elif out.ndim <= 1:
            image = vector_strip(out.reshape(-1), colormap)
        else:
            image = to_qimage(out.reshape(-1, out.shape[-1]), colormap)
        self._images[node_id] = image
        cell.show_image(title, image, self._range_note(out))

    @staticmethod
    def _range_note(out: np.ndarray) -> str:
        finite = out[np.isfinite(out)] if out.size else out
        bad = out.size - finite.size
        if finite.size == 0:
            return "no finite values" if out.size else "empty"
        note = f"min {finite.min():.3g} · max {finite.max():.3g}"
        return note + (f" · {bad} NaN/Inf (magenta)" if bad else "")

    def _arrange(self) -> None:
        """Put the sample then the watched layers into as many columns as fit the width."""
        width = self.scroll.viewport().width()
        columns = max(1, width // (CELL_WIDTH + max(0, self._grid.horizontalSpacing()) + 2))
        if columns == self._columns:
            return
        self._columns = columns
        while self._grid.count():
            self._grid.takeAt(0)
        cells = [self.sample_cell] + [self._cells[i] for i in self.selected_nodes()
                                      if i in self._cells]
        for index, cell in enumerate(cells):
            self._grid.addWidget(cell, *divmod(index, columns))
        # Spare width and height go to an empty last column/row, so cells pack top-left.
        for column in range(self._grid.columnCount()):
            self._grid.setColumnStretch(column, 1 if column == columns else 0)
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        self._grid.setColumnStretch(columns, 1)
        self._grid.setRowStretch(math.ceil(len(cells) / columns), 1)
