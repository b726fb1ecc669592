"""A number for the question: the plug-in estimate of an estimand on discrete data, with a
percentile bootstrap interval.

The estimand (ID's, or an adjustment or front-door formula) is evaluated on the empirical joint
of the data (:class:`core.identify.estimand.EmpiricalJoint`), giving P(y | do(x)) for every level
of the outcome and treatment.  The bootstrap re-draws the rows ``n_boot`` times with replacement,
re-evaluates, and takes the (1 - level)/2 and (1 + level)/2 quantiles of each cell; a resample in
which some conditioning event of the formula never occurs is left out (and counted).  For one
binary treatment and one binary outcome the average causal effect P(y=1 | do(x=1)) -
P(y=1 | do(x=0)) gets its interval the same way, resample by resample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data.columns import DataError
from core.data.dataset import Dataset
from core.errors import WorkbenchError
from core.identify.estimand import EmpiricalJoint, Estimand, Fraction, P, Product, Sum

MAX_BOOT = 10_000


@dataclass(frozen=True)
class PlugInEstimate:
    """P(outcome | do(treatment)) per cell (axes: outcome nodes then treatment nodes, in order),
    with bootstrap bounds; ``effect`` (value, low, high) for a binary treatment and outcome."""

    outcome: tuple[str, ...]
    treatment: tuple[str, ...]
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float
    resamples: int  # bootstrap resamples used
    dropped: int  # resamples where the formula was undefined
    effect: tuple[float, float, float] | None = None


def plug_in_estimate(
    estimand: Estimand,
    data: Dataset,
    treatment: Sequence[str],
    outcome: Sequence[str],
    *,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> PlugInEstimate:
    """The estimand on ``data`` with a percentile bootstrap interval (module docstring)."""
    if not 1 <= n_boot <= MAX_BOOT:
        raise WorkbenchError(f"the number of bootstrap resamples must be between 1 and {MAX_BOOT}, got {n_boot}")
    if not 0 < level < 1:
        raise WorkbenchError(f"the interval level must be between 0 and 1, got {level}")
    x, y = list(treatment), list(outcome)
    variables = sorted(mentioned(estimand) | set(x) | set(y))
    cards = _cards(data, variables)
    columns = {v: data.column(v).astype(np.int64) for v in variables}
    value = estimand.table(EmpiricalJoint(columns, cards), y + x)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        rows = rng.integers(0, data.n, size=data.n)
        try:
            draws.append(estimand.table(EmpiricalJoint({v: c[rows] for v, c in columns.items()}, cards), y + x))
        except WorkbenchError:
            continue  # a conditioning event absent from this resample
    if not draws:
        raise DataError("no bootstrap resample could evaluate the formula: some combination of values is too rare")
    stack = np.stack(draws)
    tail = (1 - level) / 2
    low, high = np.quantile(stack, [tail, 1 - tail], axis=0)
    effect = None
    if len(x) == 1 and len(y) == 1 and cards[x[0]] == 2 and cards[y[0]] == 2:
        contrasts = stack[:, 1, 1] - stack[:, 1, 0]
        lo, hi = np.quantile(contrasts, [tail, 1 - tail])
        effect = (float(value[1, 1] - value[1, 0]), float(lo), float(hi))
    return PlugInEstimate(tuple(y), tuple(x), value, low, high, level, len(draws), n_boot - len(draws), effect)


def mentioned(estimand: Estimand) -> set[str]:
    """Every variable an estimand names, bound ones included (the columns evaluating it reads)."""
    out: set[str] = set()
    stack = [estimand]
    while stack:
        e = stack.pop()
        if isinstance(e, P):
            out |= set(e.vars) | set(e.given)
        elif isinstance(e, Sum):
            out |= set(e.over)
            stack.append(e.of)
        elif isinstance(e, Product):
            stack.extend(e.of)
        elif isinstance(e, Fraction):
            stack += [e.num, e.den]
    return out


def _cards(data: Dataset, variables: Sequence[str]) -> dict[str, int]:
    """Levels of each variable; every one must be a discrete column of the data."""
    cards = {}
    for v in variables:
        if v not in data:
            raise DataError(f"the data set has no column {v!r}, which the formula needs")
        node = data.node(v)
        if not node.is_discrete:
            raise DataError(f"{v} is {node.type}: a plug-in estimate needs discrete columns")
        cards[v] = int(node.levels)
    return cards
