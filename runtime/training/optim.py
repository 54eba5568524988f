"""Optimizers and learning-rate schedules from the training settings."""
from __future__ import annotations

from typing import Iterable

import torch

from runtime.training.config import OptimizerConfig, ScheduleConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: add a layer with weights")
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.name!r}")


class Schedule:
    """One interface over torch's schedulers: `after_step()` every batch (one-cycle),
    `after_epoch(val_loss)` every epoch (step, cosine, plateau).

    One-cycle and cosine are planned for the run's length. A checkpoint restored into a run
    of another length (`--resume RUN --epochs 4` after 1) starts a new schedule over the
    steps that remain, from where the saved one was: as calling fastai's fit_one_cycle
    again does. The saved schedule cannot simply go on (one-cycle refuses to step past its
    total; cosine would climb back up), and stretching it would jump the learning rate.
    `note` says what was done, for the run's log."""

    PLANNED = ("onecycle", "cosine")

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: int,
                 steps_per_epoch: int) -> None:
        self.name, self.cfg, self.optimizer = cfg.name, cfg, optimizer
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self.base_lr = optimizer.param_groups[0]["lr"]   # as configured: no schedule has run
        self.scheduler = None
        self.start = 0           # the step (one-cycle) or epoch (cosine) this schedule began at
        self.note = ""
        if cfg.name == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, cfg.step_size, cfg.gamma)
        elif cfg.name in self.PLANNED:
            self.scheduler = self._planned(self.end)
        elif cfg.name == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=cfg.gamma, patience=cfg.patience, min_lr=cfg.min_lr)

    @property
    def end(self) -> int:
        """Where the run ends, in the schedule's unit: steps (one-cycle) or epochs (cosine)."""
        return self.epochs * self.steps_per_epoch if self.name == "onecycle" else self.epochs

    def _planned(self, length: int):
        if self.name == "onecycle":
            lr = self.cfg.max_lr or self.base_lr
            return torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=lr,
                                                       total_steps=max(1, length))
        return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, max(1, length),
                                                          self.cfg.min_lr)

    def after_step(self) -> None:
        if self.name == "onecycle":
            self.scheduler.step()

    def after_epoch(self, val_loss: float | None) -> None:
        if self.name in ("step", "cosine"):
            self.scheduler.step()
        elif self.name == "plateau" and val_loss is not None:
            self.scheduler.step(val_loss)

    def state_dict(self) -> dict:
        if not self.scheduler:
            return {}
        state = dict(self.scheduler.state_dict())
        if self.name in self.PLANNED:
            state["nodetorch_start"], state["nodetorch_end"] = self.start, self.end
        return state

    def load_state_dict(self, state: dict) -> None:
        if not self.scheduler or not state:
            return
        state = dict(state)
        start = int(state.pop("nodetorch_start", 0) or 0)
        if self.name not in self.PLANNED:
            self.scheduler.load_state_dict(state)
            return
        planned = self._saved_length(state)
        saved_end = int(state.pop("nodetorch_end", start + planned) or 0)
        if saved_end == self.end:
            self.scheduler.load_state_dict(state)
            self.start = start
            return
        done = start + int(state.get("last_epoch", 0) or 0)
        self.start = done
        # Build the new schedule from the learning rate the run began with, not the
        # annealed one the optimizer's state carries.
        for group in self.optimizer.param_groups:
            group["lr"] = self.base_lr
            group.pop("initial_lr", None)
        self.scheduler = self._planned(self.end - done)
        unit = "steps" if self.name == "onecycle" else "epochs"
        what = "one-cycle" if self.name == "onecycle" else "cosine"
        self.note = (f"the {what} learning-rate schedule was planned for {saved_end} {unit} "
                     f"and {done} are done; this run ends at {self.end}, so a new {what} "
                     f"schedule runs over the {max(self.end - done, 0)} {unit} that remain")

    def _saved_length(self, state: dict) -> int:
        key = "total_steps" if self.name == "onecycle" else "T_max"
        return int(state.get(key, self.end) or 0)
