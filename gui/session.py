"""The document being edited: the graph model, its undo stack, its file, and the live check.

Views listen to the model's events (for structure) and to `checked` (for shapes and
problems); they never keep their own copy of either.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from graph.document import Document
from graph.fileformat import dumps, save
from graph.loader import load_file
from graph.model import Graph, GraphEvent
from runtime.check import CheckResult
from runtime.recipe_check import check_for_recipe
from runtime.shapes import ShapeInference


UNTITLED = "Untitled"   # the name of a new document, until it is saved under a file name


class EditorSession(QObject):
    """One open document. `graph_changed` fires for every model event of the graph on
    screen; `checked` after each re-check; `state_changed` when file/modified/view change."""

    graph_changed = Signal(object, object)  # (Graph, GraphEvent): views filter by graph
    checked = Signal(object)            # CheckResult
    state_changed = Signal()
    view_changed = Signal()             # the graph on screen changed (entered or left a block)
    document_replaced = Signal()        # another document is open (revert, restore, open)

    def __init__(self, doc: Document | None = None, path: Path | None = None) -> None:
        super().__init__()
        self.doc = doc or Document(name=UNTITLED)
        self.path = path
        self.undo = QUndoStack(self)
        self.undo.cleanChanged.connect(self._clean_changed)
        self.inference = ShapeInference()
        self.result: CheckResult | None = None
        self.block: str | None = None   # None: the main graph; else a block being edited
        self._unsubscribe = []
        self._check_timer = QTimer(self, singleShot=True, interval=0)
        self._check_timer.timeout.connect(self.recheck)
        self._listen()
        self.recheck()

    def _clean_changed(self, _clean: bool) -> None:
        self.state_changed.emit()

    # --- what is on screen ------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        return self.doc.graph_at(self.block)

    def screen_shapes(self):
        """The check's ShapeReport for the graph on screen; inside a block, the report of
        the first instance of that block found (nested blocks included)."""
        result = self.result
        if result is None:
            return None
        if self.block is None:
            return result.shapes
        doc = self.doc
        todo = [(doc.graph, result.shapes, 0)]
        while todo:
            graph, report, depth = todo.pop(0)
            for node_id, node in graph.nodes.items():
                if node.type != "Block":
                    continue
                shapes = report.nodes.get(node_id)
                if shapes is None or shapes.inner is None:
                    continue
                name = node.params.get("block")
                if name == self.block:
                    return shapes.inner
                if name in doc.blocks and depth < 16:
                    todo.append((doc.blocks[name], shapes.inner, depth + 1))
        return None

    def enter_block(self, name: str | None) -> None:
        if name is not None and name not in self.doc.blocks:
            return
        self.block = name
        self.view_changed.emit()
        self.recheck()

    # --- file -------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return not self.undo.isClean()

    @property
    def title(self) -> str:
        return self.path.name if self.path else (self.doc.name or UNTITLED)

    @classmethod
    def open(cls, path: str | Path) -> "EditorSession":
        path = Path(path)
        return cls(load_file(path), path)

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file name yet: use Save As")
        save(self.doc, target)
        self.path = target
        self.undo.setClean()
        self.state_changed.emit()
        return target

    def name_from_file(self, path: str | Path) -> bool:
        """A document without a name of its own (none, or the default 'Untitled') takes the
        name of the file it is saved as: 'my_net.json' -> 'my_net', which the breadcrumb and
        the exported class (MyNet) then show. A named document keeps its name. Not an undo
        step: it is part of saving, as the file name is. True when the name changed."""
        stem = Path(path).stem.strip()
        if (self.doc.name or "").strip() not in ("", UNTITLED) or not stem:
            return False
        self.doc.name = stem
        return True

    def text(self) -> str:
        return dumps(self.doc)

    def replace_document(self, doc: Document) -> None:
        """Swap in another document (revert, restore from recovery); undo history is cleared."""
        for stop in self._unsubscribe:
            stop()
        self.doc = doc
        self.block = None
        self.undo.clear()
        self._listen()
        self.view_changed.emit()
        self.document_replaced.emit()
        self.recheck()

    # --- checking ---------------------------------------------------------------------------
    def schedule_check(self) -> None:
        """Coalesce a burst of model events (a paste, an undo of many steps) into one check."""
        self._check_timer.start()

    def checked_now(self) -> CheckResult:
        """The check of the document as it is now: a check still waiting runs first (Start
        must not judge a graph by the check before the last edit)."""
        if self._check_timer.isActive() or self.result is None:
            self._check_timer.stop()
            return self.recheck()
        return self.result

    def recheck(self) -> CheckResult:
        # What the recipe trains (a GAN: its two blocks), and what it applies twice.
        self.result = check_for_recipe(self.doc, self.inference)
        self.checked.emit(self.result)
        return self.result

    def _listen(self) -> None:
        self._unsubscribe = []
        for graph in [self.doc.graph, *self.doc.blocks.values()]:
            self.watch_block(graph)

    def _on_event(self, graph: Graph, event: GraphEvent) -> None:
        self.graph_changed.emit(graph, event)
        if not (event.kind == "node_changed" and event.field == "position"):
            self.schedule_check()

    def watch_block(self, graph: Graph) -> None:
        """A block definition added after opening (grouping) must be listened to as well."""
        self._unsubscribe.append(graph.subscribe(lambda event: self._on_event(graph, event)))
