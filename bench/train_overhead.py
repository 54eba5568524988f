"""Does our trainer train as fast as a bare hand-written PyTorch loop?

Same model, same data, same optimizer, same thread count; three arms measured side by side,
interleaved epoch by epoch (the order of the arms rotates through all six permutations so
drift and cache effects cancel):

  bare   a plain loop over a shuffled permutation: zero_grad, forward, cross_entropy,
         backward, step; nothing else.
  ours   runtime.training.trainer.Trainer with our defaults: step events and TensorBoard
         scalars every 10 steps (log_every), gradient-norm events with them, the NaN check,
         metric conversion, the control (stop/pause) check per batch, and at each epoch's
         end validation, a checkpoint (epoch-NNN, copied to last/ and best/), metrics files
         and weight statistics.
  live   the same trainer with the editor's live views on: watch_nodes [conv1, fc1]
         (MLP: [fc1, fc2]), activation_interval 0.2 s (activations of one fixed sample,
         captured between batches). Events go to a list (emit=list.append); the editor's
         queue to its process is not part of this.

Model: templates/lenet5.json compiled by compile_document (the bare loop trains its own
compile of the same file, same seed: identical initial weights). --model mlp uses
templates/mlp.json with its Input set to 1×32×32 instead.
Data: the built-in "shapes" set (4000 train / 1000 val, 1×28×28), loaded and resized to
1×32×32 once, outside all timing; every arm trains on the very same tensors (the trainer's
load_dataset is pointed at the prepared bundle, so its setup does not load data again).
Batch 64, Adam lr 1e-3, torch.set_num_threads(1) (the config's threads: 1 for the trainer).

What is timed (one-off setup — compile, run folder, data — is excluded from every figure):
  training loop   Trainer.train_epoch(): every batch with all its per-step overhead. The
                  bare figure is its whole epoch loop (permutation included).
  whole epoch     train_epoch() + end_epoch(): adds validation, checkpoint write and
                  copies, metrics files, epoch and weights events; against the same bare
                  loop, which does none of that.
All arms run in the main thread, one epoch at a time. The trainers are driven through
fit()'s loop body (_setup() once, then train_epoch, end_epoch and the early-stopping check
per epoch; fit()'s dist.average of the train metrics does nothing in one process): fit()
itself cannot hand over between epochs. Running the real fit() in one thread per arm was
tried and dropped: identical bare loops in different threads differed by 1–4% (each thread
allocates from its own malloc arena), as much as the effect measured.
Before timing, one epoch of the real Trainer.fit() and of the bare loop must give
bit-identical weights, and two epochs of fit() and of the driver the same weights and epoch
history.

Prints median samples/s per arm, the ratios ours / bare (of medians, and the median and IQR
of the per-round ratios), and PASS or MISS against the goal (training loop ≥ 0.95, judged
on the ratio of medians of wall-clock time). As a cross-check that other processes on the
machine cannot skew, it also prints the per-round ratio of CPU time (this thread's).
Then where the trainer's time goes: step reports and live-view captures inside the loop,
and the parts of the end of an epoch.

    .venv/bin/python bench/train_overhead.py [--rounds 42] [--model lenet5|mlp] [--profile N]
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import runtime.training.setup as run_setup  # noqa: E402
from graph.loader import load_file  # noqa: E402
from runtime.compile import compile_document  # noqa: E402
from runtime.data import fit_to_input, load_dataset  # noqa: E402
from runtime.training.config import parse_config  # noqa: E402
from runtime.training.trainer import Trainer, TrainResult  # noqa: E402

GOAL = 0.95
MODELS = {"lenet5": ("lenet5.json", ["conv1", "fc1"]), "mlp": ("mlp.json", ["fc1", "fc2"])}
INPUT_SHAPE = (1, 32, 32)


# --- the arms: each trains one epoch per call, all in the main thread ----------------------
class Bare:
    """The reference: a hand-written loop, nothing but the training itself."""

    def __init__(self, doc, x: torch.Tensor, y: torch.Tensor, batch: int, lr: float,
                 seed: int) -> None:
        self.model = compile_document(doc, seed=seed).module
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.gen = torch.Generator().manual_seed(seed)
        self.x, self.y, self.batch = x, y, batch

    def train_one_epoch(self) -> None:
        model, opt, x, y, b = self.model, self.opt, self.x, self.y, self.batch
        model.train()
        perm = torch.randperm(len(x), generator=self.gen)
        for start in range(0, len(x), b):
            idx = perm[start:start + b]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()

    def epoch(self) -> Epoch:
        c0, t0 = time.thread_time(), time.perf_counter()
        self.train_one_epoch()
        t1, c1 = time.perf_counter(), time.thread_time()
        return Epoch(t1 - t0, c1 - c0, 0.0, {})


class Ours:
    """Our Trainer, driven through fit()'s loop body one epoch per call: _setup() once, then
    train_epoch(epoch), end_epoch(epoch, train) and the early-stopping check, as fit() does
    them (check_driver compares the two). The methods in TIMED are wrapped on the instance
    to say where the time goes."""

    TIMED = ("validate", "_save", "_copy_checkpoint", "_report_insides", "_report_step",
             "_maybe_capture")

    def __init__(self, doc, cfg, runs_dir: Path, time_methods: bool = True) -> None:
        self.events: list[dict[str, Any]] = []
        self.trainer = Trainer(doc, cfg, emit=self.events.append, runs_dir=runs_dir)
        self.trainer._setup()
        self.epoch_no = 0
        self.parts: dict[str, float] = {}
        for name in self.TIMED if time_methods else ():
            self._time_method(name)

    def _time_method(self, name: str) -> None:
        inner: Callable = getattr(self.trainer, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - t0
        setattr(self.trainer, name, timed)

    def epoch(self, profiler=None) -> Epoch:
        t, e = self.trainer, self.epoch_no
        self.parts = {}
        first = len(self.events)
        if profiler:
            profiler.enable()
        c0, t0 = time.thread_time(), time.perf_counter()
        train = t.train_epoch(e)
        t1, c1 = time.perf_counter(), time.thread_time()
        if profiler:
            profiler.disable()
        parts = {f"loop{k}": v for k, v in self.parts.items()}
        rates = []
        for ev in self.events[first:]:  # the loop's events, counted by kind
            parts[f"n_{ev['kind']}"] = parts.get(f"n_{ev['kind']}", 0) + 1
            if ev["kind"] == "step":
                rates.append(ev["samples_per_s"])
        self.parts = parts
        t.end_epoch(e, train)
        t._early_stop()
        t2 = time.perf_counter()
        self.epoch_no += 1
        return Epoch(t1 - t0, c1 - c0, t2 - t1, self.parts, rates)

    def close(self) -> TrainResult:
        return self.trainer._finish("finished")


# --- helpers -------------------------------------------------------------------------------
@dataclasses.dataclass
class Epoch:
    loop: float               # training loop, wall-clock seconds
    cpu: float                # training loop, CPU seconds of this thread
    end: float                # end_epoch, wall-clock seconds (0 for the bare loop)
    parts: dict[str, float]   # time inside the trainer's timed methods, event counts
    rates: list[float] = dataclasses.field(default_factory=list)  # step events' samples/s


def prepare(model: str, dataset: dict[str, Any]):
    """The graph and the data, fitted once; the trainer's setup gets the same bundle."""
    file, watch = MODELS[model]
    doc = load_file(ROOT / "templates" / file)
    if model == "mlp":
        node = next(n for n in doc.graph if n.type == "Input")
        doc.graph.set_params(node.id, shape=list(INPUT_SHAPE))
    bundle = fit_to_input(load_dataset(dataset, seed=0), INPUT_SHAPE, "float32", "resize")

    def prepared(spec, seed=0, base_dir=None):  # replaces setup.load_dataset
        return dataclasses.replace(bundle)      # a new bundle object, the same tensors
    run_setup.load_dataset = prepared
    return doc, bundle, watch


