"""Morpho-MNIST (Deep SCM's world): thickness -> intensity, and both plus the digit -> image.

    t := 0.5 + u_t,                               u_t ~ Gamma(shape 10, rate 5)   (mean 2.5)
    i := 64 + 191 * sigmoid(0.5 u_i + 2 t - 5),   u_i ~ N(0, 1)
    d ~ Uniform{0..9}
    x := SetIntensity(SetThickness(glyph(d, r); t); i)                        (grey, 1 channel)

``glyph(d, r)`` is the handwritten sample of class d at handwriting rank r ~ U[0, 1) (exogenous), so a
counterfactual keeps the unit's hand.  SetThickness draws the glyph's skeleton with stroke width t
pixels at 28x28 (t * size / 28 at other sizes), SetIntensity makes fully inked pixels i (0..255):

    x(p) = round(i * clip(w / 2 + 1/2 - dist(p, skeleton), 0, 1)),  w = t * size / 28.

corr(t, i) is about 0.9 (measured in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds.base import World
from core.worlds.glyphs import check_size, draw_coverage, glyph_for, to_uint8
from core.worlds.render import check_image, check_levels


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def thickness_mechanism(u_t: np.ndarray) -> np.ndarray:
    """t = 0.5 + u_t."""
    return 0.5 + u_t


def intensity_mechanism(t: np.ndarray, u_i: np.ndarray) -> np.ndarray:
    """i = 64 + 191 * sigmoid(0.5 u_i + 2 t - 5)."""
    return 64.0 + 191.0 * sigmoid(0.5 * u_i + 2.0 * t - 5.0)


class MorphoDigits(World):
    """Grey handwritten digits whose thickness causes their intensity (see the module docstring)."""

    name = "morpho_digits"

    def __init__(self, size: int = 28) -> None:
        self.size = check_size(size)
        self.graph = ADMG(
            [
                Node("thickness", "continuous"),
                Node("intensity", "continuous"),
                Node("digit", "categorical", levels=10),
                Node("image", "image", shape=(1, self.size, self.size)),
            ],
            directed=[("thickness", "intensity"), ("thickness", "image"), ("intensity", "image"), ("digit", "image")],
        )

    def _draw_noise(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {
            "u_t": rng.gamma(10.0, 1.0 / 5.0, n),  # numpy takes the scale = 1 / rate
            "u_i": rng.standard_normal(n),
            "u_d": rng.integers(0, 10, n),
            "rank": rng.random(n),
        }

    def draw(self, digit: np.ndarray, rank: np.ndarray, thickness: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """The image mechanism: uint8 (n, 1, S, S)."""
        cov = draw_coverage(glyph_for(digit, rank), thickness, self.size)
        return to_uint8(np.asarray(intensity, dtype=np.float32)[:, None, None] * cov)[:, None]

    def _run(self, noise: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        do = dict(do)
        if "digit" in do:
            do["digit"] = check_levels("digit", do["digit"], 10)
        if "image" in do:
            do["image"] = check_image("image", do["image"], self.graph.node("image").shape)
        for k, lo, hi in (("thickness", 0.0, 28.0), ("intensity", 0.0, 255.0)):
            if k in do and not np.all((np.asarray(do[k]) > lo) & (np.asarray(do[k]) <= hi)):
                raise WorkbenchError(f"{k} must lie in ({lo:g}, {hi:g}], got values from {np.min(do[k])} to {np.max(do[k])}")
        t = np.asarray(do["thickness"], dtype=np.float64) if "thickness" in do else thickness_mechanism(noise["u_t"])
        i = (
            np.asarray(do["intensity"], dtype=np.float64)
            if "intensity" in do
            else intensity_mechanism(t, noise["u_i"])
        )
        d = np.asarray(do["digit"], dtype=np.int64) if "digit" in do else noise["u_d"].astype(np.int64)
        x = do["image"] if "image" in do else self.draw(d, noise["rank"], t, i)
        return {"thickness": t, "intensity": i, "digit": d, "image": x}

    def probe(self, node: str | None = None):
        """Attribute read-outs (digit, thickness, intensity) for this world's images."""
        from core.worlds.probes import probes_for

        return probes_for(self, node)
