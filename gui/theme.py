"""Dark and light themes: the canvas colours and a matching Qt palette."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

_CATEGORY_HUES = {
    "Input / Output": "#5c6b7a", "Linear": "#3b7dd8", "Convolution": "#2e9e6a",
    "Pooling": "#1f8a8a", "Normalization": "#8a6fd1", "Regularization": "#9a7b4f",
    "Activation": "#d9822b", "Reshape": "#6b7f3a", "Resize / Pad": "#4f8f4f",
    "Merge / Split": "#c2477a", "Math": "#c9a227", "Recurrent": "#b04e4e",
    "Attention": "#a35ac2",
}


@dataclass(frozen=True)
class Theme:
    name: str
    background: QColor
    grid: QColor
    node_fill: QColor
    node_edge: QColor
    title_text: QColor
    text: QColor
    shape_text: QColor
    port_fill: QColor
    port_edge: QColor
    port_hover: QColor
    port_label: QColor
    edge: QColor
    label_fill: QColor
    selection: QColor
    error: QColor
    window: QColor
    base: QColor
    window_text: QColor


DARK = Theme("dark", QColor("#1e2126"), QColor("#2a2e35"), QColor("#2d323a"), QColor("#4a515c"),
             QColor("#ffffff"), QColor("#d7dbe0"), QColor("#9fd3ff"), QColor("#c8ccd2"),
             QColor("#15171a"), QColor("#ffd166"), QColor("#aab1bb"), QColor("#8a93a0"),
             QColor("#23272d"), QColor("#ffb020"), QColor("#e5484d"), QColor("#25282d"),
             QColor("#1b1d21"), QColor("#e6e8eb"))
LIGHT = Theme("light", QColor("#f4f5f7"), QColor("#e3e6ea"), QColor("#ffffff"), QColor("#b8bec7"),
              QColor("#ffffff"), QColor("#23272d"), QColor("#1b5fa8"), QColor("#ffffff"),
              QColor("#5a626d"), QColor("#f0a500"), QColor("#5a626d"), QColor("#7d8794"),
              QColor("#eef1f4"), QColor("#e08a00"), QColor("#d93036"), QColor("#eceef1"),
              QColor("#ffffff"), QColor("#1e2126"))
THEMES = {"dark": DARK, "light": LIGHT}
_current = [DARK]


def current_theme() -> Theme:
    return _current[0]


def set_theme(name: str) -> Theme:
    _current[0] = THEMES.get(name, DARK)
    return _current[0]


def category_color(category: str) -> QColor:
    return QColor(_CATEGORY_HUES.get(category, "#6c757d"))


def palette_for(theme: Theme) -> QPalette:
    p = QPalette()
    p.setColor(QPalette.Window, theme.window)
    p.setColor(QPalette.WindowText, theme.window_text)
    p.setColor(QPalette.Base, theme.base)
    p.setColor(QPalette.AlternateBase, theme.window)
    p.setColor(QPalette.Text, theme.window_text)
    p.setColor(QPalette.Button, theme.window)
    p.setColor(QPalette.ButtonText, theme.window_text)
    p.setColor(QPalette.Highlight, theme.selection.darker(130))
    p.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ToolTipBase, theme.base)
    p.setColor(QPalette.ToolTipText, theme.window_text)
    # Qt's default placeholder grey is near the dark theme's base: faded text instead.
    faded = QColor(theme.window_text)
    faded.setAlpha(120)
    p.setColor(QPalette.PlaceholderText, faded)
    return p


def apply_to_app(app, theme: Theme) -> None:
    """The theme's palette on the application, with check boxes drawn to be seen in it
    (gui.check_indicators: Fusion's own unticked box vanishes in the dark theme)."""
    from gui.check_indicators import install_indicator_style

    install_indicator_style(app)
    app.setPalette(palette_for(theme))
