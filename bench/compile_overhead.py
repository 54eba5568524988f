"""Does the compiled graph train as fast as the same network written by hand?

Compiles templates/lenet5.json (compile_document → torch.fx GraphModule) and builds the
identical hand-written nn.Module, copies the weights across (by position), checks both give
identical outputs, then times one optimizer-free training step (zero_grad, forward,
cross-entropy, backward) of each, interleaved round by round so drift cancels.

Prints the median time per step for each, the ratio compiled / hand-written and whether it
meets the goal (≤ 1.02).

    .venv/bin/python bench/compile_overhead.py [--batch 64] [--rounds 800] [--steps 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from graph.loader import load_file  # noqa: E402
from runtime.compile import compile_document  # noqa: E402

GOAL = 1.02


def hand_written() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def copy_by_position(src: nn.Module, dst: nn.Module) -> None:
    """Load src's weights into dst, pairing state_dict entries in order (names differ)."""
    a, b = src.state_dict(), dst.state_dict()
    if len(a) != len(b):
        raise SystemExit(f"state_dicts differ in length: {len(a)} vs {len(b)}")
    mapped = {}
    for (ka, va), (kb, vb) in zip(a.items(), b.items()):
        if va.shape != vb.shape:
            raise SystemExit(f"shape mismatch pairing {ka} {tuple(va.shape)} with "
                             f"{kb} {tuple(vb.shape)}")
        mapped[kb] = va.clone()
    dst.load_state_dict(mapped)


def step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()


def time_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n: int) -> float:
    """Seconds per step, averaged over n consecutive steps."""
    t0 = time.perf_counter()
    for _ in range(n):
        step(model, x, y)
    return (time.perf_counter() - t0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--rounds", type=int, default=800,
                    help="interleaved A/B rounds (default 800)")
    ap.add_argument("--steps", type=int, default=5,
                    help="training steps per model per round (default 5)")
    ap.add_argument("--warmup", type=int, default=30, help="warm-up steps per model")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    compiled = compile_document(load_file(ROOT / "templates" / "lenet5.json")).module
    manual = hand_written()
    copy_by_position(compiled, manual)
    compiled.train()
    manual.train()

    x = torch.randn(args.batch, 1, 32, 32)
    y = torch.randint(0, 10, (args.batch,))

    # Same weights, same batch: the outputs and gradients must match exactly.
    with torch.no_grad():
        out_c, out_m = compiled(x), manual(x)
    if not torch.equal(out_c, out_m):
        raise SystemExit(f"outputs differ: max |Δ| = {(out_c - out_m).abs().max().item():.3g}")
    step(compiled, x, y)
    step(manual, x, y)
    for (kc, pc), (km, pm) in zip(compiled.named_parameters(), manual.named_parameters()):
        if not torch.equal(pc.grad, pm.grad):
            raise SystemExit(f"gradients differ: {kc} vs {km}")

    for _ in range(args.warmup):
        step(compiled, x, y)
        step(manual, x, y)

    tc: list[float] = []
    tm: list[float] = []
    ratios: list[float] = []
    t_start = time.perf_counter()
    for r in range(args.rounds):
        # Alternate which model goes first so drift and cache effects cancel.
        if r % 2 == 0:
            c = time_steps(compiled, x, y, args.steps)
            m = time_steps(manual, x, y, args.steps)
        else:
            m = time_steps(manual, x, y, args.steps)
            c = time_steps(compiled, x, y, args.steps)
        tc.append(c)
        tm.append(m)
        ratios.append(c / m)
    elapsed = time.perf_counter() - t_start

    med_c, med_m = statistics.median(tc), statistics.median(tm)
    ratio = med_c / med_m
    paired = statistics.median(ratios)
    q = statistics.quantiles(ratios, n=4)
    print("LeNet-5 training step (zero_grad, forward, cross_entropy, backward)")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch "
          f"{args.batch}×1×32×32, {args.rounds} interleaved rounds × {args.steps} steps "
          f"each ({elapsed:.1f} s)")
    print("outputs and gradients identical: yes")
    print(f"hand-written nn.Module : median {med_m * 1e3:8.3f} ms/step")
    print(f"compiled GraphModule   : median {med_c * 1e3:8.3f} ms/step")
    print(f"ratio compiled/hand-written: {ratio:.4f} (of medians); per-round ratio median "
          f"{paired:.4f}, IQR {q[0]:.4f}–{q[2]:.4f}")
    verdict = "PASS" if ratio <= GOAL else "MISS"
    print(f"goal ≤ {GOAL:.2f}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
