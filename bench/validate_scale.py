"""How long does checking a 500-node graph take (structure + exact shapes on meta)?

Builds a realistic deep conv net of exactly 500 nodes through the graph.model API
(Conv2d/BatchNorm2d/ReLU units, residual Add skips, MaxPool + 1×1-conv transitions that
change the channels, a Flatten/Linear head, an Output), asserts it checks with zero
errors, then times check_document (runtime/check.py: graph/validate.py's structural
validation + runtime/shapes.py's ShapeInference) in these situations:

  (a1) cold, first ever call in a fresh process (torch pays its one-time costs here);
       each repeat is a new subprocess
  (a1w) as (a1), but the process first ran a tiny unrelated net on meta (what an app could
       do in a background thread at startup): what is left of (a1) once torch's lazy
       imports (sympy, torch._dynamo, decompositions) are paid
  (a2) cold cache: a fresh ShapeInference, but torch already warmed up in this process
  (a3) as (a2) but with no cache sharing at all (ShapeInference(cache_size=0)): every
       node runs on meta, as in a net whose layers all differ; the worst cold case
  (b)  the editor's persistent ShapeInference after a one-node edit in the middle:
       one conv's out_channels (its block's BN, ReLU and next conv see new shapes)
  (b2) as (b), but the edit (a mid-graph transition conv's padding) changes the shapes of
       every node downstream of it: the worst incremental case
  (c)  after an edit that changes no shape (a label change)

For each it prints the median over the repeats (min/max too), the number of nodes actually
run on meta (ShapeInference.runs, per check), and PASS/MISS against the goal ≤ 50 ms.

    .venv/bin/python bench/validate_scale.py [--repeats 15] [--cold-repeats 5] [--nodes 500]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.document import Document  # noqa: E402
from graph.model import Graph, Node  # noqa: E402

GOAL_MS = 50.0

STAGES = (16, 32, 64, 128, 256)  # channels per stage; a transition between each pair
RES_BLOCK = 7                    # conv bn relu conv bn add relu
TRANSITION = 4                   # maxpool conv1x1 bn relu
PLAIN_UNIT = 3                   # conv bn relu (no skip)


class _Builder:
    def __init__(self) -> None:
        self.doc = Document(name="validate_scale")
        self.g: Graph = self.doc.graph
        self.col = 0
        self.convs: list[Node] = []          # inner (first) convs of residual blocks
        self.transitions: list[Node] = []    # the 1×1 convs of transitions

    def add(self, type_id: str, prev: Node | None, port: str = "x", label: str = "",
            **params) -> Node:
        node = self.g.add_node(type_id, params, label=label,
                               position=(220.0 * self.col, 0.0))
        self.col += 1
        if prev is not None:
            self.g.connect(prev.id, "out", node.id, port)
        return node

    def unit(self, prev: Node, channels: int, relu: bool = True) -> tuple[Node, Node]:
        """conv 3×3 → BatchNorm → ReLU; returns (the conv, the last node)."""
        conv = self.add("Conv2d", prev, out_channels=channels, kernel_size=[3, 3],
                        padding=[1, 1], bias=False)
        last = self.add("BatchNorm2d", conv)
        if relu:
            last = self.add("ReLU", last)
        return conv, last

    def res_block(self, prev: Node, channels: int) -> Node:
        conv, first = self.unit(prev, channels)
        self.convs.append(conv)
        _, second = self.unit(first, channels, relu=False)
        add = self.add("Add", second, port="x1", num_inputs=2)
        self.g.connect(prev.id, "out", add.id, "x2")  # the skip
        return self.add("ReLU", add)

    def transition(self, prev: Node, channels: int) -> Node:
        pool = self.add("MaxPool2d", prev, kernel_size=[2, 2])
        conv = self.add("Conv2d", pool, out_channels=channels, kernel_size=[1, 1], bias=False)
        self.transitions.append(conv)
        return self.add("ReLU", self.add("BatchNorm2d", conv))


def build_graph(total: int = 500) -> tuple[Document, _Builder]:
    """A ResNet-like conv net with exactly `total` nodes."""
    b = _Builder()
    head_fixed = 5  # Flatten, Linear, ReLU, Linear, Output
    fixed = 1 + PLAIN_UNIT + TRANSITION * (len(STAGES) - 1) + head_fixed
    body = total - fixed
    if body < RES_BLOCK * len(STAGES):
        raise SystemExit(f"--nodes must be at least {fixed + RES_BLOCK * len(STAGES)}")
    blocks, rest = divmod(body, RES_BLOCK)
    plain, dropouts = divmod(rest, PLAIN_UNIT)   # pad with plain units, then Dropout

    x = b.add("Input", None, name="x", shape=[3, 32, 32], dtype="float32")
    x = b.unit(x, STAGES[0])[1]  # stem
    per_stage = [blocks // len(STAGES) + (i < blocks % len(STAGES)) for i in range(len(STAGES))]
    for s, channels in enumerate(STAGES):
        if s:
            x = b.transition(x, channels)
        for _ in range(per_stage[s]):
            x = b.res_block(x, channels)
        if s == len(STAGES) - 1:
            for _ in range(plain):
                x = b.unit(x, channels)[1]
    x = b.add("Flatten", x)
    for _ in range(dropouts):
        x = b.add("Dropout", x)
    x = b.add("Linear", x, out_features=256)
    x = b.add("ReLU", x)
    x = b.add("Linear", x, out_features=10)
    b.add("Output", x, name="logits")
    assert len(b.g) == total, len(b.g)
    return b.doc, b


def _check_ok(result, what: str) -> None:
    errs = result.errors
    if errs:
        raise SystemExit(f"{what}: {len(errs)} errors, first: {errs[0].line()}")


def torch_warm_up() -> float:
    """Run a tiny Conv2d/BatchNorm2d/ReLU/MaxPool/add on meta; returns the ms it took."""
    import torch
    from torch import nn
    t0 = time.perf_counter()
    x = torch.empty(2, 3, 6, 6, device="meta")
    with torch.no_grad():
        y = nn.BatchNorm2d(4, device="meta")(nn.Conv2d(3, 4, 3, device="meta")(x))
        nn.MaxPool2d(2)(nn.ReLU()(y) + y)
    return (time.perf_counter() - t0) * 1e3


def cold_once(total: int, prewarm: bool) -> None:
    """Child-process mode: time the process's first check_document, print JSON."""
    import torch  # noqa: F401  (imported before timing: the import is not the check)
    from runtime.check import check_document
    from runtime.shapes import ShapeInference
    doc, _ = build_graph(total)
    warm_ms = torch_warm_up() if prewarm else 0.0
    inference = ShapeInference()
    t0 = time.perf_counter()
    result = check_document(doc, inference)
    ms = (time.perf_counter() - t0) * 1e3
    _check_ok(result, "cold check")
    print(json.dumps({"ms": ms, "runs": inference.runs, "warm_up_ms": warm_ms}))


