"""A CelebA-like world with a known answer: cartoon faces drawn procedurally from binary attributes.

Graph: Male -> Beard, Male -> Lipstick, {Male, Young, Beard, Eyeglasses, Lipstick} -> Face, and
Male <-> Young (a hidden confounder H, like CelebA's "young women" sampling bias).

    H ~ Bernoulli(1/2)                                        (hidden)
    Male       = 1[u_m < 1/2 + 0.4 s (2H - 1)]                s = ``confounding`` in [0, 1]
    Young      = 1[u_y < 0.6 - 0.3 s (2H - 1)]
    Beard      = 1[u_b < p_beard[Male]]                       default (female, male) = (0.02, 0.6)
    Lipstick   = 1[u_l < p_lipstick[Male]]                    default (0.6, 0.02)
    Eyeglasses = 1[u_g < p_glasses]                           default 0.2, independent of the rest
    Face       = draw(attributes, nuisance)                   RGB

With s = 1: P(Young) = 0.6 = P(Young | do(Male = m)) for both m, but P(Young | Male = 1) = 0.36 and
P(Young | Male = 0) = 0.84.  (General s: P(Young | Male = 1) = 0.6 - 0.12 s^2 / 0.5 ... computed by
``young_given_male``.)

How attributes show (so a probe can read them, and a model must learn them):
    Male       short hair (a cap with a variable hairline); female: long hair down past the jaw;
    Young      hair in its own colour and a smooth skin; old: grey hair (and grey beard) and wrinkles
               (forehead line, lines beside the mouth);
    Beard      jaw and chin covered in hair colour, with a moustache;
    Eyeglasses dark rings round both eyes with a bridge;
    Lipstick   full bright red lips (else thin lips a shade darker than the skin).
Nuisance (exogenous, independent of everything): skin tone, hair colour, background and shirt
colour, face width, hairline height, hair length, small position jitter.

Shapes are drawn with signed-distance functions and a one-pixel soft edge (anti-aliased), in chunks of
units, all vectorised.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds.base import World
from core.worlds.glyphs import to_uint8
from core.worlds.render import check_image, check_levels

ATTRIBUTES = ("Male", "Young", "Beard", "Eyeglasses", "Lipstick")

HAIR_COLOURS = np.array(
    [[25, 20, 20], [70, 45, 25], [120, 75, 40], [165, 75, 35], [215, 175, 95]], dtype=np.float32
)  # black, dark brown, brown, auburn, blonde
SKIN_LIGHT = np.array([250, 222, 192], dtype=np.float32)
SKIN_DARK = np.array([125, 82, 55], dtype=np.float32)
LIPSTICK = np.array([215, 20, 55], dtype=np.float32)
EYE = np.array([30, 30, 45], dtype=np.float32)
GLASSES = np.array([15, 15, 15], dtype=np.float32)


def young_given_male(s: float, male: int) -> float:
    """P(Young = 1 | Male = male) under confounding strength s (exact, from the mechanisms)."""
    p_h1_m = (0.5 + 0.4 * s) if male else (0.5 - 0.4 * s)  # P(Male = male | H = 1)
    p_h0_m = (0.5 - 0.4 * s) if male else (0.5 + 0.4 * s)  # P(Male = male | H = 0)
    y1, y0 = 0.6 - 0.3 * s, 0.6 + 0.3 * s  # P(Young | H = 1), P(Young | H = 0)
    return (p_h1_m * y1 + p_h0_m * y0) / (p_h1_m + p_h0_m)


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(n,) hue, saturation, value in [0, 1] -> (n, 3) RGB in [0, 255]."""
    k = np.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], axis=1)
    rgb = v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1)
    return (255.0 * rgb).astype(np.float32)


# --- soft shapes: alpha in [0, 1] from a signed distance (negative inside), one-pixel edge ---------


def _alpha(sdf: np.ndarray, px: float) -> np.ndarray:
    return np.clip(0.5 - sdf / px, 0.0, 1.0)


