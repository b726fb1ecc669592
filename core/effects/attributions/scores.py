"""Scores of estimated ACE curves against true ones.

RMSE and discrete Frechet distance between an estimated and a true curve after min-max scaling by
the TRUE curves' range (shared by the three curves of one input, so a flat true curve, e.g. a zero
direct effect, is not blown up into noise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from core.effects.attributions.curves import KINDS, Curves

Scores = dict[str, dict[str, dict[str, float]]]
"""{input: {kind: {"rmse": .., "frechet": ..}}}"""


def scale_by_truth(truths: Sequence[np.ndarray]) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A min-max scaler fixed by the true curves' joint range: returns scale(estimate, truth)."""
    lo = min(float(np.min(t)) for t in truths)
    hi = max(float(np.max(t)) for t in truths)
    span = hi - lo if hi > lo else 1.0

    def scale(est: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(est) - lo) / span, (np.asarray(truth) - lo) / span

    return scale


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """``sqrt(mean((a - b)^2))``."""
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def frechet_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Discrete Frechet distance between polylines p (n, k) and q (m, k) (Eiter & Mannila 1994):
    ``c(i, j) = max(d(p_i, q_j), min(c(i-1, j), c(i-1, j-1), c(i, j-1)))``, answer ``c(n-1, m-1)``.
    1-D inputs are treated as curves over an evenly spaced abscissa in [0, 1]."""
    p, q = _as_polyline(p), _as_polyline(q)
    d = np.sqrt(((p[:, None, :] - q[None, :, :]) ** 2).sum(-1))
    n, m = d.shape
    c = np.empty((n, m))
    c[0, 0] = d[0, 0]
    for i in range(1, n):
        c[i, 0] = max(c[i - 1, 0], d[i, 0])
    for j in range(1, m):
        c[0, j] = max(c[0, j - 1], d[0, j])
    for i in range(1, n):
        for j in range(1, m):
            c[i, j] = max(d[i, j], min(c[i - 1, j], c[i - 1, j - 1], c[i, j - 1]))
    return float(c[-1, -1])


def _as_polyline(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        return np.stack([np.linspace(0, 1, len(p)), p], axis=1)
    return p


def score_curves(estimated: Mapping[str, Curves], truth: Mapping[str, Curves]) -> Scores:
    """{input: {kind: {"rmse": .., "frechet": ..}}} after scaling by the true curves' range."""
    out: Scores = {}
    for name, t in truth.items():
        e = estimated[name]
        scale = scale_by_truth([t.get(k) for k in KINDS])
        out[name] = {}
        for k in KINDS:
            se, st = scale(e.get(k), t.get(k))
            out[name][k] = {"rmse": rmse(se, st), "frechet": frechet_distance(se, st)}
    return out


def mean_scores(scores: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Average each (kind, metric) over inputs."""
    return {
        k: {m: float(np.mean([scores[i][k][m] for i in scores])) for m in ("rmse", "frechet")} for k in KINDS
    }
