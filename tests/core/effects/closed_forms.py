"""Worlds whose effects have closed forms, the closed forms, and samplers built on them.

MediationWorld: C -> X, C -> Y, X -> M, M -> Y, X -> Y (all binary); Z is a leaf of X.  Each
v = 1[u_v < p_v(parents)] with u_v ~ U(0, 1): everything has a closed form.  Samplers are the
worlds themselves, so every gap between an estimate and its closed form is Monte Carlo error, which
the bootstrap intervals must cover.
"""

from __future__ import annotations

import itertools

import numpy as np

from core.effects import Estimate, WorldSampler
from core.graph import ADMG, Node
from core.worlds.base import World

P_C = 0.3
P_X = {0: 0.2, 1: 0.8}  # P(X=1 | C)
P_M = {0: 0.25, 1: 0.7}  # P(M=1 | X)
P_Y = {(x, m, c): 0.1 + 0.3 * x + 0.35 * m + 0.2 * c - 0.15 * x * m for x in (0, 1) for m in (0, 1) for c in (0, 1)}
P_Z = {0: 0.4, 1: 0.9}  # P(Z=1 | X)


class MediationWorld(World):
    name = "mediation"

    def __init__(self, hidden_c: bool = False) -> None:
        names = ["X", "M", "Y", "Z"] if hidden_c else ["C", "X", "M", "Y", "Z"]
        directed = [("X", "M"), ("M", "Y"), ("X", "Y"), ("X", "Z")]
        if not hidden_c:
            directed += [("C", "X"), ("C", "Y")]
        self.hidden_c = hidden_c
        self.graph = ADMG(
            [Node(v, "binary") for v in names], directed=directed, bidirected=[("X", "Y")] if hidden_c else []
        )

    def _draw_noise(self, n, rng):
        return {f"u_{v}": rng.random(n) for v in "CXMYZ"}

    def _run(self, noise, do):
        out = {}
        c = (noise["u_C"] < P_C).astype(np.int64)
        if not self.hidden_c:
            out["C"] = do.get("C", c)
            c = out["C"]
        px = np.where(c == 1, P_X[1], P_X[0])
        out["X"] = do.get("X", (noise["u_X"] < px).astype(np.int64))
        x = np.asarray(out["X"])
        out["M"] = do.get("M", (noise["u_M"] < np.where(x == 1, P_M[1], P_M[0])).astype(np.int64))
        m = np.asarray(out["M"])
        py = 0.1 + 0.3 * x + 0.35 * m + 0.2 * c - 0.15 * x * m
        out["Y"] = do.get("Y", (noise["u_Y"] < py).astype(np.int64))
        out["Z"] = do.get("Z", (noise["u_Z"] < np.where(x == 1, P_Z[1], P_Z[0])).astype(np.int64))
        return out


def p_c(c):
    return P_C if c == 1 else 1 - P_C


def bern(p, v):
    return p if v == 1 else 1 - p


def exact_do(x):
    return sum(p_c(c) * bern(P_M[x], m) * P_Y[(x, m, c)] for c, m in itertools.product((0, 1), (0, 1)))


def exact_obs(x):
    w = {c: p_c(c) * bern(P_X[c], x) for c in (0, 1)}
    z = sum(w.values())
    return sum(w[c] / z * bern(P_M[x], m) * P_Y[(x, m, c)] for c, m in itertools.product((0, 1), (0, 1)))


def exact_nested(a, b):
    """E[Y(a, M(b))]: M's and Y's noises are independent of C and of each other."""
    return sum(p_c(c) * bern(P_M[b], m) * P_Y[(a, m, c)] for c, m in itertools.product((0, 1), (0, 1)))


def exact_cde(m):
    return sum(p_c(c) * (P_Y[(1, m, c)] - P_Y[(0, m, c)]) for c in (0, 1))


def near(est: Estimate, truth: float, tol: float) -> bool:
    """Within the interval (allowing a hair of slack) and within an absolute tolerance."""
    width = est.high - est.low
    return est.low - 0.1 * width <= truth <= est.high + 0.1 * width and abs(est.value - truth) < tol


def linear_mediation_world():
    """W -> X -> M -> Y, X -> Y, X <- U -> Y (hidden): total effect 0.7 + 1.5 * -0.8."""
    from core.worlds.linear import LinearGaussianWorld

    return LinearGaussianWorld(
        {("X", "M"): 1.5, ("M", "Y"): -0.8, ("X", "Y"): 0.7, ("W", "X"): 0.5}, noise=1.0, hidden={"U": {"X": 1.0, "Y": 2.0}}
    )


class LearnedLookalike(WorldSampler):
    """A sampler that claims to be learned (so identification applies) but draws from the world."""

    ground_truth = False


class BowWorld(World):
    """X -> Y, X <-> Y: P(Y | do(X)) is not identifiable."""

    graph = ADMG([Node("X"), Node("Y")], directed=[("X", "Y")], bidirected=[("X", "Y")])

    def _draw_noise(self, n, rng):
        return {"u": rng.random(n), "e": rng.random(n)}

    def _run(self, noise, do):
        x = do.get("X", (noise["u"] < 0.5).astype(np.int64))
        return {"X": x, "Y": ((noise["e"] + 0.3 * x + 0.3 * (noise["u"] < 0.5)) > 0.8).astype(np.int64)}


def backdoor_truth():
    """The discrete back-door world, its exact ATE of X on Y, and its exact observational difference."""
    from core.worlds.discrete import backdoor

    w = backdoor()
    do = w.do_table(["X"], ["Y"])  # axes (Y, X)
    pxy = w.observed_joint().marginal(["X", "Y"])  # axes (X, Y)
    obs = pxy[1, 1] / pxy[1].sum() - pxy[0, 1] / pxy[0].sum()
    return w, do[1, 1] - do[1, 0], obs


def linear_chain_world():
    """A -> M -> B -> Y, A -> Y: E[Y | A, B] = 0.5 A + 1.5 B; A's total slope 0.5 + 1.0 * 0.8 * 1.5 = 1.7."""
    from core.worlds.linear import LinearGaussianWorld

    return LinearGaussianWorld({("A", "M"): 1.0, ("M", "B"): 0.8, ("A", "Y"): 0.5, ("B", "Y"): 1.5},
                               noise={"A": 1.0, "M": 0.5, "B": 0.5, "Y": 0.3})
