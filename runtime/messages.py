"""Turning an exception from torch, onnx, PIL or numpy into one line a user can read."""
from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first non-empty line of an exception's message (ANSI colours removed), or its
    type's name when it has none; cut to `limit` characters with "..." when given."""
    text = _ANSI.sub("", str(exc))
    line = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    if limit is not None and len(line) > limit:
        line = line[:limit - 3] + "..."
    return line
