"""Morpho-MNIST's layout: world digits written as gzipped IDX files and morpho CSVs import back
(the t10k rows held out); the images stream one at a time; every bad input is one line."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from core.data import DataError, load_dataset
from core.data.load import detect_layout, open_source
from core.data.morpho_idx import read_idx, write_morpho_idx
from core.data.sources import Preparation, import_source
from core.graph import Node


@pytest.fixture(scope="module")
def digits():
    from core.worlds.registry import sample_dataset

    ds, _ = sample_dataset("morpho_digits", 60, seed=0, params={"size": 16})
    return ds


def test_digits_as_idx_files_import_back(digits, tmp_path):
    write_morpho_idx(digits, tmp_path / "mnist", test_rows=10)
    names = sorted(p.name for p in (tmp_path / "mnist").iterdir())
    assert names == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-morpho.csv",
                     "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "train-morpho.csv"]
    assert read_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz").shape == (50, 16, 16)
    assert detect_layout(tmp_path / "mnist") == "morpho-idx"
    back = load_dataset(tmp_path / "mnist")
    assert back.columns == ["digit", "thickness", "intensity", "image"]
    assert back.nodes["digit"] == Node("digit", "categorical", levels=int(digits.column("digit").max()) + 1)
    assert back.nodes["thickness"].type == "continuous" and back.nodes["image"].shape == (1, 16, 16)
    for v in digits.columns:
        np.testing.assert_array_equal(back.column(v), digits.column(v))
    assert back.heldout_rows().tolist() == list(range(50, 60)) and back.split["source"] == "the t10k files"
    resized = import_source(open_source(tmp_path / "mnist"), Preparation((8, 8)))
    assert resized.images["image"].shape == (60, 1, 8, 8) and resized.preparation["image"]["size"] == [8, 8]


def test_bad_idx_and_csv_files_are_named(digits, tmp_path):
    root = write_morpho_idx(digits, tmp_path / "m")
    csv = root / "train-morpho.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match=r"^train-morpho.csv has 59 rows, train-images-idx3-ubyte.gz holds 60 images: "
                                        "the attribute rows must match"):
        load_dataset(root)
    lines[3], lines[4] = lines[4], lines[3]
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"^train-morpho.csv row 2, column 'index': 3, expected 2"):
        load_dataset(root)
    lines[3], lines[4] = lines[4], lines[3]
    csv.write_text("\n".join(lines) + "\n")
    images = root / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[: 16 + 30 * 256 + 100]))  # 30 whole images, then part of one
    with pytest.raises(DataError, match=r"^row 30, column 'image' \(train-images-idx3-ubyte.gz image 30\): truncated IDX"):
        load_dataset(root)
    images.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"^train-images-idx3-ubyte.gz: not a readable gzip file"):
        load_dataset(root)
    images.write_bytes(gzip.compress(b"\x00\x00\x0d\x03" + raw[4:]))
    with pytest.raises(DataError, match=r"IDX element type 0x0d is not unsigned bytes"):
        load_dataset(root)
    images.write_bytes(gzip.compress(raw))
    labels = root / "train-labels-idx1-ubyte.gz"
    lab = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(lab[:4] + (59).to_bytes(4, "big") + lab[8:-1]))
    with pytest.raises(DataError, match=r"^train-labels-idx1-ubyte.gz holds 59 labels, train-images-idx3-ubyte.gz holds 60"):
        load_dataset(root)
