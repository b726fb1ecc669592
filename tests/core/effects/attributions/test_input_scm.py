"""The inputs' SCM: a learned additive-noise SCM regenerates descendants, and an SCM over the data's
units regenerates them through nodes that are not inputs."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.attributions.curves import ace_curves, centred
from core.effects.attributions.input_scm import SCMInputs, fit_input_scm
from core.effects.attributions.tasks import SyntheticTask
from core.errors import WorkbenchError
from tests.core.effects.closed_forms import linear_chain_world


def test_learned_scm_regenerates_descendants():
    """f = x (the third input): its total effect of w is dx/dw = -1 - 1/2 = -1.5, direct 0."""
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(4000, 1)
    scm = fit_input_scm(x, task.inputs, task.graph, steps=800, seed=0)

    def f(t):
        return t[:, 2]

    curves = ace_curves(f, x, task.inputs, scm, max_units=1000)
    w = curves["w"]
    slope = np.polyfit(w.grid, w.total, 1)[0]
    assert slope == pytest.approx(-1.5, abs=0.1)
    assert np.allclose(w.direct, 0, atol=1e-6) and np.allclose(w.indirect, w.total)
    z = curves["z"]
    assert np.polyfit(z.grid, z.total, 1)[0] == pytest.approx(-1.0, abs=0.1)  # x = -z - w + u
    assert np.allclose(curves["x"].total, centred(curves["x"].grid), atol=1e-5)
    # Observational: E[x | w = a] has slope -1.5 too (w is a root), by kernel regression.
    assert np.polyfit(w.grid, w.observational, 1)[0] == pytest.approx(-1.5, abs=0.15)
    # Without an SCM (Chattopadhyay's independence assumption) there is no indirect effect.
    flat = ace_curves(f, x, task.inputs, None, max_units=500)
    assert np.allclose(flat["w"].indirect, 0) and np.allclose(flat["w"].total, 0, atol=1e-6)


class ExactLinearSCM:
    """The linear world's counterfactuals from observed values (noise abducted exactly, e = (v - B pa) / s)."""

    def __init__(self, world):
        self.w = world

    def counterfactual_samples(self, units, do):
        w = self.w
        noise = {}
        for v in w.order:
            j = w.index[v]
            mean = sum(w.B[w.index[p], j] * units[p] for p in w.graph.parents(v))
            noise[f"e_{v}"] = (units[v] - mean) / w.S[j]
        n = len(units[w.order[0]])
        return w._run(noise, {k: np.full(n, float(a)) for k, a in do.items()})


def test_scm_inputs_regenerate_through_non_input_nodes():
    w = linear_chain_world()
    v = w.sample(3000, seed=1).values
    x = np.stack([v["A"], v["B"]], axis=1)
    f = lambda t: 0.5 * t[:, 0] + 1.5 * t[:, 1]  # noqa: E731  the Bayes predictor E[Y | A, B]
    grids = {"A": np.linspace(-2, 2, 9), "B": np.linspace(-1, 1, 5)}
    curves = ace_curves(f, x, ["A", "B"], SCMInputs(ExactLinearSCM(w), v, ["A", "B"]), grids, max_units=3000)
    g = grids["A"]
    np.testing.assert_allclose(curves["A"].total, 1.7 * (g - g.mean()), atol=1e-5)  # via M, not an input
    np.testing.assert_allclose(curves["A"].direct, 0.5 * (g - g.mean()), atol=1e-5)
    np.testing.assert_allclose(curves["B"].indirect, 0.0, atol=1e-5)
    with pytest.raises(WorkbenchError, match="lack input"):
        SCMInputs(ExactLinearSCM(w), {"A": v["A"]}, ["A", "B"])
