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


def _show_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
