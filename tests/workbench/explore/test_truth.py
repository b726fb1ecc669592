"""The ground-truth galleries of a built-in world (``workbench.explore.truth``).

Ground truth: exact do-tables of a discrete world, the world's own samplers, and consistency of
counterfactuals on the units re-sampled from the data's seed."""

from __future__ import annotations

import numpy as np
import pytest

from core.worlds.registry import sample_dataset
from workbench.explore.changes import readout
from workbench.explore.galleries import counterfactual_units
from workbench.explore.models import ModelHub, Sources
from workbench.explore.question import ExploreQuery
from workbench.explore.readouts import world_probe
from workbench.explore.truth import truth_counterfactual, truth_interventional


def binomial_sd(p: float, n: float) -> float:
    return float(np.sqrt(p * (1 - p) / n))


@pytest.mark.parametrize("y", [0, 1])
def test_truth_column_keeps_the_worlds_units_with_z(frontdoor, y):
    ds, world = frontdoor
    n = 4000
    g = truth_interventional(world, ExploreQuery(ds.graph, "X", 1, "M", {"Y": y}, n=n, seed=3))
    assert g.ok and g.formula == f"P(M | do(X = 1), Y = {y})" and len(g.values) == n
    exact = world.do_table(["X"], ["M"], ["Y"])[1, 1, y]
    assert abs(float(np.mean(g.values == 1)) - exact) < 4 * binomial_sd(exact, n)


def test_truth_column_is_the_world_sampler():
    ds, world = sample_dataset("morpho_digits", 400, seed=0, params={"size": 16})
    g = truth_interventional(world, ExploreQuery(ds.graph, "thickness", 3.0, "image", n=8, seed=5))
    assert np.array_equal(g.values, world.interventional_samples({"thickness": 3.0}, 8, 5).values["image"])
    probe = world_probe(world, ds.graph, "image")
    node = ds.graph.node("image")
    read = readout(node, g.values, probe)
    digits = [k for k in read if k.startswith("digit = ")]
    assert len(digits) == 10 and sum(read[k].value for k in digits) == pytest.approx(1.0)
    assert {"mean thickness", "mean intensity"} <= set(read)
    # thicker strokes under do(thickness = 4) than under do(thickness = 1), as read by the probe
    thick = readout(node, world.interventional_samples({"thickness": 4.0}, 64, 1).values["image"], probe)
    thin = readout(node, world.interventional_samples({"thickness": 1.0}, 64, 1).values["image"], probe)
    assert thick["mean thickness"].value > thin["mean thickness"].value + 1.0
    assert world_probe(None, ds.graph, "image") is None and world_probe(world, ds.graph, "digit") is None


def test_truth_counterfactuals_are_the_data_units_own(backdoor_partial):
    _, ds, world = backdoor_partial
    sources = Sources(ModelHub(), ds, world=world)
    rows = counterfactual_units(40, 3, ds.n, seed=2)
    have = rows[ds.column("X")[rows] == 1]
    g = truth_counterfactual(sources, ExploreQuery(ds.graph, "X", 1, "Y"), have)
    assert g.ok and np.array_equal(g.values, ds.column("Y")[have]) and np.array_equal(g.factual, g.values)
    # the world's counterfactual of the data units, recomputed by hand from the same noise
    truth = truth_counterfactual(sources, ExploreQuery(ds.graph, "X", 0, "Y"), rows)
    units = world.sample(ds.n, seed=ds.world["seed"]).subset(rows)
    assert np.array_equal(truth.values, world.counterfactual_samples(units, {"X": 0}).values["Y"])
    # data that no longer matches its world record: refused, not silently wrong
    other = ds.subset(np.arange(ds.n)[::-1])
    g = truth_counterfactual(Sources(ModelHub(), other, world=world), ExploreQuery(ds.graph, "X", 0, "Y"), rows)
    assert not g.ok and "does not reproduce the data" in g.message
    g = truth_counterfactual(Sources(ModelHub(), ds), ExploreQuery(ds.graph, "X", 0, "Y"), rows)
    assert not g.ok and "no ground truth" in g.message
