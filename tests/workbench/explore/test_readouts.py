"""How the Explore page shows images (``workbench.explore.readouts``)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.explore.readouts import contact_sheet, display_image


def test_display_image_puts_channels_last():
    grey, rgb = np.zeros((1, 4, 5), np.uint8), np.zeros((3, 4, 5), np.uint8)
    assert display_image(grey).shape == (4, 5) and display_image(rgb).shape == (4, 5, 3)


def test_a_gallery_is_one_sharp_composite_image():
    imgs = np.stack([np.full((3, 16, 16), 10 * i, np.uint8) for i in range(6)])
    sheet = contact_sheet(imgs, columns=4, cell=48, gap=2)
    assert sheet.shape == (2 * 48 + 2, 4 * 48 + 3 * 2, 3)  # 6 images: 4 on the first row, 2 on the second
    assert (sheet[:48, :48] == 0).all() and (sheet[:48, 50:98] == 10).all()  # whole-pixel enlargement, x3
    assert (sheet[50:, 50:98] == 50).all() and (sheet[50:, 100:] == 255).all()  # the empty cells stay white
    assert (sheet[48:50] == 255).all()  # the gap between rows
    grey = contact_sheet(np.zeros((1, 1, 8, 8), np.uint8), cell=16)
    assert grey.shape == (16, 16, 3)
    with pytest.raises(ValueError, match="expected"):
        contact_sheet(np.zeros((4, 4), np.uint8))
