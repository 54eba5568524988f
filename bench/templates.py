"""Does every template learn on its default data, on this CPU, within its budget?

Each template in templates/ is trained exactly as `python main.py train TEMPLATE` trains it
(the file's own training settings, the real Trainer, a throw-away run folder), once per seed;
the seed changes the data split, the initial weights and the batch order. The worst seed
counts. What is measured depends on what the template learns:

  classification        val accuracy of the last epoch               ≥ target
  regression            val MSE of the last epoch, on targets
                        standardised with the training split's mean   < target
  autoencoder           val MSE / the MSE of always answering the
                        training split's mean image                   ≤ target
  language model        val perplexity, beside the unigram baseline   < baseline × target
  segmentation          val IoU of the last epoch                     ≥ target
  GAN                   generator samples (VAE: decoder samples from
                        the prior) as the small CNN (templates/
                        cnn_shapes.json, trained first on the same data)
                        sees them: the mean top-class probability,
                        and the class histogram                       ≥ target
  classic sizes         not trained (VGG-11, ResNet-18 at 3×224×224):
                        parameters against torchvision's figure       equal

It prints one row per template: template, dataset, epochs, seconds (of the slowest seed),
metric (of the worst seed), target, PASS or MISS.

    .venv/bin/python bench/templates.py [--only NAME[,NAME...]] [--seeds 3]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from graph.loader import load_file  # noqa: E402
from graph.templates import list_templates  # noqa: E402
from runtime.check import check_document  # noqa: E402
from runtime.data import load_dataset  # noqa: E402
from runtime.training.config import parse_config  # noqa: E402
from runtime.training.trainer import Trainer  # noqa: E402

# torchvision's published parameter counts (torchvision.models.vgg11 / resnet18, 1000 classes).
CLASSIC_PARAMS = {"vgg11": 132_863_336, "resnet18": 11_689_512}
# The targets ("Proof that each learns"); a template not named here gets its kind's.
TARGETS = {"mlp": 0.95, "mlp_spirals": 0.98, "lenet5": 0.97, "cnn_shapes": 0.97,
           "vgg_small": 0.97, "resnet_small": 0.97, "resnet18_small": 0.97,
           "cnn3d_volumes": 0.95, "rnn_waveforms": 0.90, "lstm_waveforms": 0.90,
           "gru_waveforms": 0.90, "transformer_tokens": 0.95, "rbf_moons": 0.97,
           "lstm_forecaster": 0.2, "autoencoder_dense": 0.30, "autoencoder_conv": 0.30,
           "unet": 0.8}
KIND_TARGETS = {"accuracy": 0.9, "mse": 0.2, "reconstruction": 0.30, "perplexity": 0.5,
                "iou": 0.8, "samples": 0.7}
# How each kind of figure is shown, and how it meets its target (the worst seed counts:
# the lowest for "≥", the highest otherwise).
SHOWN = {"accuracy": ("val acc {value:.3f}", "≥"), "iou": ("val IoU {value:.3f}", "≥"),
         "samples": ("judge conf {value:.3f}", "≥"), "mse": ("val MSE {value:.3f}", "<"),
         "reconstruction": ("MSE {value:.3f} × mean-image", "≤"),
         "perplexity": ("ppl {value:.3f} × unigram", "<")}
_PASSES = {"≥": lambda v, t: v >= t, "≤": lambda v, t: v <= t, "<": lambda v, t: v < t,
           "": lambda v, t: False}
JUDGE_CLASSIFIER = "cnn_shapes"   # the small CNN that judges generated samples


@dataclass
class Outcome:
    """One seed of one template."""
    seconds: float
    epochs: int
    value: float                      # the measured figure (see the module docstring)
    kind: str                         # accuracy, mse, reconstruction, perplexity, iou, samples
    note: str = ""                    # e.g. the baseline or the class histogram
    error: str | None = None


@dataclass
class Row:
    key: str
    dataset: str
    epochs: int
    seconds: float
    metric: str
    target: str
    passed: bool
    notes: list[str] = field(default_factory=list)


# --- one run -----------------------------------------------------------------------------
def train_once(path: Path, seed: int, runs_dir: Path, overrides: dict[str, Any] | None = None,
               adapt_input: bool = False, edit: Callable | None = None
               ) -> tuple[Trainer, Any, float]:
    doc = load_file(path)
    if edit is not None:
        edit(doc)
    cfg = parse_config(doc.training, {"seed": seed, **(overrides or {})})
    trainer = Trainer(doc, cfg, runs_dir=runs_dir, adapt_input=adapt_input)
    started = time.perf_counter()
    result = trainer.fit()
    return trainer, result, time.perf_counter() - started


def measure(key: str, path: Path, seed: int, runs_dir: Path,
            judge: Callable[[dict, int], Any]) -> list[Outcome]:
    """The template's figures for one seed: one, or for a VAE two (its reconstruction and
    the judge's view of its samples)."""
    outcome = _measure(key, path, seed, runs_dir, judge)
    return outcome if isinstance(outcome, list) else [outcome]


