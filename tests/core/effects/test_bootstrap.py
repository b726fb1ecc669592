"""Bootstrap means and percentile intervals."""

from __future__ import annotations

import numpy as np

from core.effects.bootstrap import Estimate, bootstrap_means, exact, percentile_interval


def test_bootstrap_is_vectorised_seeded_and_right():
    x = np.random.default_rng(0).normal(3.0, 2.0, 2000)
    a = bootstrap_means(x, 500, seed=1)
    b = bootstrap_means(x, 500, seed=1)
    assert np.array_equal(a, b) and a.shape == (500,)
    assert abs(a.std() - 2.0 / np.sqrt(2000)) < 0.01  # standard error of the mean
    paired = bootstrap_means(np.stack([x, 2 * x], 1), 300, seed=2)
    assert np.allclose(paired[:, 1], 2 * paired[:, 0])  # columns resampled together
    est = percentile_interval(x.mean(), a)
    assert est.low < 3.0 < est.high


def test_exact_values_and_draws_without_finite_values():
    assert exact(0.5) == Estimate(0.5, 0.5, 0.5) and str(exact(0.5)) == "+0.5000 [+0.5000, +0.5000]"
    est = percentile_interval(1.0, np.array([np.nan, np.inf]))
    assert est.value == 1.0 and np.isnan(est.low) and np.isnan(est.high)
