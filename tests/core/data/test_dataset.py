"""Dataset: construction, types and dtypes, validation against a graph, row subsets, the
fingerprint, and tensors for models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, Dataset
from core.graph import ADMG, Node
from tests.helpers import TinyWorld, tiny_dataset


def test_from_units_types_and_dtypes():
    ds = tiny_dataset(20)
    assert ds.n == len(ds) == 20
    assert ds.columns == ["C", "X", "Y", "B"]
    assert ds.image_columns == ["X"] and ds.scalar_columns == ["C", "Y", "B"]
    assert ds.table["C"].dtype == np.int64 and ds.table["Y"].dtype == np.float64
    assert ds.images["X"].dtype == np.uint8 and ds.images["X"].shape == (20, 3, 8, 8)
    assert ds.nodes["C"].levels == 3


def test_check_names_the_missing_column():
    g = TinyWorld().graph.with_node(Node("Z", "binary"))
    with pytest.raises(DataError, match="missing column for graph node 'Z'"):
        tiny_dataset(5).check(g)


def test_check_discrete_out_of_range_names_row_and_column():
    ds = Dataset(pd.DataFrame({"C": [0, 1, 2, 5]}))
    g = ADMG([Node("C", "categorical", levels=3)])
    with pytest.raises(DataError, match=r"row 3, column 'C': value 5 is outside 0..2"):
        ds.check(g)


def test_wrong_image_shape_is_named():
    ds = tiny_dataset(5, size=8)
    with pytest.raises(DataError, match=r"column 'X': images are 3x8x8 .*graph says 3x16x16"):
        ds.check(TinyWorld(16).graph)


def test_type_mismatch_image_vs_scalar():
    g = ADMG([Node("X", "image", shape=(1, 2, 2))])
    with pytest.raises(DataError, match="holds scalars but the graph says it is an image"):
        Dataset(pd.DataFrame({"X": [0.5, 1.0]})).check(g)


def test_subset_and_with_graph():
    ds = tiny_dataset(30)
    sub = ds.subset(np.array([3, 7, 9]))
    assert sub.n == 3
    np.testing.assert_array_equal(sub.images["X"][1], ds.images["X"][7])
    assert sub.table["Y"].iloc[2] == ds.table["Y"].iloc[9]
    img_only = Dataset(pd.DataFrame(), {"X": ds.images["X"]})
    assert img_only.n == 30 and img_only.subset(slice(0, 4)).n == 4


def test_fingerprint_sees_one_pixel():
    ds = tiny_dataset(10)
    images = ds.images["X"].copy()
    images[4, 0, 0, 0] ^= 1
    other = Dataset(ds.table.copy(), {"X": images}, dict(ds.nodes), ds.graph)
    assert other.fingerprint != ds.fingerprint
    same = Dataset(ds.table.copy(), {"X": ds.images["X"].copy()}, dict(ds.nodes), ds.graph)
    assert same.fingerprint == ds.fingerprint


def test_tensors_for_models_and_back():
    import torch

    ds = tiny_dataset(6)
    t = ds.to_tensors()
    assert t["X"].dtype == torch.float32 and t["X"].shape == (6, 3, 8, 8)
    assert t["C"].dtype == torch.int64 and t["Y"].dtype == torch.float32
    # Model outputs straight back into a dataset.
    back = Dataset.from_values({"C": t["C"], "X": t["X"], "Y": t["Y"].double(), "B": t["B"]}, ds.graph)
    np.testing.assert_array_equal(back.images["X"], ds.images["X"])
