"""Render the editor mid-training to PNG files (headless): the main window, and the
training panel's tabs one by one. Used to look at what the user sees while a run goes.

    QT_QPA_PLATFORM=offscreen python scripts/render_training_screens.py OUT_DIR [TEMPLATE]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screens")
    template = sys.argv[2] if len(sys.argv) > 2 else "lenet5"
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from graph.loader import load_file
    from graph.templates import find_template
    from gui.main_window import MainWindow
    from gui.session import EditorSession

    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="nodetorch-screens-"))
    doc = load_file(find_template(template))
    doc.training.update({"epochs": 6})
    win = MainWindow(EditorSession(doc), QSettings(str(work / "s.ini"), QSettings.IniFormat))
    win.training.set_runs_dir(work / "runs")
    win.resize(1600, 1000)
    win.show()
    win.docks["Training"].raise_()
    win.resizeDocks([win.docks["Training"]], [560], Qt.Vertical)
    win.view.fit()
    panel = win.training
    panel.insights.feature_maps.set_selected_nodes(["conv1", "conv2", "fc3"])
    panel.start()
    deadline = time.monotonic() + 300
    while len(panel.epoch_events) < 3 and panel.running and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    panel.insights.flush()
    app.processEvents()
    # hover preview of conv2 while training
    node = win.scene.nodes.get("conv2")
    if node is not None:
        win.view.hover_preview(win.view.mapFromScene(node.sceneBoundingRect().center()))
        popup = win.view.preview_popup()
        if popup is not None:
            popup.grab().save(str(out / "hover_preview.png"))
    win.grab().save(str(out / "window.png"))
    for i in range(panel.insights.count()):
        panel.insights.setCurrentIndex(i)
        panel.insights.flush()
        app.processEvents()
        if panel.insights.currentWidget() is panel.dataset_preview:
            panel.dataset_preview.wait_loaded(30)
        name = panel.insights.tabText(i).lower().replace(" && ", "_").replace(" ", "_")
        win.docks["Training"].widget().grab().save(str(out / f"panel_{i}_{name}.png"))
    panel.shutdown()
    print(f"wrote {len(list(out.glob('*.png')))} PNGs to {out} "
          f"(after {len(panel.epoch_events)} epochs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
