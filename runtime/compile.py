"""Compile a document to a real nn.Module: a torch.fx GraphModule with readable code.

Composite blocks become nested GraphModules, so `model.block_1.conv2d_1` exists and the
state_dict keys read like the graph. `model.code` shows the generated forward().
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import fx, nn

from graph.diagnostics import Diagnostic
from graph.document import Document
from runtime import targets
from runtime.check import CheckResult, check_document
from runtime.lower import Program, lower

INIT_SCHEMES = ("default", "kaiming", "xavier", "orthogonal", "zeros")


class CompileError(Exception):
    """The graph has errors; `diagnostics` lists them (the same ones `validate` prints)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        lines = [d.line() for d in diagnostics]
        super().__init__("the graph has errors:\n" + "\n".join(lines))


@dataclass
class Compiled:
    module: fx.GraphModule
    program: Program
    check: CheckResult


def compile_document(doc: Document, init: str | None = None, seed: int | None = None,
                     check: CheckResult | None = None) -> Compiled:
    """Check, lower and build. `init` and `seed` default to the file's training.init block."""
    check = check or check_document(doc)
    if check.errors:
        raise CompileError(check.errors)
    settings = doc.training.get("init", {}) if isinstance(doc.training.get("init"), dict) else {}
    init = init or settings.get("scheme", "default")
    seed = seed if seed is not None else settings.get("seed", 0)
    if init not in INIT_SCHEMES:
        raise ValueError(f"unknown weight init {init!r}; choose one of {', '.join(INIT_SCHEMES)}")
    program = lower(doc, check.shapes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        module = build_module(program)
        initialize(module, init)
    return Compiled(module, program, check)


def block_as_document(doc: Document, name: str) -> Document:
    """A copy of `doc` whose main graph is block `name` (the GAN recipe trains two blocks
    of one file as separate models). The copy shares nothing with `doc`."""
    from graph.fileformat import dumps
    from graph.loader import loads

    if name not in doc.blocks:
        known = ", ".join(sorted(doc.blocks)) or "none"
        raise ValueError(f"the file has no block named {name!r} (blocks: {known})")
    copy = loads(dumps(doc))
    copy.graph = copy.blocks[name]
    copy.name = name
    if not any(n.type == "Block" and n.params.get("block") == name
               for g in copy.blocks.values() for n in g):
        del copy.blocks[name]  # otherwise validation would report it twice
    return copy


def compile_model(doc: Document, **kwargs) -> fx.GraphModule:
    return compile_document(doc, **kwargs).module


def build_module(program: Program) -> fx.GraphModule:
    root = nn.Module()
    graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    for name in program.inputs:
        values[name] = graph.placeholder(name)
    for step in program.steps:
        args = tuple(values[a] if a is not None else None for a in step.args)
        single = step.outputs[0] if len(step.outputs) == 1 else step.name
        if step.kind == "function":
            fn = targets.resolve_target(step.target)
            result = graph.create_node("call_function", fn, args, dict(step.kwargs), name=single)
        else:
            if step.kind == "block" and len(step.copies) > 1:
                # A repeated block: its copies in order, named 0, 1, … like torchvision's
                # layer1.0.conv1 (code export writes the same nn.Sequential).
                submodule = nn.Sequential(*(build_module(p) for p in step.copies))
            elif step.kind == "block":
                submodule = build_module(step.block)
            else:
                submodule = targets.resolve_target(step.target)(**step.kwargs)
            root.add_module(step.name, submodule)
            result = graph.create_node("call_module", step.name, args, {}, name=single)
        if len(step.outputs) == 1:
            values[single] = result
            continue
        for i, value in enumerate(step.outputs):
            values[value] = graph.create_node("call_function", operator.getitem, (result, i),
                                              {}, name=value)
    returned = [values[v] for v in program.outputs]
    graph.output(returned[0] if len(returned) == 1 else tuple(returned))
    graph.lint()
    return fx.GraphModule(root, graph, class_name=program.class_name)


def initialize(module: nn.Module, scheme: str) -> None:
    """Re-initialise weight matrices and kernels (2+ axes) by `scheme`; biases become zero.
    'default' keeps torch's own per-layer init. Embedding tables keep theirs."""
    if scheme == "default":
        return
    for layer in module.modules():
        if isinstance(layer, nn.Embedding):
            continue
        for name, param in layer.named_parameters(recurse=False):
            with torch.no_grad():
                if param.dim() >= 2:
                    _init_weight(param, scheme)
                elif name.startswith("bias"):
                    param.zero_()


def _init_weight(param: torch.Tensor, scheme: str) -> None:
    if scheme == "kaiming":
        nn.init.kaiming_normal_(param, nonlinearity="relu")
    elif scheme == "xavier":
        nn.init.xavier_uniform_(param)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(param)
    elif scheme == "zeros":
        nn.init.zeros_(param)
