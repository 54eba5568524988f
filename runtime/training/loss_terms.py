"""Outputs marked as loss terms (Output params `loss_term`, `loss_weight`).

A model returns every Output, in order. Training predicts with the first Output that is not
a loss term; each loss-term Output is averaged over all its values and added to the
recipe's own loss, times its weight (a VAE's KL divergence drawn as nodes). The total is the
loss that is optimised and monitored; the recipe's own loss ("main_loss") and each term,
unweighted and named after its Output, are logged beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")

# Metric names the recipes log themselves: a loss term named like one would overwrite it.
RESERVED_NAMES = ("loss", "main_loss", "accuracy", "grad_norm", "mae", "rmse", "perplexity",
                  "unigram_perplexity", "per_class_accuracy", "confusion", "lr", "seconds",
                  "epoch", "best", "d_loss", "d_real", "d_fake", "iou", "pixel_accuracy",
                  "per_class_iou")


@dataclass(frozen=True)
class LossTerm:
    index: int        # position among the values the model returns
    name: str         # the Output's name: metrics train_<name>, val_<name>
    weight: float


@dataclass(frozen=True)
class OutputRoles:
    """Which returned value is the prediction and which are loss terms."""

    prediction: int = 0
    terms: tuple[LossTerm, ...] = ()

    def split(self, out: Any) -> tuple[torch.Tensor, list[tuple[LossTerm, torch.Tensor]]]:
        values = list(out) if isinstance(out, (tuple, list)) else [out]
        return values[self.prediction], [(t, values[t.index]) for t in self.terms]

    def add_terms(self, main: torch.Tensor, terms: list[tuple[LossTerm, torch.Tensor]]
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(main + Σ weight × mean(term), the parts to log: main_loss and each term's mean).
        With no loss terms: (main, {})."""
        if not terms:
            return main, {}
        total = main
        parts = {"main_loss": main.detach()}
        for term, value in terms:
            mean = value.float().mean()
            total = total + term.weight * mean
            parts[term.name] = mean.detach()
        return total, parts


def output_roles(doc, compiled) -> OutputRoles:
    """The roles of `compiled`'s returned values, read off the document's Output nodes
    (compiled.program.output_nodes says which node each value comes from). Raises
    RecipeError when no Output predicts, or a loss term cannot be averaged or clashes."""
    from runtime.training.recipes import RecipeError   # recipes imports this module

    program, shapes = compiled.program, compiled.check.shapes
    prediction: int | None = None
    terms: list[LossTerm] = []
    for index, node_id in enumerate(program.output_nodes):
        node = doc.graph.nodes[node_id]
        name = str(node.params.get("name", node_id))
        if not node.params.get("loss_term", False):
            if prediction is None:
                prediction = index
            continue
        if name in RESERVED_NAMES:
            raise RecipeError(f"loss-term Output {name!r}: the name {name!r} is taken by a "
                              f"metric training logs itself; rename the Output (e.g. "
                              f"{name + '_term'!r})")
        meta = shapes.nodes[node_id].inputs.get("x") if node_id in shapes.nodes else None
        if meta is not None and meta.dtype not in _FLOAT_DTYPES:
            raise RecipeError(f"loss-term Output {name!r} gets {meta.dtype} values, which "
                              "cannot be averaged into a loss; feed it floating-point numbers "
                              "(a loss term is a number per sample, e.g. ReduceSum of a "
                              "penalty)")
        if meta is not None and 0 in meta.shape:
            raise RecipeError(f"loss-term Output {name!r} gets an empty tensor "
                              f"({meta.text()}): there is nothing to average into the loss")
        terms.append(LossTerm(index, name, float(node.params.get("loss_weight", 1.0))))
    if prediction is None:
        names = ", ".join(repr(t.name) for t in terms)
        raise RecipeError(f"every Output of the graph is marked as a loss term ({names}); "
                          "training needs one that predicts: untick loss_term on the Output "
                          "the loss compares with the targets")
    return OutputRoles(prediction, tuple(terms))
