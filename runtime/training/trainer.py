"""The training loop: fit → train_epoch → training_step, with named places where the run
reports, checkpoints and checks its stop flag. The CLI and the tests run it in-process;
the editor runs the very same loop in a worker process (worker.py)."""
from __future__ import annotations

import os
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graph.document import Document
from graph.fileformat import dumps
from graph.loader import loads
from runtime.compile import CompileError
from runtime.data import augment_batch, batches
from runtime.data.bundle import DataError
from runtime.training import events, observe
from runtime.training.checkpoint import (CheckpointError, CheckpointState, load_checkpoint,
                                          model_folder, newest_checkpoint, read_state,
                                          save_checkpoint)
from runtime.training.commit import point
from runtime.training.durable import is_disk_full
from runtime.training.config import ConfigError, TrainConfig
from runtime.training.control import Control
from runtime.training.device import DeviceError
from runtime.training.distributed import Distributed
from runtime.training.recipes import RecipeError
from runtime.training.resume import check_whole, resume_point
from runtime.training.run_folder import NullRunFolder, RunFolder
from runtime.training.setup import RunParts, build_run, steps_per_epoch
from runtime.training.stepper import NonFiniteLoss

# Problems with the user's settings, data or graph: a message, not a traceback.
USER_ERRORS = (ConfigError, DataError, RecipeError, DeviceError, CompileError, CheckpointError)


class _Stopped(Exception):
    pass


@dataclass
class TrainResult:
    status: str                      # finished, stopped, interrupted, failed
    run_dir: Path | None = None
    epochs_done: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)   # one dict per epoch
    best: dict[str, Any] | None = None
    error: str | None = None


