"""File › Open Template…: pick one of the bundled templates, grouped by family, with what a
learner wants to know before opening it (what the family is for, the template's idea, its
dataset, recipe, size) and a preview of the graph.

The dialog only chooses; the caller opens `selected_path()` like any other file. A template
that cannot be loaded is still listed, with the loader's reasons in the details pane, and
cannot be chosen. Type to filter; ↑/↓ move between the templates shown; Enter or a
double-click opens.

Parameter counts come from the app's own shape check on torch's meta device (no weights
are built, so a 133 M-parameter VGG-11 costs milliseconds). The first check of a recurrent
layer or a deep template still takes up to a second on a small machine, so the list's
counts are made on a background thread and filled in as they come; the dialog opens at once
and stays responsive. The selected template is checked (and drawn) on the GUI thread.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QGraphicsScene,
                               QGridLayout, QHBoxLayout, QLabel, QLineEdit, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from graph.loader import load_file
from gui import template_library as library
from gui.template_counts import ParamCounter
from gui.template_preview import PreviewView
from gui.template_rows import (BROKEN_ROLE, COUNT_ROLE, DESCRIPTION_ROLE, FACTS_ROLE,
                               FAMILY_ROLE, NAME_ROLE, PATH_ROLE, TemplateRowDelegate,
                               compact_count, family_colour)
from gui.theme import current_theme

__all__ = ["NAME_ROLE", "PATH_ROLE", "TemplatesDialog"]

LIST_WIDTH = 400            # the list column; rows elide their description to fit


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
    recipe: str = ""
    training: str = ""                # "20 epochs · batch 32 · adam, lr 0.005"
    inputs: str = ""                  # "x: 1×32×32"
    layers: str = ""                  # "Conv2d ×2, ReLU ×4, ..."
    failure: str = ""                 # why the file cannot be opened at all

    @property
    def ok(self) -> bool:
        return not self.failure


class _TemplateTree(QTreeWidget):
    """The list: family headings and template rows, flat. Typing here goes to the filter."""

    def __init__(self, dialog: "TemplatesDialog") -> None:
        super().__init__()
        self._dialog = dialog

    def keyPressEvent(self, event) -> None:
        text, edit = event.text(), self._dialog.filter_edit
        if text and text.isprintable() and not event.modifiers() & ~Qt.ShiftModifier:
            edit.setFocus()
            edit.insert(text)
            return
        if event.key() == Qt.Key_Backspace and edit.text():
            edit.setFocus()
            edit.backspace()
            return
        super().keyPressEvent(event)


class TemplatesDialog(QDialog):
    """`selected_path()` is the chosen template's file after `exec()` returns Accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Template")
        self.resize(1180, 720)
        self._loaded: dict[Path, _Loaded] = {}
        self._rows: dict[Path, QTreeWidgetItem] = {}
        self._headings: dict[str, QTreeWidgetItem] = {}
        self._counts: dict[Path, int | str] = {}   # from the background counter
        self._counter: ParamCounter | None = None
        self._build_list()
        self._build_details()
        self._build_layout()
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(self._double_clicked)
        self._fill()
        self.apply_filter("")  # selects the first template
        self.filter_edit.setFocus()

    def _build_list(self) -> None:
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("templateFilter")
        self.filter_edit.setPlaceholderText("Filter by name, family, dataset or idea…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.installEventFilter(self)
        self.filter_edit.textChanged.connect(self.apply_filter)

        self.list = _TemplateTree(self)
        self.list.setObjectName("templateList")
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setIndentation(0)
        self.list.setUniformRowHeights(False)
        self.list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setItemDelegate(TemplateRowDelegate(self.list))
        self.list.setFixedWidth(LIST_WIDTH)
        self.count_label = QLabel()
        self.count_label.setObjectName("templateCount")

    def _build_details(self) -> None:
        self.hint_label = QLabel()
        self.hint_label.setObjectName("templateHint")
        self.hint_label.setWordWrap(True)
        self.name_label = QLabel()
        self.name_label.setObjectName("templateName")
        font = QFont(self.name_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.name_label.setFont(font)
        self.family_label = QLabel()
        self.family_label.setObjectName("templateFamily")
        self.family_label.setTextFormat(Qt.RichText)
        self.description_label = QLabel()
        self.description_label.setObjectName("templateDescription")
        self.description_label.setWordWrap(True)
        self.description_label.setTextFormat(Qt.RichText)
        self.error_label = QLabel()
        self.error_label.setObjectName("templateError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setStyleSheet(f"color: {current_theme().error.name()};")

        self.facts = QWidget()
        self.facts.setObjectName("templateFacts")
        grid = QGridLayout(self.facts)
        grid.setContentsMargins(0, 6, 0, 6)
        grid.setHorizontalSpacing(14)
        (self.dataset_label, self.recipe_label, self.inputs_label, self.layers_label,
         self.stats_label, self.training_label) = (
            self._fact(grid, row, key) for row, key in
            enumerate(("Dataset", "Recipe", "Input", "Layers", "Size", "Training")))
        grid.setColumnStretch(1, 1)

    def _build_layout(self) -> None:
        # Under the details, the rest of the right-hand column: the list keeps the full
        # height for a library of 25 and more.
        self.preview = PreviewView()
        self.preview.setObjectName("templatePreview")
        self.preview.setMinimumHeight(150)

        details = QWidget()
        details.setObjectName("templateDetails")
        column = QVBoxLayout(details)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.hint_label, self.name_label, self.family_label,
                       self.description_label, self.facts, self.error_label):
            column.addWidget(widget)
        self.details = details

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.Ok)
        self.ok_button.setText("Open")
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(self.filter_edit)
        left.addWidget(self.list, 1)
        left.addWidget(self.count_label)
        right = QVBoxLayout()
        right.setContentsMargins(8, 0, 0, 0)
        right.addWidget(details, 0)
        right.addWidget(self.preview, 1)
        body = QHBoxLayout()
        body.addLayout(left, 0)
        body.addLayout(right, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(body, 1)
        outer.addWidget(self.buttons)

    @staticmethod
    def _fact(grid: QGridLayout, row: int, key: str) -> QLabel:
        name = QLabel(key)
        name.setStyleSheet("color: palette(mid);")
        name.setAlignment(Qt.AlignRight | Qt.AlignTop)
        value = QLabel()
        value.setObjectName(f"template{key}")
        value.setWordWrap(True)
        value.setTextInteractionFlags(Qt.TextSelectableByMouse)
        grid.addWidget(name, row, 0)
        grid.addWidget(value, row, 1)
        return value

    # --- the list ----------------------------------------------------------------------------
    def _fill(self) -> None:
        self._entries = {e.path: e for e in library.library_entries()}
        for family, entries in library.grouped(list(self._entries.values())):
            heading = QTreeWidgetItem([family])
            heading.setData(0, FAMILY_ROLE, family)
            heading.setData(0, NAME_ROLE, family)
            heading.setToolTip(0, library.FAMILY_BLURBS.get(family, ""))
            # Disabled: clicks and the arrow keys pass over headings (the delegate paints
            # them in full colour all the same).
            heading.setFlags(Qt.NoItemFlags)
            self.list.addTopLevelItem(heading)
            self._headings[family] = heading
            for entry in entries:
                item = QTreeWidgetItem([entry.name])
                item.setData(0, PATH_ROLE, str(entry.path))
                item.setData(0, NAME_ROLE, entry.name)
                # The row shows the template's own idea: the family sentence that opens
                # every description of the family would make all its rows read alike.
                item.setData(0, DESCRIPTION_ROLE,
                             library.split_description(entry.description, entry.family)[1]
                             if entry.readable else "(cannot be read)")
                item.setData(0, FACTS_ROLE, self._row_facts(entry, None))
                item.setData(0, BROKEN_ROLE, not entry.readable)
                if entry.description:
                    item.setToolTip(0, entry.description)
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                self.list.addTopLevelItem(item)
                self._rows[entry.path] = item

    @staticmethod
    def _row_facts(entry: library.TemplateEntry, count: int | str | None) -> str:
        """'digits · 61.7 k params'; `count` is the parameter count, a failure, or unknown."""
        if not entry.readable or isinstance(count, str):
            return "cannot be opened"
        parts = [entry.dataset] if entry.dataset and not entry.dataset.startswith("none") else []
        if count is not None:
            parts.append(f"{compact_count(count)} params")
        return " · ".join(parts)

    def _set_count(self, path: Path, count: int | str) -> None:
        self._counts[path] = count
        row, entry = self._rows.get(path), self._entries.get(path)
        if row is not None and entry is not None:
            row.setData(0, FACTS_ROLE, self._row_facts(entry, count))
            row.setData(0, BROKEN_ROLE, isinstance(count, str))

    def items(self) -> list[QTreeWidgetItem]:
        """The template rows, in the order shown (headings left out)."""
        return [item for item in self._top_items() if not item.data(0, FAMILY_ROLE)]

    def headings(self) -> list[QTreeWidgetItem]:
        return [item for item in self._top_items() if item.data(0, FAMILY_ROLE)]

    def visible_items(self) -> list[QTreeWidgetItem]:
        return [item for item in self.items() if not item.isHidden()]

    def _top_items(self) -> list[QTreeWidgetItem]:
        return [self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount())]

    def apply_filter(self, query: str | None = None) -> None:
        """Show the templates whose name, family, description or dataset hold every word
        typed, and the headings of families left with any; keep the selection on a shown
        template (the first one when the selected one went)."""
        query = self.filter_edit.text() if query is None else query
        shown: dict[str, int] = {}
        for path, item in self._rows.items():
            entry = self._entries[path]
            fits = library.matches(entry, query)
            item.setHidden(not fits)
            shown[entry.family] = shown.get(entry.family, 0) + (1 if fits else 0)
        for family, heading in self._headings.items():
            heading.setHidden(shown.get(family, 0) == 0)
            heading.setData(0, COUNT_ROLE, shown.get(family, 0))
        visible = self.visible_items()
        total = len(self._rows)
        if not total:
            self.count_label.setText("No templates found.")
        elif not visible:
            self.count_label.setText(f"No template matches “{query.strip()}”.")
        elif len(visible) == total:
            self.count_label.setText(f"{total} templates in {len(self._headings)} families")
        else:
            self.count_label.setText(f"{len(visible)} of {total} templates match")
        current = self.list.currentItem()
        if current is not None and current in visible:
            self.list.scrollToItem(current)
        elif visible:
            self._select(visible[0])
        else:
            self.list.setCurrentItem(None)
            self.list.clearSelection()
            self._show(None)

    def _select(self, item: QTreeWidgetItem) -> None:
        self.list.setCurrentItem(item)
        item.setSelected(True)
        self.list.scrollToItem(item)

    def _move(self, step: int) -> None:
        visible = self.visible_items()
        if not visible:
            return
        current = self.list.currentItem()
        if current in visible:
            index = max(0, min(len(visible) - 1, visible.index(current) + step))
        else:
            index = 0 if step > 0 else len(visible) - 1
        self._select(visible[index])

    def eventFilter(self, obj, event) -> bool:
        if obj is self.filter_edit and event.type() == QEvent.KeyPress:
            steps = {Qt.Key_Down: 1, Qt.Key_Up: -1, Qt.Key_PageDown: 5, Qt.Key_PageUp: -5}
            if event.key() in steps:
                self._move(steps[event.key()])
                return True
            if event.key() == Qt.Key_Escape and self.filter_edit.text():
                self.filter_edit.clear()
                return True
        return super().eventFilter(obj, event)

    def select_template(self, name: str) -> bool:
        """Select the entry for a template key or name ('lenet5', 'LeNet-5'); False if none
        (a template hidden by the filter counts as none)."""
        import graph.templates as templates

        path = templates.find_template(name)
        for item in self.visible_items():
            if path is not None and Path(item.data(0, PATH_ROLE)) == path \
                    or item.data(0, NAME_ROLE) == name:
                self._select(item)
                return True
        return False

    def _selected_item(self) -> QTreeWidgetItem | None:
        chosen = self.list.selectedItems()
        item = chosen[0] if chosen else None
        if item is None or item.isHidden() or item.data(0, FAMILY_ROLE):
            return None
        return item

    def selected_path(self) -> Path | None:
        """The selected template's file, or None when nothing openable is selected."""
        item = self._selected_item()
        if item is None:
            return None
        path = Path(item.data(0, PATH_ROLE))
        return path if self._load(path).ok else None

    def _selection_changed(self) -> None:
        item = self._selected_item()
        self._show(Path(item.data(0, PATH_ROLE)) if item is not None else None)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if not item.data(0, FAMILY_ROLE) and self._load(Path(item.data(0, PATH_ROLE))).ok:
            self.accept()

    def accept(self) -> None:
        if self.selected_path() is not None:
            super().accept()

    # --- parameter counts, filled in after the dialog shows --------------------------------
    def _uncounted(self) -> list[Path]:
        return [path for path, entry in self._entries.items()
                if entry.readable and path not in self._counts]

    def showEvent(self, event) -> None:
        super().showEvent(event)
        todo = self._uncounted()
        if todo and self._counter is None:
            self._counter = ParamCounter(todo)
            self._counter.counted.connect(self._on_counted)
            self._counter.start()

    def hideEvent(self, event) -> None:
        if self._counter is not None:
            self._counter.stop(wait=0)  # a closed dialog counts nothing more; no waiting
        super().hideEvent(event)

    @Slot(str, object)
    def _on_counted(self, path: str, count: object) -> None:
        self._set_count(Path(path), count)

    def count_all(self) -> None:
        """Count every template now, on this thread (what the background counter does)."""
        if self._counter is not None:
            self._counter.stop(wait=10)
        for path in self._uncounted():
            self._set_count(path, library.parameter_count(path))

    # --- the details -------------------------------------------------------------------------
    def _load(self, path: Path) -> _Loaded:
        if path not in self._loaded:
            self._loaded[path] = loaded = _load_template(path, self)
            self._set_count(path, loaded.params if loaded.ok else loaded.failure)
        return self._loaded[path]

    def _show(self, path: Path | None) -> None:
        loaded = self._load(path) if path is not None else None
        self.ok_button.setEnabled(loaded is not None and loaded.ok)
        for label in (self.name_label, self.family_label, self.description_label,
                      self.error_label):
            label.clear()
            label.setVisible(False)
        self.facts.setVisible(False)
        if loaded is None:
            self._set(self.hint_label, self._hint())
            self.preview.show_scene(None)
            return
        self.hint_label.setVisible(False)
        entry = self._entries[path]
        self._set(self.name_label, entry.name)
        colour = family_colour(entry.family).lighter(
            150 if current_theme().name == "dark" else 100).name()
        self._set(self.family_label, f"<span style='color:{colour}; font-weight:600'>"
                  f"{html.escape(entry.family)}</span>")
        if not loaded.ok:
            self.preview.show_scene(None)
            self._set(self.error_label, f"This template cannot be opened:\n{loaded.failure}")
            return
        family_part, idea = library.split_description(entry.description, entry.family)
        self._set(self.description_label, "".join(
            f"<p>{style}{html.escape(text)}{end}</p>" for text, style, end in
            ((family_part, "<i>", "</i>"), (idea, "", "")) if text))
        self.dataset_label.setText(loaded.dataset)
        self.recipe_label.setText(loaded.recipe or "—")
        counts = [f"{loaded.nodes} nodes"]
        if loaded.blocks:
            counts.append(f"{loaded.blocks} block{'s' if loaded.blocks != 1 else ''}")
        counts.append(f"{loaded.params:,} parameters")
        self.stats_label.setText(" · ".join(counts))
        self.training_label.setText(loaded.training or "—")
        self.inputs_label.setText(loaded.inputs or "none (the recipe feeds its blocks)")
        self.layers_label.setText(loaded.layers or "—")
        self.facts.setVisible(True)
        if loaded.errors:
            n = len(loaded.errors)
            self._set(self.error_label, f"{n} problem{'s' if n != 1 else ''} to fix after "
                      f"opening: {loaded.errors[0]}")
        self.preview.show_scene(loaded.scene)

    def _hint(self) -> str:
        if not self._rows:
            import graph.templates as templates
            return f"There are no templates in {templates.TEMPLATES_DIR}."
        if not self.visible_items():
            return "No template fits the filter. Press Esc to clear it."
        return "Select a template to see its details."

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
    training = doc.training if isinstance(doc.training, dict) else {}
    return _Loaded(session=session, scene=scene, nodes=len(doc.graph), blocks=len(doc.blocks),
                   params=result.shapes.total_params,
                   errors=[d.message for d in result.errors],
                   dataset=library.dataset_text(doc.training),
                   recipe=str(training.get("recipe", "classification")) if training else "",
                   training=_training_text(training),
                   inputs=library.inputs_text(doc.graph), layers=library.layers_text(doc.graph))


def _training_text(training: dict) -> str:
    """'20 epochs · batch 32 · adam, lr 0.005': the schedule the template comes tuned with."""
    parts = []
    if isinstance(training.get("epochs"), int):
        parts.append(f"{training['epochs']} epoch{'s' if training['epochs'] != 1 else ''}")
    if isinstance(training.get("batch_size"), int):
        parts.append(f"batch {training['batch_size']}")
    optimizer = training.get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("name"), str):
        lr = optimizer.get("lr")
        parts.append(optimizer["name"] + (f", lr {lr:g}" if isinstance(lr, (int, float)) else ""))
    return " · ".join(parts)
