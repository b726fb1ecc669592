"""The .npz file: the same fingerprint as a folder, never unpickled, never overwriting a foreign file."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from core.data import DataError, load_dataset, load_npz
from tests.helpers import tiny_dataset


def test_npz_round_trip_same_fingerprint(tmp_path):
    ds = tiny_dataset(25)
    p = ds.save(tmp_path / "d.npz")
    back = load_dataset(p)
    assert back.fingerprint == ds.fingerprint
    assert load_npz(io.BytesIO(ds.to_npz_bytes())).fingerprint == ds.fingerprint
    np.testing.assert_array_equal(back.images["X"], ds.images["X"])


def test_npz_with_pickled_objects_is_refused(tmp_path):
    p = tmp_path / "evil.npz"
    meta = np.array(json.dumps(tiny_dataset(2).meta()))
    np.savez(p, meta=meta, **{"col.C": np.array([object(), object()], dtype=object)})
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(p)


def test_refuses_to_overwrite_a_foreign_file(tmp_path):
    (tmp_path / "f.npz").write_text("not ours")
    with pytest.raises(DataError, match="not a dataset .npz"):
        tiny_dataset(3).save(tmp_path / "f.npz")
