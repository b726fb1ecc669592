"""AHCE-style ante-hoc training against the direct-only baseline (fast; the full benchmark setting is
marked slow)."""

from __future__ import annotations

import pytest

from core.effects.attributions.curves import KINDS, ace_curves, default_grid
from core.effects.attributions.scores import mean_scores, score_curves
from core.effects.attributions.tasks import SyntheticTask
from core.effects.attributions.training import TrainConfig, train_predictor


def _run(task: SyntheticTask, n: int, steps: int, seed: int = 0):
    x, y = task.sample(n, seed)
    grids = {v: default_grid(x[:, i], 30) for i, v in enumerate(task.inputs)}
    truth = task.true_curves(grids, n=30000)
    cfg = TrainConfig(steps=steps, seed=seed)
    plain, _, _ = train_predictor(x, y, cfg)
    ours, scm, _ = train_predictor(x, y, cfg, task.inputs, task.graph, "y")
    s_ours = mean_scores(score_curves(ace_curves(ours, x, task.inputs, scm, grids, max_units=1000), truth))
    s_base = mean_scores(score_curves(ace_curves(plain, x, task.inputs, None, grids, max_units=1000), truth))
    return s_ours, s_base


def test_ahce_fast_beats_direct_only_on_indirect():
    s_ours, s_base = _run(SyntheticTask(noise=0.5), n=3000, steps=500)
    assert s_ours["indirect"]["rmse"] < 0.5 * s_base["indirect"]["rmse"]
    assert s_ours["total"]["rmse"] < s_base["total"]["rmse"]
    for k in KINDS:
        assert s_ours[k]["rmse"] < 0.1, (k, s_ours)  # loose: 500 steps


@pytest.mark.slow
def test_ahce_full_within_target():
    s_ours, s_base = _run(SyntheticTask(noise=0.5), n=5000, steps=3000)
    for k in KINDS:
        assert s_ours[k]["rmse"] < 0.05, (k, s_ours)
    assert s_ours["indirect"]["rmse"] < s_base["indirect"]["rmse"]
    assert s_ours["indirect"]["frechet"] < s_base["indirect"]["frechet"]
