"""Outcome values: scalars as they are, images through a read-out."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.average_effects import average_effect
from core.effects.readouts import outcome_values, probe_readout
from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds.base import World


class ImageWorld(World):
    """X -> Y where Y is a 1x2x2 image whose brightness is 60 + 100 X + noise."""

    name = "image"
    graph = ADMG([Node("X"), Node("Y", "image", shape=(1, 2, 2))], directed=[("X", "Y")])

    def _draw_noise(self, n, rng):
        return {"u": rng.random(n), "e": rng.normal(0, 10, (n, 1, 2, 2))}

    def _run(self, noise, do):
        x = do.get("X", (noise["u"] < 0.5).astype(np.int64))
        img = np.clip(60 + 100 * np.asarray(x)[:, None, None, None] + noise["e"], 0, 255).astype(np.uint8)
        return {"X": x, "Y": do.get("Y", img)}


def test_image_outcome_through_a_readout():
    w = ImageWorld()
    with pytest.raises(WorkbenchError, match="Y is an image: give a read-out"):
        average_effect(w, "X", "Y", n=100)
    rep = average_effect(w, "X", "Y", n=2000, readout=lambda im: im.reshape(len(im), -1).mean(1) / 255)
    assert rep.ate.value == pytest.approx(100 / 255, abs=0.01)
    assert rep.risk_ratio is None


class BrightnessProbe:
    def read(self, images):
        return {"brightness": images.reshape(len(images), -1).mean(1)}


def test_probe_readouts_read_one_attribute():
    images = np.full((3, 1, 2, 2), 7, dtype=np.uint8)
    cols = {"Y": images}
    graph = ImageWorld.graph
    assert np.array_equal(outcome_values(cols, graph, "Y", probe_readout(BrightnessProbe(), "brightness")), [7.0] * 3)
    with pytest.raises(WorkbenchError, match="the probe reads brightness; not 'size'"):
        outcome_values(cols, graph, "Y", probe_readout(BrightnessProbe(), "size"))
    with pytest.raises(WorkbenchError, match="one number per row"):
        outcome_values(cols, graph, "Y", lambda im: im.reshape(len(im), -1))
    with pytest.raises(WorkbenchError, match="no column 'Q'"):
        outcome_values(cols, graph, "Q")
