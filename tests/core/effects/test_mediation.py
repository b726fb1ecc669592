"""Natural direct and indirect effects on the same units, and controlled direct effects, against
closed forms."""

from __future__ import annotations

import pytest

from core.effects.mediation import mediation_effects
from core.errors import WorkbenchError
from tests.core.effects.closed_forms import (
    LearnedLookalike,
    MediationWorld,
    exact_cde,
    exact_do,
    exact_nested,
    linear_mediation_world,
    near,
)


def test_mediation_discrete_exact():
    w = MediationWorld()
    rep = mediation_effects(w, "X", "M", "Y", n=20000, seed=7)
    nde = exact_nested(1, 0) - exact_nested(0, 0)
    nie = exact_nested(1, 1) - exact_nested(1, 0)
    assert near(rep.nde, nde, 0.02)
    assert near(rep.nie, nie, 0.02)
    assert abs(rep.nie_reverse.value + rep.nie.value) < 1e-12
    assert near(rep.total, exact_do(1) - exact_do(0), 0.025)
    assert abs(rep.total_units.value - (rep.nde.value + rep.nie.value)) < 1e-12
    assert rep.consistent
    for m in (0, 1):
        assert near(rep.cde[f"M={m}"], exact_cde(m), 0.025)
    assert abs(exact_cde(0) - exact_cde(1)) > 0.1  # interaction: the CDE depends on m


def test_linear_gaussian_mediation_is_exact_on_every_unit():
    w = linear_mediation_world()
    te = w.total_effect("X", "Y")
    med = mediation_effects(w, "X", "M", "Y", a=1.0, b=0.0, n=10000, seed=13)
    assert med.nde.value == pytest.approx(0.7, abs=1e-9)  # linear: exact on every unit
    assert med.nie.value == pytest.approx(1.5 * -0.8, abs=1e-9)
    assert near(med.cde[next(iter(med.cde))], 0.7, 0.08)
    assert near(med.total, te, 0.06)


def test_natural_effects_from_a_learned_model_with_hidden_confounders_are_refused():
    with pytest.raises(WorkbenchError, match="bidirected"):
        mediation_effects(LearnedLookalike(MediationWorld(hidden_c=True)), "X", "M", "Y", n=100)
    with pytest.raises(WorkbenchError, match="at least one mediator"):
        mediation_effects(MediationWorld(), "X", [], "Y", n=100)