def training_block(args, epochs: int, watch: list[str] | None = None) -> dict[str, Any]:
    block = {"dataset": {"name": "shapes", "resize_to_input": True}, "recipe": "classification",
             "optimizer": {"name": "adam", "lr": args.lr}, "batch_size": args.batch,
             "epochs": epochs, "seed": 0, "device": "cpu", "threads": args.threads}
    if watch:
        block.update(watch_nodes=watch, activation_interval=0.2)
    return block


def check_same_computation(doc, bundle, args, runs_dir: Path) -> None:
    """From the same start, the real Trainer.fit() and the bare loop must end one epoch with
    bit-identical weights (same model, data order, loss and optimizer arithmetic); and our
    driver of fit()'s loop body (Ours) must match fit() over two epochs, weights and epoch
    history. (Only one epoch for the bare loop: the trainer reseeds its shuffle every epoch
    from (seed, epoch), which the plain loop does not copy; epoch 1 is seed 0 in both.)
    This also warms up everything (imports, TensorBoard, safetensors) before timing."""
    def weights_equal(a: torch.nn.Module, b: torch.nn.Module, what: str) -> None:
        for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            if not torch.equal(x, y):
                raise SystemExit(f"weights differ ({what}, {k}): not the same computation")

    one = Trainer(doc, parse_config(training_block(args, 1)), runs_dir=runs_dir / "one")
    bare = Bare(doc, bundle.x_train, bundle.y_train, args.batch, args.lr, 0)
    bare.train_one_epoch()
    two_cfg = parse_config(training_block(args, 2))
    two = Trainer(doc, two_cfg, runs_dir=runs_dir / "two")
    results = [one.fit(), two.fit()]
    for result in results:
        if result.status != "finished":
            raise SystemExit(f"Trainer.fit() did not finish: {result.status} {result.error}")
    weights_equal(one.parts.compiled["model"].module, bare.model,
                  "fit() and the bare loop after 1 epoch")
    driven = Ours(doc, two_cfg, runs_dir / "driven", time_methods=False)
    driven.epoch()
    driven.epoch()
    driven_result = driven.close()
    weights_equal(two.parts.compiled["model"].module, driven.trainer.parts.compiled["model"].module,
                  "fit() and the driven trainer after 2 epochs")
    strip = lambda history: [{k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
                             for r in history]
    if strip(results[1].history) != strip(driven_result.history):
        raise SystemExit("fit() and the driven trainer wrote different epoch histories")


def median_iqr(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"median {statistics.median(values):.4f}, IQR {q[0]:.4f}–{q[2]:.4f}"


def verdict(ratio: float) -> str:
    return "PASS" if ratio >= GOAL else "MISS"


def profile(doc, args, runs_dir: Path, epochs: int) -> None:
    import cProfile
    import pstats
    prof = cProfile.Profile()
    ours = Ours(doc, parse_config(training_block(args, epochs + 1)), runs_dir,
                time_methods=False)
    ours.epoch()  # warm-up, not profiled
    for _ in range(epochs):
        ours.epoch(profiler=prof)
    ours.close()
    print(f"\ncProfile of Trainer.train_epoch, {epochs} epoch(s) (end_epoch not included):")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)


# --- main ----------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=42,
                    help="interleaved rounds, one epoch of each arm per round (default 42)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed epochs per arm (default 1)")
    ap.add_argument("--model", choices=sorted(MODELS), default="lenet5")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="instead of the comparison, cProfile N epochs of Trainer.train_epoch")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    doc, bundle, watch = prepare(args.model, {"name": "shapes", "resize_to_input": True})
    n_train, n_val = len(bundle.x_train), len(bundle.x_val)
    steps = -(-n_train // args.batch)

    with tempfile.TemporaryDirectory(prefix="nodetorch-bench-") as tmp:
        runs = Path(tmp)
        check_same_computation(doc, bundle, args, runs / "check")
        if args.profile:
            profile(doc, args, runs / "profile", args.profile)
            return 0

        epochs = args.warmup + args.rounds
        arms: dict[str, Bare | Ours] = {
            "bare": Bare(doc, bundle.x_train, bundle.y_train, args.batch, args.lr, 0),
            "ours": Ours(doc, parse_config(training_block(args, epochs)), runs / "ours"),
            "live": Ours(doc, parse_config(training_block(args, epochs, watch)), runs / "live")}
        for _ in range(args.warmup):
            for arm in arms.values():
                arm.epoch()
        runs_of: dict[str, list[Epoch]] = {name: [] for name in arms}
        orders = list(itertools.permutations(arms))
        t_timed = time.perf_counter()
        for r in range(args.rounds):
            for name in orders[r % len(orders)]:
                runs_of[name].append(arms[name].epoch())
        timed = time.perf_counter() - t_timed
        for name in ("ours", "live"):
            arms[name].close()

    b, o, lv = runs_of["bare"], runs_of["ours"], runs_of["live"]
    med = statistics.median
    bare_loop = med(e.loop for e in b)
    print(f"Training throughput: our Trainer vs a bare PyTorch loop ({args.model}, "
          f"\"shapes\" resized to 1×32×32)")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"Adam lr {args.lr:g}, {n_train} train / {n_val} val samples, {steps} steps/epoch")
    print(f"{args.rounds} interleaved rounds (1 epoch per arm, order rotating), "
          f"{args.warmup} warm-up epoch(s); timed {timed:.1f} s, total "
          f"{time.perf_counter() - t_start:.1f} s")
    print("same computation: Trainer.fit() = bare loop after 1 epoch, fit() = driven trainer "
          "after 2 (bit-identical weights, same history): yes")
    print()
    live_label = f"ours + live views ({', '.join(watch)}; 0.2 s)"
    width = max(len(live_label), 16) + 2
    print(f"{'median samples/s':<{width}} {'training loop':>14} {'whole epoch':>12}")
    print(f"{'bare loop':<{width}} {n_train / bare_loop:>14,.0f} {n_train / bare_loop:>12,.0f}")
    for label, arm in (("ours (defaults)", o), (live_label, lv)):
        print(f"{label:<{width}} {n_train / med(e.loop for e in arm):>14,.0f} "
              f"{n_train / med(e.loop + e.end for e in arm):>12,.0f}")
    print()
    for label, arm in (("ours", o), ("ours + live views", lv)):
        loop, whole = med(e.loop for e in arm), med(e.loop + e.end for e in arm)
        ratio = bare_loop / loop
        per_round = [x.loop / e.loop for x, e in zip(b, arm)]
        per_round_whole = [x.loop / (e.loop + e.end) for x, e in zip(b, arm)]
        cpu = med(x.cpu / e.cpu for x, e in zip(b, arm))
        print(f"{label} / bare, training loop: {ratio:.4f} of medians, goal ≥ {GOAL:.2f}: "
              f"{verdict(ratio)}; per round {median_iqr(per_round)}; CPU time per round "
              f"median {cpu:.4f}; {(loop - bare_loop) / steps * 1e3:+.3f} ms/step")
        print(f"{label} / bare, whole epoch:   {bare_loop / whole:.4f} of medians "
              f"(information); per round {median_iqr(per_round_whole)}")
    print("(whole epoch adds validation, checkpoint and epoch events, which the bare loop does "
          "not do; CPU time: this thread's, which other processes cannot inflate)")
    print()
    for name, arm in (("ours", o), ("live", lv)):
        per_epoch = lambda key: med(e.parts.get(key, 0.0) for e in arm)  # noqa: E731
        count = lambda key: statistics.mean(e.parts.get(key, 0) for e in arm)  # noqa: E731
        rates = [r for e in arm for r in e.rates]
        print(f"{name}, inside the loop per epoch: step reports "
              f"{per_epoch('loop_report_step') * 1e3:.1f} ms ({count('n_step'):.1f} step and "
              f"{count('n_gradients'):.1f} gradient-norm events), live-view checks and "
              f"captures {per_epoch('loop_maybe_capture') * 1e3:.1f} ms "
              f"({count('n_activations'):.1f} captures); 'step' events' samples_per_s median "
              f"{med(rates) if rates else float('nan'):,.0f}")
    names = {"validate": "validation", "_save": "checkpoint write",
             "_copy_checkpoint": "links last/ and best/", "_report_insides": "weight stats"}
    parts = ", ".join(f"{text} {med(e.parts.get(key, 0.0) for e in o) * 1e3:.1f}"
                      for key, text in names.items())
    print(f"ours, end of epoch: median {med(e.end for e in o) * 1e3:.1f} ms ({parts} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
