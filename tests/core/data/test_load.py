"""Loading from a path, whatever the format; any dataset survives a folder and an .npz round trip
bit for bit (a property test)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import DataError, Dataset, load_dataset
from core.graph import ADMG, Node
from tests.core.data.files import write_csv


def test_paths_that_hold_no_dataset_are_named(tmp_path):
    with pytest.raises(DataError, match="data not found"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"cannot read 'notes.txt': expected a dataset folder, a .csv or a .npz"):
        load_dataset(tmp_path / "notes.txt")
    both = tmp_path / "both"
    both.mkdir()
    write_csv(both, "a.csv", {"A": [0, 1]})
    write_csv(both, "b.csv", {"A": [0, 1]})
    with pytest.raises(DataError, match=r"holds several CSV files \(a.csv, b.csv\): name one"):
        load_dataset(both)
    (both / "b.csv").unlink()
    assert load_dataset(both).columns == ["A"]


def _random_dataset_strategy():
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        n = draw(st.integers(1, 5))
        levels = draw(st.integers(2, 6))
        channels = draw(st.sampled_from([1, 3]))
        h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
        values = {
            "b": np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64),
            "k": np.array(draw(st.lists(st.integers(0, levels - 1), min_size=n, max_size=n)), dtype=np.int64),
            "z": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
            "img": np.frombuffer(draw(st.binary(min_size=n * channels * h * w, max_size=n * channels * h * w)),
                                 dtype=np.uint8).reshape(n, channels, h, w),
        }
        g = ADMG([Node("b", "binary"), Node("k", "categorical", levels=levels), Node("z", "continuous"),
                  Node("img", "image", shape=(channels, h, w))], [("b", "img"), ("k", "z")], [("b", "z")])
        return Dataset.from_values(values, g)

    return build()


def test_round_trips_are_exact_property(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_random_dataset_strategy())
    def check(ds):
        root = tmp_path_factory.mktemp("rt")
        folder = load_dataset(ds.save(root / "ds"))
        npz = load_dataset(ds.save(root / "ds.npz"))
        for back in (folder, npz):
            assert back.fingerprint == ds.fingerprint
            assert back.graph == ds.graph
            for v in ds.columns:
                np.testing.assert_array_equal(back.column(v), ds.column(v))

    check()