def _measure(key: str, path: Path, seed: int, runs_dir: Path,
             judge: Callable[[dict, int], Any]) -> Outcome | list[Outcome]:
    trainer, result, seconds = train_once(path, seed, runs_dir)
    if result.status != "finished" or not result.history:
        return Outcome(seconds, result.epochs_done, math.nan, "failed",
                       error=result.error or result.status)
    last = result.history[-1]
    parts = trainer.parts
    if trainer.cfg.recipe == "gan":
        generator = parts.recipe.generator
        latent = parts.recipe.latent_dim
        return _judged(Outcome(seconds, len(result.history), 0.0, "samples"),
                       lambda z: generator(z), latent, judge(trainer.cfg.dataset, seed), seed)
    if "val_iou" in last:
        return Outcome(seconds, len(result.history), last["val_iou"], "iou")
    if "val_perplexity" in last:
        baseline = _first(last, ("val_unigram_perplexity", "unigram_perplexity",
                                 "val_baseline_perplexity"))
        note = f"unigram baseline {baseline:.2f}" if baseline is not None else "no baseline"
        ratio = last["val_perplexity"] / baseline if baseline else math.nan
        return Outcome(seconds, len(result.history), ratio, "perplexity",
                       f"perplexity {last['val_perplexity']:.2f}, {note}")
    if "val_accuracy" in last:
        return Outcome(seconds, len(result.history), last["val_accuracy"], "accuracy")
    if trainer.cfg.recipe == "autoencoder":
        data = parts.data
        mean_image = data.x_train.float().mean(0, keepdim=True)
        baseline = float((data.x_val.float() - mean_image).pow(2).mean())
        # A VAE's val_loss adds its KL term: the reconstruction alone is its main loss.
        mse = last.get("val_main_loss", last["val_loss"])
        value = mse / baseline
        out = Outcome(seconds, len(result.history), value, "reconstruction",
                      f"val MSE {mse:.4f}, mean-image MSE {baseline:.4f}")
        sampler = _vae_decoder(trainer)
        if sampler is not None:
            decode, latent = sampler
            judged = _judged(Outcome(seconds, len(result.history), 0.0, "samples"), decode,
                             latent, judge(trainer.cfg.dataset, seed), seed)
            return [out, judged]
        return out
    return Outcome(seconds, len(result.history), last["val_loss"], "mse",
                   f"val RMSE {last.get('val_rmse', math.nan):.3f}")


def _first(values: dict, keys: tuple[str, ...]):
    return next((values[k] for k in keys if k in values), None)


@torch.no_grad()
def _judged(outcome: Outcome, generate: Callable, latent: int, classifier, seed: int,
            count: int = 512) -> Outcome:
    """The judge's view of `count` samples drawn from N(0, 1) noise through `generate`."""
    model, classes = classifier
    z = torch.randn(count, latent, generator=torch.Generator().manual_seed(seed + 7))
    samples = generate(z)
    samples = samples[0] if isinstance(samples, (tuple, list)) else samples
    probs = torch.softmax(model(samples.float())[:, :len(classes)], dim=1)
    confidence, label = probs.max(1)
    histogram = torch.bincount(label, minlength=len(classes)).tolist()
    outcome.value = float(confidence.mean())
    outcome.note = (f"mean top-class probability {outcome.value:.3f} (chance "
                    f"{1 / len(classes):.3f}); classes " +
                    ", ".join(f"{c} {n}" for c, n in zip(classes, histogram)))
    return outcome


def _vae_decoder(trainer: Trainer):
    """(decode z, latent size) when the autoencoder is a VAE: its graph holds a
    RandomNormalLike node whose sample feeds the decoder. The decoder is the part of the
    fx graph after the node that adds the noise; sampling from the prior replaces that
    value with N(0, 1) noise. None for a plain autoencoder."""
    from torch import fx

    doc, compiled = trainer.doc, trainer.parts.compiled["model"]
    noise = [n for n in doc.graph if n.type == "RandomNormalLike"]
    if not noise:
        return None
    # The reparameterised sample: the Add fed (through a Multiply) by the noise node.
    graph = doc.graph
    sample = None
    for spread in graph.edges_out_of(noise[0].id):
        for after in graph.edges_out_of(spread.dst):
            if graph.nodes[after.dst].type == "Add":
                sample = after.dst
    if sample is None:
        return None
    shape = compiled.check.shapes.nodes[sample].outputs["out"].shape
    module = compiled.module.eval()
    value_name = _fx_value_of(compiled, sample)
    if value_name is None or len(shape) != 1:
        return None

    class Prior(fx.Interpreter):
        def __init__(self, z):
            super().__init__(module)
            self.z = z

        def run_node(self, n):
            return self.z if n.name == value_name else super().run_node(n)

    def decode(z):
        dummy = torch.zeros(len(z), *trainer.parts.data.sample_shape,
                            device=trainer.parts.device)
        return Prior(z.to(trainer.parts.device)).run(dummy)

    return decode, shape[0]


def _fx_value_of(compiled, node_id: str) -> str | None:
    """The fx node name that holds graph node `node_id`'s (single) output."""
    for step in compiled.program.steps:
        if step.node_id == node_id and len(step.outputs) == 1:
            return step.outputs[0]
    return None


