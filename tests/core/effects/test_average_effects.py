"""Average and conditional effects against closed forms: a discrete world (exact sums over its
tables) and a linear-Gaussian world (path coefficients)."""

from __future__ import annotations

import pytest

from core.effects.average_effects import average_effect, conditional_effects, default_contrast
from core.effects.bootstrap import Estimate
from core.errors import WorkbenchError
from core.worlds.linear import LinearGaussianWorld
from tests.core.effects.closed_forms import (
    MediationWorld,
    exact_do,
    exact_obs,
    linear_mediation_world,
    near,
)


def test_average_effect_discrete_exact():
    w = MediationWorld()
    rep = average_effect(w, "X", "Y", n=20000, seed=3)
    ate = exact_do(1) - exact_do(0)
    assert near(rep.do_a, exact_do(1), 0.02) and near(rep.do_b, exact_do(0), 0.02)
    assert near(rep.ate, ate, 0.025)
    assert near(rep.risk_ratio, exact_do(1) / exact_do(0), 0.15)
    obs = exact_obs(1) - exact_obs(0)
    assert near(rep.obs_difference, obs, 0.03)
    assert near(rep.spurious, obs - ate, 0.04)
    assert obs - ate > 0.05  # the world is confounded: the gap is real and the estimate sees it
    assert rep.spurious.low > 0


def test_conditional_effect_on_a_descendant_matches_exact():
    """E[Y | do(X=x), Z=z]: Z is a child of X only, so given do(X) it is independent of Y: the
    conditional effect equals the marginal one; conditioning is done by rejection."""
    w = MediationWorld()
    reps = conditional_effects(w, "X", "Y", "Z", n=8000, seed=5, observational=False)
    for z in (0, 1):
        assert near(reps[z].ate, exact_do(1) - exact_do(0), 0.04)


def test_linear_gaussian_closed_forms():
    w = linear_mediation_world()
    assert w.graph.has_bidirected("X", "Y")
    te = w.total_effect("X", "Y")
    assert te == pytest.approx(0.7 - 1.2)
    rep = average_effect(w, "X", "Y", a=1.0, b=0.0, n=20000, seed=11)
    assert near(rep.ate, te, 0.06)
    # The observational side uses nearest-neighbour windows; compare with the exact slope.
    rep2 = average_effect(w, "X", "Y", a=1.0, b=-1.0, n=40000, seed=12)
    slope = w.observational_slope("X", "Y")
    assert abs(rep2.obs_difference.value - 2 * slope) < 0.25
    assert abs(rep2.spurious.value - 2 * (slope - te)) < 0.3


def test_zero_effect_when_treatment_is_not_an_ancestor():
    w = MediationWorld()
    rep = average_effect(w, "Z", "Y", n=4000, seed=1)
    assert rep.ate == Estimate(0.0, 0.0, 0.0)
    assert rep.notes and "not an ancestor" in rep.notes[0]
    # ... while Y and Z are associated through X: the whole observational difference is spurious.
    assert rep.spurious.value == rep.obs_difference.value
    assert rep.obs_difference.low > 0


def test_default_contrast_and_bad_queries():
    w = MediationWorld()
    lin = LinearGaussianWorld({("X", "Y"): 1.0, ("X", "Z"): 1.0})
    assert default_contrast(w.graph, "X") == (1, 0)
    assert default_contrast(lin.graph, "X") == (1.0, 0.0)
    with pytest.raises(WorkbenchError, match="conditioning on continuous Z needs a sampler that conditions natively"):
        average_effect(lin, "X", "Y", given={"Z": 0.5}, n=100)
    with pytest.raises(WorkbenchError, match="stratifying needs a discrete Z"):
        conditional_effects(lin, "X", "Y", "Z", n=100)
