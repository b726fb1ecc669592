"""The Effects page's curves (``workbench.explore.curves``): conditioning vs intervention, the
spurious gap, effect sizes with bootstrap intervals, and the outcomes a probe reads.

Ground truth: the back-door world (Simpson-like: the association and the effect have opposite
signs) with exact do-tables, and the Morpho-MNIST world's probe."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects import WorldSampler
from core.worlds.registry import sample_dataset
from workbench.explore.curves import (
    EffectQuery,
    effect_curves,
    effect_sizes,
    make_readout,
    outcome_choices,
    outcome_label,
    spurious_gap,
    treatment_values,
)


def test_treatment_values_and_outcome_choices():
    ds, world = sample_dataset("morpho_digits", 200, seed=0, params={"size": 16})
    g = ds.graph
    assert treatment_values(g.node("digit"), ds) == list(range(10))
    t = treatment_values(g.node("thickness"), ds, k=5)
    q = np.quantile(ds.column("thickness"), [0.05, 0.95])
    assert len(t) == 5 and t == sorted(t) and t[0] == pytest.approx(q[0], rel=1e-3) and t[-1] == pytest.approx(q[1], rel=1e-3)
    with pytest.raises(Exception, match="is an image"):
        treatment_values(g.node("image"), ds)
    choices = outcome_choices(g, world)
    assert choices[:5] == [("thickness", None), ("intensity", None), ("digit", None), ("image", "thickness"),
                           ("image", "intensity")]
    assert ("image", "digit=3") in choices and ("image", "digit") not in choices  # a mean of digit codes means nothing
    assert outcome_label(("image", "digit=3")) == "image · P(digit = 3) (probe)"
    assert outcome_label(("image", "thickness")) == "image · thickness (probe)"
    assert outcome_choices(g, None) == choices[:3]
    imgs = world.interventional_samples({"digit": 3}, 20, 0).values["image"]
    is3 = make_readout(world, g, ("image", "digit=3"))(imgs)
    assert set(np.unique(is3)) <= {0.0, 1.0} and is3.mean() > 0.8
    with pytest.raises(Exception, match="has no level '12'"):
        make_readout(world, g, ("image", "digit=12"))


def test_truth_curves_match_exact_tables_and_show_the_spurious_gap():
    ds, world = sample_dataset("backdoor", 4000, seed=0)
    truth = WorldSampler(world)
    curves = effect_curves(ds, EffectQuery(ds.graph, "X", "Y", n=20000, n_boot=200), [0, 1], truth=truth)
    exact = world.do_table(["X"], ["Y"])[1]  # P(Y=1 | do(X=x)) for x = 0, 1
    causal = curves[curves.source == "intervention (truth)"].set_index("value")
    for x in (0, 1):
        assert causal.loc[x, "low"] - 0.01 <= exact[x] <= causal.loc[x, "high"] + 0.01
    data = ds.values
    obs = curves[curves.source == "conditioning (data)"].set_index("value")
    for x in (0, 1):
        assert obs.loc[x, "mean"] == pytest.approx(data["Y"][data["X"] == x].mean())
    gap = spurious_gap(curves, causal="intervention (truth)")
    # this world is Simpson-like: seeing X=1 goes with LESS Y, setting X=1 gives MORE Y
    assert (obs.loc[1, "mean"] - obs.loc[0, "mean"]) < 0 < (exact[1] - exact[0])
    assert gap.set_index("value").loc[0, "spurious"] > 0.1
    sizes = effect_sizes(ds, EffectQuery(ds.graph, "X", "Y", n=20000, n_boot=300), 1, 0, truth=truth)
    ate = sizes[(sizes.quantity == "ATE") & (sizes.source == "truth")].iloc[0]
    assert ate.low <= exact[1] - exact[0] + 0.01 and exact[1] - exact[0] - 0.01 <= ate.high
    spur = sizes[sizes.quantity == "spurious part"].iloc[0]
    obs_diff = sizes[sizes.quantity == "observational difference"].iloc[0]
    assert spur.estimate == pytest.approx(obs_diff.estimate - ate.estimate)
