"""Interventional draws given Z = z (by rejection without native conditioning) and observational rows
with X = a."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.draws import interventional_draws, observational_outcomes, rows_at
from core.effects.samplers import WorldSampler
from core.errors import WorkbenchError
from core.worlds.linear import LinearGaussianWorld
from tests.core.effects.closed_forms import MediationWorld


def test_rejection_keeps_only_rows_with_the_given_values():
    sampler = WorldSampler(MediationWorld())
    rows = interventional_draws(sampler, {"X": 1}, 500, seed=2, given={"Z": 0})
    assert len(rows["Z"]) == 500 and np.all(rows["Z"] == 0) and np.all(rows["X"] == 1)
    with pytest.raises(WorkbenchError, match="too rare"):
        interventional_draws(sampler, {"X": 1}, 10_000, given={"Z": 0}, max_rounds=1)
    lin = LinearGaussianWorld({("X", "Y"): 1.0, ("X", "Z"): 1.0})
    with pytest.raises(WorkbenchError, match="conditioning on continuous Z needs a sampler that conditions natively"):
        interventional_draws(WorldSampler(lin), {"X": 1.0}, 100, given={"Z": 0.5})


def test_observational_rows_at_a_value():
    w = MediationWorld()
    sampler = WorldSampler(w)
    rows = sampler.observational(2000, seed=1)
    y = observational_outcomes(sampler, "X", 1, "Y", n=2000, given={"C": 1}, rows=rows)
    assert len(y) == int(np.sum((rows["X"] == 1) & (rows["C"] == 1)))
    lin = LinearGaussianWorld({("X", "Y"): 1.0})
    cols = WorldSampler(lin).observational(1000, seed=0)
    nearest = rows_at(cols, lin.graph, "X", 0.0, 50)
    assert len(nearest) == 50 and np.abs(cols["X"][nearest]).max() <= np.sort(np.abs(cols["X"]))[49]
