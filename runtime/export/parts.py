"""What an export means for a run: the document to compile and the weights that fit it.

A run of most recipes trains one model: its main graph, with weights in checkpoints/best.
A GAN run trains two blocks of its file as separate models, each with its own
checkpoints (best-generator, best-discriminator, ...; see runtime/training/checkpoint.py).
Exporting one of them compiles that block as a document of its own (the way the trainer
built it) with that block's weights: the generator unless the discriminator is asked for.

    source = open_export_source("runs/my-gan", part="discriminator")
    export_model(source.doc, source.state, "onnx", "d.onnx")
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from graph.document import Document
from graph.loader import LoadError, loads
from graph.text import shown
from runtime.export.common import WeightsError
from runtime.export.source import resolve_weights

GAN_PARTS = ("generator", "discriminator")
DEFAULT_PART = "generator"
DEFAULT_BLOCKS = {"generator": "Generator", "discriminator": "Discriminator"}  # config.py's
# Training keys that describe how the file trains, not what one part computes: a part
# exported on its own (its graph in a safetensors file) must not read as a GAN again.
GAN_TRAINING_KEYS = ("recipe", "loss", "gan")


class SourceError(WeightsError):
    """The run, the part asked for and the weights found do not go together."""


@dataclass
class ExportSource:
    doc: Document                   # what is compiled: for a GAN, the part's block
    state: dict[str, torch.Tensor]  # the weights that fit it
    where: Path                     # the weights file read
    part: str | None = None         # "generator" or "discriminator" for a GAN run
    block: str | None = None        # the block definition that part is
    source_name: str = ""           # the run's folder and checkpoint, for the files' notes


def open_export_source(path: str | Path, part: str | None = None) -> ExportSource:
    """The document and weights `path` (a run folder, a checkpoint folder or a
    .safetensors file) means. `part` picks a GAN's generator or discriminator (default:
    the generator); for any other recipe it is refused. Raises WeightsError (SourceError
    for a part that does not fit, LoadError-free: an unloadable graph is a WeightsError)."""
    if part is not None and part not in GAN_PARTS:
        raise SourceError(f"--part must be one of {', '.join(GAN_PARTS)}, got {part!r}")
    path = Path(path)
    settings = run_settings(path)
    recipe = _recipe(settings)
    if recipe is not None and recipe != "gan" and part is not None:
        raise SourceError(f"{path}: --part picks the generator or discriminator of a GAN run, "
                          f"but this run trained recipe {recipe!r}: one model, export it "
                          "without --part")
    held = folder_part(path)
    if held is not None and part is not None and held != part:
        sibling = path.parent if path.is_file() else path
        other = sibling.with_name(sibling.name[:-len(held)] + part)
        raise SourceError(f"{sibling}: holds the {held}'s weights, not the {part}'s; export "
                          f"{other} (or the run folder with --part {part})")
    model = part or held or (DEFAULT_PART if recipe == "gan" else "model")
    state, graph_json, where = resolve_weights(path, model)
    graph_source = f"the graph stored with {where}"
    try:
        doc = loads(graph_json, graph_source)
    except LoadError as exc:
        first = exc.problems[0].message if exc.problems else "cannot be loaded"
        raise WeightsError(f"{graph_source} cannot be loaded: {first}") from None
    if recipe is None:
        recipe = _recipe(doc.training)
    if recipe != "gan":
        if part is not None:
            raise SourceError(f"{where}: --part picks the generator or discriminator of a "
                              f"GAN run, but this graph trains recipe "
                              f"{recipe or 'classification'!r}: export it without --part")
        return ExportSource(doc, state, where, source_name=source_name(where))
    if model == "model":   # a lone weights file of a GAN: which part do its tensors fit?
        model = part or _part_by_keys(doc, settings, state)
    block = gan_block(doc, settings, model)
    return ExportSource(part_document(doc, block, model), state, where, model, block,
                        source_name(where))


def part_document(doc: Document, block: str, part: str) -> Document:
    """Block `block` of a GAN file as a document of its own, as the trainer compiles it."""
    from runtime.compile import block_as_document

    try:
        copy = block_as_document(doc, block)
    except ValueError as exc:
        raise SourceError(f"the GAN's {part} is block {shown(block)}, but {exc}; set "
                          f"training.gan.{part}") from None
    copy.training = {k: v for k, v in copy.training.items() if k not in GAN_TRAINING_KEYS}
    return copy


def gan_block(doc: Document, settings: dict[str, Any] | None, part: str) -> str:
    """The block a GAN part is: the run's config.json, else the file's training.gan."""
    for where in (settings, doc.training):
        gan = where.get("gan") if isinstance(where, dict) else None
        if isinstance(gan, dict) and isinstance(gan.get(part), str) and gan.get(part):
            return gan[part]
    return DEFAULT_BLOCKS[part]


def folder_part(path: Path) -> str | None:
    """'generator' for checkpoints/best-generator (or a file in it), else None."""
    folder = path.parent if path.is_file() else path
    for part in GAN_PARTS:
        if folder.name.endswith(f"-{part}"):
            return part
    return None


def run_settings(path: Path) -> dict[str, Any] | None:
    """The config.json of the run `path` is (or is inside), as trained; None if none."""
    folder = path.parent if path.is_file() else path
    for candidate in (folder, folder.parent, folder.parent.parent):
        config = candidate / "config.json"
        if (candidate / "checkpoints").is_dir() and config.is_file():
            try:
                settings = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                return None
            return settings if isinstance(settings, dict) else None
    return None


def source_name(where: Path) -> str:
    """'my-run/checkpoints/best' for a run's checkpoint, else the file's name."""
    parts = where.parts
    if len(parts) >= 4 and parts[-3] == "checkpoints":
        return "/".join(parts[-4:-1])
    return where.name


def _recipe(settings: dict[str, Any] | None) -> str | None:
    recipe = settings.get("recipe") if isinstance(settings, dict) else None
    return recipe if isinstance(recipe, str) else None


def _part_by_keys(doc: Document, settings: dict[str, Any] | None,
                  state: dict[str, torch.Tensor]) -> str:
    """The part whose compiled parameters have exactly these names (the generator when
    neither or both do: loading then says what does not fit)."""
    from runtime.compile import CompileError, compile_document

    for part in GAN_PARTS:
        try:
            module = compile_document(part_document(doc, gan_block(doc, settings, part),
                                                    part)).module
        except (SourceError, CompileError, ValueError):
            continue
        if set(module.state_dict()) == set(state):
            return part
    return DEFAULT_PART
