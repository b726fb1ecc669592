"""True curves of the tasks: closed forms of the synthetic task, path coefficients of a linear
world, and the morpho ink task's indirect thickness effect."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.attributions.curves import centred, default_grid
from core.effects.attributions.tasks import SyntheticTask, morpho_ink_task, world_true_curves
from tests.core.effects.closed_forms import linear_chain_world


def test_true_curves_closed_forms():
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(5000, 0)
    grids = {n: default_grid(x[:, i], 21) for i, n in enumerate(task.inputs)}
    t = task.true_curves(grids, n=20000)
    gx, gz = grids["x"], grids["z"]
    # f* = x^3 + log(z^2 + 1e-5) is additive: direct curves are the summands, centred.
    assert np.allclose(t["x"].direct, centred(gx**3), atol=1e-9)
    assert np.allclose(t["x"].indirect, 0, atol=1e-9)
    assert np.allclose(t["z"].direct, centred(np.log(gz**2 + 1e-5)), atol=1e-9)
    assert np.allclose(t["w"].direct, 0, atol=1e-9)
    # Total of w: x = -1.5 w - u_z + u_x, so E[x^3 | do(w=a)] = -3.375 a^3 - 9 s^2 a (+ a z-term).
    gw = grids["w"]
    cubic = centred(-3.375 * gw**3 - 9 * 0.25 * gw)
    zpart = t["w"].total - cubic
    assert np.abs(zpart).max() < np.abs(cubic).max() / 2  # the x-route dominates and has the right shape


def test_world_true_curves_match_path_coefficients():
    w = linear_chain_world()
    grids = {"A": np.linspace(-2, 2, 9), "B": np.linspace(-1, 1, 5)}
    truth = world_true_curves(w, ["A", "B"], lambda v: v["Y"], grids, n=2000)
    for v, total, direct in (("A", 1.7, 0.5), ("B", 1.5, 1.5)):
        g = grids[v]
        # common noise and linear mechanisms: the curves are exactly straight, slope = path coefficients
        np.testing.assert_allclose(truth[v].total, total * (g - g.mean()), atol=1e-9)
        np.testing.assert_allclose(truth[v].direct, direct * (g - g.mean()), atol=1e-9)
        np.testing.assert_allclose(truth[v].indirect, (total - direct) * (g - g.mean()), atol=1e-9)
    # observational slope of Y on A is Cov(A, Y) / Var(A) = 1.7 here (A is a root)
    assert np.polyfit(grids["A"], truth["A"].observational, 1)[0] == pytest.approx(w.observational_slope("A", "Y"), abs=0.1)


def test_morpho_ink_task_truth_has_an_indirect_thickness_effect():
    task = morpho_ink_task(size=16)
    x, y = task.sample(300, seed=0)
    assert x.shape == (300, 2) and y.shape == (300,) and 0 < y.mean() < 255
    grids = {v: default_grid(x[:, i], 5) for i, v in enumerate(task.inputs)}
    truth = task.true_curves(grids, n=1500)
    t, i = truth["thickness"], truth["intensity"]
    # thicker strokes carry more ink directly and make the digit brighter (through intensity)
    assert np.all(np.diff(t.direct) > 0) and np.all(np.diff(t.indirect) > 0)
    assert np.ptp(t.indirect) > 0.3 * np.ptp(t.total)
    np.testing.assert_allclose(i.indirect, 0.0, atol=1e-9)  # intensity has no descendant among the inputs
