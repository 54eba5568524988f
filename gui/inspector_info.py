"""What the inspector reports about a node from the live check: parameter values as text,
and the node's diagnostics as rich text.
"""
from __future__ import annotations

from typing import Any

from gui.theme import current_theme


def diagnostics_html(result, node_id: str | None, block: str | None) -> list[str]:
    """One rich-text entry per diagnostic of this node (in this block) in the check result."""
    problems = []
    for d in (result.diagnostics if result is not None else []):
        if d.node_id == node_id and d.block == block:
            color = current_theme().error.name() if d.is_error else "#e0a020"
            line = f"<span style='color:{color}'>{_html(d.message)}"
            if d.hint:
                line += f"<br/><i>Hint: {_html(d.hint)}</i>"
            problems.append(line + "</span>")
    return problems


def first_use(doc, block: str) -> str | None:
    """The title of the Block node whose inside the inspector shows for `block` (the first
    found, the way EditorSession.screen_shapes looks), or None when nothing uses it."""
    todo, seen = [doc.graph], 0
    while todo and seen < 64:
        graph, seen = todo.pop(0), seen + 1
        for node in graph:
            if node.type != "Block":
                continue
            name = node.params.get("block")
            if name == block:
                return node.title
            if isinstance(name, str) and name in doc.blocks:
                todo.append(doc.blocks[name])
    return None


def declared_summary(p) -> str:
    """A declared block parameter in a few words: "int, default 16, 1 to 4"."""
    parts = [p.kind, f"default {_show_value(p.default)}"]
    if p.min is not None and p.max is not None:
        parts.append(f"{_num(p.min)} to {_num(p.max)}")
    elif p.min is not None:
        parts.append(f"at least {_num(p.min)}")
    elif p.max is not None:
        parts.append(f"at most {_num(p.max)}")
    if p.choices and p.kind == "choice":
        parts.append("one of " + ", ".join(str(c) for c in p.choices))
    return ", ".join(parts)


def declared_tooltip(p, block: str) -> str:
    """The tooltip of a Block node's field for a parameter its definition declares."""
    head = f"{p.doc}\n\n" if p.doc else ""
    return f"{head}Declared by block {block!r}: {declared_summary(p)}."


def _num(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _show_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
