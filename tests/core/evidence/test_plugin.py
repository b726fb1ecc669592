"""Plug-in estimates with bootstrap intervals: near the exact truth on large samples, intervals that
cover it, the binary effect, and one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import DataError, Dataset
from core.errors import WorkbenchError
from core.evidence.formulas import adjustment_estimand, front_door_estimand
from core.evidence.plugin import plug_in_estimate
from core.graph import ADMG, Node, parse_dagitty
from core.identify import identify
from core.worlds.discrete import DiscreteSCM, napkin


def test_adjustment_estimate_covers_the_truth():
    world = DiscreteSCM(parse_dagitty("dag { Z -> X -> Y ; Z -> Y }"), seed=2, alpha=0.7)
    data = Dataset.from_units(world.sample(20_000, seed=0), world.graph)
    est = plug_in_estimate(adjustment_estimand(["X"], ["Y"], ["Z"]), data, ["X"], ["Y"], n_boot=100)
    truth = world.do_table(["X"], ["Y"])
    assert est.value.shape == (2, 2) and np.abs(est.value - truth).max() < 0.02
    assert np.all(est.low <= truth + 1e-9) and np.all(truth <= est.high + 1e-9)
    effect, lo, hi = est.effect
    assert lo <= truth[1, 1] - truth[1, 0] <= hi and abs(effect - (truth[1, 1] - truth[1, 0])) < 0.02
    assert est.resamples == 100 and est.dropped == 0


def test_front_door_and_napkin_estimands_on_data():
    world = DiscreteSCM(parse_dagitty("dag { X -> M -> Y ; X <-> Y }"), seed=4, alpha=0.7)
    data = Dataset.from_units(world.sample(20_000, seed=1), world.graph)
    est = plug_in_estimate(front_door_estimand(["X"], ["Y"], ["M"]), data, ["X"], ["Y"], n_boot=50)
    assert np.abs(est.value - world.do_table(["X"], ["Y"])).max() < 0.03
    nap = napkin(seed=3)
    data = Dataset.from_units(nap.sample(30_000, seed=2), nap.graph)
    est = plug_in_estimate(identify(nap.graph, ["X"], ["Y"]), data, ["X"], ["Y"], n_boot=30)
    assert np.abs(est.value - nap.do_table(["X"], ["Y"])).max() < 0.05


def test_refusals():
    world = DiscreteSCM(parse_dagitty("dag { Z -> X -> Y ; Z -> Y }"), seed=2)
    data = Dataset.from_units(world.sample(200), world.graph)
    formula = adjustment_estimand(["X"], ["Y"], ["Z"])
    with pytest.raises(WorkbenchError, match="between 1 and 10000"):
        plug_in_estimate(formula, data, ["X"], ["Y"], n_boot=0)
    with pytest.raises(WorkbenchError, match="interval level must be between 0 and 1"):
        plug_in_estimate(formula, data, ["X"], ["Y"], level=1.5)
    with pytest.raises(DataError, match="no column 'W', which the formula needs"):
        plug_in_estimate(adjustment_estimand(["X"], ["Y"], ["W"]), data, ["X"], ["Y"])
    typed = ADMG([Node("Z", "continuous"), Node("X"), Node("Y")], [("Z", "X"), ("X", "Y"), ("Z", "Y")])
    cont = Dataset.from_values({"Z": np.random.default_rng(0).normal(size=50), "X": np.arange(50) % 2,
                                "Y": np.arange(50) // 25}, typed)
    with pytest.raises(DataError, match="Z is continuous: a plug-in estimate needs discrete columns"):
        plug_in_estimate(formula, cont, ["X"], ["Y"])
