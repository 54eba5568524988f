"""Start-up work that makes the first edit as fast as the rest.

torch imports much of itself lazily the first time a meta-device op runs (about a second
on a small machine); doing one tiny check on a background thread at start-up pays that
while the user is still looking at the window. Freezing the start-up objects out of the
garbage collector's view removes its occasional long pauses during editing.
"""
from __future__ import annotations

import gc
import threading


def warm_up_shapes() -> None:
    from graph.document import Document
    from runtime.check import check_document

    doc = Document(name="warm-up")
    g = doc.graph
    nodes = [g.add_node("Input", {"shape": [3, 6, 6]}), g.add_node("Conv2d", {"out_channels": 4}),
             g.add_node("BatchNorm2d"), g.add_node("ReLU"), g.add_node("MaxPool2d", {"kernel_size": [2, 2]}),
             g.add_node("Flatten"), g.add_node("Linear", {"out_features": 2}), g.add_node("Output")]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, "out", b.id, "x")
    check_document(doc)


def start_background_warm_up() -> threading.Thread:
    thread = threading.Thread(target=warm_up_shapes, name="nodetorch-warm-up", daemon=True)
    thread.start()
    return thread


def freeze_start_up_objects() -> None:
    gc.collect()
    gc.freeze()
