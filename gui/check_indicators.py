"""Check boxes a user can see in both themes.

Fusion draws a check box's border from the window colour made darker, which in the dark theme
is almost the window itself: an unticked box vanished (feature-map watch list, export formats,
"normalise rows"). A proxy style draws the indicators of check boxes and of checkable rows in
item views from the palette instead: a border mixed from text and base, a filled box with a
mark when ticked. Everything else is the base style's, untouched.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

BORDER_TEXT_SHARE = 0.6     # the border: this much text colour over the base
DISABLED_OPACITY = 0.45
_INDICATORS = (QStyle.PE_IndicatorCheckBox, QStyle.PE_IndicatorItemViewItemCheck)


def mix(a: QColor, b: QColor, share_of_a: float) -> QColor:
    t = share_of_a
    return QColor(round(a.red() * t + b.red() * (1 - t)), round(a.green() * t + b.green() * (1 - t)),
                  round(a.blue() * t + b.blue() * (1 - t)))


def indicator_border(palette: QPalette) -> QColor:
    return mix(palette.color(QPalette.Text), palette.color(QPalette.Base), BORDER_TEXT_SHARE)


def draw_check_indicator(option, painter: QPainter) -> None:
    """An unticked box: base fill, visible border. Ticked: highlight fill and a mark in the
    highlighted-text colour; partly ticked: a dash. The border stays on a ticked box too, so
    it shows on a selected (highlighted) row."""
    palette, state = option.palette, option.state
    ticked, partial = bool(state & QStyle.State_On), bool(state & QStyle.State_NoChange)
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if not state & QStyle.State_Enabled:
        painter.setOpacity(DISABLED_OPACITY)
    side = min(option.rect.width(), option.rect.height())
    box = QRectF(0, 0, side, side)
    box.moveCenter(QRectF(option.rect).center())
    box.adjust(0.5, 0.5, -0.5, -0.5)   # a 1 px pen on pixel centres: a crisp border
    border = indicator_border(palette)
    if state & QStyle.State_MouseOver and state & QStyle.State_Enabled:
        border = palette.color(QPalette.Highlight)
    fill = palette.color(QPalette.Highlight) if ticked or partial else palette.color(QPalette.Base)
    if state & QStyle.State_Sunken:
        fill = mix(palette.color(QPalette.Text), fill, 0.25)
    painter.setPen(QPen(border, 1.0))
    painter.setBrush(fill)
    painter.drawRoundedRect(box, 2.0, 2.0)
    mark = QPen(palette.color(QPalette.HighlightedText), max(1.5, side / 7.0))
    mark.setCapStyle(Qt.RoundCap)
    mark.setJoinStyle(Qt.RoundJoin)
    painter.setPen(mark)
    painter.setBrush(Qt.NoBrush)
    x, y, w = box.x(), box.y(), box.width()
    if ticked:
        painter.drawPolyline([QPointF(x + 0.24 * w, y + 0.52 * w), QPointF(x + 0.43 * w, y + 0.72 * w),
                              QPointF(x + 0.77 * w, y + 0.30 * w)])
    elif partial:
        painter.drawLine(QPointF(x + 0.26 * w, y + 0.5 * w), QPointF(x + 0.74 * w, y + 0.5 * w))
    painter.restore()


class CheckIndicatorStyle(QProxyStyle):
    """The application's style (Fusion) with check-box indicators drawn by this module."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:
        if element in _INDICATORS:
            draw_check_indicator(option, painter)
            return
        super().drawPrimitive(element, option, painter, widget)


def install_indicator_style(app: QApplication | None = None) -> QStyle | None:
    """Wrap the application's style once (a second call keeps the wrapper in place)."""
    app = app or QApplication.instance()
    if app is None:
        return None
    if isinstance(app.style(), CheckIndicatorStyle):
        return app.style()
    # A fresh base of the same kind: the proxy owns it, the old style stays the app's to drop.
    style = CheckIndicatorStyle(app.style().name())
    app.setStyle(style)
    return style
