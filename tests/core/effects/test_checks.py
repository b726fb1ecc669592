"""Checks of an effect query: names, mediators on a directed path, identifiability for learned samplers."""

from __future__ import annotations

import pytest

from core.effects.average_effects import average_effect
from core.effects.mediation import mediation_effects
from core.errors import WorkbenchError
from tests.core.effects.closed_forms import BowWorld, LearnedLookalike, MediationWorld


def test_bad_mediator_and_bad_names():
    w = MediationWorld()
    with pytest.raises(WorkbenchError, match="mediator Z is not on a directed path from X to Y"):
        mediation_effects(w, "X", "Z", "Y", n=100)
    with pytest.raises(WorkbenchError, match="mediator C is not on a directed path"):
        mediation_effects(w, "X", "C", "Y", n=100)
    with pytest.raises(WorkbenchError, match="Q"):
        average_effect(w, "Q", "Y", n=100)
    with pytest.raises(WorkbenchError, match="X cannot be in both the treatment and the outcome"):
        average_effect(w, "X", "X", n=100)
    with pytest.raises(WorkbenchError, match="Y cannot be in both the outcome and the conditioning set"):
        average_effect(w, "X", "Y", given={"Y": 1}, n=100)


def test_not_identifiable_on_a_bow_for_learned_samplers():
    identify = pytest.importorskip("core.identify")
    with pytest.raises(identify.NotIdentifiable):
        average_effect(LearnedLookalike(BowWorld()), "X", "Y", n=200)
    # The ground truth itself always answers (the truth needs no identification).
    assert average_effect(BowWorld(), "X", "Y", n=200).ate is not None
