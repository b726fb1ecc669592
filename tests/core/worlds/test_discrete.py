"""Discrete ground-truth worlds: exact tables agree with sampling, with brute-force enumeration, and
counterfactuals re-run the same noise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds.base import World
from core.worlds.discrete import (
    NAMED,
    DiscreteSCM,
    backdoor,
    bow,
    frontdoor,
    napkin,
    random_admg,
    random_world,
)


def enumerate_do(world: DiscreteSCM, do: dict[str, int]) -> dict[tuple[int, ...], float]:
    """P(observed | do) by looping over every assignment of every variable (latents included)."""
    out: dict[tuple[int, ...], float] = {}
    for cell in itertools.product(*(range(world.cards[v]) for v in world.variables)):
        a = dict(zip(world.variables, cell, strict=True))
        if any(a[k] != v for k, v in do.items()):
            continue
        pr = 1.0
        for v in world.variables:
            if v in do:
                continue
            pr *= world.tables[v][tuple(a[q] for q in world.parents[v]) + (a[v],)]
        key = tuple(a[v] for v in world.observed)
        out[key] = out.get(key, 0.0) + pr
    return out


@pytest.mark.parametrize("make", [backdoor, frontdoor, napkin, bow])
def test_named_worlds_are_worlds_with_their_graphs(make) -> None:
    world = make(seed=1)
    assert isinstance(world, World) and world.name in NAMED
    joint = world.observed_joint()
    assert joint.names == world.observed and abs(joint.probs.sum() - 1) < 1e-12
    assert len(world.latents) == len(world.graph.bidirected)


def test_observed_joint_equals_brute_force_enumeration() -> None:
    world = napkin(seed=2)
    joint = world.observed_joint()
    for key, value in enumerate_do(world, {}).items():
        assert abs(joint.probs[key] - value) < 1e-14
    full = world.full_joint()
    assert np.allclose(full.marginal(world.observed), joint.probs, atol=1e-14)


def test_do_table_equals_brute_force_truncated_factorisation() -> None:
    world = napkin(seed=3)
    table = world.do_table(["X"], ["Y"], ["W2"])  # axes Y, X, W2
    for x in range(2):
        dist = enumerate_do(world, {"X": x})
        for y, w2 in itertools.product(range(2), range(2)):
            num = sum(v for k, v in dist.items() if k[3] == y and k[1] == w2 and k[2] == x)
            den = sum(v for k, v in dist.items() if k[1] == w2 and k[2] == x)
            assert abs(table[y, x, w2] - num / den) < 1e-13


def test_sampling_matches_the_exact_tables() -> None:
    world = frontdoor(seed=4)
    n = 200_000
    units = world.sample(n, seed=0)
    counts = np.zeros(world.observed_joint().cards)
    np.add.at(counts, tuple(units[v] for v in world.observed), 1)
    assert np.abs(counts / n - world.observed_joint().probs).max() < 0.01
    do_units = world.interventional_samples({"X": 1}, n, seed=1)
    assert (do_units["X"] == 1).all()
    truth = world.do_table(["X"], ["Y"])[:, 1]
    freq = np.bincount(do_units["Y"], minlength=2) / n
    assert np.abs(freq - truth).max() < 0.01


def test_counterfactuals_reuse_the_noise() -> None:
    world = napkin(seed=5)
    units = world.sample(2000, seed=3)
    same = world.counterfactual_samples(units, {"X": units["X"]})
    for v in world.observed:
        assert (same[v] == units[v]).all()
    flipped = world.counterfactual_samples(units, {"X": 1 - units["X"]})
    # non-descendants of X keep their values; Y changes for some units
    for v in ("W1", "W2"):
        assert (flipped[v] == units[v]).all()
    assert (flipped["Y"] != units["Y"]).any()
    # and do() via a function of the factual values gives the same answer
    via_fn = world.counterfactual_samples(units, {"X": lambda vals: 1 - vals["X"]})
    assert (via_fn["Y"] == flipped["Y"]).all()
    assert set(units.noise) == set(world.variables)


def test_categorical_levels() -> None:
    g = ADMG([Node("A", "categorical", 3), Node("B", "categorical", 4), Node("C")], [("A", "B"), ("B", "C")], [("A", "C")])
    world = DiscreteSCM(g, seed=0)
    assert world.observed_joint().cards == (3, 4, 2)
    units = world.sample(20_000, seed=0)
    assert set(np.unique(units["B"])) == {0, 1, 2, 3}
    table = world.do_table(["B"], ["C"])
    assert table.shape == (2, 4) and np.allclose(table.sum(axis=0), 1)


def test_tables_are_seeded() -> None:
    a, b, c = napkin(seed=7), napkin(seed=7), napkin(seed=8)
    assert np.array_equal(a.observed_joint().probs, b.observed_joint().probs)
    assert not np.allclose(a.observed_joint().probs, c.observed_joint().probs)


def test_bad_input() -> None:
    g = ADMG([Node("A", "continuous"), Node("B")], [("A", "B")])
    with pytest.raises(WorkbenchError, match="A is continuous"):
        DiscreteSCM(g)
    world = backdoor()
    with pytest.raises(WorkbenchError, match="cannot intervene on 'Q'"):
        world.interventional_samples({"Q": 1}, 10)
    with pytest.raises(WorkbenchError, match="levels 0..1"):
        world.interventional_samples({"X": 2}, 10)
    with pytest.raises(WorkbenchError, match="unknown variable 'Q'"):
        world.do_table(["Q"], ["Y"])
    with pytest.raises(WorkbenchError, match="p_bidirected"):
        random_admg(4, 0.5, 1.5)


def test_random_admg_is_seeded_acyclic_and_shuffled() -> None:
    g1, g2 = random_admg(12, 0.3, 0.2, seed=3), random_admg(12, 0.3, 0.2, seed=3)
    assert g1 == g2
    assert len(g1) == 12 and g1.bidirected
    assert g1.names != g1.topological_order()  # insertion order is not the causal order
    categorical = random_admg(6, 0.5, 0.2, seed=1, max_levels=4)
    assert {n.levels for n in categorical.nodes} - {2} and max(n.levels for n in categorical.nodes) <= 4
    world = random_world(5, 0.5, 0.3, seed=2, max_levels=3)
    assert abs(world.observed_joint().probs.sum() - 1) < 1e-12


def test_floor_and_set_table() -> None:
    world = DiscreteSCM(napkin().graph, seed=0, alpha=0.1, floor=0.2)
    for v, table in world.tables.items():
        assert table.min() >= 0.2 / world.cards[v] - 1e-12
    # a deterministic copy mechanism W2 := W1 makes W1 and W2 agree in every sample and in the joint
    world.set_table("W2", np.eye(2))
    units = world.sample(500, seed=0)
    assert (units["W2"] == units["W1"]).all()
    pair = world.observed_joint().marginal(["W1", "W2"])
    assert pair[0, 1] == 0 and pair[1, 0] == 0
    with pytest.raises(WorkbenchError, match="must have shape"):
        world.set_table("W2", np.eye(3))
    with pytest.raises(WorkbenchError, match="probability distribution"):
        world.set_table("W2", np.ones((2, 2)))
    with pytest.raises(WorkbenchError, match="unknown variable 'Q'"):
        world.set_table("Q", np.eye(2))
    with pytest.raises(WorkbenchError, match="floor"):
        DiscreteSCM(napkin().graph, floor=1.0)
