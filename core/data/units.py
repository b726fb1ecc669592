"""Units: a batch of sampled values (and the exogenous noise behind them), and do-values.

Values of a batch of n units: scalars are numpy arrays of shape (n,) (int64 for binary/categorical,
float64 for continuous); images are uint8 arrays of shape (n, C, H, W).  Ground-truth worlds
(``core.worlds``) and trained models (``core.scm``) both answer in these conventions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from core.errors import WorkbenchError

# Which units to keep: a slice, an integer array or a boolean mask (anything numpy indexes with).
UnitIndex: TypeAlias = slice | np.ndarray | list[int]

# A do-value: a scalar, a category, one image (C, H, W), an array with one value per unit, or a
# function of the units (given the values computed so far) returning one value per unit.
DoValue: TypeAlias = float | int | np.ndarray | Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass
class Units:
    """A batch of sampled units: observed values plus the exogenous noise that produced them."""

    values: dict[str, np.ndarray]
    noise: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        for v in self.values.values():
            return len(v)
        return 0

    def subset(self, index: UnitIndex) -> Units:
        return Units(
            {k: v[index] for k, v in self.values.items()},
            {k: v[index] for k, v in self.noise.items()},
        )

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]


def broadcast_do_value(value: DoValue, n: int, like: Mapping[str, np.ndarray], node_type: str) -> np.ndarray:
    """Turn one do-value into an array with one entry per unit."""
    if callable(value):
        out = np.asarray(value(dict(like)))
        if len(out) != n:
            raise WorkbenchError(f"a do() function returned {len(out)} values for {n} units")
        return out
    arr = np.asarray(value)
    if node_type == "image":
        if arr.ndim == 3:
            return np.broadcast_to(arr.astype(np.uint8), (n, *arr.shape)).copy()
        if arr.ndim == 4 and len(arr) == n:
            return arr.astype(np.uint8)
        raise WorkbenchError(f"an image do-value must be (C, H, W) or (n, C, H, W), got shape {arr.shape}")
    if arr.ndim == 0:
        dtype = np.float64 if node_type == "continuous" else np.int64
        return np.full(n, arr.item(), dtype=dtype)
    if arr.shape == (n,):
        return arr
    raise WorkbenchError(f"a do-value must be one value or one per unit ({n}), got shape {arr.shape}")
