"""The training settings of a graph file (its `training` block), read and checked once.

Every problem is collected with its key, so a bad block is reported whole, not one typo
at a time. Unknown keys stay in the file (the loader keeps them) and are ignored here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RECIPES = ("classification", "regression", "autoencoder", "sequence", "gan", "segmentation")
LOSSES = ("cross_entropy", "nll", "mse", "mae", "smooth_l1", "bce")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "onecycle", "plateau")
PRECISIONS = ("fp32", "bf16", "fp16")
DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "mse", "autoencoder": "mse",
                "sequence": "cross_entropy", "gan": "bce", "segmentation": "cross_entropy"}


class ConfigError(ValueError):
    """The training block has problems; `problems` lists them as 'training.key: message'."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("training settings: " + "; ".join(problems))


@dataclass
class OptimizerConfig:
    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9        # SGD and RMSprop
    nesterov: bool = False       # SGD
    betas: tuple[float, float] = (0.9, 0.999)  # Adam, AdamW


@dataclass
class ScheduleConfig:
    name: str = "none"
    step_size: int = 10          # step: epochs between decays
    gamma: float = 0.1           # step: decay factor; plateau: factor
    patience: int = 3            # plateau: epochs without improvement
    min_lr: float = 0.0
    max_lr: float | None = None  # onecycle: the peak (default: lr)


@dataclass
class GanConfig:
    generator: str = "Generator"        # block definitions in the same file
    discriminator: str = "Discriminator"
    latent_dim: int | None = None       # default: the generator's Input size
    samples: int = 16                   # size of the fixed-noise grid


@dataclass
class TrainConfig:
    dataset: dict[str, Any] = field(default_factory=lambda: {"name": "digits"})
    recipe: str = "classification"
    loss: str = "cross_entropy"
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    grad_clip: float | None = None      # max global gradient norm
    early_stopping: int | None = None   # epochs without validation improvement
    device: str = "auto"
    threads: int = 0                    # CPU threads; 0: half the cores (see setup.py)
    precision: str = "fp32"
    augment: dict[str, Any] = field(default_factory=dict)
    gan: GanConfig = field(default_factory=GanConfig)
    # Live views: nodes whose activations are sampled, and how often (seconds).
    watch_nodes: list[str] = field(default_factory=list)
    activation_interval: float = 0.5
    previews: bool = False              # small outputs of every node with each capture
    log_every: int = 10                 # steps between step events...
    report_interval: float = 0.2        # ...and at least this many seconds

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict
        data = asdict(self)
        data["optimizer"]["betas"] = list(self.optimizer.betas)
        return data


