"""What the pages show under a gallery (``workbench.explore.readouts``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.graph import Node
from workbench.explore.readouts import attribute_figure, display_image, value_shares


def test_value_shares():
    d = value_shares(Node("Y", "categorical", levels=3), np.array([0, 2, 2, 2]))
    assert list(d.share) == [0.25, 0.0, 0.75]
    c = value_shares(Node("Y", "continuous"), np.linspace(0, 1, 50))
    assert len(c) == 10 and c.share.sum() == pytest.approx(1.0)


def test_display_image_puts_channels_last():
    grey, rgb = np.zeros((1, 4, 5), np.uint8), np.zeros((3, 4, 5), np.uint8)
    assert display_image(grey).shape == (4, 5) and display_image(rgb).shape == (4, 5, 3)


def test_attribute_figure_has_one_panel_per_attribute_three_a_row():
    names = ["Male", "Young", "Beard", "Eyeglasses", "Lipstick"]
    shares = pd.DataFrame([{"attribute": a, "value": v, "share": s}
                           for a in names for v, s in (("no", 0.25), ("yes", 0.75))])
    fig = attribute_figure(shares)
    assert [a.text for a in fig.layout.annotations] == names
    assert len(fig.data) == 5 and list(fig.data[3].y) == [0.25, 0.75] and list(fig.data[3].x) == ["no", "yes"]
    # panels 4 and 5 sit on a second row, below the first
    assert fig.layout.yaxis4.domain[1] < fig.layout.yaxis.domain[0]
    one = attribute_figure(shares[shares["attribute"] == "Male"])
    assert len(one.data) == 1 and one.layout.height < fig.layout.height
