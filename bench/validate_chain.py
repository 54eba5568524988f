"""Does a 100,000-node graph validate in ≤ 5 s, and does checking stay linear in its size?

Writes chains of N nodes (Input → ReLU/Linear/LayerNorm/Tanh … → Output; the layers repeat
so that shape inference's cache is used as it is in real files), then times:

  (a) `python main.py validate FILE` as a user runs it: a whole new process, torch's
      import included (median of --repeats);
  (b) in one process: load_file, graph.validate.validate, shape inference, for N/4, N/2
      and N nodes: the per-node cost must not grow with N (a quadratic walk doubles it).

Prints PASS/MISS against the goal (a) ≤ 5 s and (b) per-node cost at N within 1.5× of N/4.

    .venv/bin/python bench/validate_chain.py [--nodes 100000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_S = 5.0
LINEAR_SLACK = 1.5
LAYERS = ({"type": "Linear", "params": {"out_features": 16}}, {"type": "ReLU"},
          {"type": "LayerNorm"}, {"type": "Tanh"})


def chain_file(n: int, folder: Path) -> Path:
    nodes = [{"id": "in", "type": "Input", "params": {"shape": [16]}}]
    edges = []
    previous = "in"
    for i in range(n - 2):
        layer = LAYERS[i % len(LAYERS)]
        nodes.append({"id": f"n{i}", **layer})
        edges.append({"src": previous, "src_port": "out", "dst": f"n{i}", "dst_port": "x"})
        previous = f"n{i}"
    nodes.append({"id": "out", "type": "Output"})
    edges.append({"src": previous, "src_port": "out", "dst": "out", "dst_port": "x"})
    path = folder / f"chain-{n}.json"
    path.write_text(json.dumps({"format": "nodetorch.graph", "version": 1,
                                "graph": {"nodes": nodes, "edges": edges}}))
    return path


def cli_seconds(path: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "validate", str(path)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"validate failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds


def in_process(path: Path) -> dict[str, float]:
    from graph.loader import load_file
    from graph.validate import validate
    from runtime.shapes import ShapeInference

    times = {}
    started = time.perf_counter()
    doc = load_file(path)
    times["load"] = time.perf_counter() - started
    started = time.perf_counter()
    validate(doc)
    times["validate"] = time.perf_counter() - started
    started = time.perf_counter()
    report = ShapeInference().infer(doc)
    times["shapes"] = time.perf_counter() - started
    assert not report.diagnostics, report.diagnostics[:3]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import runtime.shapes  # noqa: F401  (torch's import is not the walk's cost in (b))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = [args.nodes // 4, args.nodes // 2, args.nodes]
        files = {n: chain_file(n, folder) for n in sizes}
        import_s = min(_import_seconds() for _ in range(args.repeats))
        cli = [cli_seconds(files[args.nodes]) for _ in range(args.repeats)]
        print(f"(a) main.py validate, {args.nodes:,} nodes: median {statistics.median(cli):.2f} s "
              f"(min {min(cli):.2f}, max {max(cli):.2f}); of which starting Python and "
              f"importing torch {import_s:.2f} s")
        ok_a = max(cli) <= GOAL_S
        print(f"    goal ≤ {GOAL_S:g} s on the slowest run: {'PASS' if ok_a else 'MISS'}")
        per_node = {}
        for n in sizes:
            t = in_process(files[n])
            per_node[n] = sum(t.values()) / n * 1e6
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in t.items())
            print(f"(b) {n:>7,} nodes: {parts}; {per_node[n]:.1f} µs per node")
        ratio = per_node[sizes[-1]] / per_node[sizes[0]]
        ok_b = ratio <= LINEAR_SLACK
        print(f"    per-node cost at {sizes[-1]:,} / at {sizes[0]:,}: {ratio:.2f} "
              f"(goal ≤ {LINEAR_SLACK}): {'PASS' if ok_b else 'MISS'}")
    return 0 if ok_a and ok_b else 1


def _import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
