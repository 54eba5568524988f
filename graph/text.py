"""Text from a file, made safe to show: control characters escaped, long values cut.

A node id, label or JSON key comes from the file, and the file may come from anyone. Shown
raw, `id\\r\\nerror: spoofed` prints a fake error line, U+202E turns the rest of a line
around, a lone surrogate makes `print` raise, and a 50 MB id makes a 100 MB message.
Everything that echoes file content to a person goes through `shown` (a value) or
`printable` (a whole message).
"""
from __future__ import annotations

import re

# A value longer than this is cut in the middle (both ends usually tell what it was).
MAX_SHOWN = 80
# A whole message longer than this is cut too (every value in it already is).
MAX_MESSAGE = 2000

# C0 and C1 controls and DEL, bidirectional overrides and isolates, the invisible marks
# that reorder or hide text, line and paragraph separators, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                     "\ufeff\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` with every unsafe character written as an escape; past `limit` characters
    the middle is left out, and the original length said."""
    if len(text) <= limit:
        return _UNSAFE.sub(_escape, text)
    keep = max(limit - 24, 8)
    head, tail = text[: keep * 2 // 3], text[len(text) - keep // 3:]
    return f"{_UNSAFE.sub(_escape, head)}…[{len(text):,} characters]…{_UNSAFE.sub(_escape, tail)}"


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """A value from a file, quoted like repr() for text, escaped and cut."""
    if isinstance(value, str):
        return "'" + printable(value, limit).replace("'", "\\'") + "'"
    return printable(repr(value), limit)


def _escape(match: re.Match) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def as_name(text: str) -> str:
    """An id or name as is when it is plain, quoted and escaped when it is not."""
    if text and len(text) <= MAX_SHOWN and text.strip() == text and not _UNSAFE.search(text):
        return text
    return shown(text)
