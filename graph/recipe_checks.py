"""Warnings about a graph and the recipe that trains it: the loss applies a function itself
that the graph already applied at its end, so training sees it twice.

- classification (and sequence, segmentation) with cross_entropy: a Softmax last. The loss
  is softmax + log over raw scores, so it sees softmax(softmax(x)); it still trains, slowly,
  and the scores it reports are squashed.
- the same with nll: nll wants log-probabilities (LogSoftmax), not probabilities.
- gan: a discriminator ending in Sigmoid. The GAN loss is BCE with logits, so its scores
  become sigmoid(sigmoid(x)), stuck between 0.5 and 0.73, and d_real/d_fake say nothing.

Graph only (no torch): the recipe names and default losses are repeated from
runtime/training/config.py on purpose, as plain strings.
"""
from __future__ import annotations

from typing import Any

from graph import walk
from graph.diagnostics import Diagnostic
from graph.document import Document
from graph.model import Graph, Node
from graph.text import shown

CLASS_RECIPES = ("classification", "sequence", "segmentation")
DEFAULT_RECIPE = "classification"
DEFAULT_LOSS = {"classification": "cross_entropy", "sequence": "cross_entropy",
                "segmentation": "cross_entropy", "gan": "bce"}
DEFAULT_DISCRIMINATOR = "Discriminator"
# Nodes that move values around without changing them: a Softmax before a Flatten is
# still what the loss sees.
PASS_THROUGH = ("Flatten", "Unflatten", "Reshape", "Squeeze", "Unsqueeze", "Identity",
                "Dropout")
MAX_STEPS = 10_000   # reshapes and block boundaries followed back from the Output


def recipe_warnings(doc: Document) -> list[Diagnostic]:
    """What the training settings' recipe and loss would apply twice; [] for a document
    without training settings (its recipe is not chosen yet)."""
    training = doc.training if isinstance(doc.training, dict) else {}
    if not training:
        return []
    recipe = _text(training.get("recipe")) or DEFAULT_RECIPE
    loss = _text(training.get("loss")) or DEFAULT_LOSS.get(recipe, "")
    if recipe == "gan":
        gan = training.get("gan") if isinstance(training.get("gan"), dict) else {}
        name = _text(gan.get("discriminator")) or DEFAULT_DISCRIMINATOR
        graph = doc.blocks.get(name)
        if graph is None:
            return []
        found = last_layer(doc, graph, name)
        if found is None or found[0].type != "Sigmoid":
            return []
        node, block = found
        return [Diagnostic(
            "sigmoid_before_gan_loss",
            f"{_named(node)} ends the discriminator {shown(name)}, but the GAN loss is binary "
            "cross-entropy with logits: its scores become sigmoid(sigmoid(x)), stuck between "
            "0.5 and 0.73, and d_real/d_fake cannot tell real from generated",
            node.id, severity="warning", block=block,
            hint="remove it: the GAN loss applies the sigmoid itself; the discriminator "
                 "should end in a Linear with one output (a logit)")]
    if recipe not in CLASS_RECIPES or loss not in ("cross_entropy", "nll"):
        return []
    graph = doc.graph
    found = last_layer(doc, graph, None)
    if found is None or found[0].type != "Softmax":
        return []
    node, block = found
    if loss == "cross_entropy":
        return [Diagnostic(
            "softmax_before_cross_entropy",
            f"{_named(node)} ends the network, but the {recipe} loss (cross_entropy) applies "
            "softmax itself: it sees softmax(softmax(x)), learns slowly and reports "
            "squashed scores", node.id, severity="warning", block=block,
            hint="remove it: cross_entropy takes the raw scores (logits) and applies the "
                 "softmax itself")]
    return [Diagnostic(
        "softmax_before_nll",
        f"{_named(node)} ends the network, but the nll loss expects log-probabilities, "
        "not probabilities", node.id, severity="warning", block=block,
        hint="use LogSoftmax instead, or remove it and choose the cross_entropy loss")]


def last_layer(doc: Document, graph: Graph, block: str | None) -> tuple[Node, str | None] | None:
    """The node whose output the training loss reads: what feeds the first Output (in flow
    order, loss terms aside), looking through reshapes and into blocks. (node, the block
    definition it lives in) or None when there is no such node."""
    output = first_output(graph)
    if output is None:
        return None
    node_id, port = _source(graph, output.id)
    seen: set[tuple[int, str]] = set()   # a loop (a broken file) ends the search
    while node_id is not None and node_id in graph.nodes and len(seen) < MAX_STEPS:
        if (id(graph), node_id) in seen:
            return None
        seen.add((id(graph), node_id))
        node = graph.nodes[node_id]
        if node.type in PASS_THROUGH:
            node_id, port = _source(graph, node_id)
            continue
        if node.type == "Block":
            inner_name = node.params.get("block")
            inner = doc.blocks.get(inner_name) if isinstance(inner_name, str) else None
            out = _output_named(inner, port) if inner is not None else None
            if out is None:
                return node, block
            graph, block = inner, inner_name
            node_id, port = _source(graph, out.id)
            continue
        return node, block
    return None


def first_output(graph: Graph) -> Node | None:
    """The Output the main loss reads: the first in flow order that is not a loss term."""
    order, _ = walk.flow_order(graph)
    for node_id in order:
        node = graph.nodes[node_id]
        if node.type == "Output" and node.params.get("loss_term") is not True:
            return node
    return None


def _source(graph: Graph, node_id: str) -> tuple[str | None, str | None]:
    """(node, output port) feeding `node_id`'s first connected input."""
    edges = graph.edges_into(node_id)
    if not edges:
        return None, None
    return edges[0].src, edges[0].src_port


def _output_named(graph: Graph, port: str | None) -> Node | None:
    for node in graph:
        if node.type == "Output" and node.params.get("name", node.id) == port:
            return node
    return None


def _named(node: Node) -> str:
    """'Sigmoid', or "Sigmoid 'prob'" for a labelled node."""
    return f"{node.type} {shown(node.label)}" if node.label else node.type


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
