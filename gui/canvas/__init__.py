"""The node canvas: scene (listens to the model), items, and the zoomable view."""
