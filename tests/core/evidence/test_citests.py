"""Conditional independence tests reject at the nominal rate when the null holds and detect a
dependence; the corrections match their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.errors import WorkbenchError
from core.evidence.citests import Column, adjust_p_values, ci_test, fisher_z, g_test, logistic_lr_test


def _discrete(rng, n, levels, parents=(), strength=0.0):
    """Codes 0..levels-1, shifted towards sum(parents) with probability ``strength``."""
    base = rng.integers(0, levels, n)
    if parents:
        shifted = np.sum(parents, axis=0) % levels
        return np.where(rng.random(n) < strength, shifted, base)
    return base


# Replications of a null check: a quick run, and a thorough one (marked slow).
REPLICATIONS = [100, pytest.param(1000, marks=pytest.mark.slow)]


def _rejection_rate(draw, reps, alpha=0.05):
    return np.mean([draw(seed).p_value < alpha for seed in range(reps)])


def _null_band(reps, alpha=0.05):
    """An interval the rejection count of a level-alpha test lands in with probability 0.998."""
    lo, hi = stats.binom.ppf([0.001, 0.999], reps, alpha)
    return lo / reps, hi / reps


@pytest.mark.parametrize("reps", REPLICATIONS)
def test_g_test_holds_its_level_given_a_common_cause_and_detects_a_dependence(reps):
    def null(seed):  # X <- Z -> Y: independent given Z
        rng = np.random.default_rng(seed)
        z = rng.integers(0, 3, 600)
        x = _discrete(rng, 600, 2, [z], 0.6)
        y = _discrete(rng, 600, 3, [z], 0.6)
        return g_test(Column(x, 2), Column(y, 3), [Column(z, 3)])

    lo, hi = _null_band(reps)
    assert lo <= _rejection_rate(null, reps) <= hi

    def planted(seed):
        rng = np.random.default_rng(seed)
        z = rng.integers(0, 3, 600)
        x = _discrete(rng, 600, 2, [z], 0.6)
        y = _discrete(rng, 600, 3, [z, x], 0.6)
        return g_test(Column(x, 2), Column(y, 3), [Column(z, 3)])

    assert _rejection_rate(planted, 50) > 0.95


def test_pearson_and_g_agree_on_large_tables():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 2, 5000), rng.integers(0, 2, 5000)
    g, chi = g_test(Column(x, 2), Column(y, 2)), g_test(Column(x, 2), Column(y, 2), pearson=True)
    assert chi.method == "chi-square" and abs(g.statistic - chi.statistic) < 0.05
    reference = stats.chi2_contingency(np.histogram2d(x, y, bins=2)[0], correction=False, lambda_="log-likelihood")
    assert g.statistic == pytest.approx(reference.statistic) and g.p_value == pytest.approx(reference.pvalue)


@pytest.mark.parametrize("reps", REPLICATIONS)
def test_fisher_z_holds_its_level_and_detects_a_dependence(reps):
    def data(seed, effect):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=300)
        x = z + rng.normal(size=300)
        y = 0.8 * z + effect * x + rng.normal(size=300)
        return fisher_z(Column(x), Column(y), [Column(z)])

    lo, hi = _null_band(reps)
    assert lo <= _rejection_rate(lambda s: data(s, 0.0), reps) <= hi
    assert _rejection_rate(lambda s: data(s, 0.3), 50) > 0.95


@pytest.mark.parametrize("reps", REPLICATIONS)
def test_mixed_regression_tests_hold_their_level_and_detect_a_dependence(reps):
    def continuous_response(seed, effect):  # discrete x, continuous y, discrete Z
        rng = np.random.default_rng(seed)
        z = rng.integers(0, 3, 300)
        x = _discrete(rng, 300, 3, [z], 0.5)
        y = z + effect * (x == 1) + rng.normal(size=300)
        return ci_test(Column(x, 3), Column(y), [Column(z, 3)])

    assert continuous_response(0, 0).method == "regression F"
    lo, hi = _null_band(reps)
    assert lo <= _rejection_rate(lambda s: continuous_response(s, 0.0), reps) <= hi
    assert _rejection_rate(lambda s: continuous_response(s, 0.8), 50) > 0.95

    def discrete_response(seed, effect):  # discrete x and y, continuous Z
        rng = np.random.default_rng(seed)
        z = rng.normal(size=400)
        x = (z + rng.normal(size=400) > 0).astype(int)
        y = (0.8 * z + effect * x + rng.logistic(size=400) > 0).astype(int)
        return ci_test(Column(x, 2), Column(y, 2), [Column(z)])

    assert discrete_response(0, 0).method == "logistic LR"
    fits = reps // 10  # each test fits two logistic regressions
    lo, hi = _null_band(fits)
    assert lo <= _rejection_rate(lambda s: discrete_response(s, 0.0), fits) <= hi
    assert _rejection_rate(lambda s: discrete_response(s, 1.5), 10) > 0.85


def test_logistic_test_of_a_constant_response_is_one():
    assert logistic_lr_test(Column(np.zeros(50, int), 2), Column(np.arange(50) % 2, 2)).p_value == 1.0


def test_holm_and_benjamini_hochberg():
    p = [0.01, 0.04, 0.03, 0.005]
    assert adjust_p_values(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_p_values(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust_p_values(p, "none") == pytest.approx(p)
    assert adjust_p_values([], "holm").size == 0
    with pytest.raises(WorkbenchError, match="unknown correction 'bonf'"):
        adjust_p_values(p, "bonf")


def test_bad_columns_are_one_line():
    with pytest.raises(WorkbenchError, match="same, non-zero number of rows"):
        ci_test(Column(np.array([], int), 2), Column(np.array([], int), 2))
    with pytest.raises(WorkbenchError, match="too few rows"):
        fisher_z(Column(np.arange(4.0)), Column(np.arange(4.0)), [Column(np.arange(4.0))])
