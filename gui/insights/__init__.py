"""Training insight views: each turns training events (numpy, floats) into a live picture."""


def node_caption(node) -> str:
    """How the run views name a layer: its label (else its id) and its type."""
    return f"{node.label or node.id} ({node.type})"
