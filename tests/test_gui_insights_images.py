"""gui/insights/images.py: numpy arrays become the right pixels (colour maps, constant and
NaN input, RGB samples, channel grids, vector strips, thumbnails)."""
from __future__ import annotations

import gc

import numpy as np
import pytest
from PySide6.QtGui import QImage

from gui.insights.images import (BACKGROUND, COLORMAPS, NAN_COLOR, channel_grid, colormap_lut,
                                 sample_qimage, thumbnail, to_qimage, vector_strip)


def rgb(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    return image.pixelColor(x, y).getRgb()[:3]


def pixels(image: QImage, x0: int, y0: int, w: int, h: int) -> set[tuple[int, int, int]]:
    return {rgb(image, x, y) for x in range(x0, x0 + w) for y in range(y0, y0 + h)}


def test_colormaps_are_256_entry_tables_with_known_ends():
    assert set(COLORMAPS) == {"viridis", "magma", "gray", "coolwarm"}
    for name in COLORMAPS:
        lut = colormap_lut(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
        assert len({tuple(row) for row in lut}) > 100, name   # a real ramp, not steps
    assert tuple(colormap_lut("gray")[0]) == (0, 0, 0)
    assert tuple(colormap_lut("gray")[255]) == (255, 255, 255)
    assert tuple(colormap_lut("viridis")[0]) == (0x44, 0x01, 0x54)
    assert tuple(colormap_lut("viridis")[255]) == (0xfd, 0xe7, 0x25)


def test_heat_map_spans_the_colour_map_and_owns_its_pixels():
    a = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], dtype=np.float32)
    image = to_qimage(a, "gray")
    del a
    gc.collect()
    assert (image.width(), image.height()) == (3, 2)
    assert rgb(image, 0, 0) == (0, 0, 0)
    assert rgb(image, 2, 1) == (255, 255, 255)
    assert rgb(image, 1, 0) == (51, 51, 51)
    clamped = to_qimage(np.array([[-10.0, 0.5, 10.0]]), "gray", vmin=0.0, vmax=1.0)
    assert [rgb(clamped, x, 0) for x in range(3)] == [(0, 0, 0), (128, 128, 128),
                                                      (255, 255, 255)]


@pytest.mark.parametrize("colormap", COLORMAPS)
def test_constant_input_is_one_uniform_colour(colormap):
    image = to_qimage(np.full((4, 5), 7.0), colormap)
    assert len(pixels(image, 0, 0, 5, 4)) == 1
    assert NAN_COLOR not in pixels(image, 0, 0, 5, 4)


def test_nan_and_inf_get_the_nan_colour_and_do_not_spoil_the_rest():
    a = np.array([[0.0, np.nan], [np.inf, 1.0], [-np.inf, 0.5]])
    image = to_qimage(a, "gray")
    assert rgb(image, 1, 0) == NAN_COLOR
    assert rgb(image, 0, 1) == NAN_COLOR
    assert rgb(image, 0, 2) == NAN_COLOR
    assert rgb(image, 0, 0) == (0, 0, 0) and rgb(image, 1, 1) == (255, 255, 255)
    all_nan = to_qimage(np.full((2, 2), np.nan))
    assert pixels(all_nan, 0, 0, 2, 2) == {NAN_COLOR}


def test_coolwarm_is_centred_on_zero():
    image = to_qimage(np.array([[-1.0, 0.0, 4.0]]), "coolwarm")
    neg, zero, pos = (rgb(image, x, 0) for x in range(3))
    assert abs(zero[0] - zero[2]) < 10 and zero[1] > 200       # near-white grey at 0
    assert neg[2] > neg[0] and pos[0] > pos[2]                  # blue below, red above
    assert pos == tuple(colormap_lut("coolwarm")[255])          # 4 is the largest |value|
    assert neg != tuple(colormap_lut("coolwarm")[0])            # -1 is only a quarter of it
    zeros = to_qimage(np.zeros((2, 2)), "coolwarm")
    assert pixels(zeros, 0, 0, 2, 2) == {tuple(colormap_lut("coolwarm")[128])}


def test_gray_sample_one_channel():
    a = np.zeros((1, 4, 6), dtype=np.float32)
    a[0, 1, 2] = -3.0
    a[0, 3, 5] = 5.0
    image = sample_qimage(a)
    assert (image.width(), image.height()) == (6, 4)
    assert rgb(image, 2, 1) == (0, 0, 0)
    assert rgb(image, 5, 3) == (255, 255, 255)
    assert rgb(image, 0, 0) == (96, 96, 96)                     # 3/8 of the way up
    assert rgb(sample_qimage(a[0], image_2d=True), 5, 3) == (255, 255, 255)


