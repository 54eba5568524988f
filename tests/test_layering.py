"""The layers stay apart: graph/ never imports torch, Qt, runtime/ or gui/; runtime/ and cli/
never import Qt or gui/. Each check runs in a fresh interpreter with an import blocker on
sys.meta_path, imports every module of the packages under test, and fails if any blocked
import was even attempted (so a swallowed ImportError still counts)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import importlib, importlib.abc, json, pkgutil, sys

config = json.loads(sys.argv[1])
blocked = set(config["blocked"])
leaked = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
if leaked:
    sys.exit(f"LAYERING: already imported before the check started: {leaked}")
attempts = []

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            attempts.append(name)
            raise ImportError(f"LAYERING: importing {name!r} is not allowed here")
        return None

sys.meta_path.insert(0, Blocker())

imported = []
for package_name in config["packages"]:
    package = importlib.import_module(package_name)
    imported.append(package_name)
    if hasattr(package, "__path__"):
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            importlib.import_module(info.name)
            imported.append(info.name)
exec(config.get("then", ""))
if attempts:
    sys.exit(f"LAYERING: blocked imports were attempted: {sorted(set(attempts))}")
print(json.dumps(imported))
'''

LOAD_LENET = r'''
from graph.loader import load_file
from graph.validate import validate
doc = load_file("templates/lenet5.json")
problems = [d.message for d in validate(doc) + doc.load_problems]
assert not problems, problems
assert len(doc.graph) == 14
'''


def run_blocked(blocked: list[str], packages: list[str], then: str = ""):
    config = json.dumps({"blocked": blocked, "packages": packages, "then": then})
    return subprocess.run([sys.executable, "-c", CHILD, config], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def _modules_on_disk(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_graph_needs_no_torch_qt_runtime_or_gui() -> None:
    proc = run_blocked(["torch", "PySide6", "pyqtgraph", "runtime", "gui"], ["graph"], LOAD_LENET)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    imported = set(json.loads(proc.stdout))
    assert imported == _modules_on_disk("graph")
    assert {"graph.catalog", "graph.loader", "graph.validate"} <= imported


def test_runtime_and_cli_need_no_qt_or_gui() -> None:
    proc = run_blocked(["PySide6", "pyqtgraph", "gui"], ["runtime", "cli", "main"])
    assert proc.returncode == 0, proc.stderr + proc.stdout
    imported = set(json.loads(proc.stdout))
    assert imported == _modules_on_disk("runtime") | _modules_on_disk("cli") | {"main"}


def test_the_blocker_really_blocks() -> None:
    """Without this the two checks above could pass vacuously."""
    proc = run_blocked(["torch"], ["graph"], "import torch")
    assert proc.returncode != 0
    assert "LAYERING: importing 'torch' is not allowed here" in proc.stderr
    # A swallowed ImportError is still caught.
    proc = run_blocked(["torch"], ["graph"], "try:\n    import torch.nn\nexcept ImportError:\n"
                                               "    pass")
    assert proc.returncode != 0
    assert "blocked imports were attempted: ['torch']" in proc.stderr
