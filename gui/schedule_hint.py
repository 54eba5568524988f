"""What the Learning rate field means under each schedule, in the words of what
runtime/training/optim.py (torch's schedulers with their default settings) really does.

One-cycle used to surprise: the templates set `schedule.max_lr` (5× the rate), so the run
peaked at 5× the field with nothing on screen saying why. The hint names the peak, where
it comes from (the Peak rate field is schedule.max_lr), and the rates the run starts and
ends at.
"""
from __future__ import annotations

from typing import Any

from runtime.training.config import OptimizerConfig, ScheduleConfig

# torch.optim.lr_scheduler.OneCycleLR's defaults, which optim.py keeps.
ONECYCLE_DIV = 25.0          # starts at peak / 25
ONECYCLE_FINAL_DIV = 1e4     # ends at start / 10,000
ONECYCLE_PCT_START = 0.3     # rises over the first 30 % of the steps


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else default


def _g(value: float) -> str:
    return f"{value:.4g}"


def schedule_parts(block: dict[str, Any]) -> tuple[str, float, dict[str, Any]]:
    """(schedule name, learning rate, schedule settings) read from a training block, with
    the run's defaults where the block is silent."""
    opt = block.get("optimizer") if isinstance(block.get("optimizer"), dict) else {}
    lr = _number(opt.get("lr"), OptimizerConfig().lr)
    schedule = block.get("schedule", ScheduleConfig().name)
    if isinstance(schedule, str):
        schedule = {"name": schedule}
    if not isinstance(schedule, dict):
        schedule = {}
    return str(schedule.get("name", ScheduleConfig().name)), lr, schedule


def schedule_hint(block: dict[str, Any]) -> str:
    """One or two sentences: what the rate in the field does under the block's schedule."""
    name, lr, s = schedule_parts(block)
    d = ScheduleConfig()
    gamma = _number(s.get("gamma"), d.gamma)
    min_lr = _number(s.get("min_lr"), d.min_lr)
    if name == "none":
        return f"Constant: every step trains at {_g(lr)}."
    if name == "step":
        step_size = int(_number(s.get("step_size"), d.step_size))
        return (f"Step: starts at {_g(lr)} and is multiplied by {_g(gamma)} every "
                f"{step_size} epochs.")
    if name == "cosine":
        return (f"Cosine: starts at {_g(lr)} and falls along a half cosine to {_g(min_lr)} "
                f"(min_lr) at the last epoch, lowered once per epoch.")
    if name == "plateau":
        patience = int(_number(s.get("patience"), d.patience))
        return (f"Plateau: starts at {_g(lr)}; multiplied by {_g(gamma)} each time the "
                f"validation loss has not improved for more than {patience} epochs, never below "
                f"{_g(min_lr)} (min_lr).")
    if name == "onecycle":
        max_lr = _number(s.get("max_lr"), 0.0)
        if max_lr:   # optim.py: `cfg.max_lr or lr`, so 0 means "not set" as well
            ratio = max_lr / lr if lr > 0 else 0.0
            peak = (f"the peak is the Peak rate, {_g(max_lr)}"
                    + (f", {ratio:.3g}× the Learning rate" if ratio else "")
                    + "; the Learning rate itself is then not used")
        else:
            max_lr, peak = lr, f"the peak is the Learning rate, {_g(lr)} (no Peak rate set)"
        start = max_lr / ONECYCLE_DIV
        return (f"One-cycle: {peak}. The run starts at peak/{ONECYCLE_DIV:g} = {_g(start)}, "
                f"rises to the peak over the first {ONECYCLE_PCT_START:.0%} of the steps, "
                f"then falls to {_g(start / ONECYCLE_FINAL_DIV)} at the end.")
    return f"Schedule {name!r} is not known to this version: the run will refuse it."
