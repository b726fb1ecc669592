"""Columns: the node type a column's values suggest, and checking values against a node's type.

Canonical dtypes: ``int64`` for binary and categorical columns (codes 0..levels-1), ``float64`` for
continuous ones (finite), ``uint8`` arrays (n, C, H, W) for images.  Rows are counted from 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import WorkbenchError
from core.graph import Node
from core.graph.node import MAX_LEVELS


class DataError(WorkbenchError):
    """Data that does not fit a graph, or cannot be read.  One line naming the row and column."""


def infer_node(name: str, values: np.ndarray) -> Node:
    """The node type a column's values suggest: images by rank, 0/1 integers binary, other
    non-negative integers categorical (levels = max + 1, up to the node limit ``MAX_LEVELS``; more
    are counts or identifiers, read as continuous), everything else continuous."""
    values = np.asarray(values)
    if values.ndim == 4:
        return Node(name, "image", shape=tuple(int(s) for s in values.shape[1:]))
    if values.ndim != 1:
        raise DataError(f"column {name!r}: expected one value per row or images (n, C, H, W), got shape {values.shape}")
    if values.dtype == bool:
        return Node(name, "binary")
    if np.issubdtype(values.dtype, np.integer) and len(values) and values.min() >= 0:
        top = int(values.max())
        if top >= MAX_LEVELS:
            return Node(name, "continuous")
        return Node(name, "binary") if top <= 1 else Node(name, "categorical", levels=top + 1)
    return Node(name, "continuous")


def first_bad(mask: np.ndarray) -> int:
    """The first row where ``mask`` is True."""
    return int(np.flatnonzero(mask)[0])


def check_scalar_column(node: Node, values: np.ndarray | pd.Series | list) -> np.ndarray:
    """``values`` as int64 (discrete) or float64 (continuous), or a DataError naming the first bad row.

    Discrete: every value an integer in [0, levels), no missing values.  Continuous: finite numbers.
    """
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise DataError(f"column {node.name!r}: expected one value per row, got shape {raw.shape}")
    if raw.dtype == bool:
        raw = raw.astype(np.int64)
    if not (np.issubdtype(raw.dtype, np.number)):
        # Object or string columns: find the first entry that is not a number.
        as_num = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
        present = ~pd.isna(pd.Series(raw, dtype=object)).to_numpy()
        bad = present & np.isnan(as_num)
        if bad.any():
            i = first_bad(bad)
            raise DataError(f"row {i}, column {node.name!r}: {raw[i]!r} is not a number; the node is {node.type_text()}")
        raw = as_num
    if node.is_discrete:
        return _discrete(node, raw)
    if node.type == "continuous":
        out = raw.astype(np.float64)
        bad = ~np.isfinite(out)
        if bad.any():
            i = first_bad(bad)
            raise DataError(f"row {i}, column {node.name!r}: {out[i]} in a continuous column (values must be finite)")
        return out
    raise DataError(f"column {node.name!r}: a {node.type} node cannot hold scalar values")


def _discrete(node: Node, raw: np.ndarray) -> np.ndarray:
    """Numbers as int64 category codes in 0..levels-1, or a DataError naming the first bad row."""
    if np.issubdtype(raw.dtype, np.floating):
        if np.isnan(raw).any():
            i = first_bad(np.isnan(raw))
            raise DataError(f"row {i}, column {node.name!r}: missing value (NaN) in a discrete column")
        frac = ~np.isfinite(raw) | (raw != np.round(raw))
        if frac.any():
            i = first_bad(frac)
            raise DataError(f"row {i}, column {node.name!r}: {raw[i]:g} is not an integer category")
        outside = (raw < 0) | (raw >= node.levels)  # before the cast: 1e300 has no int64
        if outside.any():
            i = first_bad(outside)
            raise DataError(f"row {i}, column {node.name!r}: value {raw[i]:g} is outside 0..{node.levels - 1}; "
                            f"the node is {node.type_text()}")
    out = raw.astype(np.int64)
    bad = (out < 0) | (out >= node.levels)
    if bad.any():
        i = first_bad(bad)
        raise DataError(f"row {i}, column {node.name!r}: value {out[i]} is outside 0..{node.levels - 1}; the node is {node.type_text()}")
    return out


def check_image_column(node: Node, values: np.ndarray) -> np.ndarray:
    """``values`` as a uint8 array (n, C, H, W) matching the node's shape, or a DataError."""
    arr = np.asarray(values)
    if arr.ndim != 4:
        raise DataError(f"column {node.name!r}: images must be an array (n, C, H, W), got shape {arr.shape}")
    if tuple(arr.shape[1:]) != tuple(node.shape):
        got = "x".join(map(str, arr.shape[1:]))
        raise DataError(f"column {node.name!r}: images are {got} (CxHxW), the graph says {node.shape_text()}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or arr.min(initial=0) < 0 or arr.max(initial=0) > 255:
            raise DataError(f"column {node.name!r}: images must be uint8 in 0..255, got {arr.dtype}")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)