# --- the judge ---------------------------------------------------------------------------
def make_judge(templates: dict[str, Path], runs_dir: Path):
    cache: dict[tuple[str, int], Any] = {}

    def judge(dataset: dict, seed: int):
        """A classifier of the data exactly as the generative run saw it (the same
        normalisation too: a GAN on raw [0, 1] pixels is judged on raw pixels)."""
        key = (json.dumps(dataset, sort_keys=True), seed)
        if key not in cache:
            classes = load_dataset(dataset, seed=seed).num_classes

            def one_score_per_class(doc) -> None:
                last = [n for n in doc.graph if n.type == "Linear"][-1]
                doc.graph.set_params(last.id, out_features=classes)

            trainer, result, seconds = train_once(
                templates[JUDGE_CLASSIFIER], seed, runs_dir, {"dataset": dict(dataset)},
                adapt_input=True, edit=one_score_per_class)
            if result.status != "finished":
                raise RuntimeError(f"the judge CNN failed on {dataset}: {result.error}")
            accuracy = result.history[-1].get("val_accuracy", math.nan)
            print(f"    (judge: {JUDGE_CLASSIFIER} on {dataset}, seed {seed}: val accuracy "
                  f"{accuracy:.3f} in {seconds:.1f} s)", flush=True)
            model = trainer.parts.compiled["model"].module.eval()
            cache[key] = (model, list(trainer.parts.data.class_names))
        return cache[key]

    return judge


# --- the table ---------------------------------------------------------------------------
def bench_template(key: str, path: Path, seeds: int, runs_dir: Path, judge) -> list[Row]:
    doc = load_file(path)
    dataset = str(doc.training.get("dataset", {}).get("name", "?")) \
        if isinstance(doc.training.get("dataset"), dict) else str(doc.training.get("dataset"))
    if key in CLASSIC_PARAMS:
        params = check_document(doc).shapes.total_params
        want = CLASSIC_PARAMS[key]
        return [Row(key, dataset, 0, 0.0, f"{params:,} params", f"= {want:,}", params == want,
                    ["not trained: classic ImageNet size"])]
    per_seed = []
    for seed in range(seeds):
        figures = measure(key, path, seed, runs_dir, judge)
        for outcome in figures:
            print(f"  {key} seed {seed}: {outcome.kind} {outcome.value:.4f} in "
                  f"{outcome.seconds:.1f} s ({outcome.epochs} epochs) {outcome.note}"
                  f"{' ERROR ' + outcome.error if outcome.error else ''}", flush=True)
        per_seed.append(figures)
    count = min(len(f) for f in per_seed)
    return [_row(key if i == 0 else f"{key} ({per_seed[0][i].kind})", key, dataset,
                 [f[i] for f in per_seed]) for i in range(count)]


def _row(label: str, key: str, dataset: str, outcomes: list[Outcome]) -> Row:
    kind = next((o.kind for o in outcomes if o.kind != "failed"), "failed")
    # A template's own target is for its first figure; a VAE's samples take the judge's.
    target = KIND_TARGETS["samples"] if kind == "samples" else \
        TARGETS.get(key, KIND_TARGETS.get(kind, math.nan))
    shown, op = SHOWN.get(kind, ("failed", ""))
    values = [o.value if o.error is None else math.nan for o in outcomes]
    if any(math.isnan(v) for v in values):
        worst = math.nan
    else:
        worst = min(values) if op == "≥" else max(values)
    passed = not math.isnan(worst) and _PASSES[op](worst, target)
    metric = shown.format(value=worst) if op else "failed"
    goal = f"{op} {target:.2f}" if op else "—"
    worst_outcome = outcomes[values.index(worst)] if not math.isnan(worst) else outcomes[0]
    notes = [n for n in (worst_outcome.note, worst_outcome.error) if n]
    return Row(label, dataset, max(o.epochs for o in outcomes),
               max(o.seconds for o in outcomes), metric, goal, passed, notes)


def print_table(rows: list[Row], seeds: int) -> None:
    header = ("template", "dataset", "epochs", "seconds", "metric (worst seed)", "target", "")
    table = [header] + [(r.key, r.dataset, str(r.epochs), f"{r.seconds:.1f}", r.metric,
                         r.target, "PASS" if r.passed else "MISS") for r in rows]
    print(f"\nworst of {seeds} seed(s); seconds: the slowest seed's whole run")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for line in table[1:]:
        print("| " + " | ".join(line) + " |")
    for r in rows:
        for note in r.notes:
            print(f"  {r.key}: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated template keys")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    templates = {t.key: t.path for t in list_templates()}
    wanted = [k for k in args.only.split(",") if k] or list(templates)
    unknown = [k for k in wanted if k not in templates]
    if unknown:
        print(f"unknown template(s) {', '.join(unknown)}; have: {', '.join(templates)}")
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="nodetorch-bench-") as tmp:
        judge = make_judge(templates, Path(tmp) / "judge")
        for key in wanted:
            print(f"{key} ...", flush=True)
            rows += bench_template(key, templates[key], args.seeds, Path(tmp) / key, judge)
    print_table(rows, args.seeds)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
