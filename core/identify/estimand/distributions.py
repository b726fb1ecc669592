"""Discrete distributions an estimand is evaluated on: an exact joint table, or the empirical joint of a data frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd


class Distribution(Protocol):
    """What evaluation needs: cardinalities and marginal tables."""

    def card(self, name: str) -> int: ...

    def marginal(self, names: Sequence[str]) -> np.ndarray: ...


class JointTable:
    """An exact discrete joint: ``probs[i1, ..., ik] = P(names[0] = i1, ..., names[k-1] = ik)``.

    Marginals are computed on demand (vectorised sums over axes) and cached.
    """

    def __init__(self, names: Sequence[str], cards: Sequence[int], probs: np.ndarray) -> None:
        names = tuple(names)
        probs = np.asarray(probs, dtype=np.float64)
        if len(set(names)) != len(names):
            raise WorkbenchError(f"joint table lists a variable twice: {', '.join(names)}")
        if tuple(probs.shape) != tuple(int(c) for c in cards):
            raise WorkbenchError(f"joint table shape {probs.shape} does not match cardinalities {tuple(cards)}")
        if (probs < 0).any() or not np.isclose(probs.sum(), 1.0, atol=1e-9):
            raise WorkbenchError(f"joint table is not a probability distribution (sum {probs.sum():.6g})")
        self.names = names
        self.cards = tuple(int(c) for c in cards)
        self.probs = probs
        self._index = {v: i for i, v in enumerate(names)}
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def card(self, name: str) -> int:
        try:
            return self.cards[self._index[name]]
        except KeyError:
            raise WorkbenchError(f"unknown variable {name!r} (the distribution has {', '.join(self.names)})") from None

    def marginal(self, names: Sequence[str]) -> np.ndarray:
        """P(names) as an array with axes in the order of ``names``."""
        key = tuple(names)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        for v in key:
            self.card(v)
        keep = sorted(self._index[v] for v in key)
        drop = tuple(i for i in range(len(self.names)) if i not in keep)
        arr = self.probs.sum(axis=drop) if drop else self.probs
        kept_names = [self.names[i] for i in keep]
        arr = np.transpose(arr, [kept_names.index(v) for v in key]) if key else np.asarray(arr)
        self._cache[key] = arr
        return arr

    def conditional(self, vars: Sequence[str], given: Sequence[str] = ()) -> np.ndarray:
        """P(vars | given) with axes (vars..., given...); NaN where P(given) = 0."""
        joint = self.marginal(tuple(vars) + tuple(given))
        den = self.marginal(tuple(given)).reshape((1,) * len(vars) + tuple(self.card(g) for g in given))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, joint / np.where(den > 0, den, 1.0), np.nan)


class EmpiricalJoint:
    """The empirical distribution of a discrete data frame (columns hold level indices 0..k-1).

    Marginals are counted on demand (``np.bincount`` over mixed-radix codes), so wide tables never
    materialise the full joint.  This is what makes ``Estimand.evaluate`` a plug-in estimator.
    """

    def __init__(self, columns: Mapping[str, np.ndarray], cards: Mapping[str, int]) -> None:
        self.columns = {k: np.asarray(v, dtype=np.int64) for k, v in columns.items()}
        self.cards = dict(cards)
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise WorkbenchError("data columns have different lengths")
        self.n = lengths.pop() if lengths else 0
        if self.n == 0:
            raise WorkbenchError("the data table has no rows")
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    @classmethod
    def from_dataframe(cls, data: pd.DataFrame, cards: Mapping[str, int] | None = None) -> EmpiricalJoint:
        """Columns must hold integer levels 0..k-1; ``cards`` gives k (default: max + 1)."""
        cards = dict(cards or {})
        columns: dict[str, np.ndarray] = {}
        for name in data.columns:
            raw = np.asarray(data[name])
            if raw.dtype.kind not in "iub":
                if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
                    raw = raw.astype(np.int64)
                else:
                    raise WorkbenchError(f"column {name!r} is not discrete (integer levels 0..k-1 expected)")
            col = raw.astype(np.int64)
            if len(col) and col.min() < 0:
                raise WorkbenchError(f"column {name!r} has a negative level {int(col.min())}")
            k = cards.get(name, int(col.max()) + 1 if len(col) else 1)
            if len(col) and col.max() >= k:
                raise WorkbenchError(f"column {name!r} has level {int(col.max())} but only {k} levels")
            columns[str(name)] = col
            cards[str(name)] = int(k)
        return cls(columns, {k: v for k, v in cards.items() if k in columns})

    def card(self, name: str) -> int:
        try:
            return self.cards[name]
        except KeyError:
            raise WorkbenchError(f"the data has no column {name!r} (columns: {', '.join(self.columns)})") from None

    def marginal(self, names: Sequence[str]) -> np.ndarray:
        key = tuple(names)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        shape = tuple(self.card(v) for v in key)
        if not key:
            return np.asarray(1.0)
        code = np.zeros(self.n, dtype=np.int64)
        for v in key:
            code = code * self.card(v) + self.columns[v]
        counts = np.bincount(code, minlength=int(np.prod(shape)))
        arr = (counts / self.n).reshape(shape)
        self._cache[key] = arr
        return arr

