"""One optimizer step done right: autocast, scaled backward for fp16, gradient clipping,
and a stop on a non-finite loss before it poisons the weights."""
from __future__ import annotations

import contextlib
import math

import torch


class NonFiniteLoss(ArithmeticError):
    def __init__(self, value: float, where: str) -> None:
        self.value = value
        super().__init__(f"the loss became {value} at {where}")


class Stepper:
    def __init__(self, optimizer: torch.optim.Optimizer, device: torch.device,
                 precision: str = "fp32", grad_clip: float | None = None) -> None:
        self.optimizer = optimizer
        self.device = device
        self.grad_clip = grad_clip
        self.last_loss = math.nan
        # Mixed precision is a CUDA feature here; on CPU and MPS the run stays fp32 (said in
        # the log by the trainer) rather than silently slower or less accurate.
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision) \
            if device.type == "cuda" else None
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype is torch.float16 else None
        self.params = [p for g in optimizer.param_groups for p in g["params"]]

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, where: str) -> float | None:
        """Backward and update. Returns the gradient norm when clipping computed it; the
        loss as a float is left in `last_loss` (read once here for the NaN check, so the
        recipe need not read it from the device again)."""
        value = self.last_loss = float(loss.detach().float().mean())
        if not math.isfinite(value):
            raise NonFiniteLoss(value, where)
        self.optimizer.zero_grad(set_to_none=True)
        norm = None
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if self.grad_clip:
                self.scaler.unscale_(self.optimizer)
                norm = float(torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip))
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if self.grad_clip:
                norm = float(torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip))
                if not math.isfinite(norm):
                    raise NonFiniteLoss(norm, f"{where} (gradient norm)")
            self.optimizer.step()
        return norm
