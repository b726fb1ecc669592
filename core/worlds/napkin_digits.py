"""Napkin-MNIST (ID-GEN's image world): W1 -> W2 -> X -> Y with W1 <-> X and W1 <-> Y.

Hidden confounders (exogenous, never observed):
    U1 ~ Uniform{0..5}: a colour (red, green, blue, yellow, magenta, cyan); U1 // 3 is the colour bit;
    U2 ~ Uniform{0..2}: a stroke thickness (thin, medium, thick) = ``widths`` in 28-pixel units.
Other exogenous noise: the digit D ~ Uniform{0..9}, a handwriting rank per image, the label and
colour-bit noise of W2, and the shade of X's colour within its group.

Mechanisms (``p_digit`` and ``p_bit`` are the noise rates):
    W1 = image of digit D, colour U1, thickness U2                                  (RGB)
    W2 = 2 * W2a + W2b  (categorical, 20 levels), read from W1:
         W2a = digit of W1, replaced by a uniformly drawn *other* digit with prob. p_digit
         W2b = colour bit of W1 (colour // 3), flipped with prob. p_bit
    X  = image of digit W2a in colour 3 * W2b + S (S ~ Uniform{0,1,2}, exogenous), thickness U2,
         rotated 90 degrees counter-clockwise
    Y  = X mirrored left-right and recoloured with U1: computed ON THE IMAGE, from X's brightness
         (max channel) times U1's colour, so Y keeps X's digit, handwriting and thickness whatever X is.

So U1 and U2 reach X (through thickness; and the colour group through W2) and Y (colour; thickness
through X), which makes P(y | x) differ from P(y | do(x)): under do(X = x), Y is x's glyph and
thickness, mirrored, in a colour uniform over all six, independent of x's colour.

W2's mechanism reads W1's digit and colour.  On W1 images this world drew, the digit and colour are
D and U1 exactly; under do(W1 = w) they are read from the image w itself (colour: the nearest of the
six hues; digit: the nearest rendered glyph template, all glyphs at all three thicknesses) so no
hidden value leaks past an intervention.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.graph import ADMG, Node
from core.worlds.base import World
from core.worlds.glyphs import check_size, draw_coverage, glyph_for, to_uint8
from core.worlds.render import COLOURS, brightness, check_image, check_levels, colour_class, mirror, rotate90

THICKNESS_NAMES = ("thin", "medium", "thick")
DEFAULT_WIDTHS = (1.5, 3.0, 4.5)  # stroke widths in 28-pixel units


def encode_w2(digit: np.ndarray, bit: np.ndarray) -> np.ndarray:
    """W2 = 2 * digit + colour bit (20 levels: digit 0-9 x bit 0/1)."""
    return 2 * np.asarray(digit, dtype=np.int64) + np.asarray(bit, dtype=np.int64)


def split_w2(w2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(digit, colour bit) of W2 = 2 * digit + bit."""
    w2 = np.asarray(w2, dtype=np.int64)
    return w2 // 2, w2 % 2


