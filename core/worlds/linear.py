"""A linear-Gaussian world whose effects have closed forms.

Each observed node is ``v = sum_{p in pa(v)} B[p, v] p + sum_h L[h, v] h + s_v e_v`` with independent
standard normal ``e_v`` and hidden confounders ``h ~ N(0, 1)`` (each hidden variable with two or more
children shows up as bidirected edges between them).  In matrix form ``V = (I - B^T)^{-1} (L^T H + S E)``,
so with ``T = (I - B)^{-1}`` (``T[a, b]`` = sum over directed paths a ~> b of the products of their
coefficients):

* total effect of x on y per unit of x: ``T[x, y]``;
* natural direct effect (a vs b): ``B[x, y] (a - b)``; natural indirect: ``(T[x, y] - B[x, y]) (a - b)``
  (every mechanism is linear, so controlled = natural direct effect);
* observational slope of E[y | x]: ``Cov(x, y) / Var(x)`` from ``Sigma = T^T (L^T L + S^2) T``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds.base import World


class LinearGaussianWorld(World):
    """``LinearGaussianWorld({("X", "Y"): 2.0}, noise=1.0, hidden={"U": {"X": 1.0, "Y": 1.0}})``."""

    name = "linear"

    def __init__(
        self,
        coefficients: Mapping[tuple[str, str], float],
        noise: float | Mapping[str, float] = 1.0,
        hidden: Mapping[str, Mapping[str, float]] | None = None,
        nodes: list[str] | None = None,
    ) -> None:
        hidden = dict(hidden or {})
        names: list[str] = list(nodes or [])
        for a, b in coefficients:
            for v in (a, b):
                if v not in names:
                    names.append(v)
        for h, loads in hidden.items():
            for v in loads:
                if v not in names:
                    raise WorkbenchError(f"hidden {h} loads on {v!r}, which no edge mentions")
        bidirected = []
        for loads in hidden.values():
            kids = [v for v, c in loads.items() if c != 0]
            bidirected += [(kids[i], kids[j]) for i in range(len(kids)) for j in range(i + 1, len(kids))]
        self.graph = ADMG(
            [Node(v, "continuous") for v in names],
            directed=[e for e, c in coefficients.items() if c != 0],
            bidirected=list(dict.fromkeys(bidirected)),
        )
        self.order = list(self.graph.topological_order())
        k = len(names)
        idx = {v: i for i, v in enumerate(names)}
        self.index = idx
        self.B = np.zeros((k, k))
        for (a, b), c in coefficients.items():
            self.B[idx[a], idx[b]] = c
        self.hidden = list(hidden)
        self.L = np.zeros((len(hidden), k))
        for i, loads in enumerate(hidden.values()):
            for v, c in loads.items():
                self.L[i, idx[v]] = c
        s = noise if isinstance(noise, Mapping) else dict.fromkeys(names, float(noise))
        self.S = np.array([float(s.get(v, 1.0)) for v in names])

    # ---- sampling

    def _draw_noise(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        out = {f"e_{v}": rng.standard_normal(n) for v in self.order}
        out |= {f"h_{h}": rng.standard_normal(n) for h in self.hidden}
        return out

    def _run(self, noise: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = {}
        for v in self.order:
            if v in do:
                values[v] = np.asarray(do[v], dtype=np.float64)
                continue
            j = self.index[v]
            x = self.S[j] * noise[f"e_{v}"]
            for i, h in enumerate(self.hidden):
                x = x + self.L[i, j] * noise[f"h_{h}"]
            for p in self.graph.parents(v):
                x = x + self.B[self.index[p], j] * values[p]
            values[v] = x
        return values

    # ---- closed forms

    def path_matrix(self) -> np.ndarray:
        """``(I - B)^{-1}``: entry [a, b] sums the coefficient products of every directed path a ~> b."""
        return np.linalg.inv(np.eye(len(self.B)) - self.B)

    def total_effect(self, x: str, y: str) -> float:
        """dE[y | do(x)] / dx."""
        return float(self.path_matrix()[self.index[x], self.index[y]])

    def direct_effect(self, x: str, y: str) -> float:
        """Per-unit natural (= controlled) direct effect: the edge coefficient x -> y."""
        return float(self.B[self.index[x], self.index[y]])

    def covariance(self) -> np.ndarray:
        t = self.path_matrix()
        return t.T @ (self.L.T @ self.L + np.diag(self.S**2)) @ t

    def observational_slope(self, x: str, y: str) -> float:
        """dE[y | x] / dx = Cov(x, y) / Var(x) (everything is jointly Gaussian with mean 0)."""
        c = self.covariance()
        i, j = self.index[x], self.index[y]
        return float(c[i, j] / c[i, i])
