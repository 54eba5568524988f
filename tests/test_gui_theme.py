"""The application palettes: text a user must read stays readable in both themes."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette

from gui.theme import DARK, LIGHT, palette_for


def _contrast(a, b) -> float:
    """WCAG contrast ratio of two opaque colours."""
    def lum(c):
        def channel(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_placeholder_text_is_faded_text_readable_on_the_base(qapp, theme):
    palette = palette_for(theme)
    hint = palette.color(QPalette.PlaceholderText)
    base = palette.color(QPalette.Base)
    assert hint.alpha() == 120
    # Drawn over the base at that alpha: still readable, and fainter than real text.
    alpha = hint.alphaF()
    shown = type(hint)(*(round(alpha * h + (1 - alpha) * b) for h, b in
                         ((hint.red(), base.red()), (hint.green(), base.green()),
                          (hint.blue(), base.blue()))))
    text = palette.color(QPalette.Text)
    assert 2.0 < _contrast(shown, base) < _contrast(text, base)
