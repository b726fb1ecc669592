"""Pixel conventions: uint8 <-> [-1, 1] for models, exact on every byte value."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.images import images_to_uint8, images_to_unit_range


def test_unit_range_conversions():
    import torch

    x = np.array([[[[0, 255, 128]]]], dtype=np.uint8)
    f = images_to_unit_range(x)
    assert f.flatten().tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1], abs=1e-6)
    all_values = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    np.testing.assert_array_equal(images_to_uint8(images_to_unit_range(all_values)), all_values)
    assert images_to_uint8(torch.tensor([-3.0, 3.0, 0.0])).tolist() == [0, 255, 128]
