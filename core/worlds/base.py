"""What every ground-truth world offers.

A world is a structural causal model whose mechanisms and exogenous noise we know exactly.  Its
observed variables are the nodes of ``world.graph`` (hidden confounders appear only as bidirected
edges); hidden variables live in ``Units.noise`` with every other exogenous draw, so a counterfactual
re-runs the mechanisms on the SAME noise with some values forced.

Values of a batch of n units follow the conventions of :class:`core.data.units.Units`: scalars are
numpy arrays of shape (n,) (int64 for binary/categorical, float64 for continuous); images are uint8
arrays of shape (n, C, H, W).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from core.data.units import DoValue, Units, broadcast_do_value
from core.errors import WorkbenchError
from core.graph import ADMG


class World(ABC):
    """A synthetic SCM with known mechanisms.

    Subclasses implement ``_run(noise, do)``: compute every observed value from exogenous noise,
    with nodes in ``do`` forced to their values (their incoming mechanisms skipped), and
    ``_draw_noise(n, rng)``.  Observational, interventional and counterfactual sampling are then the
    same loop with different noise and ``do``.
    """

    name: str = "world"
    graph: ADMG

    @abstractmethod
    def _draw_noise(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def _run(self, noise: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def _check_do(self, do: Mapping[str, DoValue]) -> None:
        for k in do:
            if k not in self.graph:
                raise WorkbenchError(
                    f"cannot intervene on {k!r}: the {self.name} world has {', '.join(self.graph.names)}"
                )

    def _resolve_do(self, do: Mapping[str, DoValue], noise: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """Do-values that are functions of the unit are evaluated on the unit's factual values."""
        self._check_do(do)
        factual: dict[str, np.ndarray] | None = None
        out = {}
        for k, v in do.items():
            if callable(v) and factual is None:
                factual = self._run(noise, {})
            out[k] = broadcast_do_value(v, n, factual or {}, self.graph.node(k).type)
        return out

    def sample(self, n: int, seed: int = 0) -> Units:
        """n observational units."""
        noise = self._draw_noise(n, np.random.default_rng(seed))
        return Units(self._run(noise, {}), noise)

    def interventional_samples(self, do: Mapping[str, DoValue], n: int, seed: int = 0) -> Units:
        """n units from P(V | do(...)): mechanisms of intervened nodes replaced by the given values."""
        noise = self._draw_noise(n, np.random.default_rng(seed))
        forced = self._resolve_do(do, noise, n)
        return Units(self._run(noise, forced), noise)

    def counterfactual_samples(self, observed_units: Units, do: Mapping[str, DoValue]) -> Units:
        """What each observed unit would have been under ``do``: the same exogenous noise, re-run."""
        if not observed_units.noise:
            raise WorkbenchError("counterfactuals need units sampled from this world (they carry their noise)")
        n = len(observed_units)
        forced = self._resolve_do(do, observed_units.noise, n)
        return Units(self._run(observed_units.noise, forced), observed_units.noise)
