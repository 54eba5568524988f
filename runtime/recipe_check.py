"""Check a document as its training settings train it: `check_document`, plus what the
recipe adds (graph/recipe_checks.py: a Softmax or Sigmoid the loss applies again).

Most recipes train the main graph. The GAN recipe trains two blocks of the file
(training.gan.generator and .discriminator) as separate models and never the main graph,
which may well be empty: each block is checked as the model it becomes (structure and
every shape, which an unused block definition otherwise never gets), its problems are
reported in that block, and an empty main graph is not a problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.recipe_checks import recipe_warnings
from graph.text import shown
from runtime.check import CheckResult, check_document
from runtime.shapes import ShapeInference

GAN_PARTS = ("generator", "discriminator")
DEFAULT_BLOCKS = {"generator": "Generator", "discriminator": "Discriminator"}
EMPTY_GRAPH_CODES = ("missing_input", "missing_output")


@dataclass
class PartCheck:
    """One model a recipe trains that is not the main graph (a GAN's generator)."""
    role: str                 # "generator" or "discriminator"
    block: str                # the block definition it is
    doc: Document             # the block as a document of its own
    result: CheckResult       # its own check, diagnostics in its own terms


@dataclass
class RecipeCheck(CheckResult):
    """check_document's result with the recipe's findings added; `parts` lists the models
    trained from blocks (empty unless the recipe is gan)."""
    parts: list[PartCheck] = field(default_factory=list)


def is_gan(doc: Document) -> bool:
    training = doc.training if isinstance(doc.training, dict) else {}
    return training.get("recipe") == "gan"


def gan_blocks(doc: Document) -> dict[str, str]:
    """{"generator": block name, "discriminator": block name} from training.gan."""
    gan = doc.training.get("gan") if isinstance(doc.training, dict) else None
    gan = gan if isinstance(gan, dict) else {}
    return {role: gan[role] if isinstance(gan.get(role), str) and gan.get(role)
            else DEFAULT_BLOCKS[role] for role in GAN_PARTS}


def check_for_recipe(doc: Document, inference: ShapeInference | None = None,
                     include_load_problems: bool = True) -> RecipeCheck:
    base = check_document(doc, inference, include_load_problems)
    diagnostics = list(base.diagnostics)
    parts: list[PartCheck] = []
    if is_gan(doc):
        if len(doc.graph.nodes) == 0:   # the GAN trains blocks: no main graph is fine
            diagnostics = [d for d in diagnostics
                           if not (d.block is None and d.code in EMPTY_GRAPH_CODES)]
        for role, name in gan_blocks(doc).items():
            part = _check_part(doc, role, name)
            if isinstance(part, Diagnostic):
                diagnostics.append(part)
                continue
            parts.append(part)
            diagnostics += _new_in_block(part, diagnostics)
    diagnostics += recipe_warnings(doc)
    return RecipeCheck(diagnostics, base.shapes, parts)


def _check_part(doc: Document, role: str, name: str) -> PartCheck | Diagnostic:
    from runtime.compile import block_as_document

    if name not in doc.blocks:
        known = ", ".join(shown(b) for b in sorted(doc.blocks)) or "none"
        return Diagnostic(
            f"gan_{role}_missing", f"the GAN recipe trains block {shown(name)} as its {role}, "
            f"but the file has no block by that name (blocks: {known})",
            hint=f"set training.gan.{role} to the block that is the {role}, or add it")
    part_doc = block_as_document(doc, name)
    return PartCheck(role, name, part_doc, check_document(part_doc, include_load_problems=False))


def _new_in_block(part: PartCheck, known: list[Diagnostic]) -> list[Diagnostic]:
    """The part's diagnostics, its own graph's placed in its block, less those the
    document's check already reported (it checks every block's structure, but shapes
    only where Block nodes of the main graph use a block)."""
    seen = {(d.code, d.block, d.node_id, d.port) for d in known}
    found = []
    for d in part.result.diagnostics:
        block = d.block if d.block is not None else part.block   # None: the part itself
        key = (d.code, block, d.node_id, d.port)
        if key in seen:
            continue
        seen.add(key)
        message = d.message
        if d.block is None and d.node_id is None:   # "the graph has no …": which graph
            message = message.replace("the graph", f"the {part.role} block {shown(part.block)}", 1)
        found.append(Diagnostic(d.code, message, d.node_id, d.port, d.severity, d.hint,
                                block, d.path))
    return found
