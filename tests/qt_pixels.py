"""Reading back what a widget rendered, for tests that check pixels."""
from __future__ import annotations

import numpy as np


def pixels(widget) -> np.ndarray:
    """The widget as rendered: an H×W×4 uint8 array."""
    from PySide6.QtGui import QImage
    image = widget.grab().toImage().convertToFormat(QImage.Format_RGB32)
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return data.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 4].reshape(
        image.height(), image.width(), 4).copy()
