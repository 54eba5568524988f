"""`python main.py train FILE ...`: train in this process with a progress bar per epoch."""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from cli.common import EXIT_BAD_FILE, EXIT_OK, EXIT_PROBLEMS, open_document

BAR_WIDTH = 24


class Progress:
    """Draws the epoch's bar on a terminal (redrawn in place); elsewhere it stays quiet and
    only the per-epoch summary lines are printed, so logs and CI output stay readable."""

    def __init__(self, stream: TextIO, live: bool) -> None:
        self.stream, self.live = stream, live
        self.epochs = 0
        self._epoch_start = time.perf_counter()
        self._drawn = False

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "started":
            self.epochs = event["epochs"]
            self._print(f"run folder: {event['run_dir']}")
            self._print(f"{event['params']:,} parameters on {event['device']}; "
                        f"{event['train_samples']} train / {event['val_samples']} val samples "
                        f"of {event['dataset']}")
        elif kind == "step" and self.live:
            self._bar(event)
        elif kind == "epoch":
            self._print(_epoch_line(event, self.epochs))
            self._epoch_start = time.perf_counter()
        elif kind == "log" and event["level"] == "notice":   # worth a line of its own
            self._print(event["message"])
        elif kind == "log" and event["level"] not in ("info", "error"):   # errors: at the end
            self._print(f"{event['level']}: {event['message']}")

    def _bar(self, e: dict[str, Any]) -> None:
        done = e["step"] / max(e["steps"], 1)
        filled = int(done * BAR_WIDTH)
        elapsed = time.perf_counter() - self._epoch_start
        eta = elapsed / done - elapsed if done > 0 else 0.0
        text = (f"epoch {e['epoch']}/{self.epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{e['step']}/{e['steps']}  loss {e['loss']:.4f}  "
                f"{e['samples_per_s']:,.0f} samples/s  ETA {eta:4.0f}s")
        self.stream.write("\r" + text.ljust(100))
        self.stream.flush()
        self._drawn = True

    def _print(self, text: str) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self._drawn = False
        print(text, file=self.stream, flush=True)


def _epoch_line(e: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {e['epoch']}/{epochs}"]
    # Loss-term Outputs (runtime/training/loss_terms.py) show beside the main loss.
    terms = [f"{split}_{name}" for name in e.get("loss_terms") or ()
             for split in ("train", "val")]
    main = ("train_main_loss", "val_main_loss") if terms else ()
    for key in ("train_loss", "train_accuracy", "train_pixel_accuracy", "val_loss",
                "val_accuracy", "val_pixel_accuracy", "val_iou", "val_mae",
                "val_perplexity", "val_unigram_perplexity", *main, *terms,
                "train_d_loss", "val_d_real", "val_d_fake"):
        if isinstance(e.get(key), float):
            value = e[key]
            parts.append(f"{key} {value:.2%}" if key.endswith("accuracy") else f"{key} {value:.4f}")
    parts.append(f"lr {e['lr']:.3g}")
    parts.append(f"{e['seconds']:.1f}s")
    return "  ".join(parts) + ("  *best*" if e.get("best") else "")


def cmd_train(args) -> int:
    from runtime.training.config import ConfigError, parse_config
    from runtime.training.trainer import Trainer

    doc, path = open_document(args.file)
    overrides = {"dataset": args.dataset, "epochs": args.epochs, "batch_size": args.batch_size,
                 "lr": args.lr, "device": args.device, "seed": args.seed}
    try:
        cfg = parse_config(doc.training, overrides)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {path}: {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    # Under torchrun every rank runs this; only rank 0 talks (the others' errors still show).
    main_rank = int(os.environ.get("RANK", "0")) == 0
    live = main_rank and sys.stderr.isatty() and not args.quiet and os.environ.get("TERM") != "dumb"
    progress = Progress(sys.stdout if not live else sys.stderr, live) if main_rank else (lambda e: None)
    trainer = Trainer(doc, cfg, emit=progress, runs_dir=args.out or "runs", resume=args.resume,
                      base_dir=path.resolve().parent, adapt_input=args.dataset is not None)
    result = trainer.fit()
    if result.status == "failed":
        print(f"error: {result.error}", file=sys.stderr)
        if result.run_dir:
            print(f"run folder (kept): {result.run_dir}", file=sys.stderr)
        # A bad dataset path or setting is the input's fault (2); a run that broke is 1.
        return EXIT_BAD_FILE if result.epochs_done == 0 and result.run_dir is None else EXIT_PROBLEMS
    if result.status in ("interrupted", "stopped"):
        print(f"interrupted after {result.epochs_done} epoch(s); checkpoint saved in "
              f"{result.run_dir}/checkpoints/last (resume with --resume {result.run_dir})",
              file=sys.stderr)
        return 130
    if not main_rank:
        return EXIT_OK
    best = result.best or {}
    summary = ", ".join(f"{k} {v:.4f}" for k, v in best.items()
                        if k.startswith("val_") and isinstance(v, float))
    print(f"done: {result.epochs_done} epoch(s){'; best ' + summary if summary else ''}")
    print(result.run_dir)
    return EXIT_OK