def parse_config(block: dict[str, Any] | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The file's training block with CLI overrides (None values ignored) applied on top."""
    block = dict(block or {})
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "lr":
            block["optimizer"] = {**_as_dict(block.get("optimizer")), "lr": value}
        elif key == "dataset":
            block["dataset"] = _dataset_override(block.get("dataset"), value)
        else:
            block[key] = value
    problems: list[str] = []
    reader = _Reader(block, "training", problems)
    cfg = TrainConfig()
    dataset = block.get("dataset", cfg.dataset)
    if isinstance(dataset, str):
        from runtime.data import dataset_spec   # here: reading settings needs no torch
        dataset = dataset_spec(dataset)
    if not isinstance(dataset, dict):
        problems.append(f"training.dataset: must be a name or an object, got {dataset!r}")
        dataset = cfg.dataset
    cfg.dataset = dataset
    cfg.recipe = reader.choice("recipe", cfg.recipe, RECIPES)
    cfg.loss = reader.choice("loss", DEFAULT_LOSS.get(cfg.recipe, cfg.loss), LOSSES)
    cfg.epochs = reader.int("epochs", cfg.epochs, 1, 100_000)
    cfg.batch_size = reader.int("batch_size", cfg.batch_size, 1, 1 << 20)
    cfg.seed = reader.int("seed", cfg.seed, 0, 2**63 - 1)
    cfg.grad_clip = reader.float("grad_clip", None, 0.0, 1e9, optional=True)
    cfg.early_stopping = reader.int("early_stopping", None, 1, 100_000, optional=True)
    cfg.device = reader.text("device", cfg.device)
    cfg.threads = reader.int("threads", cfg.threads, 0, 1024)
    cfg.precision = reader.choice("precision", cfg.precision, PRECISIONS)
    cfg.augment = reader.dict("augment")
    cfg.watch_nodes = [str(n) for n in block.get("watch_nodes", [])] \
        if isinstance(block.get("watch_nodes", []), list) else []
    cfg.activation_interval = reader.float("activation_interval", cfg.activation_interval, 0.0, 3600.0)
    cfg.previews = reader.bool("previews", cfg.previews)
    cfg.log_every = reader.int("log_every", cfg.log_every, 1, 1_000_000)
    cfg.report_interval = reader.float("report_interval", cfg.report_interval, 0.0, 3600.0)

    # Defaults come from the dataclasses: one place says what an unset key means.
    opt, d = _Reader(_as_dict(block.get("optimizer")), "training.optimizer", problems), cfg.optimizer
    betas = opt.data.get("betas", list(d.betas))
    cfg.optimizer = OptimizerConfig(
        name=opt.choice("name", d.name, OPTIMIZERS),
        lr=opt.float("lr", d.lr, 0.0, 1e6),
        weight_decay=opt.float("weight_decay", d.weight_decay, 0.0, 1e3),
        momentum=opt.float("momentum", d.momentum, 0.0, 1.0),
        nesterov=opt.bool("nesterov", d.nesterov),
        betas=tuple(betas) if _is_betas(betas) else d.betas)
    if not _is_betas(betas):
        problems.append(f"training.optimizer.betas: must be two numbers in [0, 1), got {betas!r}")
    if cfg.optimizer.nesterov and cfg.optimizer.name == "sgd" and cfg.optimizer.momentum == 0:
        problems.append("training.optimizer.nesterov: needs momentum above 0")

    sched_block = block.get("schedule", {})
    if isinstance(sched_block, str):
        sched_block = {"name": sched_block}
    sch, d = _Reader(_as_dict(sched_block), "training.schedule", problems), cfg.schedule
    cfg.schedule = ScheduleConfig(
        name=sch.choice("name", d.name, SCHEDULES),
        step_size=sch.int("step_size", d.step_size, 1, 100_000),
        gamma=sch.float("gamma", d.gamma, 0.0, 1.0),
        patience=sch.int("patience", d.patience, 0, 100_000),
        min_lr=sch.float("min_lr", d.min_lr, 0.0, 1e6),
        max_lr=sch.float("max_lr", d.max_lr, 0.0, 1e6, optional=True))

    gan, d = _Reader(_as_dict(block.get("gan")), "training.gan", problems), cfg.gan
    cfg.gan = GanConfig(
        generator=gan.text("generator", d.generator),
        discriminator=gan.text("discriminator", d.discriminator),
        latent_dim=gan.int("latent_dim", d.latent_dim, 1, 1 << 16, optional=True),
        samples=gan.int("samples", d.samples, 1, 256))
    if problems:
        raise ConfigError(problems)
    return cfg


class _Reader:
    """Typed reads of one settings object, recording problems instead of raising."""

    def __init__(self, data: dict, where: str, problems: list[str]) -> None:
        self.data, self.where, self.problems = data, where, problems

    def _bad(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}.{key}: {message}")

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.data.get(key, default)
        if isinstance(value, str) and value.lower() in options:
            return value.lower()
        self._bad(key, f"must be one of {', '.join(options)}; got {value!r}")
        return default

    def int(self, key: str, default, lo: int, hi: int, optional: bool = False):
        value = self.data.get(key, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self._bad(key, f"must be a whole number from {lo} to {hi}; got {value!r}")
            return default
        return value

    def float(self, key: str, default, lo: float, hi: float, optional: bool = False):
        value = self.data.get(key, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not (lo <= value <= hi):
            self._bad(key, f"must be a number from {lo:g} to {hi:g}; got {value!r}")
            return default
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        self._bad(key, f"must be true or false; got {value!r}")
        return default

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if isinstance(value, str) and value:
            return value
        self._bad(key, f"must be text; got {value!r}")
        return default

    def dict(self, key: str) -> dict:
        value = self.data.get(key, {})
        if isinstance(value, dict):
            return value
        self._bad(key, f"must be an object; got {value!r}")
        return {}


# Options of a dataset block that are about fitting data to the graph, not about which data:
# they survive a command-line --dataset that picks other data.
_KEPT_ON_OVERRIDE = ("val_split", "normalize", "resize_to_input")


def _dataset_override(current: Any, value: Any) -> dict[str, Any]:
    from runtime.data import dataset_spec
    new = dataset_spec(value) if isinstance(value, str) else dict(value)
    current = current if isinstance(current, dict) else ({"name": current} if isinstance(current, str) else {})
    if current.get("name", current.get("path")) == new.get("name", new.get("path")):
        return {**current, **new}
    return {**{k: current[k] for k in _KEPT_ON_OVERRIDE if k in current}, **new}


def _as_dict(value: Any) -> dict:
    return dict(value) if isinstance(value, dict) else {}


def _is_betas(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in value)
