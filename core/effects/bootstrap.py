"""Point estimates with percentile bootstrap intervals.

For a sample ``y_1..y_n`` the bootstrap draws ``B`` resamples with replacement and takes their means
``m_1..m_B``; the level-``L`` interval is ``[q_{(1-L)/2}(m), q_{(1+L)/2}(m)]``.  Contrasts of means
(``mu(a) - mu(b)``) take the interval of the difference of the two draws, resample by resample.
Resampling is vectorised and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import WorkbenchError


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval (``low == high == value`` when exact)."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"

    def covers(self, x: float) -> bool:
        return self.low <= x <= self.high


def exact(value: float) -> Estimate:
    """A value known without sampling error: its interval is the point itself."""
    return Estimate(float(value), float(value), float(value))


def bootstrap_means(samples: np.ndarray, n_boot: int = 1000, seed: int = 0, chunk: int = 200_000) -> np.ndarray:
    """Means of ``n_boot`` resamples of the rows of ``samples`` ((n,) or (n, k) for paired columns that
    must be resampled together): returns (n_boot,) or (n_boot, k).  Vectorised, in chunks of about
    ``chunk`` drawn indices so memory stays bounded."""
    x = np.asarray(samples, dtype=np.float64)
    squeeze = x.ndim == 1
    x = x.reshape(len(x), -1)
    n = len(x)
    if n == 0:
        raise WorkbenchError("no samples to average (the conditioning event never happened)")
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, x.shape[1]))
    step = max(1, chunk // n)
    for start in range(0, n_boot, step):
        stop = min(n_boot, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].mean(axis=1)
    return out[:, 0] if squeeze else out


def percentile_interval(point: float, draws: np.ndarray, level: float = 0.95) -> Estimate:
    """``point`` with the central ``level`` quantiles of its bootstrap ``draws`` (non-finite draws,
    e.g. ratios over a zero mean, are left out; none left: a NaN interval)."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return Estimate(float(point), float("nan"), float("nan"))
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(float(point), float(lo), float(hi))
