"""How the Open Template list draws its rows: a family heading (a coloured bar, the family's
name and how many of its templates are shown), and a template as its name with its facts
(dataset, parameters) on the right and its description, elided, in a grey line under it.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from gui.theme import current_theme

PATH_ROLE = Qt.UserRole              # a template row's file (str)
NAME_ROLE = Qt.UserRole + 1          # a template's name, or a heading's family
DESCRIPTION_ROLE = Qt.UserRole + 2   # the whole description
FACTS_ROLE = Qt.UserRole + 3         # "digits · 61.7 k parameters", right of the name
FAMILY_ROLE = Qt.UserRole + 4        # set on headings only: the family's name
COUNT_ROLE = Qt.UserRole + 5         # headings: how many of its templates are shown
BROKEN_ROLE = Qt.UserRole + 6        # True when the template cannot be opened

FAMILY_COLOURS = {
    "Feedforward": "#3b7dd8", "Convolutional": "#2e9e6a", "Recurrent": "#c25a5a",
    "Autoencoder": "#8a6fd1", "Generative": "#c2477a", "Transformer": "#a35ac2",
    "Radial basis": "#c9a227",
}
PAD = 8          # inner margin of a row
HEADING_GAP = 6  # space above a heading, so families read as groups


def family_colour(family: str) -> QColor:
    return QColor(FAMILY_COLOURS.get(family, "#7d8794"))


def compact_count(n: int) -> str:
    """61706 → '61.7 k', 132863336 → '133 M': sizes to compare at a glance."""
    for limit, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= limit:
            value = n / limit
            return f"{value:.3g} {suffix}" if value < 1000 else f"{value:,.0f} {suffix}"
    return str(n)


class TemplateRowDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        fm = option.fontMetrics
        if index.data(FAMILY_ROLE):
            return QSize(200, fm.height() + 2 * PAD + HEADING_GAP)
        return QSize(200, 2 * fm.height() + PAD + 6)

    def paint(self, painter: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        painter.save()
        if index.data(FAMILY_ROLE):
            self._paint_heading(painter, opt, index)
        else:
            self._paint_template(painter, opt, index)
        painter.restore()

    @staticmethod
    def _paint_heading(painter: QPainter, opt, index) -> None:
        family = index.data(FAMILY_ROLE)
        rect = opt.rect.adjusted(2, HEADING_GAP, -4, -2)
        painter.fillRect(QRect(rect.left(), rect.top() + 3, 4, rect.height() - 6),
                         family_colour(family))
        font = QFont(opt.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(current_theme().window_text)
        text_rect = rect.adjusted(PAD + 4, 0, 0, 0)
        painter.drawText(text_rect, Qt.AlignLeft | Qt.AlignVCenter, family)
        count = index.data(COUNT_ROLE)
        if count is not None:
            muted = QColor(current_theme().window_text)
            muted.setAlpha(140)
            painter.setPen(muted)
            painter.setFont(opt.font)
            painter.drawText(text_rect.adjusted(0, 0, -PAD, 0), Qt.AlignRight | Qt.AlignVCenter,
                             f"{count}")

    @staticmethod
    def _paint_template(painter: QPainter, opt, index) -> None:
        widget = opt.widget
        name = opt.text
        opt.text = ""
        style = widget.style() if widget else None
        if style:
            style.drawControl(QStyle.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.State_Selected)
        text_colour = opt.palette.color(QPalette.HighlightedText if selected else QPalette.Text)
        muted = QColor(text_colour)
        muted.setAlpha(210 if selected else 150)
        rect = opt.rect.adjusted(PAD + 10, 3, -PAD, -3)
        fm = opt.fontMetrics
        top = QRect(rect.left(), rect.top(), rect.width(), fm.height())

        small = QFont(opt.font)
        small.setPointSizeF(max(6.0, opt.font.pointSizeF() * 0.88))
        facts = index.data(FACTS_ROLE) or ""
        painter.setFont(small)
        facts_width = painter.fontMetrics().horizontalAdvance(facts) if facts else 0
        if facts:
            broken = bool(index.data(BROKEN_ROLE))
            painter.setPen(current_theme().error if broken and not selected else muted)
            painter.drawText(top, Qt.AlignRight | Qt.AlignVCenter, facts)

        bold = QFont(opt.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text_colour)
        name_rect = top.adjusted(0, 0, -(facts_width + 12 if facts else 0), 0)
        painter.drawText(name_rect, Qt.AlignLeft | Qt.AlignVCenter,
                         painter.fontMetrics().elidedText(name, Qt.ElideRight, name_rect.width()))

        description = " ".join(str(index.data(DESCRIPTION_ROLE) or "").split())
        if description:
            painter.setFont(small)
            painter.setPen(muted)
            bottom = QRect(rect.left(), top.bottom() + 3, rect.width(), fm.height())
            painter.drawText(bottom, Qt.AlignLeft | Qt.AlignVCenter,
                             painter.fontMetrics().elidedText(description, Qt.ElideRight,
                                                              bottom.width()))