class Trainer:
    def __init__(self, doc: Document, cfg: TrainConfig, *, emit: events.Emit = events.ignore,
                 control: Any = None, runs_dir: str | Path = "runs", resume: str | Path | None = None,
                 base_dir: Path | None = None, adapt_input: bool = False) -> None:
        self.doc = loads(dumps(doc))  # the run owns a copy: the user may edit on
        self.cfg, self.emit = cfg, emit
        self.control = control or Control()
        self.runs_dir, self.resume_from = Path(runs_dir), resume
        self.base_dir, self.adapt_input = base_dir, adapt_input
        self.dist = Distributed.from_env()
        self.folder: RunFolder | None = None
        self.parts: RunParts | None = None
        self.state = CheckpointState()
        self.history: list[dict[str, Any]] = []
        self.samples_trained = 0  # by this process (one rank's shard in a distributed run)
        self._last_activations = 0.0
        self._gradient_probes: dict[str, observe.GradientProbe] = {}
        self._epoch_started = time.perf_counter()
        self._shuffle, self._augment = torch.Generator(), torch.Generator()

    # --- fit -----------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        try:
            self._setup()
        except USER_ERRORS as exc:
            return self._fail(str(exc), None)
        except OSError as exc:
            return self._fail(self._write_failed(exc), None)
        except Exception as exc:  # a bug of ours, or torch refusing something: say what
            return self._fail(f"could not start training: {exc}", traceback.format_exc())
        status = "finished"
        try:
            try:
                for epoch in range(self.state.epoch, self.cfg.epochs):
                    train = self.dist.average(self.train_epoch(epoch))
                    self.end_epoch(epoch, train)
                    if self._early_stop():
                        self._log(f"early stopping: no improvement for "
                                  f"{self.cfg.early_stopping} epochs", "notice")
                        break
            except _Stopped:
                status = "stopped"
                self._save_mid_epoch()
            except KeyboardInterrupt:
                status = "interrupted"
                self._save_mid_epoch()
        except OSError as exc:   # the run folder cannot be written: a full disk, most often
            return self._fail(self._write_failed(exc), None)
        except NonFiniteLoss as exc:
            return self._fail(f"{exc}: training stopped. Try a lower learning rate (it was "
                              f"{self._lr():g} at that step), gradient clipping, or normalised "
                              "inputs. The last good checkpoint is kept.", None)
        except torch.cuda.OutOfMemoryError:
            return self._fail(f"the GPU ran out of memory with batch size {self.cfg.batch_size}: "
                              "try a smaller batch. The last good checkpoint is kept.", None)
        except USER_ERRORS as exc:
            return self._fail(str(exc), None)
        except Exception as exc:
            return self._fail(f"training failed: {exc}", traceback.format_exc())
        return self._finish(status)

    def _setup(self) -> None:
        self.parts = build_run(self.doc, self.cfg, self.dist, self.base_dir, self.adapt_input,
                               self._log)
        if self.resume_from is not None:
            self._resume(Path(self.resume_from))
        if self.folder is None:
            self.folder = RunFolder.create(self.runs_dir, self.doc.name or "run") \
                if self.dist.is_main else NullRunFolder()
        self._graph_json = dumps(self.doc)   # the doc is final now: checkpoints reuse it
        self.folder.write_inputs(self._graph_json, self.cfg.to_json())
        self._gradient_probes = {name: observe.GradientProbe(c.module, observe.layer_nodes(c.program))
                                 for name, c in self.parts.compiled.items()}
        model = self._main_module()
        params = sum(p.numel() for c in self.parts.compiled.values() for p in c.module.parameters())
        if self.cfg.precision != "fp32" and self.parts.device.type != "cuda":
            self._log(f"precision {self.cfg.precision} needs CUDA; training in fp32 on "
                      f"{self.parts.device.type}", "notice")
        self.emit(events.event(
            "started", run_dir=str(self.folder.path), device=str(self.parts.device),
            params=params, epochs=self.cfg.epochs, start_epoch=self.state.epoch,
            steps_per_epoch=self._steps_per_epoch(), dataset=self.parts.data.name,
            train_samples=len(self.parts.data.x_train), val_samples=len(self.parts.data.x_val),
            class_names=list(self.parts.data.class_names), recipe=self.cfg.recipe,
            code=model.code if hasattr(model, "code") else ""))
        self._log(f"training {self.doc.name or 'graph'} ({params:,} parameters) on "
                  f"{self.parts.device} with {self.parts.data.name}: "
                  f"{len(self.parts.data.x_train)} train, {len(self.parts.data.x_val)} val samples")

    # --- one epoch -----------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict[str, float]:
        parts, cfg = self.parts, self.cfg
        self._epoch_started = time.perf_counter()
        # Every random choice of an epoch comes from (seed, epoch): a resumed run makes the
        # same choices as one that never stopped, with no generator state to save.
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        self._shuffle.manual_seed(cfg.seed * 100_003 + epoch)
        self._augment.manual_seed(cfg.seed * 100_019 + epoch)
        for module in parts.recipe.models().values():
            module.train()
        data = parts.data
        indices = self.dist.shard(len(data.x_train), epoch, cfg.seed, shuffle=True)
        steps = self._steps_per_epoch()
        sums: dict[str, float] = {}
        count, window_samples, window_start = 0, 0, time.perf_counter()
        recent_losses: list[float] = []  # every step's loss since the last report
        for step, (xb, yb) in enumerate(batches(data.x_train, data.y_train, cfg.batch_size,
                                                shuffle=True, generator=self._shuffle,
                                                indices=indices)):
            self._check_control()
            if cfg.augment:
                xb = augment_batch(xb, cfg.augment, self._augment)
            metrics = {k: float(v) for k, v in self.training_step(xb, yb, epoch, step).items()}
            n = xb.shape[0]
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + value * n
            recent_losses.append(metrics["loss"])
            count += n
            self.samples_trained += n
            window_samples += n
            self.state.global_step += 1
            now = time.perf_counter()
            # Report every log_every steps but at most every report_interval seconds: fast
            # steps would otherwise spend their time on events no one can read that quickly.
            # The report carries every step's loss since the last, so no point is lost.
            first = self.samples_trained == n   # the run's first step: show it has begun
            if first or step == steps - 1 or (self.state.global_step % cfg.log_every == 0 and
                                              now - window_start >= cfg.report_interval):
                rate = window_samples / max(now - window_start, 1e-9)
                self._report_step(epoch, step, steps, metrics, rate, recent_losses)
                window_samples, window_start, recent_losses = 0, now, []
            self._maybe_capture(epoch)
        return {k: v / max(count, 1) for k, v in sums.items()}

    def training_step(self, xb: torch.Tensor, yb: torch.Tensor, epoch: int, step: int) -> dict[str, Any]:
        where = f"epoch {epoch + 1}, step {step + 1} (global step {self.state.global_step + 1})"
        metrics = self.parts.recipe.train_step(xb, yb, where)
        for schedule in self.parts.schedules.values():
            schedule.after_step()
        return metrics

    def validate(self) -> dict[str, Any]:
        recipe, data = self.parts.recipe, self.parts.data
        for module in recipe.models().values():
            module.eval()
        with torch.no_grad():
            for xb, yb in batches(data.x_val, data.y_val, max(self.cfg.batch_size, 256), shuffle=False):
                recipe.eval_batch(xb, yb)
        return recipe.eval_summary()

    def end_epoch(self, epoch: int, train: dict[str, float]) -> None:
        val = self.validate() if len(self.parts.data.x_val) else {}
        self.state.epoch = epoch + 1
        for schedule in self.parts.schedules.values():
            schedule.after_epoch(val.get("val_loss"))
        monitor = self.parts.recipe.monitor
        value = val.get(monitor) if monitor else None
        best = monitor is None or (value is not None and (
            self.state.best_metric is None or value < self.state.best_metric))
        if best and value is not None:
            self.state.best_metric = value
        scalars = {f"train_{k}": v for k, v in train.items()}
        scalars.update({k: v for k, v in val.items() if isinstance(v, float)})
        self.state.metrics = scalars
        record = {"epoch": epoch + 1, **scalars, "lr": self._lr(), "best": best,
                  "seconds": round(time.perf_counter() - self._epoch_started, 3)}
        self.history.append(record)
        self._save(f"epoch-{epoch + 1:03d}")
        self._copy_checkpoint(f"epoch-{epoch + 1:03d}", "last")
        if best:
            self._copy_checkpoint(f"epoch-{epoch + 1:03d}", "best")
        self._drop_superseded_stops()
        self._write_epoch(record, val)
        self.emit(events.event("epoch", **record, **{k: v for k, v in val.items()
                                                     if not isinstance(v, float)}))
        self._report_insides(epoch)

    # --- reporting -----------------------------------------------------------------------
    def _report_step(self, epoch: int, step: int, steps: int, values: dict[str, float],
                     rate: float, losses: list[float]) -> None:
        lr = self._lr()
        self.emit(events.event("step", epoch=epoch + 1, step=step + 1, steps=steps,
                               global_step=self.state.global_step, lr=lr, samples_per_s=rate,
                               losses=losses, **values))
        self.folder.log_metrics({"kind": "step", "epoch": epoch + 1,
                                 "global_step": self.state.global_step, "lr": lr, **values})
        for key, value in values.items():
            self.folder.scalar(f"train/{key}", value, self.state.global_step)
        self.folder.scalar("train/lr", lr, self.state.global_step)
        for name, probe in self._gradient_probes.items():
            norms = probe.norms()
            if norms:
                self.emit(events.event("gradients", model=name, global_step=self.state.global_step,
                                       norms=norms))

    def _maybe_capture(self, epoch: int, force: bool = False) -> None:
        if "model" not in self.parts.compiled or len(self.parts.data.x_val) == 0:
            return
        now = time.perf_counter()
        if not force and now - self._last_activations < self.cfg.activation_interval:
            return
        self._last_activations = now
        changes = self.control.changes()
        if "watch_nodes" in changes:
            self.cfg.watch_nodes = [str(n) for n in changes["watch_nodes"]]
        if not self.cfg.watch_nodes and not self.cfg.previews:
            return
        compiled, data = self.parts.compiled["model"], self.parts.data
        seen = observe.capture(compiled.module, compiled.program, (data.x_val[:1],),
                               self.cfg.watch_nodes, previews=self.cfg.previews)
        # One class per sample; a class per step (next-token targets) has no single label.
        classify = data.task == "classification" and data.y_val.dim() == 1
        fields: dict[str, Any] = {}
        if seen.output is not None:
            if classify and seen.output.ndim == 1:
                shifted = np.exp(seen.output - seen.output.max())
                fields["probabilities"] = (shifted / shifted.sum()).astype(np.float32)
            else:
                fields["output"] = seen.output
        self.emit(events.event("activations", epoch=epoch + 1, global_step=self.state.global_step,
                               sample=data.x_val[0].float().cpu().numpy(),
                               label=int(data.y_val[0]) if classify else None,
                               nodes=seen.nodes, previews=seen.previews, **fields))

    def _report_insides(self, epoch: int) -> None:
        for name, compiled in self.parts.compiled.items():
            stats = observe.weight_stats(compiled.module, observe.layer_nodes(compiled.program))
            self.emit(events.event("weights", model=name, epoch=epoch + 1, stats=stats))
        if hasattr(self.parts.recipe, "samples"):
            grid = self.parts.recipe.samples()
            self.emit(events.event("samples", epoch=epoch + 1, images=grid.numpy(),
                                   what="generated"))
        elif getattr(self.parts.recipe, "kind", None) == "autoencoder" and len(self.parts.data.x_val):
            inputs, outputs = self.parts.recipe.reconstructions(self.parts.data.x_val[:8])
            self.emit(events.event("samples", epoch=epoch + 1, images=outputs.numpy(),
                                   inputs=inputs.numpy(), what="reconstruction"))
        self._maybe_capture(epoch, force=True)

    def _write_epoch(self, record: dict[str, Any], val: dict[str, Any]) -> None:
        self.folder.log_metrics({"kind": "epoch", **record,
                                 **{k: v for k, v in val.items() if k != "confusion"}})
        self.folder.log_epoch_row(record)
        for key, value in record.items():
            if isinstance(value, float) and key not in ("seconds",):
                group = "val" if key.startswith("val_") else "train" if key.startswith("train_") else "epoch"
                self.folder.scalar(f"{group}/{key.removeprefix(group + '_')}", value, record["epoch"])
        self.folder.flush()
        line = ", ".join(f"{k} {v:.4g}" for k, v in record.items()
                         if isinstance(v, float) and k not in ("seconds", "lr"))
        self._log(f"epoch {record['epoch']}/{self.cfg.epochs}: {line}" + (" (best)" if record["best"] else ""))

    def _log(self, message: str, level: str = "info", best_effort: bool = False) -> None:
        if self.folder is not None:
            try:
                self.folder.log_line(message)
            except OSError:
                if not best_effort:   # the run's end still reports, with a disk full
                    raise
        if self.dist.is_main:
            self.emit(events.log(message, level))

    # --- checkpoints, resume, control ----------------------------------------------------
    def _save(self, name: str, partial: bool = False) -> None:
        if self.parts is None or not self.dist.is_main or self.folder is None:
            return
        self.state.extra = {"partial_epoch": partial, "recipe": self.cfg.recipe}
        for model_name, compiled in self.parts.compiled.items():
            folder = self.folder.checkpoint_dir(name if model_name == "model" else f"{name}-{model_name}")
            save_checkpoint(folder, compiled.module, self._graph_json, self.state,
                            {model_name: self.parts.optimizers[model_name]},
                            {model_name: self.parts.schedules[model_name]})

    def _save_mid_epoch(self) -> None:
        """A stop between batches: checkpoints/step-NNNNNNN, and `last` leads to it."""
        if self.parts is None or not self.dist.is_main or self.folder is None:
            return
        name = f"step-{self.state.global_step:07d}"
        self._save(name, partial=True)
        self._copy_checkpoint(name, "last")

    def _copy_checkpoint(self, source: str, target: str) -> None:
        """`last` or `best` leads to `source` from now on: a link replaced in one rename
        (a committed copy where there are no links). Named for what it did before links."""
        if not self.dist.is_main:
            return
        for model in self._model_names():
            point(self.folder.checkpoints, model_folder(Path(target), model).name,
                  model_folder(Path(source), model).name)

    def _drop_superseded_stops(self) -> None:
        """step-* folders that neither last nor best leads to any more: `last` moved past
        them to a whole epoch (before links, a stop simply overwrote last)."""
        if not self.dist.is_main:
            return
        checkpoints = self.folder.checkpoints
        kept = {os.path.realpath(checkpoints / name) for name in os.listdir(checkpoints)
                if (checkpoints / name).is_symlink()}
        for entry in checkpoints.glob("step-*"):
            if not entry.is_symlink() and os.path.realpath(entry) not in kept:
                shutil.rmtree(entry, ignore_errors=True)

    def _model_names(self) -> tuple[str, ...]:
        return ("model",) if "model" in self.parts.compiled else tuple(self.parts.compiled)

    def _resume(self, path: Path) -> None:
        """Continue from the checkpoint runtime.training.resume chooses for `path`."""
        models = self._model_names()
        point = resume_point(path, models, self.dist.is_main)
        if point.in_run_folder:
            self.folder = RunFolder(point.run) if self.dist.is_main else NullRunFolder()
        elif point.run is not None and self.dist.is_main:
            self.folder = RunFolder(point.run)
        for notice in point.notices:
            self._log(notice, "notice")
        if point.checkpoint is None:
            return
        path = point.checkpoint
        for name, compiled in self.parts.compiled.items():
            folder = model_folder(path, name)
            check_whole(folder, models)
            self.state, _ = load_checkpoint(folder, compiled.module,
                                            {name: self.parts.optimizers[name]},
                                            {name: self.parts.schedules[name]})
        self._log(f"resumed from {path} after epoch {self.state.epoch}"
                  f"{' (in the middle of the next)' if self.state.extra.get('partial_epoch') else ''}",
                  "notice")
        for schedule in self.parts.schedules.values():
            if schedule.note:
                self._log(schedule.note, "notice")

    def _write_failed(self, exc: OSError) -> str:
        """Why the run stopped, where, and what it keeps."""
        where = exc.filename or (self.folder.path if self.folder is not None else "the run folder")
        reason = ("the disk is full (no space left on device)" if is_disk_full(exc)
                  else exc.strerror or str(exc))
        message = f"cannot write {where}: {reason}. Training stopped"
        if self.folder is None or not self.dist.is_main:
            return message
        kept = newest_checkpoint(self.folder.checkpoints, self._model_names()) \
            if self.parts is not None else None
        if kept is None:
            return message + "; no checkpoint had been written yet"
        state = read_state(model_folder(kept, self._model_names()[0])) or {}
        return (message + f"; the last complete checkpoint ({kept.name}, epoch "
                f"{state.get('epoch', '?')}) is kept: free some space and continue with "
                f"--resume {self.folder.path}")

    def _check_control(self) -> None:
        while self.control.pause_requested() and not self.control.stop_requested():
            time.sleep(0.05)
        if self.control.stop_requested():
            raise _Stopped()

    def _early_stop(self) -> bool:
        patience = self.cfg.early_stopping
        if not patience or len(self.history) <= patience:
            return False
        return not any(r["best"] for r in self.history[-patience:])

    # --- endings -------------------------------------------------------------------------
    def _fail(self, message: str, trace: str | None) -> TrainResult:
        self._log(message, "error", best_effort=True)
        run_dir = self.folder.path if self.folder is not None and self.dist.is_main else None
        self.emit(events.event("error", message=message, traceback=trace or "",
                               global_step=self.state.global_step, epoch=self.state.epoch))
        result = TrainResult("failed", run_dir, self.state.epoch, self.history, self._best(), message)
        self._close(result)
        return result

    def _finish(self, status: str) -> TrainResult:
        result = TrainResult(status, self.folder.path if self.dist.is_main else None,
                             self.state.epoch, self.history, self._best())
        try:
            self._log(f"run {status} after {self.state.epoch} epoch(s): {self.folder.path}")
            failed = self.folder.close()
            if failed is not None:
                raise failed
        except OSError as exc:
            return self._fail(self._write_failed(exc), None)
        self.dist.debug_dump(self._main_module(), global_step=self.state.global_step,
                             samples_trained=self.samples_trained, epochs=self.state.epoch)
        self._close(result)
        return result

    def _close(self, result: TrainResult) -> None:
        if self.folder is not None:
            self.folder.close()   # after a failure: what it cannot write is already said
        self.emit(events.event("done", status=result.status, run_dir=str(result.run_dir or ""),
                               epochs_done=result.epochs_done, best=result.best, error=result.error))
        self.dist.stop()

    def _best(self) -> dict[str, Any] | None:
        best = [r for r in self.history if r.get("best")]
        return best[-1] if best else None

    def _steps_per_epoch(self) -> int:
        return steps_per_epoch(len(self.parts.data.x_train), self.cfg.batch_size,
                               self.dist.world_size)

    def _lr(self) -> float:
        opt = next(iter(self.parts.optimizers.values()))
        return float(opt.param_groups[0]["lr"])

    def _main_module(self):
        return next(iter(self.parts.compiled.values())).module
