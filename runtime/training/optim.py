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
    `after_epoch(val_loss)` every epoch (step, cosine, plateau)."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: int,
                 steps_per_epoch: int) -> None:
        self.name = cfg.name
        self.scheduler = None
        lr = optimizer.param_groups[0]["lr"]
        if cfg.name == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, cfg.step_size, cfg.gamma)
        elif cfg.name == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs, cfg.min_lr)
        elif cfg.name == "onecycle":
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=cfg.max_lr or lr, total_steps=max(1, epochs * steps_per_epoch))
        elif cfg.name == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=cfg.gamma, patience=cfg.patience, min_lr=cfg.min_lr)

    def after_step(self) -> None:
        if self.name == "onecycle":
            self.scheduler.step()

    def after_epoch(self, val_loss: float | None) -> None:
        if self.name in ("step", "cosine"):
            self.scheduler.step()
        elif self.name == "plateau" and val_loss is not None:
            self.scheduler.step(val_loss)

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler and state:
            self.scheduler.load_state_dict(state)
