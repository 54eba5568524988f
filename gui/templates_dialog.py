"""File › Open Template…: pick one of the bundled templates, with its size, its dataset and a
preview of the graph before opening it.

The dialog only chooses; the caller opens `selected_path()` like any other file. A template
that cannot be loaded is still listed, with the loader's reasons in the details pane, and
cannot be chosen.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QGraphicsScene, QGraphicsView,
                               QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout,
                               QWidget)

import graph.templates as templates
from graph.loader import load_file
from gui.theme import current_theme

PATH_ROLE = Qt.UserRole
NAME_ROLE = Qt.UserRole + 1
DESCRIPTION_ROLE = Qt.UserRole + 2
DESCRIPTION_WIDTH = 300     # the list shows the description elided to one line of this width
PREVIEW_MARGIN = 30         # scene units around the graph in the preview


@dataclass
class _Loaded:
    """What the details pane shows for one template, computed once per dialog."""
    session: object | None = None     # EditorSession, kept alive for the preview scene
    scene: QGraphicsScene | None = None
    nodes: int = 0
    blocks: int = 0
    params: int = 0
    errors: list[str] | None = None   # the check's error messages (the template opens anyway)
    dataset: str = ""
    failure: str = ""                 # why the file cannot be opened at all

    @property
    def ok(self) -> bool:
        return not self.failure


class PreviewView(QGraphicsView):
    """A small, non-interactive view of a scene that always shows the whole graph."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setInteractive(False)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.NoDrag)
        self.setFocusPolicy(Qt.NoFocus)
        self.setFrameShape(QFrame.StyledPanel)
        self.setBackgroundBrush(current_theme().background)

    def show_scene(self, scene: QGraphicsScene | None) -> None:
        self.setScene(scene)
        self.refit()

    def refit(self) -> None:
        scene = self.scene()
        if scene is None:
            return
        rect: QRectF = scene.itemsBoundingRect()
        if rect.isEmpty():
            return
        m = PREVIEW_MARGIN
        self.fitInView(rect.adjusted(-m, -m, m, m), Qt.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.refit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refit()

    # The preview is a picture: no wheel zoom, no panning, no clicks.
    def wheelEvent(self, event) -> None:
        event.ignore()


class TemplatesDialog(QDialog):
    """Lists the templates (name and a one-line description); the selected one's details:
    name, description, node and parameter counts, dataset, and a preview of the graph.

    `selected_path()` is the chosen template's file after `exec()` returns Accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Template")
        self.resize(860, 520)
        self._loaded: dict[Path, _Loaded] = {}

        self.list = QListWidget()
        self.list.setObjectName("templateList")
        self.list.setSelectionMode(QListWidget.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setFixedWidth(DESCRIPTION_WIDTH + 40)
        self.list.setSpacing(2)

        self.name_label = QLabel()
        self.name_label.setObjectName("templateName")
        font = QFont(self.name_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.name_label.setFont(font)
        self.description_label = QLabel()
        self.description_label.setObjectName("templateDescription")
        self.description_label.setWordWrap(True)
        self.stats_label = QLabel()
        self.stats_label.setObjectName("templateStats")
        self.dataset_label = QLabel()
        self.dataset_label.setObjectName("templateDataset")
        self.error_label = QLabel()
        self.error_label.setObjectName("templateError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setStyleSheet(f"color: {current_theme().error.name()};")
        self.hint_label = QLabel("Select a template to see its details.")
        self.hint_label.setObjectName("templateHint")
        # The preview spans the dialog's width: most graphs are laid out left to right.
        self.preview = PreviewView()
        self.preview.setObjectName("templatePreview")
        self.preview.setMinimumHeight(170)

        details = QWidget()
        details.setObjectName("templateDetails")
        column = QVBoxLayout(details)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.hint_label, self.name_label, self.description_label,
                       self.stats_label, self.dataset_label, self.error_label):
            column.addWidget(widget)
        column.addStretch(1)
        self.details = details

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.Ok)
        self.ok_button.setText("Open")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        body = QHBoxLayout()
        body.addWidget(self.list, 0)
        body.addWidget(details, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(body, 2)
        outer.addWidget(self.preview, 3)
        outer.addWidget(self.buttons)

        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(self._double_clicked)
        self._fill()
        self._show(None)

    # --- the list ----------------------------------------------------------------------------
    def _fill(self) -> None:
        metrics = QFontMetrics(self.list.font())
        listed = set()
        for info in templates.list_templates():
            listed.add(info.path)
            short = metrics.elidedText(" ".join(info.description.split()), Qt.ElideRight,
                                       DESCRIPTION_WIDTH)
            self._add_item(info.name, short, info.path, info.description)
        # list_templates() leaves out files it cannot parse; show them, so the library's
        # contents are not a mystery, with the reason once selected.
        for path in sorted(Path(templates.TEMPLATES_DIR).glob("*.json")):
            if path not in listed:
                self._add_item(path.stem, "(cannot be read)", path, "")

    def _add_item(self, name: str, short: str, path: Path, description: str) -> None:
        item = QListWidgetItem(f"{name}\n{short}" if short else name)
        item.setData(PATH_ROLE, str(path))
        item.setData(NAME_ROLE, name)
        item.setData(DESCRIPTION_ROLE, description)
        if description:
            item.setToolTip(description)
        self.list.addItem(item)

    def items(self) -> list[QListWidgetItem]:
        return [self.list.item(i) for i in range(self.list.count())]

    def select_template(self, name: str) -> bool:
        """Select the entry for a template key or name ('lenet5', 'LeNet-5'); False if none."""
        path = templates.find_template(name)
        for item in self.items():
            if path is not None and Path(item.data(PATH_ROLE)) == path \
                    or item.data(NAME_ROLE) == name:
                self.list.setCurrentItem(item)
                item.setSelected(True)
                return True
        return False

    def _selected_item(self) -> QListWidgetItem | None:
        chosen = self.list.selectedItems()
        return chosen[0] if chosen else None

    def selected_path(self) -> Path | None:
        """The selected template's file, or None when nothing openable is selected."""
        item = self._selected_item()
        if item is None:
            return None
        path = Path(item.data(PATH_ROLE))
        return path if self._load(path).ok else None

    def _selection_changed(self) -> None:
        item = self._selected_item()
        self._show(Path(item.data(PATH_ROLE)) if item is not None else None)

    def _double_clicked(self, item: QListWidgetItem) -> None:
        if self._load(Path(item.data(PATH_ROLE))).ok:
            self.accept()

    def accept(self) -> None:
        if self.selected_path() is not None:
            super().accept()

    # --- the details -------------------------------------------------------------------------
    def _load(self, path: Path) -> _Loaded:
        if path not in self._loaded:
            self._loaded[path] = _load_template(path, self)
        return self._loaded[path]

    def _show(self, path: Path | None) -> None:
        loaded = self._load(path) if path is not None else None
        self.hint_label.setVisible(loaded is None)
        self.ok_button.setEnabled(loaded is not None and loaded.ok)
        for label in (self.name_label, self.description_label, self.stats_label,
                      self.dataset_label, self.error_label):
            label.clear()
            label.setVisible(False)
        if loaded is None:
            self.preview.show_scene(None)
            return
        item = self._selected_item()
        title = item.data(NAME_ROLE) if item is not None else path.stem
        self._set(self.name_label, title)
        if not loaded.ok:
            self.preview.show_scene(None)
            self._set(self.error_label, f"This template cannot be opened:\n{loaded.failure}")
            return
        self._set(self.description_label, item.data(DESCRIPTION_ROLE) if item is not None else "")
        counts = [f"{loaded.nodes} nodes"]
        if loaded.blocks:
            counts.append(f"{loaded.blocks} block{'s' if loaded.blocks != 1 else ''}")
        counts.append(f"{loaded.params:,} parameters")
        self._set(self.stats_label, " · ".join(counts))
        self._set(self.dataset_label, f"Dataset: {loaded.dataset}")
        if loaded.errors:
            n = len(loaded.errors)
            self._set(self.error_label, f"{n} problem{'s' if n != 1 else ''} to fix after "
                      f"opening: {loaded.errors[0]}")
        self.preview.show_scene(loaded.scene)

    @staticmethod
    def _set(label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))


