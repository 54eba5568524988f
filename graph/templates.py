"""The template library: graph files in templates/, found by name."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# The families a deep-learning course teaches, in the order it teaches them; a template
# names its own in a top-level "family" key, and one without it (or with another) is "Other".
FAMILIES = ("Feedforward", "Convolutional", "Recurrent", "Autoencoder", "Generative",
            "Transformer", "Radial basis")
OTHER_FAMILY = "Other"


@dataclass(frozen=True)
class TemplateInfo:
    key: str          # what the CLI accepts: the file's stem, e.g. "lenet5"
    name: str         # the document's own name, e.g. "LeNet-5"
    description: str
    path: Path
    family: str = OTHER_FAMILY   # one of FAMILIES, or OTHER_FAMILY


def list_templates() -> list[TemplateInfo]:
    found = []
    for path in sorted(TEMPLATES_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a broken template is reported by its own test, not here
        if isinstance(data, dict):
            found.append(TemplateInfo(path.stem, str(data.get("name", path.stem)),
                                      str(data.get("description", "")), path,
                                      _family(data.get("family"))))
    return found


def by_family(infos: list[TemplateInfo]) -> list[tuple[str, list[TemplateInfo]]]:
    """(family, its templates) in FAMILIES order, "Other" last; families with none left out."""
    order = {name: i for i, name in enumerate((*FAMILIES, OTHER_FAMILY))}
    groups: dict[str, list[TemplateInfo]] = {}
    for info in infos:
        groups.setdefault(info.family, []).append(info)
    return sorted(groups.items(), key=lambda item: order[item[0]])


def _family(value: object) -> str:
    return value if isinstance(value, str) and value in FAMILIES else OTHER_FAMILY


def find_template(name: str) -> Path | None:
    """'lenet5', 'LeNet-5' and 'lenet_5' all find templates/lenet5.json."""
    if len(name) > 200:
        return None  # no template has a name like that; spare the comparisons
    wanted = _squash(name)
    for info in list_templates():
        if wanted in (_squash(info.key), _squash(info.name)):
            return info.path
    return None


def resolve_graph_path(text: str) -> Path:
    """A path that exists wins; otherwise a template name; otherwise the path as given
    (so the error names what the user typed)."""
    path = Path(text)
    if path_exists(path):
        return path
    return find_template(text) or path


def path_exists(path: Path) -> bool:
    """exists() that says no instead of raising for a name the system refuses (too
    long, an embedded NUL byte, a component that is not a folder)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())
