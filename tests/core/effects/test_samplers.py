"""Samplers: worlds, trained SCMs and ID-GEN behind one interface."""

from __future__ import annotations

import pytest

from core.effects.average_effects import average_effect
from core.effects.samplers import CounterfactualSampler, IDGenSampler, Sampler, WorldSampler, as_sampler
from core.errors import WorkbenchError
from tests.core.effects.closed_forms import MediationWorld


def test_as_sampler_wraps_what_it_is_given():
    w = MediationWorld()
    sampler = as_sampler(w)
    assert isinstance(sampler, WorldSampler) and isinstance(sampler, CounterfactualSampler)
    assert as_sampler(sampler) is sampler and sampler.ground_truth
    with pytest.raises(WorkbenchError, match="cannot draw samples from a object"):
        as_sampler(object())


def test_idgen_sampler_frontdoor_and_native_conditioning():
    """ID-GEN (tabular models) through the Sampler protocol: the front-door effect, and a conditional
    effect given Z that ID-GEN answers natively (IDC), both against the world's exact tables."""
    from core.idgen import IDGen
    from core.worlds.discrete import backdoor, frontdoor

    w = frontdoor(seed=3)
    gen = IDGen(w.graph, dict(w.sample(30000, seed=1).values))
    with pytest.raises(WorkbenchError, match="needs the outcome"):
        as_sampler(gen)
    assert isinstance(as_sampler(gen, "Y"), Sampler)
    rep = average_effect(IDGenSampler(gen, "Y"), "X", "Y", n=20000, seed=2)
    exact_fd = w.do_table(["X"], ["Y"])
    assert abs(rep.ate.value - (exact_fd[1, 1] - exact_fd[1, 0])) < 0.03
    b = backdoor(seed=0)
    gen = IDGen(b.graph, dict(b.sample(30000, seed=1).values))
    sampler = IDGenSampler(gen, "Y")
    exact_bd = b.do_table(["X"], ["Y"], ["Z"])  # axes (Y, X, Z)
    for z in (0, 1):
        rep = average_effect(sampler, "X", "Y", given={"Z": z}, n=20000, seed=3, observational=False)
        assert abs(rep.ate.value - (exact_bd[1, 1, z] - exact_bd[1, 0, z])) < 0.03
