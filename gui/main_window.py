"""The main window: the canvas in the middle, docks around it, menus with shortcuts.

It wires views to the session and turns menu actions into undo commands; the file,
clipboard and block operations it offers live in their own modules.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QMainWindow,
                               QUndoView)
from shiboken6 import isValid

from graph.catalog import get_spec
from graph.fragment import copy_fragment, paste_fragment
from gui.autosave import Autosaver
from gui.canvas.scene import GraphScene
from gui.canvas.view import GraphView
from gui.commands import AddItems, DocumentEdit, MoveNodes, RemoveItems
from gui.file_actions import FileActions
from gui.session import EditorSession
from gui.theme import THEMES, apply_to_app, current_theme, set_theme

APP_NAME = "NodeTorch"
THEME_KEY = "theme"
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"


class MainWindow(FileActions, QMainWindow):
    def __init__(self, session: EditorSession, settings: QSettings | None = None,
                 config_dir: str | Path | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings(APP_NAME, APP_NAME)
        self.session = session
        # recovery copies of unsaved work, under config_dir or $NODETORCH_CONFIG_DIR
        self.autosave = Autosaver(session, config_dir, parent=self)
        self.scene = GraphScene(session)
        self.view = GraphView(self.scene)
        self.setCentralWidget(self.view)
        self.breadcrumb = QLabel()
        self.breadcrumb.setTextFormat(Qt.RichText)
        self.breadcrumb.linkActivated.connect(lambda _: self.session.enter_block(None))
        self.status = QLabel()
        self.run_note = QLabel("● training a copy: edits apply to the next run", visible=False)
        self.run_note.setStyleSheet("color: #d9a400")
        self.statusBar().addPermanentWidget(self.run_note)
        self.statusBar().addPermanentWidget(self.status)
        from gui.autosave_notice import AutosaveNotice
        self.autosave_notice = AutosaveNotice(self.autosave, self.statusBar())
        self.statusBar().addWidget(self.breadcrumb)
        self.docks: dict[str, QDockWidget] = {}
        self._build_docks()
        self._build_menus()
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.scene.selectionChanged.connect(self._selection_changed)
        self.view.node_dropped.connect(self.add_node_at)
        self.view.quick_add.connect(self._quick_add)
        self._wire(session)
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._restore_window_state()
        self.apply_theme(str(self.settings.value(THEME_KEY, current_theme().name)), persist=False)
        self._refresh_title()

    # --- wiring -------------------------------------------------------------------------------
    def _wire(self, session: EditorSession) -> None:
        session.checked.connect(self._refresh_status)
        session.state_changed.connect(self._refresh_title)
        session.view_changed.connect(self._refresh_title)
        # The graph opens fitted: at start-up and after File › Open, Open Template, revert,
        # once the window has its size (and as it settles, until the user zooms or pans).
        session.document_replaced.connect(self.view.fit_soon)
        self.view.fit_soon()
        self._refresh_status(session.result)

    def _build_docks(self) -> None:
        from gui.inspector import InspectorWidget
        from gui.palette import PaletteWidget
        from gui.problems import ProblemsWidget
        from gui.summary_dock import SummaryWidget
        from gui.training_panel import TrainingPanel

        self.palette = PaletteWidget(self.session)
        self.inspector = InspectorWidget(self.session)
        self.problems = ProblemsWidget(self.session)
        self.summary = SummaryWidget(self.session)
        self.history = QUndoView(self.session.undo)
        from gui.node_previews import NodePreviewService
        from gui import background
        background.start()   # the helper process for previews, started off the GUI thread
        self.previews = NodePreviewService(self.session, self)
        self.view.previews = self.previews
        self.previews.updated.connect(self.view.refresh_preview)
        self.previews.schedule()
        self.training = TrainingPanel(self.session, previews=self.previews)
        self.training.running_changed.connect(self._training_running)
        self.training.refused.connect(self._training_refused)
        self.session.document_replaced.connect(self.training.reload_settings)
        self.session.state_changed.connect(self.training.sync_runs_dir)
        self.palette.activated.connect(self._palette_activated)
        self.problems.node_activated.connect(self.focus_node)
        for name, widget, area in (("Layers", self.palette, Qt.LeftDockWidgetArea),
                                   ("Inspector", self.inspector, Qt.RightDockWidgetArea),
                                   ("Problems", self.problems, Qt.BottomDockWidgetArea),
                                   ("Model summary", self.summary, Qt.BottomDockWidgetArea),
                                   ("History", self.history, Qt.RightDockWidgetArea),
                                   ("Training", self.training, Qt.BottomDockWidgetArea)):
            dock = QDockWidget(name, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.tabifyDockWidget(self.docks["Problems"], self.docks["Model summary"])
        self.tabifyDockWidget(self.docks["Problems"], self.docks["Training"])
        self.docks["Problems"].raise_()
        self.resizeDocks([self.docks["Problems"]], [170], Qt.Vertical)
        self.resizeDocks([self.docks["Layers"], self.docks["Inspector"]], [250, 320], Qt.Horizontal)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self._build_file_menu(bar)
        edit = bar.addMenu("&Edit")
        undo = self.session.undo.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.Undo)
        redo = self.session.undo.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        edit.addActions([undo, redo])
        edit.addSeparator()
        self._action(edit, "Cu&t", self.cut, QKeySequence.Cut)
        self._action(edit, "&Copy", self.copy, QKeySequence.Copy)
        self._action(edit, "&Paste", lambda: self.paste(), QKeySequence.Paste)  # not paste(checked)
        self._action(edit, "&Duplicate", self.duplicate, "Ctrl+D")
        self._action(edit, "&Delete", self.scene.delete_selected, QKeySequence.Delete)
        self._action(edit, "Select &All", self._select_all, QKeySequence.SelectAll)
        edit.addSeparator()
        self._action(edit, "&Group into Block", lambda: self.group_selection(), "Ctrl+G")
        self._action(edit, "E&xpand Block", lambda: self.expand_selected_block(), "Ctrl+Shift+G")
        view = bar.addMenu("&View")
        self._action(view, "Zoom to &Fit", self.view.fit, "F")
        self._action(view, "&Arrange", self.arrange, "Ctrl+L")
        self._action(view, "&Main graph", lambda: self.session.enter_block(None), "Backspace")
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(name.title(), self, checkable=True)
            action.triggered.connect(lambda _checked=False, n=name: self.apply_theme(n))
            self.theme_group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[name] = action
        self.theme_actions[current_theme().name].setChecked(True)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())

    # --- status ---------------------------------------------------------------------------
    def _refresh_status(self, result) -> None:
        if result is None:
            return
        from gui.problems import document_problems, status_text

        # The same list and the same words as the Problems dock: one count.
        state = status_text(document_problems(self.session))
        self.status.setText(f"{len(self.session.doc.graph)} nodes · "
                            f"{result.shapes.total_params:,} parameters · {state}")

    def _refresh_title(self) -> None:
        self.setWindowTitle(f"{self.session.title}[*] — {APP_NAME}")
        self.setWindowModified(self.session.modified)
        where = self.session.doc.name or "graph"
        if self.session.block is None:
            self.breadcrumb.setText(html.escape(where))
        else:  # a link back out, as well as Backspace
            self.breadcrumb.setText(f'<a href="main">{html.escape(where)}</a> › '
                                    f'{html.escape(self.session.block)}')

    def _selection_changed(self) -> None:
        if not (isValid(self.scene) and isValid(self.inspector)):
            return  # the scene empties itself while it is being destroyed
        ids = self.scene.selected_node_ids()
        self.inspector.show_selection(ids)

    # --- adding nodes ---------------------------------------------------------------------
    def add_node_at(self, type_text: str, pos: QPointF, connect_from: str | None = None) -> str | None:
        from gui.palette_entries import decode_drag

        type_id, params = decode_drag(type_text.encode()) if isinstance(type_text, str) else type_text
        graph = self.session.graph
        spec = get_spec(type_id)
        if spec is None:
            return None
        node_id = graph.new_id()
        from graph.model import Node
        from gui.canvas.placement import free_position
        node = Node(node_id, type_id, {**spec.defaults(), **params}, "",
                    free_position(graph, (pos.x(), pos.y())))
        edges = []
        if connect_from is not None and connect_from in graph.nodes:
            outs = graph.output_ports(connect_from)
            ins = spec.input_names(node.params)
            if outs and ins:
                from graph.model import Edge
                edges = [Edge(connect_from, outs[0], node_id, ins[0])]
        self.session.undo.push(AddItems(graph, [node], edges, f"Add {type_id}"))
        self.scene.select_node(node_id)
        return node_id

    def _palette_activated(self, type_id: str, params: dict) -> None:
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        self._add_connected(type_id, params, centre)

    def _quick_add(self, scene_pos: QPointF) -> None:
        from gui.quick_add import QuickAddPopup

        popup = QuickAddPopup(self)
        popup.chosen.connect(self.quick_add_node)
        popup.open_at(self.view.mapToGlobal(self.view.mapFromScene(scene_pos)), scene_pos)
        self._popup = popup

    def quick_add_node(self, type_id: str, pos: QPointF) -> str | None:
        """Quick add puts the node where the user asked, fed by the selected node if one is."""
        selected = self.scene.selected_node_ids()
        return self.add_node_at((type_id, {}), pos,
                                connect_from=selected[0] if len(selected) == 1 else None)

    def _add_connected(self, type_id: str, params: dict, pos: QPointF) -> None:
        """Add a node; with one node selected, place it after that node and feed it."""
        selected = self.scene.selected_node_ids()
        source = selected[0] if len(selected) == 1 else None
        if source is not None:
            x, y = self.session.graph.nodes[source].position
            pos = QPointF(x + 220, y)
        self.add_node_at((type_id, params), pos, connect_from=source)

    # --- clipboard ------------------------------------------------------------------------
    def copy(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            QApplication.clipboard().setText(copy_fragment(self.session.graph, ids))

    def cut(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self.copy()
            self.session.undo.push(RemoveItems(self.session.graph, ids, [], "Cut"))

    def paste(self, text: str | None = None) -> list[str]:
        text = QApplication.clipboard().text() if text is None else text
        pasted = paste_fragment(self.session.graph, text)
        if pasted is None:
            self.statusBar().showMessage("The clipboard holds no NodeTorch nodes", 4000)
            return []
        nodes, edges = pasted
        from gui.canvas.placement import place_copies
        nodes = place_copies(self.session.graph, nodes)  # clear of the originals, own labels
        self.session.undo.push(AddItems(self.session.graph, nodes, edges, f"Paste {len(nodes)} node(s)"))
        self.scene.clearSelection()
        for node in nodes:
            self.scene.nodes[node.id].setSelected(True)
        return [n.id for n in nodes]

    def duplicate(self) -> list[str]:
        ids = self.scene.selected_node_ids()
        return self.paste(copy_fragment(self.session.graph, ids)) if ids else []

    def _select_all(self) -> None:
        for item in self.scene.nodes.values():
            item.setSelected(True)

    # --- composite blocks -----------------------------------------------------------------
    def group_selection(self, name: str | None = None) -> str | None:
        """Make the selected nodes a new block definition used by one Block node."""
        from graph.blocks import group_into_block
        from graph.model import GraphRuleError

        ids = self.scene.selected_node_ids()
        if not ids:
            self.statusBar().showMessage("Select the nodes to group first", 4000)
            return None
        name = name or self._free_block_name()
        report = self.scene.shapes()
        shapes = {}
        if report is not None:
            for node_id, s in report.nodes.items():
                for port, meta in s.outputs.items():
                    shapes[(node_id, port)] = list(meta.shape)
        doc, graph = self.session.doc, self.session.graph
        try:
            command = DocumentEdit(doc, lambda: group_into_block(doc, graph, ids, name, shapes),
                                   f"Group {len(ids)} node(s) into {name}", self.session.watch_block)
            self.session.undo.push(command)
        except GraphRuleError as exc:
            self.statusBar().showMessage(f"Cannot group: {exc}", 6000)
            return None
        return command.result.id if command.result is not None else None

    def expand_selected_block(self) -> None:
        from graph.blocks import expand_block

        ids = [i for i in self.scene.selected_node_ids()
               if self.session.graph.nodes[i].type == "Block"]
        if ids:
            doc, graph = self.session.doc, self.session.graph
            self.session.undo.push(DocumentEdit(doc, lambda: expand_block(doc, graph, ids[0]),
                                                "Expand block", self.session.watch_block))

    def _free_block_name(self) -> str:
        k = 1
        while f"Block{k}" in self.session.doc.blocks:
            k += 1
        return f"Block{k}"

    # --- layout and navigation ------------------------------------------------------------
    def arrange(self) -> None:
        from graph.layout import arrange

        graph = self.session.graph
        positions = arrange(graph)
        moves = {n: (graph.nodes[n].position, tuple(p)) for n, p in positions.items()
                 if tuple(graph.nodes[n].position) != tuple(p)}
        if moves:
            self.session.undo.push(MoveNodes(graph, moves, "Arrange"))
        self.view.fit()

    def _training_refused(self, errors: list) -> None:
        """Start refused a broken graph: put the first problem's node in front of the user
        (its red badge and tooltip say what is wrong)."""
        first = next((d for d in errors if d.node_id), None)
        if first is not None:
            self.focus_node(first.node_id, first.block)

    def focus_node(self, node_id: str, block: str | None = None) -> None:
        if block != self.session.block:
            self.session.enter_block(block)
        item = self.scene.select_node(node_id)
        if item is not None:
            self.view.centerOn(item)

    # --- theme and window state -----------------------------------------------------------
    def apply_theme(self, name: str, persist: bool = True) -> None:
        theme = set_theme(name)
        app = QApplication.instance()
        if app is not None:
            apply_to_app(app, theme)
        if theme.name in getattr(self, "theme_actions", {}):
            self.theme_actions[theme.name].setChecked(True)
        self.scene.update()
        self.view.viewport().update()
        if persist:
            self.settings.setValue(THEME_KEY, theme.name)

    def _restore_window_state(self) -> None:
        geometry, state = self.settings.value(GEOMETRY_KEY), self.settings.value(STATE_KEY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)

    def _save_window_state(self) -> None:
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(STATE_KEY, self.saveState())
        self.settings.sync()

    def _training_running(self, running: bool) -> None:
        # The run trains a copy of the graph taken at Start, so editing stays open; the
        # panel's banner and this status-bar note say so for as long as it runs.
        self.run_note.setVisible(running)

    def closeEvent(self, event) -> None:
        if self.maybe_save():
            self.training.shutdown()
            self.previews.shutdown()
            # saved, discarded or clean: the recovery copy goes, and no more autosaves
            self.autosave.discard()
            self.autosave.stop()
            self._save_window_state()
            event.accept()
        else:
            event.ignore()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])
