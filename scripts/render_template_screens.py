"""Render File › Open Template… to PNG files (headless), to look at what the user sees:
the whole library, a filtered list, and a large model selected.

    .venv/bin/python scripts/render_template_screens.py [OUT_DIR]   (default /tmp/screens)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/screens")
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtWidgets import QApplication

    from gui.templates_dialog import TemplatesDialog
    from gui.theme import palette_for, set_theme

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    app.setPalette(palette_for(set_theme("dark")))  # as gui/app.py starts the app
    shots = [("templates_dialog.png", "", "lenet5"),
             ("templates_dialog_filtered.png", "lstm", None),
             ("templates_dialog_large.png", "", "vgg11"),
             ("templates_dialog_blocks.png", "resnet", "resnet18"),
             ("templates_dialog_gan.png", "", "dcgan")]
    for file_name, query, chosen in shots:
        dialog = TemplatesDialog()
        dialog.show()
        dialog.count_all()
        dialog.filter_edit.setText(query)
        if chosen:
            dialog.select_template(chosen)
        for _ in range(5):
            app.processEvents()
        dialog.grab().save(str(out / file_name))
        print(f"{out / file_name}: {len(dialog.visible_items())} templates shown, "
              f"selected {dialog.selected_path()}")
        dialog.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