def paint(coverage: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """uint8 RGB images (n, 3, H, W): coverage (n, H, W) in [0, 1] times colour index (n,) in 0..5."""
    return to_uint8(255.0 * coverage[:, None] * COLOURS[np.asarray(colour, dtype=np.int64)][:, :, None, None])


class NapkinDigits(World):
    """The napkin graph with coloured handwritten digits; see the module docstring for the SCM."""

    name = "napkin_digits"

    def __init__(
        self,
        size: int = 16,
        p_digit: float = 0.1,
        p_bit: float = 0.1,
        widths: tuple[float, float, float] = DEFAULT_WIDTHS,
    ) -> None:
        from core.errors import WorkbenchError

        self.size = check_size(size)
        for label, p in (("p_digit", p_digit), ("p_bit", p_bit)):
            if not 0.0 <= p <= 1.0:
                raise WorkbenchError(f"{label} must be a probability in [0, 1], got {p!r}")
        if len(widths) != 3 or not all(w > 0 for w in widths):
            raise WorkbenchError(f"widths must be three positive stroke widths, got {widths!r}")
        self.p_digit, self.p_bit = float(p_digit), float(p_bit)
        self.widths = np.asarray(widths, dtype=np.float64)
        shape = (3, self.size, self.size)
        self.graph = ADMG(
            [
                Node("W1", "image", shape=shape),
                Node("W2", "categorical", levels=20),
                Node("X", "image", shape=shape),
                Node("Y", "image", shape=shape),
            ],
            directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")],
            bidirected=[("W1", "X"), ("W1", "Y")],
        )

    # -- exogenous noise ------------------------------------------------------------------------
    def _draw_noise(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {
            "U1": rng.integers(0, 6, n),  # hidden colour
            "U2": rng.integers(0, 3, n),  # hidden thickness class
            "D": rng.integers(0, 10, n),
            "rank_W1": rng.random(n),
            "flip_digit": rng.random(n),
            "other_digit": rng.integers(1, 10, n),  # added mod 10: always a different digit
            "flip_bit": rng.random(n),
            "rank_X": rng.random(n),
            "shade_X": rng.integers(0, 3, n),
        }

    # -- mechanisms -----------------------------------------------------------------------------
    def draw_digit(self, digit: np.ndarray, rank: np.ndarray, colour: np.ndarray, thickness: np.ndarray) -> np.ndarray:
        """Upright RGB images of handwritten digits (the W1 mechanism, reused by X before rotation)."""
        cov = draw_coverage(glyph_for(digit, rank), self.widths[np.asarray(thickness, dtype=np.int64)], self.size)
        return paint(cov, colour)

    def read_w1(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(digit, colour) of upright digit images: nearest glyph template and nearest hue.

        Templates: every bank glyph at each of the three widths, as brightness maps; the digit is the
        label of the template with the smallest squared distance to the image's brightness.
        """
        from core.worlds.glyphs import glyph_labels

        labels = glyph_labels()
        n_glyph = len(labels)
        glyphs = np.tile(np.arange(n_glyph), 3)
        widths = np.repeat(self.widths, n_glyph)
        templates = draw_coverage(glyphs, widths, self.size).reshape(len(glyphs), -1)
        half_sq = 0.5 * (templates**2).sum(axis=1)
        b = brightness(images).reshape(len(images), -1)
        best = np.empty(len(b), dtype=np.int64)
        for s in range(0, len(b), 512):  # argmin |b - T|^2 = argmax (b.T - |T|^2 / 2), in chunks
            best[s : s + 512] = (b[s : s + 512] @ templates.T - half_sq).argmax(axis=1)
        return labels[glyphs[best]], colour_class(images)

    def _run(self, noise: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        u1, u2 = noise["U1"], noise["U2"]
        do = dict(do)
        for k in ("W1", "X", "Y"):
            if k in do:
                do[k] = check_image(k, do[k], self.graph.node(k).shape)
        if "W2" in do:
            do["W2"] = check_levels("W2", do["W2"], 20)
        out: dict[str, np.ndarray] = {}
        if "W1" in do:
            out["W1"] = do["W1"]
            d1, c1 = self.read_w1(out["W1"])
        else:
            out["W1"] = self.draw_digit(noise["D"], noise["rank_W1"], u1, u2)
            d1, c1 = noise["D"], u1  # what read_w1 returns on these images (tested)
        if "W2" in do:
            out["W2"] = np.asarray(do["W2"], dtype=np.int64)
        else:
            w2a = np.where(noise["flip_digit"] < self.p_digit, (d1 + noise["other_digit"]) % 10, d1)
            w2b = np.where(noise["flip_bit"] < self.p_bit, 1 - c1 // 3, c1 // 3)
            out["W2"] = encode_w2(w2a, w2b)
        if "X" in do:
            out["X"] = do["X"]
        else:
            digit, bit = split_w2(out["W2"])
            out["X"] = rotate90(self.draw_digit(digit, noise["rank_X"], 3 * bit + noise["shade_X"], u2))
        out["Y"] = do["Y"] if "Y" in do else self.recolour_mirror(out["X"], u1)
        return out

    @staticmethod
    def recolour_mirror(images: np.ndarray, colour: np.ndarray) -> np.ndarray:
        """Y's mechanism on an image: keep its brightness (digit, thickness), paint it ``colour``, mirror."""
        return mirror(paint(brightness(images), colour))

    def probe(self, node: str | None = None):
        """Attribute read-outs (digit, colour, thickness) for images of ``node`` (W1, X or Y)."""
        from core.worlds.probes import probes_for

        return probes_for(self, node)