def _ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance to an ellipse (exact for circles)."""
    return (np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) - 1.0) * np.minimum(rx, ry)


def _segment(x, y, ax, ay, bx, by, half_width):
    """Signed distance to a thick line segment from (ax, ay) to (bx, by)."""
    dx, dy = bx - ax, by - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.sqrt((x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2) - half_width


def _paint(canvas: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """canvas (n, 3, H, W) <- alpha-blend colour (n, 3) where alpha (n, H, W)."""
    a = alpha[:, None]
    canvas *= 1.0 - a
    canvas += a * colour[:, :, None, None]


class Faces(World):
    """Cartoon faces with binary attributes and a hidden Male <-> Young confounder."""

    name = "faces"

    def __init__(
        self,
        size: int = 28,
        confounding: float = 1.0,
        p_beard: tuple[float, float] = (0.02, 0.6),
        p_lipstick: tuple[float, float] = (0.6, 0.02),
        p_glasses: float = 0.2,
    ) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or not 8 <= size <= 128:
            raise WorkbenchError(f"face image size must be an integer from 8 to 128 pixels, got {size!r}")
        self.size = size
        probs = {"confounding": [confounding], "p_beard": p_beard, "p_lipstick": p_lipstick, "p_glasses": [p_glasses]}
        for label, ps in probs.items():
            if not all(0.0 <= float(p) <= 1.0 for p in ps):
                raise WorkbenchError(f"{label} must be probabilities in [0, 1], got {ps!r}")
        self.confounding = float(confounding)
        self.p_beard = np.asarray(p_beard, dtype=np.float64)
        self.p_lipstick = np.asarray(p_lipstick, dtype=np.float64)
        self.p_glasses = float(p_glasses)
        self.graph = ADMG(
            [Node(a, "binary") for a in ATTRIBUTES] + [Node("Face", "image", shape=(3, self.size, self.size))],
            directed=[("Male", "Beard"), ("Male", "Lipstick")] + [(a, "Face") for a in ATTRIBUTES],
            bidirected=[("Male", "Young")],
        )

    def _draw_noise(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {
            "H": rng.integers(0, 2, n),  # the hidden confounder of Male and Young
            "u_male": rng.random(n),
            "u_young": rng.random(n),
            "u_beard": rng.random(n),
            "u_lipstick": rng.random(n),
            "u_glasses": rng.random(n),
            # nuisance of the image
            "skin": rng.random(n),
            "hair": rng.integers(0, len(HAIR_COLOURS), n),
            "hair_jitter": rng.uniform(-12, 12, (n, 3)),
            "grey": rng.uniform(165, 225, n),
            "bg": rng.random((n, 3)),
            "shirt": rng.random((n, 2)),
            "face_width": rng.uniform(0.40, 0.50, n),
            "hairline": rng.uniform(-0.36, -0.26, n),
            "hair_length": rng.uniform(0.35, 0.7, n),
            "jitter": rng.uniform(-0.06, 0.06, (n, 2)),
        }

    def _run(self, noise: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        s = self.confounding
        sign = 2.0 * noise["H"] - 1.0
        out: dict[str, np.ndarray] = {}

        def node(name: str, default) -> np.ndarray:
            if name in do:
                return check_levels(name, do[name], 2)
            return default().astype(np.int64)

        out["Male"] = node("Male", lambda: noise["u_male"] < 0.5 + 0.4 * s * sign)
        out["Young"] = node("Young", lambda: noise["u_young"] < 0.6 - 0.3 * s * sign)
        out["Beard"] = node("Beard", lambda: noise["u_beard"] < self.p_beard[out["Male"]])
        out["Lipstick"] = node("Lipstick", lambda: noise["u_lipstick"] < self.p_lipstick[out["Male"]])
        out["Eyeglasses"] = node("Eyeglasses", lambda: noise["u_glasses"] < self.p_glasses)
        if "Face" in do:
            out["Face"] = check_image("Face", do["Face"], self.graph.node("Face").shape)
        else:
            out["Face"] = self.draw({a: out[a] for a in ATTRIBUTES}, noise)
        out = {k: out[k] for k in self.graph.names}
        return out

    def draw(self, attrs: Mapping[str, np.ndarray], noise: Mapping[str, np.ndarray], chunk: int = 1024) -> np.ndarray:
        """The Face mechanism: uint8 (n, 3, S, S) from attributes and nuisance noise, in chunks."""
        n = len(attrs["Male"])
        out = np.empty((n, 3, self.size, self.size), dtype=np.uint8)
        for a in range(0, n, chunk):
            sl = slice(a, min(n, a + chunk))
            out[sl] = self._draw_chunk({k: v[sl] for k, v in attrs.items()}, {k: v[sl] for k, v in noise.items()})
        return out

    def _draw_chunk(self, at: Mapping[str, np.ndarray], nz: Mapping[str, np.ndarray]) -> np.ndarray:
        n, S = len(at["Male"]), self.size
        px = 2.0 / S  # one pixel in the [-1, 1] frame
        g = (np.arange(S, dtype=np.float32) + 0.5) * px - 1.0
        y, x = g[None, :, None], g[None, None, :]

        def col(v):  # per-unit scalar -> broadcastable (n, 1, 1)
            return np.asarray(v, dtype=np.float32)[:, None, None]

        male, young = at["Male"].astype(bool), at["Young"].astype(bool)
        cx, cy = col(nz["jitter"][:, 0]), col(nz["jitter"][:, 1] - 0.05)
        fw, fh = col(nz["face_width"]), np.float32(0.56)

        skin = SKIN_LIGHT + (SKIN_DARK - SKIN_LIGHT) * nz["skin"][:, None].astype(np.float32)
        hair = np.clip(HAIR_COLOURS[nz["hair"]] + nz["hair_jitter"], 0, 255).astype(np.float32)
        grey = np.repeat(nz["grey"][:, None], 3, axis=1).astype(np.float32)
        hair = np.where(young[:, None], hair, 0.15 * hair + 0.85 * grey)
        bg = hsv_to_rgb(nz["bg"][:, 0], 0.12 + 0.25 * nz["bg"][:, 1], 0.80 + 0.2 * nz["bg"][:, 2])
        shirt = hsv_to_rgb(nz["shirt"][:, 0], np.full(n, 0.65), 0.45 + 0.4 * nz["shirt"][:, 1])
        wrinkle = 0.72 * skin

        canvas = np.broadcast_to(bg[:, :, None, None], (n, 3, S, S)).astype(np.float32).copy()
        # shoulders, then long hair (women) behind the neck and face
        _paint(canvas, _alpha(_ellipse(x, y, cx, 1.2, 0.85, 0.42), px), shirt)
        long_hair = np.maximum(_ellipse(x, y, cx, cy - 0.02, fw + 0.2, 0.8), (y - cy - col(nz["hair_length"])))
        _paint(canvas, _alpha(long_hair, px) * col(~male), hair)
        _paint(canvas, _alpha(np.maximum(np.abs(x - cx) - 0.15, cy + 0.35 - y), px), 0.9 * skin)  # neck
        face = _ellipse(x, y, cx, cy, fw, fh)
        _paint(canvas, _alpha(face, px), skin)
        # hair cap above the hairline
        cap = np.maximum(_ellipse(x, y, cx, cy - 0.03, fw * 1.1, fh * 1.1), y - cy - col(nz["hairline"]))
        _paint(canvas, _alpha(cap, px), hair)
        # wrinkles (old): a forehead line and two lines beside the mouth
        old = col(~young)
        forehead = _segment(x, y, cx - 0.18, cy - 0.24, cx + 0.18, cy - 0.24, 0.022)
        lines = np.minimum(
            _segment(x, y, cx - 0.17, cy + 0.10, cx - 0.24, cy + 0.34, 0.022),
            _segment(x, y, cx + 0.17, cy + 0.10, cx + 0.24, cy + 0.34, 0.022),
        )
        _paint(canvas, _alpha(np.minimum(forehead, lines), px) * old, wrinkle)
        # beard: lower face and chin in hair colour, and a moustache
        beard = np.minimum(
            np.maximum(_ellipse(x, y, cx, cy + 0.03, fw * 1.06, fh * 1.06), cy + 0.12 - y),
            _ellipse(x, y, cx, cy + 0.24, 0.21, 0.06),
        )
        _paint(canvas, _alpha(beard, px) * col(at["Beard"]), 0.85 * hair)
        # mouth: thin lips a shade darker than the skin, or full red lips
        lip = col(at["Lipstick"]).astype(bool)
        mouth = np.where(
            lip, _ellipse(x, y, cx, cy + 0.34, 0.19, 0.075), _ellipse(x, y, cx, cy + 0.34, 0.15, 0.04)
        )
        lips = np.where(at["Lipstick"][:, None].astype(bool), LIPSTICK, 0.6 * skin + np.float32([40, 5, 5]))
        _paint(canvas, _alpha(mouth, px), lips)
        # eyes (white, dark pupil) and brows
        for side in (-1.0, 1.0):
            ex = cx + side * 0.42 * fw
            _paint(canvas, _alpha(_ellipse(x, y, ex, cy - 0.07, 0.1, 0.07), px), np.full((n, 3), 245, np.float32))
            _paint(canvas, _alpha(_ellipse(x, y, ex, cy - 0.07, 0.06, 0.06), px), np.broadcast_to(EYE, (n, 3)))
            brow = _segment(x, y, ex - 0.1, cy - 0.18, ex + 0.1, cy - 0.18 - 0.02 * side * 0, 0.025)
            _paint(canvas, _alpha(brow, px), 0.7 * hair)
        # eyeglasses: two rings and a bridge
        rings = np.minimum(
            np.abs(_ellipse(x, y, cx - 0.42 * fw, cy - 0.07, 0.15, 0.15)) - 0.03,
            np.abs(_ellipse(x, y, cx + 0.42 * fw, cy - 0.07, 0.15, 0.15)) - 0.03,
        )
        bridge = _segment(x, y, cx - 0.42 * fw + 0.15, cy - 0.09, cx + 0.42 * fw - 0.15, cy - 0.09, 0.025)
        _paint(canvas, _alpha(np.minimum(rings, bridge), px) * col(at["Eyeglasses"]), np.broadcast_to(GLASSES, (n, 3)))
        return to_uint8(canvas)

    def probe(self, node: str | None = None):
        """Attribute read-outs (the five binary attributes) for Face images."""
        from core.worlds.probes import probes_for

        return probes_for(self, node)