def _load_template(path: Path, owner: QWidget) -> _Loaded:
    """Load, check and draw one template; any failure becomes text for the details pane."""
    try:
        doc = load_file(path)
    except Exception as exc:  # noqa: BLE001 — a broken template must not take the dialog down
        return _Loaded(failure=str(exc) or type(exc).__name__)
    try:
        # Imported here: the session and the canvas pull in shape inference, which the
        # dialog only needs once a template is selected.
        from gui.canvas.scene import GraphScene
        from gui.session import EditorSession
        session = EditorSession(doc, path)   # runs runtime.check.check_document
        session.setParent(owner)
        scene = GraphScene(session)
        scene.setParent(owner)
        result = session.result
    except Exception as exc:  # noqa: BLE001
        return _Loaded(failure=f"{path}: cannot be checked: {exc}")
    return _Loaded(session=session, scene=scene, nodes=len(doc.graph), blocks=len(doc.blocks),
                   params=result.shapes.total_params,
                   errors=[d.message for d in result.errors],
                   dataset=_dataset_text(doc.training))


def _dataset_text(training: dict | None) -> str:
    """'digits', a file path, or why there is none: what the training block trains on."""
    if not training:
        return "none (no training settings)"
    dataset = training.get("dataset")
    if isinstance(dataset, str) and dataset:
        return dataset
    if isinstance(dataset, dict):
        for key in ("name", "path"):
            if dataset.get(key):
                return str(dataset[key])
    return "not set"
