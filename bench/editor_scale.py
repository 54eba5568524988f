"""Is the editor itself fast enough on a big graph? (edit → badges, canvas frame, undo)

Runs headless (QT_QPA_PLATFORM=offscreen is set here, before Qt is imported) with the real
gui.main_window.MainWindow (canvas, inspector, problems, summary and history docks) shown
offscreen, on ResNet-like conv nets built by bench/validate_scale.py's generator:

  (a)  edit → updated badges: push a SetParams (out_channels of a mid-graph conv, which is
       selected, so the inspector shows it) on session.undo, then process events until the
       canvas NodeItem of the BatchNorm right after it shows the new shape. This includes the
       model event, the scene and inspector updates, the deferred re-check (the session's
       zero-interval QTimer → check_document) and every `checked` listener (scene badges,
       inspector, Problems, Model summary, status bar). Values alternate between two widths
       (after the first edit the shape cache knows both); (a') gives a new width each edit
       (cache miss: the changed layers run on meta); (a-label) is a label-only edit, timed
       until its re-check has been applied. Goal ≤ 50 ms. Before each edit the event loop
       is run until quiet, so the last edit's repaints are not counted; (a+) then times the
       edit with the repaints it causes (canvas, docks), for information. A timeline splits
       (a) into its spans (gui.session's check_document is wrapped, in this process only,
       to time stamp the re-check), and each `checked` listener is also timed alone.
  (b)  one canvas frame with 1,000 nodes: the view's viewport rendered into a QImage
       (viewport().render(image): the view's real paintEvent, background grid and items),
       once fitted so every node is visible and once at zoom 1.0 (a typical screenful).
       Goal ≤ 16 ms.
  (c)  one undo on the 500-node graph: session.undo.undo() of a SetParams and of a node
       deletion (the node and its edges come back), including the model events and the
       scene/inspector updates they cause synchronously, excluding the deferred re-check;
       then the same with the re-check run to the end. Goal ≤ 5 ms (for the undo alone).

The graphs are built with bench/validate_scale.py's build_graph (one long chain at 220 px a
node). The canvas's scene rect is fixed at ±5,000 px (gui/canvas/scene.py), so a chain of
hundreds of nodes cannot be scrolled to its end; the nodes are therefore placed row by row
in a grid of 40 columns (220 px × 160 px) that fits inside it, edges as built.

Torch's meta ops are warmed up first (gui.warmup.warm_up_shapes, what the editor runs at
start-up) and gc.freeze() is called after each setup, as the editor does at start-up.

    .venv/bin/python bench/editor_scale.py [--nodes 500] [--frame-nodes 1000] [--repeats 20]
                                           [--profile a|a-label|b-fit|b-zoom1|c]
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"   # before anything imports Qt
# The editor's settings and autosave/recovery copies go to a throw-away folder, never to the
# user's own config (QSettings and QStandardPaths follow XDG_CONFIG_HOME on Linux).
_CONFIG = tempfile.mkdtemp(prefix="nodetorch-bench-")
atexit.register(shutil.rmtree, _CONFIG, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = _CONFIG
os.environ["NODETORCH_CONFIG_DIR"] = _CONFIG

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from validate_scale import build_graph  # noqa: E402  (the 500-node ResNet-like generator)

EDIT_GOAL_MS = 50.0
FRAME_GOAL_MS = 16.0
UNDO_GOAL_MS = 5.0
GRID_COLS, COL_W, ROW_H = 40, 220.0, 160.0
TIMEOUT_S = 5.0
SPANS = {   # the parts of one (a) edit, in order
    "push": "undo.push → model event → scene, inspector, history, autosave",
    "loop_before": "event loop until the re-check timer fires (repaints)",
    "check": "the re-check: check_document (validate + shapes)",
    "listeners": "`checked` listeners: badges, inspector, problems, summary",
}

now = time.perf_counter


def grid_layout(doc) -> None:
    """Row-by-row grid, centred on 0, inside the canvas's ±5,000 px scene rect."""
    nodes = list(doc.graph)
    rows = (len(nodes) + GRID_COLS - 1) // GRID_COLS
    x0 = -(GRID_COLS - 1) * COL_W / 2
    y0 = -(rows - 1) * ROW_H / 2
    for i, node in enumerate(nodes):
        doc.graph.move_node(node.id, (x0 + (i % GRID_COLS) * COL_W, y0 + (i // GRID_COLS) * ROW_H))


def warm_up_torch() -> tuple[float, str]:
    t0 = now()
    try:
        from gui.warmup import warm_up_shapes
        warm_up_shapes()
        how = "gui.warmup.warm_up_shapes() (a tiny check on meta)"
    except ImportError:
        from validate_scale import torch_warm_up
        torch_warm_up()
        how = "validate_scale.torch_warm_up() (a tiny net on meta)"
    return (now() - t0) * 1e3, how


def freeze() -> None:
    gc.collect()
    gc.freeze()


def verdict(ms: float, goal: float) -> str:
    return "PASS" if ms <= goal else "MISS"


def fmt(name: str, samples: list[float], goal: float | None) -> str:
    med = statistics.median(samples)
    text = (f"{name:<62} median {med:8.2f} ms  (min {min(samples):7.2f}, "
            f"max {max(samples):7.2f}, n={len(samples)})")
    if goal is not None:
        text += f"  goal ≤ {goal:g} ms  {verdict(med, goal)}"
    return text


def paint_counter(editor):
    """An event filter that counts the paint events of the canvas's viewport."""
    from PySide6.QtCore import QEvent, QObject

    class PaintCounter(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Paint:
                editor.paints += 1
            return False
    return PaintCounter()


class Editor:
    """A MainWindow on a generated document, shown offscreen."""

    def __init__(self, app, total: int, size: tuple[int, int] = (1400, 860)) -> None:
        from PySide6.QtCore import QSettings

        from gui.main_window import MainWindow
        from gui.session import EditorSession

        self.app = app
        self.doc, self.builder = build_graph(total)
        grid_layout(self.doc)
        self.session = EditorSession(self.doc)
        errors = self.session.result.errors
        if errors:
            raise SystemExit(f"the generated graph has {len(errors)} errors: {errors[0].line()}")
        settings = QSettings(os.path.join(_CONFIG, f"settings-{total}.ini"), QSettings.IniFormat)
        self.window = MainWindow(self.session, settings)
        self.window.show()
        # The offscreen screen is 800×800, which clamps the window at show(); give it the
        # size MainWindow asks for (what a user on a 1440×900 or larger screen gets).
        self.window.resize(*size)
        self.scene, self.view = self.window.scene, self.window.view
        self.checks = 0
        self.marks: dict[str, float] = {}
        self.session.checked.connect(self._count)   # connected last: runs after every view
        self.paints = 0
        self._paint_counter = paint_counter(self)
        self.view.viewport().installEventFilter(self._paint_counter)
        self.settle()

    def _count(self, _result) -> None:
        self.checks += 1
        self.marks["listeners_done"] = now()

    def instrument(self) -> None:
        """Time stamps inside one edit: gui.session's check_document is wrapped (this
        process only) so the span of the re-check itself is known."""
        import gui.session as session_module
        inner = session_module.check_document
        marks = self.marks = {}

        def timed_check(*a, **k):
            marks["check_start"] = now()
            try:
                return inner(*a, **k)
            finally:
                marks["check_end"] = now()
        session_module.check_document = timed_check

    def settle(self) -> None:
        """Run everything pending (deferred check, repaints) until the queue is quiet."""
        for _ in range(5):
            self.app.processEvents()

    def wait(self, done, what: str) -> None:
        deadline = now() + TIMEOUT_S
        while not done():
            self.app.processEvents()
            if now() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")

    def close(self) -> None:
        # hide, not close: closing asks "save changes?" in a modal box. Clearing the selection
        # first keeps MainWindow._selection_changed from running on a scene being deleted.
        self.scene.clearSelection()
        saver = getattr(self.window, "autosave", None)   # the recovery-copy writer, if any
        if saver is not None and hasattr(saver, "stop"):
            saver.stop()
        self.window.hide()
        self.settle()


# --- (a) edit → updated badges ------------------------------------------------------------------
def bench_edit(ed: Editor, repeats: int) -> dict:
    from gui.commands import SetLabel, SetParams

    g = ed.session.graph
    conv = ed.builder.convs[len(ed.builder.convs) // 2]
    bn = next(e.dst for e in g.edges if e.src == conv.id)   # the BatchNorm right after it
    ed.scene.select_node(conv.id)        # the user edits it in the inspector
    ed.view.centerOn(ed.scene.nodes[conv.id])
    ed.settle()
    item = ed.scene.nodes[bn]
    base = conv.params["out_channels"]
    spans: dict[str, list[float]] = {k: [] for k in SPANS}
    painted: list[float] = []
    repaints = [0]

    def timed(command, done, what: str, timeline: bool = False) -> float:
        """Push `command`; ms until done(). Pending work (the last edit's repaints) is run
        first, so it is not counted; the repaint this edit causes is timed after."""
        ed.settle()
        ed.marks.clear()
        paints = ed.paints
        t0 = now()
        ed.session.undo.push(command)
        t1 = now()
        ed.wait(done, what)
        t5 = now()
        if timeline:
            ed.settle()
            t6 = now()
            m = ed.marks
            stamps = [t0, t1, m["check_start"], m["check_end"], m["listeners_done"], t5]
            for key, a, b in zip(SPANS, stamps, stamps[1:]):
                spans[key].append((b - a) * 1e3)
            painted.append((t6 - t0) * 1e3)
            repaints[0] += ed.paints > paints
        return (t5 - t0) * 1e3

    def edit_to(width: int, timeline: bool = False) -> float:
        before = item.shape_text
        ms = timed(SetParams(g, conv.id, {"out_channels": width}),
                   lambda: item.shape_text != before, "the new shape on the canvas", timeline)
        if f"×{width}×" not in item.shape_text:
            raise SystemExit(f"unexpected shape text {item.shape_text!r} for width {width}")
        return ms

    alt_ms, fresh_ms, label_ms = [], [], []
    edit_to(base + 8)        # untimed: teaches the cache the second width
    edit_to(base)
    for i in range(repeats):
        alt_ms.append(edit_to(base + 8 if i % 2 == 0 else base, timeline=True))
    if conv.params["out_channels"] != base:
        edit_to(base)
    for i in range(repeats):
        fresh_ms.append(edit_to(base + 100 + i))    # a width never seen: cache miss
        edit_to(base)                               # (back: cached, untimed)
    title_item = ed.scene.nodes[conv.id]
    for i in range(repeats):
        checks = ed.checks
        label_ms.append(timed(SetLabel(g, conv.id, f"conv_mid_{i}"),
                              lambda: ed.checks > checks, "the re-check after a label edit"))
        assert title_item.title == f"conv_mid_{i}"
    return {"conv": conv.id, "bn": bn, "alt": alt_ms, "fresh": fresh_ms, "label": label_ms,
            "shape_text": item.shape_text, "spans": spans, "painted": painted,
            "repaints": repaints[0]}


def edit_breakdown(ed: Editor, repeats: int) -> list[tuple[str, float]]:
    """Where the time of (a) goes: each `checked` listener and the check, timed on their own
    with the current result (medians)."""
    from runtime.check import check_document

    s, w = ed.session, ed.window
    parts = [
        ("check_document (validate + shapes, warm cache)",
         lambda: check_document(s.doc, s.inference)),
        ("GraphScene.apply_check (badges + edge labels)", lambda: ed.scene.apply_check(s.result)),
        ("InspectorWidget._on_checked", lambda: w.inspector._on_checked(s.result)),
        ("ProblemsWidget.refresh", lambda: w.problems.refresh(s.result)),
        ("SummaryWidget.refresh (Model summary dock)", lambda: w.summary.refresh(s.result)),
        ("MainWindow._refresh_status", lambda: w._refresh_status(s.result)),
    ]
    out = []
    for name, fn in parts:
        times = []
        for _ in range(max(5, repeats // 2)):
            t0 = now()
            fn()
            times.append((now() - t0) * 1e3)
        out.append((name, statistics.median(times)))
    ed.settle()
    return out


# --- (c) undo -------------------------------------------------------------------------------------
def bench_undo(ed: Editor, repeats: int) -> dict:
    from gui.commands import RemoveItems, SetParams

    s, g = ed.session, ed.session.graph
    conv = ed.builder.convs[len(ed.builder.convs) // 2]
    base = conv.params["out_channels"]
    # an Add in the middle: its two inputs (the block and the skip) and its output
    add = [n for n in g if n.type == "Add"][len([n for n in g if n.type == "Add"]) // 2]
    n_edges = len(g.edges_of(add.id))
    s.undo.clear()
    ed.settle()
    res = {"params": [], "params_check": [], "delete": [], "delete_check": [],
           "add": add.id, "add_edges": n_edges}

    def timed_undo(key: str) -> None:
        checks = ed.checks
        t0 = now()
        s.undo.undo()
        t1 = now()
        ed.wait(lambda: ed.checks > checks, "the re-check after undo")
        t2 = now()
        res[key].append((t1 - t0) * 1e3)
        res[key + "_check"].append((t2 - t0) * 1e3)
        ed.settle()

    for i in range(repeats):
        s.undo.push(SetParams(g, conv.id, {"out_channels": base + 8 if i % 2 == 0 else base + 16}))
        ed.settle()
        timed_undo("params")
        assert conv.params["out_channels"] == base
    edges_before = list(g.edges)
    for _ in range(repeats):
        s.undo.push(RemoveItems(g, [add.id], []))
        ed.settle()
        assert add.id not in g.nodes and add.id not in ed.scene.nodes
        timed_undo("delete")
        assert g.edges == edges_before and add.id in ed.scene.nodes
        assert sum(1 for e in ed.scene.edges if add.id in (e.src, e.dst)) == n_edges
    return res


# --- (b) one canvas frame ---------------------------------------------------------------------------
def bench_frames(ed: Editor, repeats: int) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QTransform

    view, scene = ed.view, ed.scene
    vp = view.viewport()
    image = QImage(vp.size(), QImage.Format_ARGB32_Premultiplied)

    def frames() -> list[float]:
        ed.settle()
        vp.render(image)           # untimed: glyph caches, first paint
        times = []
        for _ in range(repeats):
            t0 = now()
            vp.render(image)
            times.append((now() - t0) * 1e3)
        return times

    def visible_nodes() -> int:
        area = view.mapToScene(vp.rect()).boundingRect()
        return sum(1 for item in scene.nodes.values()
                   if area.intersects(item.sceneBoundingRect()))

    out = {"viewport": (vp.width(), vp.height())}
    rect = scene.itemsBoundingRect()
    view.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.KeepAspectRatio)
    out["fit"] = frames()
    out["fit_zoom"], out["fit_visible"] = view.zoom, visible_nodes()
    view.setTransform(QTransform())
    view.centerOn(rect.center())
    out["one"] = frames()
    out["one_zoom"], out["one_visible"] = view.zoom, visible_nodes()
    out["edges"] = len(scene.edges)
    return out


def profile(app, args) -> int:
    import cProfile
    import pstats

    which = args.profile
    ed = Editor(app, args.frame_nodes if which.startswith("b") else args.nodes)
    freeze()
    prof = cProfile.Profile()
    if which in ("a", "a-label"):
        from gui.commands import SetLabel, SetParams
        g = ed.session.graph
        conv = ed.builder.convs[len(ed.builder.convs) // 2]
        ed.scene.select_node(conv.id)
        base = conv.params["out_channels"]
        for i in range(4):
            ed.session.undo.push(SetParams(g, conv.id, {"out_channels": base + 8 * (i % 2)}))
            ed.settle()
        prof.enable()
        for i in range(args.repeats):
            checks = ed.checks
            cmd = (SetParams(g, conv.id, {"out_channels": base + 8 * (i % 2)}) if which == "a"
                   else SetLabel(g, conv.id, f"c{i}"))
            ed.session.undo.push(cmd)
            ed.wait(lambda: ed.checks > checks, "check")
        prof.disable()
    elif which.startswith("b"):
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QImage, QTransform
        vp = ed.view.viewport()
        rect = ed.scene.itemsBoundingRect()
        if which == "b-fit":
            ed.view.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.KeepAspectRatio)
        else:
            ed.view.setTransform(QTransform())
            ed.view.centerOn(rect.center())
        ed.settle()
        image = QImage(vp.size(), QImage.Format_ARGB32_Premultiplied)
        vp.render(image)
        prof.enable()
        for _ in range(args.repeats):
            vp.render(image)
        prof.disable()
    elif which == "c":
        from gui.commands import RemoveItems, SetParams
        g = ed.session.graph
        conv = ed.builder.convs[len(ed.builder.convs) // 2]
        ed.scene.select_node(conv.id)
        add = [n for n in g if n.type == "Add"][10]
        for i in range(args.repeats):
            ed.session.undo.push(SetParams(g, conv.id, {"out_channels": 40 + i}))
            ed.settle()
            prof.enable()
            ed.session.undo.undo()
            prof.disable()
            ed.settle()
            ed.session.undo.push(RemoveItems(g, [add.id], []))
            ed.settle()
            prof.enable()
            ed.session.undo.undo()
            prof.disable()
            ed.settle()
    else:
        raise SystemExit(f"unknown --profile {which!r}")
    print(f"cProfile of {which}, {args.repeats} repeats (cumulative, then own time):")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    ed.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500, help="graph for (a) and (c)")
    ap.add_argument("--frame-nodes", type=int, default=1000, help="graph for (b)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--profile", metavar="CASE",
                    help="instead of the benchmark, cProfile one case: a, a-label, b-fit, "
                         "b-zoom1 or c")
    ap.add_argument("--top", type=int, default=30, help="rows of each --profile table")
    args = ap.parse_args()
    start = now()

    import torch
    from PySide6.QtWidgets import QApplication

    from gui.theme import palette_for, set_theme

    torch.set_num_threads(1)
    warm_ms, warm_how = warm_up_torch()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")                      # as gui/app.py sets it up
    app.setPalette(palette_for(set_theme("dark")))
    if args.profile:
        return profile(app, args)

    t0 = now()
    ed = Editor(app, args.nodes)
    setup_ms = (now() - t0) * 1e3
    g = ed.session.graph
    ed.instrument()
    freeze()
    edit = bench_edit(ed, args.repeats)
    edit["summary_visible"] = not ed.window.summary.visibleRegion().isEmpty()
    parts = edit_breakdown(ed, args.repeats)
    undo = bench_undo(ed, args.repeats)
    ed.close()
    gc.unfreeze()
    gc.collect()

    t0 = now()
    big = Editor(app, args.frame_nodes)
    big_setup_ms = (now() - t0) * 1e3
    freeze()
    frame = bench_frames(big, args.repeats)
    big_nodes = len(big.session.graph)
    big.close()

    print("NodeTorch editor at scale: MainWindow shown offscreen (QT_QPA_PLATFORM=offscreen), "
          "Qt style Fusion, dark theme; torch threads 1")
    print(f"torch meta warm-up first: {warm_how}, {warm_ms:.0f} ms; gc.freeze() after each "
          "setup (gc.collect() then gc.freeze(), as the editor does at start-up)")
    print(f"(a)/(c) graph: {len(g)} nodes, {len(g.edges)} edges (bench/validate_scale.py "
          f"build_graph), grid layout {GRID_COLS} columns; window + first check "
          f"{setup_ms:.0f} ms")
    print(f"(b) graph: {big_nodes} nodes, {frame['edges']} edges; window + first check "
          f"{big_setup_ms:.0f} ms; viewport {frame['viewport'][0]}×{frame['viewport'][1]} px")
    print()
    print(f"(a) edit → updated badges: SetParams out_channels of {edit['conv']} pushed on "
          f"session.undo, until NodeItem {edit['bn']} shows the new shape (now "
          f"{edit['shape_text']!r})")
    print(fmt("(a)  out_channels, alternating 2 widths (cache hit)", edit["alt"], EDIT_GOAL_MS))
    print(fmt("(a') out_channels, a new width each edit (cache miss)", edit["fresh"], EDIT_GOAL_MS))
    print(fmt("(a-label) label only, until its re-check is applied", edit["label"], EDIT_GOAL_MS))
    print(fmt("(a+) (a) and then the repaint it causes (canvas, docks)", edit["painted"], None)
          + f"  canvas repainted {edit['repaints']}/{len(edit['painted'])}")
    print("     (a)'s timeline (medians of the spans inside each alternating edit):")
    for key, text in SPANS.items():
        print(f"       {text:<62} {statistics.median(edit['spans'][key]):7.2f} ms")
    print("     (the Model summary dock is " + ("on screen" if edit["summary_visible"] else
          "refreshed though not on screen: its tab is behind Problems") + ")")
    print("     the `checked` listeners and the check, each called alone (medians):")
    for name, ms in parts:
        print(f"       {name:<62} {ms:7.2f} ms")
    print()
    print(f"(b) one canvas frame, viewport().render(QImage), {big_nodes} nodes:")
    print(fmt(f"(b-fit) fitted to show all: zoom {frame['fit_zoom']:.3f}, "
              f"{frame['fit_visible']} nodes in view", frame["fit"], FRAME_GOAL_MS))
    print(fmt(f"(b-1.0) zoom {frame['one_zoom']:.2f}, a screenful: {frame['one_visible']} "
              f"nodes in view", frame["one"], FRAME_GOAL_MS))
    print()
    print("(c) one undo on the 500-node graph (the model events + scene/inspector updates; "
          "the deferred re-check not included):")
    print(fmt("(c)  undo SetParams (out_channels of the mid conv)", undo["params"], UNDO_GOAL_MS))
    print(fmt(f"(c)  undo delete of {undo['add']} (Add) + its {undo['add_edges']} edges",
              undo["delete"], UNDO_GOAL_MS))
    print(fmt("(c+) undo SetParams + the re-check, to the end", undo["params_check"], None))
    print(fmt("(c+) undo delete + the re-check, to the end", undo["delete_check"], None))
    print(f"\ntotal run time {now() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
