"""Scores against true curves: the discrete Frechet distance against a brute-force reference, and
scaling by the true curves' range."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.attributions.scores import frechet_distance, rmse, scale_by_truth


def frechet_brute_force(p: np.ndarray, q: np.ndarray) -> float:
    """Minimum over every monotone coupling (lattice path) of the largest matched distance."""
    n, m = len(p), len(q)
    best = np.inf

    def walk(i: int, j: int, worst: float) -> None:
        nonlocal best
        worst = max(worst, float(np.linalg.norm(p[i] - q[j])))
        if worst >= best:
            return
        if i == n - 1 and j == m - 1:
            best = worst
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, worst)

    walk(0, 0, 0.0)
    return best


def test_frechet_matches_brute_force_and_known_values():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.normal(size=(rng.integers(2, 6), 2))
        q = rng.normal(size=(rng.integers(2, 6), 2))
        assert frechet_distance(p, q) == pytest.approx(frechet_brute_force(p, q))
    line = np.linspace(0, 1, 11)
    assert frechet_distance(line, line + 0.3) == pytest.approx(0.3)
    assert frechet_distance(line, line) == 0.0
    # A curve that doubles back is far from a straight one although their point sets are close.
    p = np.array([[0, 0], [1, 0], [0, 0.0], [1, 0]])
    q = np.array([[0, 0], [1, 0.0]])
    assert frechet_distance(p, q) == pytest.approx(frechet_brute_force(p, q)) and frechet_distance(p, q) >= 0.5


def test_scaling_by_truth_keeps_flat_curves_flat():
    truth = [np.linspace(-2, 2, 5), np.zeros(5)]
    scale = scale_by_truth(truth)
    est, tru = scale(np.full(5, 0.04), truth[1])
    assert rmse(est, tru) == pytest.approx(0.01)  # 0.04 / range 4, not blown up to [0, 1]