def _fmt(name: str, samples: list[float], runs: list[int] | None = None) -> str:
    med = statistics.median(samples)
    verdict = "PASS" if med <= GOAL_MS else "MISS"
    text = (f"{name:<58} median {med:8.2f} ms  (min {min(samples):7.2f}, "
            f"max {max(samples):7.2f}, n={len(samples)})")
    if runs is not None:
        text += f"  meta runs/check: {statistics.median(runs):g}"
    return f"{text}  {verdict}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=15, help="repeats for (a2), (b), (b2), (c)")
    ap.add_argument("--cold-repeats", type=int, default=5,
                    help="fresh processes for (a1) (default 5)")
    ap.add_argument("--gc-freeze", action="store_true",
                    help="gc.freeze() after the imports, as an app could at startup: removes "
                         "the ~200 ms gen-2 GC pauses (torch's ~480k objects) seen in max")
    ap.add_argument("--cold-once", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--prewarm", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold_once:
        cold_once(args.nodes, args.prewarm)
        return 0

    import torch
    from graph.validate import validate
    from runtime.check import check_document
    from runtime.shapes import ShapeInference

    torch.set_num_threads(1)
    if args.gc_freeze:
        import gc
        gc.collect()
        gc.freeze()
    doc, b = build_graph(args.nodes)
    g = doc.graph
    types: dict[str, int] = {}
    for n in g:
        types[n.type] = types.get(n.type, 0) + 1
    adds = types.get("Add", 0)
    print(f"graph: {len(g)} nodes, {len(g.edges)} edges, {adds} residual Adds, "
          f"{len(b.transitions)} downsampling transitions; "
          + ", ".join(f"{k} {v}" for k, v in sorted(types.items(), key=lambda kv: -kv[1])))

    # (a1) first call in a fresh process; (a1w) the same after a tiny torch warm-up
    cold: dict[bool, tuple[list[float], list[int], list[float]]] = {
        False: ([], [], []), True: ([], [], [])}
    for _ in range(args.cold_repeats):
        for prewarm in (False, True):
            cmd = [sys.executable, __file__, "--cold-once", "--nodes", str(args.nodes)]
            out = subprocess.run(cmd + (["--prewarm"] if prewarm else []),
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            data = json.loads(out.stdout.strip().splitlines()[-1])
            cold[prewarm][0].append(data["ms"])
            cold[prewarm][1].append(data["runs"])
            cold[prewarm][2].append(data["warm_up_ms"])

    # (a2) fresh ShapeInference each time, torch warm (one throw-away check first)
    result = check_document(doc, ShapeInference())
    _check_ok(result, "initial check")
    warm_ms, warm_runs, val_ms, inf_ms = [], [], [], []
    for _ in range(args.repeats):
        inference = ShapeInference()
        t0 = time.perf_counter()
        result = check_document(doc, inference)
        warm_ms.append((time.perf_counter() - t0) * 1e3)
        warm_runs.append(inference.runs)
        _check_ok(result, "(a2)")
        t0 = time.perf_counter()
        validate(doc)
        val_ms.append((time.perf_counter() - t0) * 1e3)
        inference = ShapeInference()
        t0 = time.perf_counter()
        inference.infer(doc)
        inf_ms.append((time.perf_counter() - t0) * 1e3)

    # (a3) every node run on meta: nothing shared between identical layers
    nocache_ms, nocache_runs = [], []
    for _ in range(max(3, args.repeats // 3)):
        inference = ShapeInference(cache_size=0)
        t0 = time.perf_counter()
        result = check_document(doc, inference)
        nocache_ms.append((time.perf_counter() - t0) * 1e3)
        nocache_runs.append(inference.runs)
        _check_ok(result, "(a3)")

    # The editor's persistent inference, already holding this graph's shapes.
    editor = ShapeInference()
    _check_ok(check_document(doc, editor), "editor's first check")

    def incremental(edit, label: str) -> tuple[list[float], list[int]]:
        times, runs = [], []
        for i in range(args.repeats):
            edit(i)
            before = editor.runs
            t0 = time.perf_counter()
            result = check_document(doc, editor)
            times.append((time.perf_counter() - t0) * 1e3)
            runs.append(editor.runs - before)
            _check_ok(result, label)
        return times, runs

    # (b) a mid-graph residual block's first conv gets a new width (a new one each repeat,
    # so the cache cannot already know it)
    mid_conv = b.convs[len(b.convs) // 2]
    base_out = mid_conv.params["out_channels"]
    b_ms, b_runs = incremental(
        lambda i: g.set_params(mid_conv.id, out_channels=base_out + 1 + i), "(b)")
    g.set_params(mid_conv.id, out_channels=base_out)

    # (b2) a mid-graph transition conv's padding: every downstream shape changes
    mid_tr = b.transitions[len(b.transitions) // 2]
    b2_ms, b2_runs = incremental(
        lambda i: g.set_params(mid_tr.id, padding=[1 + i, 1 + i]), "(b2)")
    g.set_params(mid_tr.id, padding=[0, 0])
    downstream = len(_descendants(g, mid_tr.id))

    # (c) a label change: no shape changes
    c_ms, c_runs = incremental(lambda i: g.set_label(mid_conv.id, f"conv_mid_{i}"), "(c)")

    print(f"gc.freeze(): {'yes' if args.gc_freeze else 'no'}; the check is "
          "runtime.check.check_document(doc, inference)")
    print(f"goal: check_document (validate + shape inference) ≤ {GOAL_MS:g} ms")
    print(_fmt("(a1) cold: first call in a fresh process", *cold[False][:2]))
    print(_fmt("(a1w) fresh process after a tiny torch warm-up", *cold[True][:2]))
    print(f"     (the warm-up itself took {statistics.median(cold[True][2]):.0f} ms: "
          "torch's one-time lazy imports)")
    print(_fmt("(a2) cold cache: fresh ShapeInference, torch warm", warm_ms, warm_runs))
    print(f"     of which validate() {statistics.median(val_ms):.2f} ms, "
          f"ShapeInference.infer() {statistics.median(inf_ms):.2f} ms (medians, run apart)")
    print(_fmt("(a3) worst cold: every node run on meta (cache_size=0)", nocache_ms,
               nocache_runs))
    print(_fmt(f"(b)  edit: out_channels of mid conv {mid_conv.id}", b_ms, b_runs))
    print(_fmt(f"(b2) edit: padding of mid conv {mid_tr.id} ({downstream} downstream)",
               b2_ms, b2_runs))
    print(_fmt("(c)  edit: label only", c_ms, c_runs))
    return 0


def _descendants(graph: Graph, start: str) -> set[str]:
    out: dict[str, list[str]] = {}
    for e in graph.edges:
        out.setdefault(e.src, []).append(e.dst)
    seen, todo = set(), [start]
    while todo:
        for nxt in out.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


if __name__ == "__main__":
    sys.exit(main())
