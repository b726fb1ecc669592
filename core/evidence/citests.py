"""Conditional independence tests of x _||_ y | Z on data, and multiple-testing corrections.

* discrete x, y and Z: the G-test (likelihood ratio; Pearson's chi-square on request), summed over
  the strata of Z:  G = 2 sum O ln(O / E) with E = (row total)(column total) / (stratum total),
  degrees of freedom sum_s (r_s - 1)(c_s - 1) over the levels seen in stratum s;
* continuous x and y: Fisher's z of the partial correlation r (residuals of x and y after least
  squares on Z, discrete Z one-hot):  z = atanh(r) sqrt(n - k - 3), k the columns of Z, p = 2 Phi(-|z|);
* mixed: nested regressions.  One of x, y continuous: the F-test of adding the other (one-hot when
  discrete) to a least-squares regression of the continuous one on Z.  Both discrete with a
  continuous Z: the likelihood-ratio test of adding x to a multinomial logistic regression of y on Z
  (chi-square with (levels(y) - 1) * columns(x) degrees of freedom).

Holm's step-down and Benjamini-Hochberg adjust a family of p-values.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from core.errors import WorkbenchError


@dataclass(frozen=True)
class CIResult:
    """One test: its name, statistic, degrees of freedom (for F: numerator, denominator), p-value, rows."""

    method: str
    statistic: float
    dof: tuple[float, ...]
    p_value: float
    n: int


@dataclass(frozen=True)
class Column:
    """A variable's values for a test: discrete codes 0..levels-1, or real numbers (``levels`` None)."""

    values: np.ndarray
    levels: int | None = None

    @property
    def discrete(self) -> bool:
        return self.levels is not None

    def design(self) -> np.ndarray:
        """The columns a regression uses: one-hot without the first level, or the value itself."""
        if self.discrete:
            codes = self.values.astype(np.int64)
            return np.eye(self.levels, dtype=np.float64)[codes][:, 1:]
        return self.values.astype(np.float64).reshape(len(self.values), -1)


def ci_test(x: Column, y: Column, given: Sequence[Column] = (), *, discrete_method: str = "g") -> CIResult:
    """The test the variable types call for (module docstring)."""
    n = len(x.values)
    if n == 0 or len(y.values) != n or any(len(c.values) != n for c in given):
        raise WorkbenchError("the columns of a test must have the same, non-zero number of rows")
    if x.discrete and y.discrete and all(c.discrete for c in given):
        return g_test(x, y, given, pearson=discrete_method == "chi2")
    if not x.discrete and not y.discrete:
        return fisher_z(x, y, given)
    if not y.discrete or not x.discrete:
        response, other = (y, x) if not y.discrete else (x, y)
        return regression_f_test(response, other, given)
    return logistic_lr_test(y, x, given)


def _strata(given: Sequence[Column], n: int) -> tuple[np.ndarray, int]:
    """Each row's stratum of Z (0..S-1) and the number S of strata seen."""
    if not given:
        return np.zeros(n, dtype=np.int64), 1
    codes = np.stack([c.values.astype(np.int64) for c in given], axis=1)
    _, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, int(inverse.max()) + 1


