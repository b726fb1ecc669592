"""Column checks: values against a node's type, each error naming the first bad row and the column."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.columns import DataError, check_scalar_column, infer_node
from core.graph import Node


def test_scalar_column_checks():
    node = Node("Y", "binary")
    with pytest.raises(DataError, match=r"row 1, column 'Y': missing value \(NaN\)"):
        check_scalar_column(node, np.array([0.0, np.nan]))
    with pytest.raises(DataError, match=r"row 2, column 'Y': 0.5 is not an integer category"):
        check_scalar_column(node, np.array([0.0, 1.0, 0.5]))
    with pytest.raises(DataError, match=r"row 0, column 'Y': 'cat' is not a number"):
        check_scalar_column(node, np.array(["cat", "1"], dtype=object))
    cont = Node("Z", "continuous")
    with pytest.raises(DataError, match=r"row 1, column 'Z': inf"):
        check_scalar_column(cont, np.array([0.0, np.inf]))
    assert check_scalar_column(node, np.array([1.0, 0.0])).dtype == np.int64


def test_types_inferred_from_values():
    assert infer_node("b", np.array([0, 1, 1])).type == "binary"
    assert infer_node("k", np.array([0, 4, 2])) == Node("k", "categorical", levels=5)
    assert infer_node("z", np.array([-1, 2])).type == "continuous"
    assert infer_node("f", np.array([0.5, 1.0])).type == "continuous"
    # more levels than a categorical node may have: an identifier or a count, not a category
    assert infer_node("id", np.array([0, 10_000, 123_456])).type == "continuous"
    assert infer_node("k", np.array([0, 9_999])) == Node("k", "categorical", levels=10_000)
    assert infer_node("t", np.array([True, False])).type == "binary"
    assert infer_node("i", np.zeros((2, 3, 4, 5), np.uint8)).shape == (3, 4, 5)
    with pytest.raises(DataError, match=r"column 'm': expected one value per row or images"):
        infer_node("m", np.zeros((2, 2)))