def test_rgb_sample_keeps_its_colours():
    a = np.zeros((3, 2, 2), dtype=np.float32)    # normalised data: negative is dark
    a[:] = -1.0
    a[0, 0, 0] = 2.0                              # red
    a[1, 0, 1] = 2.0                              # green
    a[:, 1, 0] = 2.0                              # white
    image = sample_qimage(a)
    assert rgb(image, 0, 0) == (255, 0, 0)
    assert rgb(image, 1, 0) == (0, 255, 0)
    assert rgb(image, 0, 1) == (255, 255, 255)
    assert rgb(image, 1, 1) == (0, 0, 0)


def test_vector_and_sequence_samples():
    strip = sample_qimage(np.arange(10, dtype=np.float32))
    assert (strip.width(), strip.height()) == (10, 1)
    assert rgb(strip, 0, 0) == tuple(colormap_lut("viridis")[0])
    assert rgb(strip, 9, 0) == tuple(colormap_lut("viridis")[255])
    sequence = sample_qimage(np.random.default_rng(0).random((20, 3)))   # T×F
    assert (sequence.width(), sequence.height()) == (3, 20)


def test_channel_grid_tiles_each_channel_with_separators():
    h, w = 5, 7
    a = np.stack([np.full((h, w), float(i)) for i in range(6)])
    image, shown = channel_grid(a, cap=16, colormap="viridis", per_channel=False)
    assert shown == 6
    assert (image.width(), image.height()) == (3 * w + 2, 2 * h + 1)     # 3 columns, 2 rows
    tiles = []
    for i in range(6):
        row, col = divmod(i, 3)
        tile = pixels(image, col * (w + 1), row * (h + 1), w, h)
        assert len(tile) == 1, f"channel {i} is constant, so its tile is one colour"
        tiles.append(tile.pop())
    assert len(set(tiles)) == 6
    assert tiles[0] == tuple(colormap_lut("viridis")[0])
    assert tiles[5] == tuple(colormap_lut("viridis")[255])
    assert pixels(image, w, 0, 1, image.height()) == {BACKGROUND}          # vertical line
    assert pixels(image, 0, h, image.width(), 1) == {BACKGROUND}           # horizontal line


def test_channel_grid_per_channel_scaling():
    ramp = np.linspace(0.0, 1.0, 8).reshape(2, 4)
    a = np.stack([ramp, ramp * 100.0])
    own, _ = channel_grid(a, per_channel=True, colormap="gray")
    shared, _ = channel_grid(a, per_channel=False, colormap="gray")
    assert rgb(own, 3, 1) == rgb(own, 5 + 3, 1) == (255, 255, 255)     # each reaches white
    assert rgb(shared, 5 + 3, 1) == (255, 255, 255)
    assert rgb(shared, 3, 1) == (3, 3, 3)                               # the weak one is dim
    constant, _ = channel_grid(np.zeros((2, 3, 3)), colormap="magma")
    assert pixels(constant, 0, 0, 3, 3) == {tuple(colormap_lut("magma")[0])}


def test_channel_grid_cap_and_nan():
    a = np.random.default_rng(1).random((64, 4, 4)).astype(np.float32)
    image, shown = channel_grid(a, cap=16)
    assert shown == 16 and (image.width(), image.height()) == (4 * 5 - 1, 4 * 5 - 1)
    image, shown = channel_grid(a, cap=5)                # 3 columns, 2 rows, one cell empty
    assert shown == 5 and (image.width(), image.height()) == (3 * 5 - 1, 2 * 5 - 1)
    assert pixels(image, 2 * 5, 5, 4, 4) == {BACKGROUND}
    a[2, 1, 1] = np.nan
    image, _ = channel_grid(a, cap=4)
    assert rgb(image, 1, 5 + 1) == NAN_COLOR


def test_vector_strip_wraps_long_vectors():
    strip = vector_strip(np.arange(130, dtype=np.float32))
    assert (strip.width(), strip.height()) == (64, 3)
    assert rgb(strip, 0, 0) == tuple(colormap_lut("viridis")[0])
    assert rgb(strip, 1, 2) == tuple(colormap_lut("viridis")[255])        # value 129
    assert pixels(strip, 2, 2, 62, 1) == {BACKGROUND}                      # padding
    short = vector_strip(np.array([1.0, 2.0, 3.0]))
    assert (short.width(), short.height()) == (3, 1)


def test_thumbnails_fit_the_size_and_keep_aspect():
    grid = thumbnail(np.random.default_rng(2).random((32, 8, 8)), size=96)
    assert max(grid.width(), grid.height()) == 96 and grid.width() == grid.height()
    wide = thumbnail(np.random.default_rng(3).random((10, 40)), size=80)
    assert (wide.width(), wide.height()) == (80, 20)
    strip = thumbnail(np.arange(10.0), size=96)
    assert strip.width() == 96 and strip.height() >= 8
    long_strip = thumbnail(np.arange(1000.0), size=96)
    assert long_strip.width() <= 96 and long_strip.height() <= 96
    assert not thumbnail(np.zeros((0,))).isNull()