def g_test(x: Column, y: Column, given: Sequence[Column] = (), *, pearson: bool = False) -> CIResult:
    """The stratified G-test (or Pearson chi-square) of x _||_ y | Z for discrete variables."""
    n = len(x.values)
    stratum, strata = _strata(given, n)
    kx, ky = int(x.levels), int(y.levels)
    cell = (stratum * kx + x.values.astype(np.int64)) * ky + y.values.astype(np.int64)
    observed = np.bincount(cell, minlength=strata * kx * ky).reshape(strata, kx, ky).astype(np.float64)
    rows = observed.sum(axis=2, keepdims=True)
    cols = observed.sum(axis=1, keepdims=True)
    totals = observed.sum(axis=(1, 2), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(totals > 0, rows * cols / np.where(totals > 0, totals, 1.0), 0.0)
        if pearson:
            terms = np.where(expected > 0, (observed - expected) ** 2 / np.where(expected > 0, expected, 1.0), 0.0)
            statistic = float(terms.sum())
        else:
            terms = np.where(observed > 0, observed * np.log(observed / np.where(expected > 0, expected, 1.0)), 0.0)
            statistic = float(2.0 * terms.sum())
    seen_rows = (rows[:, :, 0] > 0).sum(axis=1)
    seen_cols = (cols[:, 0, :] > 0).sum(axis=1)
    dof = float(np.sum(np.maximum(seen_rows - 1, 0) * np.maximum(seen_cols - 1, 0)))
    p = float(stats.chi2.sf(statistic, dof)) if dof > 0 else 1.0
    return CIResult("chi-square" if pearson else "G-test", statistic, (dof,), p, n)


def _covariates(given: Sequence[Column], n: int) -> np.ndarray:
    """The intercept and every column of Z's design."""
    return np.column_stack([np.ones(n)] + [c.design() for c in given])


def _residuals(target: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return target - design @ coef


def fisher_z(x: Column, y: Column, given: Sequence[Column] = ()) -> CIResult:
    """Fisher's z test of zero partial correlation of continuous x and y given Z."""
    n = len(x.values)
    design = _covariates(given, n)
    k = np.linalg.matrix_rank(design) - 1
    if n - k - 3 < 1:
        raise WorkbenchError(f"too few rows ({n}) for Fisher's z with {k} conditioning columns")
    rx = _residuals(x.values.astype(np.float64), design)
    ry = _residuals(y.values.astype(np.float64), design)
    denominator = float(np.sqrt((rx @ rx) * (ry @ ry)))
    r = float(rx @ ry) / denominator if denominator > 0 else 0.0
    r = min(max(r, -1 + 1e-15), 1 - 1e-15)
    z = float(np.arctanh(r) * np.sqrt(n - k - 3))
    return CIResult("Fisher z", z, (float(n - k - 3),), float(2 * stats.norm.sf(abs(z))), n)


def regression_f_test(response: Column, other: Column, given: Sequence[Column] = ()) -> CIResult:
    """The F-test of adding ``other`` to the least-squares regression of the continuous ``response`` on Z."""
    n = len(response.values)
    base = _covariates(given, n)
    full = np.column_stack([base, other.design()])
    p0, p1 = np.linalg.matrix_rank(base), np.linalg.matrix_rank(full)
    q, dof2 = p1 - p0, n - p1
    if q == 0:
        return CIResult("regression F", 0.0, (0.0, float(dof2)), 1.0, n)
    if dof2 < 1:
        raise WorkbenchError(f"too few rows ({n}) for a regression on {p1} columns")
    target = response.values.astype(np.float64)
    rss0 = float(np.sum(_residuals(target, base) ** 2))
    rss1 = float(np.sum(_residuals(target, full) ** 2))
    f = ((rss0 - rss1) / q) / (rss1 / dof2) if rss1 > 0 else (0.0 if rss0 <= 0 else np.inf)
    return CIResult("regression F", float(f), (float(q), float(dof2)), float(stats.f.sf(f, q, dof2)), n)


def _log_likelihood(y: np.ndarray, design: np.ndarray, levels: int) -> float:
    """Maximised log-likelihood of a multinomial logistic regression of y on the design (no penalty)."""
    from sklearn.linear_model import LogisticRegression

    seen = np.unique(y)
    if len(seen) == 1:
        return 0.0
    model = LogisticRegression(penalty=None, max_iter=500, fit_intercept=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and slow convergence: the likelihood is still a bound
        model.fit(design, y)
    probs = model.predict_proba(design)
    index = np.searchsorted(model.classes_, y)
    return float(np.sum(np.log(np.clip(probs[np.arange(len(y)), index], 1e-300, None))))


def logistic_lr_test(response: Column, other: Column, given: Sequence[Column] = ()) -> CIResult:
    """The likelihood-ratio test of adding ``other`` to a multinomial logistic regression of the
    discrete ``response`` on Z."""
    n = len(response.values)
    base = _covariates(given, n)
    full = np.column_stack([base, other.design()])
    q = np.linalg.matrix_rank(full) - np.linalg.matrix_rank(base)
    levels = len(np.unique(response.values))
    dof = float(q * max(levels - 1, 0))
    if dof == 0:
        return CIResult("logistic LR", 0.0, (0.0,), 1.0, n)
    y = response.values.astype(np.int64)
    statistic = max(0.0, 2.0 * (_log_likelihood(y, full, levels) - _log_likelihood(y, base, levels)))
    return CIResult("logistic LR", statistic, (dof,), float(stats.chi2.sf(statistic, dof)), n)


# --------------------------------------------------------------------------------------------------
# Multiple testing

CORRECTIONS = ("holm", "bh", "none")


def adjust_p_values(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values: Holm's step-down (family-wise error), Benjamini-Hochberg (false discovery
    rate, :func:`scipy.stats.false_discovery_control`) or none."""
    p = np.asarray(p_values, dtype=np.float64)
    if method not in CORRECTIONS:
        raise WorkbenchError(f"unknown correction {method!r} (one of {', '.join(CORRECTIONS)})")
    if p.size == 0 or method == "none":
        return p.copy()
    if method == "bh":
        return stats.false_discovery_control(p, method="bh")
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty_like(p)
    out[order] = stepped
    return out
