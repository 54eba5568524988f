"""What the Open Template dialog lists: every file in the template folder as an entry with
the facts a learner wants before opening it (family, dataset, recipe, node count), grouped
by family in teaching order, and the filter rule. No Qt and no torch: reading these is a
few small JSON files, so the list fills at once; parameter counts come later (the dialog's
shape check).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import graph.templates as templates

# graph/templates.py owns the family names; these are the fallback for a library that
# predates them, so the dialog never depends on the attribute being there.
_DEFAULT_FAMILIES = ("Feedforward", "Convolutional", "Recurrent", "Autoencoder", "Generative",
                     "Transformer", "Radial basis")
OTHER = "Other"
# A sentence ends at a full stop followed by a space and a capital letter or a digit.
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z0-9])")
# How a description's first words name a family, where its own name's first letters do not.
_FAMILY_STEMS = {"Generative": ("gener", "gan", "adver"), "Radial basis": ("radia", "rbf"),
                 "Feedforward": ("feedf", "feed", "mlp", "fully", "dense"),
                 "Transformer": ("trans", "attent", "selfat")}

# One line per family: what the family is for, shown above the template's own text.
FAMILY_BLURBS = {
    "Feedforward": "Layers of weighted sums and activations: the basic learner of "
                   "decision boundaries.",
    "Convolutional": "Small filters slid over an image: shared weights find the same "
                     "feature anywhere.",
    "Recurrent": "A state carried from step to step: networks that read sequences in order.",
    "Autoencoder": "Squeeze the input through a narrow code and rebuild it: unsupervised "
                   "features and compression.",
    "Generative": "Networks that make new samples: a generator learns to fool a "
                  "discriminator.",
    "Transformer": "Attention lets every position look at every other: the architecture "
                   "behind language models.",
    "Radial basis": "Units that respond to the distance from a learned centre: local, "
                    "bump-shaped features.",
    OTHER: "Templates without a family tag, and files that cannot be read.",
}


@dataclass(frozen=True)
class TemplateEntry:
    path: Path
    name: str
    description: str
    family: str
    dataset: str = ""      # "digits", a file name, or why there is none
    recipe: str = ""       # the training recipe ("classification", "gan", ...)
    nodes: int | None = None   # top-level nodes, None when the file cannot be read
    readable: bool = True  # False: not even JSON; the dialog lists it and says why on selection

    @property
    def key(self) -> str:
        return self.path.stem


def families() -> tuple[str, ...]:
    """The known families in teaching order, "Other" last."""
    known = getattr(templates, "FAMILIES", _DEFAULT_FAMILIES)
    return (*known, OTHER)


def library_entries() -> list[TemplateEntry]:
    """Every *.json in templates.TEMPLATES_DIR, in family order, then by name."""
    directory = Path(templates.TEMPLATES_DIR)
    try:
        infos = templates.list_templates()
    except Exception:  # noqa: BLE001 — a library bug must not empty the dialog; list files
        infos = []
    entries = []
    listed = set()
    for info in infos:
        listed.add(Path(info.path))
        entries.append(_entry(Path(info.path), info.name, info.description,
                              getattr(info, "family", OTHER)))
    try:
        files = sorted(directory.glob("*.json"))
    except OSError:
        files = []
    # list_templates() leaves out files it cannot parse; show them, so the library's
    # contents are not a mystery, with the reason once selected.
    for path in files:
        if path not in listed:
            entries.append(TemplateEntry(path, path.stem, "", OTHER, readable=False))
    return sort_entries(entries)


def sort_entries(entries: list[TemplateEntry]) -> list[TemplateEntry]:
    return sorted(entries, key=lambda e: (family_rank(e.family), e.name.casefold(), e.key))


def grouped(entries: list[TemplateEntry]) -> list[tuple[str, list[TemplateEntry]]]:
    """(family, its entries) in teaching order; families without entries left out."""
    groups: dict[str, list[TemplateEntry]] = {}
    for entry in sort_entries(entries):
        groups.setdefault(entry.family, []).append(entry)
    return list(groups.items())


def family_rank(family: str) -> tuple[int, str]:
    """Known families in their order; unknown names after them, alphabetically; Other last."""
    order = families()
    if family == OTHER:
        return (len(order) + 1, "")
    if family in order:
        return (order.index(family), "")
    return (len(order), family.casefold())


def matches(entry: TemplateEntry, query: str) -> bool:
    """Every word of the query appears in the name, family, description, dataset, recipe or
    file name (case-insensitive); an empty query matches everything."""
    words = query.casefold().split()
    haystack = " ".join((entry.name, entry.family, entry.description, entry.dataset,
                         entry.recipe, entry.key)).casefold()
    return all(word in haystack for word in words)


def split_description(text: str, family: str) -> tuple[str, str]:
    """(what the family is for, which idea this template shows). A template's description
    usually opens with a sentence about its family ("Convolutional networks slide ...");
    when the first sentence does not begin by naming the family, it is all the idea."""
    text = " ".join(text.split())
    match = _SENTENCE_END.search(text)
    if match is None or not _names_family(text[:match.start()], family):
        return "", text
    return text[:match.start() + 1], text[match.end():]


def _names_family(sentence: str, family: str) -> bool:
    """'Radial-basis networks answer ...' names 'Radial basis'; 'GANs pit ...' names
    'Generative'; 'ResNet-18 (He et al.) ...' names none."""
    first_words = [re.sub(r"[^a-z]", "", w) for w in sentence.casefold().split()[:2]]
    stems = _FAMILY_STEMS.get(family, (re.sub(r"[^a-z]", "", family.casefold())[:5],))
    return any(w.startswith(stem) for w in first_words for stem in stems if stem)


def dataset_text(training: object) -> str:
    """'digits', a file path, or why there is none: what the training block trains on."""
    if not isinstance(training, dict) or not training:
        return "none (no training settings)"
    dataset = training.get("dataset")
    if isinstance(dataset, str) and dataset:
        return dataset
    if isinstance(dataset, dict):
        for key in ("name", "path"):
            if dataset.get(key):
                return str(dataset[key])
    return "not set"


def _entry(path: Path, name: str, description: str, family: object) -> TemplateEntry:
    family = family.strip() if isinstance(family, str) and family.strip() else OTHER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return TemplateEntry(path, name, description, family, readable=False)
    data = data if isinstance(data, dict) else {}
    training = data.get("training")
    recipe = training.get("recipe") if isinstance(training, dict) else None
    graph = data.get("graph")
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    return TemplateEntry(path, name, description, family, dataset_text(training),
                         recipe if isinstance(recipe, str) else
                         ("classification" if isinstance(training, dict) else ""),
                         len(nodes) if isinstance(nodes, list) else None)


def inputs_text(graph) -> str:
    """'x: 1×32×32' for each Input node of a graph ('tokens: 24 int64' when not float32)."""
    parts = []
    for node in graph:
        if node.type != "Input":
            continue
        shape = node.params.get("shape")
        dims = "×".join(str(d) for d in shape) if isinstance(shape, (list, tuple)) else "?"
        dtype = node.params.get("dtype", "float32")
        parts.append(f"{node.params.get('name', node.id)}: {dims}"
                     + (f" {dtype}" if dtype != "float32" else ""))
    return ", ".join(parts)


def layers_text(graph, most: int = 8) -> str:
    """'Conv2d ×2, ReLU ×4, MaxPool2d ×2, Flatten, Linear ×3': the node types of a graph in
    the order they first appear (a Block node by its definition's name), Input and Output
    left out; past `most` types, the rest are counted."""
    counts: dict[str, int] = {}
    for node in graph:
        if node.type in ("Input", "Output"):
            continue
        copies = 1
        if node.type == "Block":  # a repeated block is that many blocks
            name = str(node.params.get("block") or node.type)
            repeat = node.params.get("repeat", 1)
            copies = repeat if isinstance(repeat, int) and repeat > 1 else 1
        else:
            name = node.type
        counts[name] = counts.get(name, 0) + copies
    shown = [f"{name} ×{n}" if n > 1 else name for name, n in list(counts.items())[:most]]
    if len(counts) > most:
        shown.append(f"and {len(counts) - most} more")
    return ", ".join(shown)


def parameter_count(path: Path) -> int | str:
    """The template's trainable parameters from the app's shape check on torch's meta device
    (no weights are built: VGG-11's 133 M cost milliseconds), or why it cannot be counted.
    Safe off the GUI thread: it touches neither Qt nor the dialog."""
    from graph.loader import load_file
    from runtime.check import check_document

    try:
        return check_document(load_file(path)).shapes.total_params
    except Exception as exc:  # noqa: BLE001 — a broken template is one row's text, no more
        return str(exc) or type(exc).__name__
