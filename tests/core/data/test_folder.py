"""The dataset folder: exact round trips, fingerprints checked on load, atomic writes that never
leave debris or overwrite what is not a dataset."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, folder, load_dataset
from core.graph import ADMG
from tests.helpers import tiny_dataset


def test_folder_round_trip_is_exact(tmp_path):
    ds = tiny_dataset(40)
    out = ds.save(tmp_path / "ds")
    assert sorted(os.listdir(out)) == ["data.csv", "images", "meta.json"]
    assert (out / "images" / "X" / "39.png").is_file()
    csv = pd.read_csv(out / "data.csv")
    assert list(csv.columns) == ["C", "X", "Y", "B"] and csv["X"][5] == "images/X/5.png"
    meta = json.loads((out / "meta.json").read_text())
    assert meta["n"] == 40 and meta["fingerprint"] == ds.fingerprint and meta["world"]["name"] == "tiny"
    assert ADMG.from_json(meta["graph"]) == ds.graph
    back = load_dataset(out)
    assert back.fingerprint == ds.fingerprint
    np.testing.assert_array_equal(back.images["X"], ds.images["X"])
    np.testing.assert_array_equal(back.table["Y"].to_numpy(), ds.table["Y"].to_numpy())  # exact floats
    assert back.graph == ds.graph and back.world == ds.world
    # No temporary folders left beside the target.
    assert os.listdir(tmp_path) == ["ds"]


def test_tampered_folder_is_detected(tmp_path):
    out = tiny_dataset(10).save(tmp_path / "ds")
    csv = pd.read_csv(out / "data.csv")
    csv.loc[3, "C"] = (csv.loc[3, "C"] + 1) % 3
    csv.to_csv(out / "data.csv", index=False)
    with pytest.raises(DataError, match="fingerprint mismatch"):
        load_dataset(out)


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(DataError, match="not a dataset"):
        tiny_dataset(3).save(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_overwrites_a_dataset_and_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    tiny_dataset(3).save(tmp_path / "empty")
    out = tiny_dataset(5, seed=1).save(tmp_path / "ds")
    ds2 = tiny_dataset(7, seed=2)
    ds2.save(out)
    assert load_dataset(out).fingerprint == ds2.fingerprint
    assert sorted(os.listdir(tmp_path)) == ["ds", "empty"]

def test_failed_write_leaves_old_data_and_no_debris(tmp_path, monkeypatch):
    old = tiny_dataset(5, seed=1)
    out = old.save(tmp_path / "ds")

    def boom(stored, root):
        (root / "data.csv").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(folder, "write_files", boom)
    with pytest.raises(OSError):
        tiny_dataset(7, seed=2).save(out)
    assert os.listdir(tmp_path) == ["ds"]
    assert load_dataset(out).fingerprint == old.fingerprint

def test_is_dataset_folder(tmp_path):
    out = tiny_dataset(3).save(tmp_path / "ds")
    assert folder.is_dataset_folder(out)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "meta.json").write_text("{not json")
    assert not folder.is_dataset_folder(tmp_path / "other") and not folder.is_dataset_folder(tmp_path / "none")


@pytest.mark.slow
def test_png_folder_of_10k_rows_loads_quickly(tmp_path):
    import time

    ds = tiny_dataset(10_000, size=16)
    t0 = time.perf_counter()
    out = ds.save(tmp_path / "big")
    t1 = time.perf_counter()
    back = load_dataset(out)
    t2 = time.perf_counter()
    print(f"10k rows of 3x16x16: save {t1 - t0:.2f} s, load {t2 - t1:.2f} s")
    assert back.fingerprint == ds.fingerprint
    assert t2 - t1 < 30
