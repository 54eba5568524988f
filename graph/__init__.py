"""The document: node specs, graph model, validation, file format. No Qt, no torch."""
