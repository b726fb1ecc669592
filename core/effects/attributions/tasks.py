"""Predictor tasks with known ACE curves: AHCE's synthetic task, and tasks on a ground-truth world.

A task draws training data (inputs (n, d), targets (n,)) and gives the true curves on a grid, against
which learned attributions are scored (:mod:`core.effects.attributions.scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from core.effects.attributions.curves import Curves, centred, kernel_regression
from core.graph import ADMG, Node

if TYPE_CHECKING:
    from core.worlds import World

Target: TypeAlias = Callable[[Mapping[str, np.ndarray]], np.ndarray]
"""A known function of a world's columns: one target value per unit, (n,)."""


@dataclass
class SyntheticTask:
    """AHCE's synthetic task (w -> z -> x, w -> x; z, x -> y):
    ``w = U(-1, 1) + s e_w``, ``z = w / 2 + s e_z``, ``x = -z - w + s e_x``,
    ``y = x^3 + log(z^2 + 1e-5) + s_y e_y`` with standard normal e's.  Inputs (w, z, x); the true
    predictor is ``E[y | w, z, x] = x^3 + log(z^2 + 1e-5)`` and the true input SCM is the equations."""

    noise: float = 0.5
    y_noise: float = 0.1
    inputs: tuple[str, ...] = ("w", "z", "x")

    @property
    def graph(self) -> ADMG:
        return ADMG(
            [Node(v, "continuous") for v in (*self.inputs, "y")],
            directed=[("w", "z"), ("w", "x"), ("z", "x"), ("x", "y"), ("z", "y")],
        )

    def noise_draw(self, n: int, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {
            "w": rng.uniform(-1, 1, n) + self.noise * rng.standard_normal(n),
            "z": self.noise * rng.standard_normal(n),
            "x": self.noise * rng.standard_normal(n),
            "y": self.y_noise * rng.standard_normal(n),
        }

    def run(self, u: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The equations on noise ``u``, with the nodes in ``do`` forced."""
        do = dict(do or {})
        w = do.get("w", u["w"])
        z = do.get("z", np.asarray(w) / 2 + u["z"])
        x = do.get("x", -np.asarray(z) - np.asarray(w) + u["x"])
        return {"w": w, "z": z, "x": x, "y": self.true_f(z, x) + u["y"]}

    @staticmethod
    def true_f(z: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.asarray(x) ** 3 + np.log(np.asarray(z) ** 2 + 1e-5)

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (n, 3) in order w, z, x; outputs y (n,))."""
        v = self.run(self.noise_draw(n, seed))
        return np.stack([v[k] for k in self.inputs], axis=1), v["y"]

    def true_curves(self, grids: Mapping[str, np.ndarray], n: int = 100_000, seed: int = 12345) -> dict[str, Curves]:
        """Ground-truth ACE curves from the true equations (Monte Carlo over P(U), common noise)."""
        u = self.noise_draw(n, seed)
        obs = self.run(u)
        out = {}
        for name in self.inputs:
            grid = np.asarray(grids[name], dtype=np.float64)
            total, direct = np.empty(len(grid)), np.empty(len(grid))
            for k, a in enumerate(grid):
                v = self.run(u, {name: np.full(n, a)})
                total[k] = self.true_f(v["z"], v["x"]).mean()
                d = {**obs, name: np.full(n, a)}
                direct[k] = self.true_f(d["z"], d["x"]).mean()
            total, direct = centred(total), centred(direct)
            o = centred(kernel_regression(obs[name][:20000], self.true_f(obs["z"], obs["x"])[:20000], grid))
            out[name] = Curves(name, grid, total, direct, total - direct, o)
        return out


def image_ink(images: np.ndarray) -> np.ndarray:
    """Mean pixel value (0..255) of each uint8 image (n, C, H, W): how much ink it carries."""
    x = np.asarray(images)
    return x.reshape(len(x), -1).astype(np.float64).mean(axis=1)


@dataclass
class WorldTask:
    """A predictor task on a ground-truth world: inputs are some scalar nodes, the target is a known
    function of the world's columns (``target(columns) -> (n,)``).  ``graph`` is the inputs' DAG plus
    a ``target_name`` node whose parents are the inputs that cause the target.

    Ground truth never comes from a model: with units ``u`` drawn once (common random numbers),

    * total:  ``T_i(a) = mean_u target(world under do(x_i = a))`` -- the world regenerates every
      descendant of x_i (inputs and the rest) with the unit's own noise;
    * direct: ``D_i(a) = mean_u target(world under do(x_i = a, x_j = x_j(u) for every other input j))``:
      the other inputs keep their observational (factual) values, non-inputs their noise;
    * observational: kernel regression of the target on x_i over the units.

    Because the target's other causes (noise, non-input nodes) are independent of the inputs, these
    equal the curves of the Bayes predictor ``E[target | inputs]``, which the trained predictors aim at."""

    world: World
    inputs: tuple[str, ...]
    target: Target
    graph: ADMG
    target_name: str = "target"
    description: str = ""

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (n, d) in the order of ``inputs``; targets (n,))."""
        v = self.world.sample(n, seed).values
        return np.stack([np.asarray(v[k], np.float64) for k in self.inputs], axis=1), self.target(v)

    def true_curves(self, grids: Mapping[str, np.ndarray], n: int = 10_000, seed: int = 12345) -> dict[str, Curves]:
        return world_true_curves(self.world, self.inputs, self.target, grids, n=n, seed=seed)


def world_true_curves(
    world: World,
    inputs: Sequence[str],
    target: Target,
    grids: Mapping[str, np.ndarray],
    *,
    n: int = 10_000,
    seed: int = 12345,
) -> dict[str, Curves]:
    """Ground-truth ACE curves from a world's own mechanisms (see :class:`WorldTask`)."""
    units = world.sample(n, seed)
    obs = units.values
    y_obs = np.asarray(target(obs), np.float64)
    out: dict[str, Curves] = {}
    for name in inputs:
        grid = np.asarray(grids[name], dtype=np.float64)
        others = {v: np.asarray(obs[v]) for v in inputs if v != name}
        total, direct = np.empty(len(grid)), np.empty(len(grid))
        for k, a in enumerate(grid):
            total[k] = np.mean(target(world.counterfactual_samples(units, {name: float(a)}).values))
            direct[k] = np.mean(target(world.counterfactual_samples(units, {name: float(a), **others}).values))
        total, direct = centred(total), centred(direct)
        o = centred(kernel_regression(np.asarray(obs[name], np.float64), y_obs, grid))
        out[name] = Curves(name, grid, total, direct, total - direct, o)
    return out


def morpho_ink_task(size: int = 28) -> WorldTask:
    """Morpho digits (``thickness -> intensity``; both, the digit and the hand -> image): predict the
    image's ink (mean pixel value, 0..255) from (thickness, intensity).  Thickness acts directly
    (wider strokes) and through intensity (thicker digits are drawn brighter); intensity only
    directly.  Both inputs cause the target, so the no-direct-effect regulariser has nothing to do
    here: the comparison is about the learned input SCM and the direct-only reading."""
    from core.worlds.morpho_digits import MorphoDigits

    world = MorphoDigits(size=size)
    inputs = ("thickness", "intensity")
    graph = ADMG(
        [Node(v, "continuous") for v in (*inputs, "ink")],
        directed=[("thickness", "intensity"), ("thickness", "ink"), ("intensity", "ink")],
    )
    return WorldTask(world, inputs, lambda v: image_ink(v["image"]), graph, "ink",
                     f"morpho_digits {size}x{size}: ink = mean pixel value of the image, from (thickness, intensity)")
