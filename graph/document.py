"""A document: the main graph, its block definitions, and the settings saved with them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.diagnostics import Diagnostic
from graph.model import Graph

FORMAT_NAME = "nodetorch.graph"
FORMAT_VERSION = 1


@dataclass
class Document:
    graph: Graph = field(default_factory=Graph)
    blocks: dict[str, Graph] = field(default_factory=dict)
    name: str = ""
    description: str = ""
    # Training settings (dataset, recipe, loss, optimizer, epochs, init...): later tools
    # fill it; keys this version does not know are kept as they are.
    training: dict[str, Any] = field(default_factory=dict)
    # Top-level keys this version does not know, written back unchanged on save.
    extra: dict[str, Any] = field(default_factory=dict)
    # Problems found while loading that did not stop the load (duplicate ids, dangling edges).
    load_problems: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.graph.library = self.blocks
        for block in self.blocks.values():
            block.library = self.blocks

    def add_block(self, name: str, graph: Graph) -> Graph:
        graph.library = self.blocks
        self.blocks[name] = graph
        return graph

    def remove_block(self, name: str) -> Graph:
        return self.blocks.pop(name)

    def graph_at(self, block: str | None) -> Graph:
        """The main graph (block None) or a block definition's inside."""
        return self.graph if block is None else self.blocks[block]
