"""ACE curves: Monte Carlo vs the Taylor shortcut on a quadratic, bad input, post-hoc explanations."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.attributions.curves import KINDS, ace_curves, explain_predictor
from core.effects.attributions.input_scm import fit_input_scm
from core.effects.attributions.tasks import SyntheticTask
from core.errors import WorkbenchError


def test_taylor_is_exact_for_a_quadratic_predictor():
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(3000, 2)
    scm = fit_input_scm(x, task.inputs, task.graph, steps=300, seed=0)

    def quad(t):
        return t[:, 0] ** 2 - 2 * t[:, 1] * t[:, 2] + 0.5 * t[:, 2] ** 2 + t[:, 1]

    mc = ace_curves(quad, x, task.inputs, scm, max_units=800, method="mc")
    ty = ace_curves(quad, x, task.inputs, scm, max_units=800, method="taylor")
    for name in task.inputs:
        for k in KINDS:
            assert np.allclose(mc[name].get(k), ty[name].get(k), atol=2e-3), (name, k)
    with pytest.raises(WorkbenchError, match="unknown method"):
        ace_curves(quad, x, task.inputs, scm, method="exact")
    with pytest.raises(WorkbenchError, match=r"must be \(n, 3\)"):
        ace_curves(quad, x[:, :2], task.inputs, scm)


def test_explain_predictor_by_column_name():
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(2000, 3)
    cols = {v: x[:, i] for i, v in enumerate(task.inputs)}
    curves = explain_predictor(lambda t: t[:, 2], cols, list(task.inputs), task.graph, scm_steps=400, points=15)
    assert np.polyfit(curves["w"].grid, curves["w"].total, 1)[0] == pytest.approx(-1.5, abs=0.15)
    with pytest.raises(WorkbenchError, match="no column for input q"):
        explain_predictor(lambda t: t[:, 0], cols, ["w", "q"], None)
