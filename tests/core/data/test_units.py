"""Units and do-values: one value, one per unit, an image, or a function of the units so far."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.units import Units, broadcast_do_value
from core.errors import WorkbenchError


def test_do_values_broadcast_to_one_per_unit():
    assert broadcast_do_value(1, 3, {}, "binary").tolist() == [1, 1, 1]
    assert broadcast_do_value(1, 3, {}, "binary").dtype == np.int64
    assert broadcast_do_value(2, 2, {}, "continuous").dtype == np.float64
    assert broadcast_do_value(np.array([0, 1]), 2, {}, "binary").tolist() == [0, 1]
    image = np.full((1, 2, 2), 7)
    out = broadcast_do_value(image, 3, {}, "image")
    assert out.shape == (3, 1, 2, 2) and out.dtype == np.uint8 and out.flags.writeable
    assert broadcast_do_value(lambda v: v["X"] + 1, 2, {"X": np.array([1, 2])}, "continuous").tolist() == [2, 3]


@pytest.mark.parametrize(
    "value, node_type, message",
    [
        (lambda v: np.zeros(5), "binary", "a do\\(\\) function returned 5 values for 3 units"),
        (np.zeros((2, 2)), "image", "an image do-value must be \\(C, H, W\\) or \\(n, C, H, W\\)"),
        (np.zeros(4), "binary", "one value or one per unit \\(3\\), got shape \\(4,\\)"),
    ],
)
def test_bad_do_values_are_named(value, node_type, message):
    with pytest.raises(WorkbenchError, match=message):
        broadcast_do_value(value, 3, {}, node_type)


def test_units_subset_keeps_values_and_noise_aligned():
    units = Units({"X": np.arange(5)}, {"U": np.arange(5) * 10})
    sub = units.subset(np.array([1, 3]))
    assert len(sub) == 2 and sub["X"].tolist() == [1, 3] and sub.noise["U"].tolist() == [10, 30]
    assert len(Units({})) == 0
