"""What the palette offers, without widgets: the drag payload a layer carries to the
canvas, the one search rule (shared by the palette and the quick-add popup), and the
tooltips that describe a layer type or a block."""
from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable

from PySide6.QtCore import QByteArray

from graph.catalog import SPECS
from graph.spec import NodeSpec

BLOCK_TYPE = "Block"
BLOCKS_CATEGORY = "Blocks"
BLOCKS_DOC = "A block defined in this document, used as one node."

# --- drag payload ---------------------------------------------------------------------------
def encode_drag(type_id: str, params: dict[str, Any] | None = None) -> bytes:
    """The bytes a palette drag carries under MIME_NODE_TYPE.

    A plain type id for catalog layers ("Conv2d"), "Block:<name>" for a block definition,
    and "<type>\\n<json params>" for any other preset parameters."""
    params = dict(params or {})
    if not params:
        return type_id.encode()
    if type_id == BLOCK_TYPE and set(params) == {"block"} and isinstance(params["block"], str) \
            and "\n" not in params["block"]:
        return f"{BLOCK_TYPE}:{params['block']}".encode()
    return f"{type_id}\n{json.dumps(params, sort_keys=True)}".encode()


def decode_drag(data: bytes | bytearray | QByteArray | str) -> tuple[str, dict[str, Any]]:
    """Inverse of encode_drag: (type_id, params). Tolerates the raw string GraphView emits."""
    if isinstance(data, QByteArray):
        data = bytes(data)
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else str(data)
    if "\n" in text:
        type_id, _, rest = text.partition("\n")
        try:
            params = json.loads(rest)
        except ValueError:
            params = {}
        return type_id.strip(), params if isinstance(params, dict) else {}
    if text.startswith(BLOCK_TYPE + ":"):
        return BLOCK_TYPE, {"block": text[len(BLOCK_TYPE) + 1:]}
    return text.strip(), {}


# --- search ---------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9]+")


def match_score(query: str, type_id: str, category: str = "", doc: str = "") -> int | None:
    """How well `query` fits one entry (lower is better), or None when it does not fit.

    0: the type id itself; 1: the type id starts with it; 2: the type id contains it;
    3: every query word is in the type id or starts a category word; 4: every query word
    is in the type id or starts a word of the category or the doc. Case-insensitive;
    an empty query fits everything equally."""
    q = " ".join(query.lower().split())
    if not q:
        return 0
    t = type_id.lower()
    if t == q:
        return 0
    if t.startswith(q):
        return 1
    if q in t:
        return 2
    words = q.split()
    cat_words = _WORD.findall(category.lower())
    if all(w in t or any(c.startswith(w) for c in cat_words) for w in words):
        return 3
    doc_words = cat_words + _WORD.findall(doc.lower())
    if all(w in t or any(d.startswith(w) for d in doc_words) for w in words):
        return 4
    return None


def paletted_specs() -> list[NodeSpec]:
    """The catalog's specs a user picks from a list (Block needs a definition, so it is
    offered per definition instead)."""
    return [s for s in SPECS.values() if s.type != BLOCK_TYPE]


def match_specs(query: str, specs: Iterable[NodeSpec] | None = None) -> list[NodeSpec]:
    """The specs that fit `query`, best first (exact/prefix match on the type id, then
    substring, then category, then doc words), catalog order within a rank."""
    pool = list(paletted_specs() if specs is None else specs)
    scored = []
    for index, spec in enumerate(pool):
        score = match_score(query, spec.type, spec.category, spec.doc)
        if score is not None:
            scored.append((score, index, spec))
    scored.sort(key=lambda entry: entry[:2])
    return [spec for _, _, spec in scored]


# --- tooltips -------------------------------------------------------------------------------
def _show_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def spec_tooltip(spec: NodeSpec) -> str:
    """Rich-text tooltip: doc, `name (default) — doc` per parameter, the inferred values."""
    esc = html.escape
    parts = [f"<b>{esc(spec.type)}</b> <i>({esc(spec.category)})</i>", esc(spec.doc)]
    if spec.params:
        rows = [f"&nbsp;&nbsp;• <b>{esc(p.name)}</b> ({esc(_show_value(p.default))})"
                f" — {esc(p.doc)}" for p in spec.params]
        parts.append("<b>Parameters</b><br>" + "<br>".join(rows))
    else:
        parts.append("<i>No parameters.</i>")
    if spec.inferred:
        rows = []
        for name, inf in spec.inferred.items():
            where = inf.doc or f"read off input '{inf.port}', axis {inf.axis}" + \
                (" onwards" if inf.tail else "")
            rows.append(f"&nbsp;&nbsp;• <b>{esc(name)}</b> — {esc(where)}")
        parts.append("<b>Inferred from the input</b> (not typed in)<br>" + "<br>".join(rows))
    return "<qt>" + "<br><br>".join(parts) + "</qt>"


def block_tooltip(name: str) -> str:
    return (f"<qt><b>{html.escape(name)}</b> <i>(block)</i><br><br>{html.escape(BLOCKS_DOC)}"
            "<br><br>Drag onto the canvas (or double-click) to add a Block node using it."
            "</qt>")
