"""Everything a run needs before its first step: data fitted to the graph, compiled models
on the device, the recipe, optimizers and schedules. Each failure here is a clear message
about the settings, the data or the graph; nothing has been written yet."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from graph.document import Document
from runtime.compile import Compiled, block_as_document, compile_document
from runtime.data import DataError, fit_to_input, load_dataset
from runtime.data.bundle import DataBundle
from runtime.training.config import TrainConfig
from runtime.training.device import pick_device
from runtime.training.distributed import Distributed
from runtime.training.loss_terms import output_roles
from runtime.training.optim import Schedule, build_optimizer
from runtime.training.recipes import Gan, RecipeError, Supervised
from runtime.training.segmentation import Segmentation
from runtime.training.stepper import Stepper


@dataclass
class RunParts:
    device: torch.device
    data: DataBundle
    recipe: Any                                   # Supervised or Gan
    compiled: dict[str, Compiled]                 # "model", or "generator"/"discriminator"
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)


def build_run(doc: Document, cfg: TrainConfig, dist: Distributed, base_dir: Path | None,
              adapt_input: bool, log: Callable[..., None]) -> RunParts:
    device = dist.device(pick_device(cfg.device))
    if device.type == "cpu":
        # Small models gain little from many threads, and oversubscribed cores (another
        # process busy, or several ranks) slow torch's thread pool down many times over.
        torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 2) // (2 * dist.world_size)))
    dist.start(device)
    torch.manual_seed(cfg.seed)
    data = load_data(cfg, base_dir)
    if cfg.recipe == "gan":
        return _gan(doc, cfg, data, device, dist, log)
    data = fit_to_graph(doc, data, cfg, adapt_input, log, "the graph")
    compiled = compile_document(doc, seed=cfg.seed)
    model = compiled.module.to(device)
    recipe_class = Segmentation if cfg.recipe == "segmentation" else Supervised
    # The recipe predicts with the first Output that is not a loss term and adds the others.
    recipe = recipe_class(cfg, dist.wrap(model, device), data, output_roles(doc, compiled))
    parts = RunParts(device, _to(data, device), recipe, {"model": compiled})
    _optimizers(parts, cfg, {"model": model}, dist)
    return parts


def _gan(doc: Document, cfg: TrainConfig, data: DataBundle, device: torch.device,
         dist: Distributed, log) -> RunParts:
    try:
        g_doc = block_as_document(doc, cfg.gan.generator)
        d_doc = block_as_document(doc, cfg.gan.discriminator)
    except ValueError as exc:
        raise RecipeError(f"the GAN recipe trains two blocks of the file: {exc}; set "
                          "training.gan.generator and training.gan.discriminator") from None
    data = fit_to_graph(d_doc, data, cfg, False, log, f"discriminator block {cfg.gan.discriminator!r}")
    g_input = _single_input(g_doc, f"generator block {cfg.gan.generator!r}")
    latent = cfg.gan.latent_dim or _numel(g_input.params["shape"])
    if list(g_input.params["shape"]) != [latent]:
        raise RecipeError(f"the generator's Input takes {_shape(g_input.params['shape'])} but "
                          f"the latent size is {latent}: set its shape to [{latent}]")
    generator = compile_document(g_doc, seed=cfg.seed)
    discriminator = compile_document(d_doc, seed=cfg.seed + 1)
    g_mod, d_mod = generator.module.to(device), discriminator.module.to(device)
    recipe = Gan(cfg, dist.wrap(g_mod, device), dist.wrap(d_mod, device), data, latent, device)
    parts = RunParts(device, _to(data, device), recipe,
                     {"generator": generator, "discriminator": discriminator})
    _optimizers(parts, cfg, {"generator": g_mod, "discriminator": d_mod}, dist)
    return parts


def _optimizers(parts: RunParts, cfg: TrainConfig, models: dict[str, torch.nn.Module],
                dist: Distributed) -> None:
    steps = steps_per_epoch(len(parts.data.x_train), cfg.batch_size, dist.world_size)
    for name, module in models.items():
        opt = build_optimizer(module.parameters(), cfg.optimizer)
        parts.optimizers[name] = opt
        parts.schedules[name] = Schedule(opt, cfg.schedule, cfg.epochs, steps)
        parts.recipe.steppers[name] = Stepper(opt, parts.device, cfg.precision, cfg.grad_clip)


def steps_per_epoch(samples: int, batch_size: int, world_size: int = 1) -> int:
    """Batches per epoch on each process (the last one may be short); at least one."""
    return max(1, -(-samples // (batch_size * world_size)))


def load_data(cfg: TrainConfig, base_dir: Path | None) -> DataBundle:
    """The run's dataset, split and normalised with the run's seed."""
    return load_dataset(cfg.dataset, seed=cfg.seed, base_dir=base_dir)


def fit_to_graph(doc: Document, data: DataBundle, cfg: TrainConfig, adapt_input: bool, log,
                 what: str) -> DataBundle:
    """Match the data to the graph's Input: resize or pad images when the file says so; when
    the user picked another dataset by hand and it cannot be fitted, give the Input the
    data's shape instead (its layers' inferred sizes follow)."""
    node = _single_input(doc, what)
    shape, dtype = tuple(node.params["shape"]), node.params["dtype"]
    try:
        return fit_to_input(data, shape, dtype, cfg.dataset.get("resize_to_input", False))
    except DataError:
        if not adapt_input:
            raise
    doc.graph.set_params(node.id, shape=list(data.sample_shape), dtype=data.dtype)
    log(f"Input {node.params['name']!r}: shape {_shape(shape)} → {_shape(data.sample_shape)} "
        f"({data.dtype}) to fit dataset {data.name!r}", "notice")
    return data


def _single_input(doc: Document, what: str):
    inputs = [n for n in doc.graph if n.type == "Input"]
    if len(inputs) != 1:
        names = ", ".join(repr(n.params.get("name")) for n in inputs) or "none"
        raise RecipeError(f"training feeds one tensor, so {what} needs exactly one Input node; "
                          f"it has {len(inputs)} ({names})")
    return inputs[0]


def _to(data: DataBundle, device: torch.device) -> DataBundle:
    """Small data lives on the device for the whole run: batches are then a gather."""
    for key in ("x_train", "y_train", "x_val", "y_val"):
        setattr(data, key, getattr(data, key).to(device))
    return data


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _shape(shape) -> str:
    return "×".join(map(str, shape))
