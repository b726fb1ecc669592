"""A user's CSV with image paths: images of any size and mode, types from the graph or inferred,
and every error naming the row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, load_dataset
from core.data.csv import read_csv
from core.graph import ADMG, Node
from tests.core.data.files import write_csv, write_png


def test_csv_import_with_png_and_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(3, 6, 5), dtype=np.uint8)
    for i in range(3):
        write_png(tmp_path / "img" / f"{i}.png", grey[i])
    write_png(tmp_path / "col" / "a.jpg", np.full((6, 5, 3), 200, np.uint8), "JPEG")
    pd.DataFrame({"X": [f"img/{i}.png" for i in range(3)], "Y": [0.5, 1.5, -2.0], "K": [0, 2, 1]}).to_csv(
        tmp_path / "mine.csv", index=False
    )
    ds = load_dataset(tmp_path / "mine.csv")
    assert ds.nodes["X"].shape == (1, 6, 5) and ds.nodes["K"].levels == 3 and ds.nodes["Y"].type == "continuous"
    np.testing.assert_array_equal(ds.images["X"][:, 0], grey)
    # With a graph: types come from the graph, and a mixed-size image is named.
    g = ADMG([Node("X", "image", shape=(1, 6, 5)), Node("K", "categorical", levels=4)], [("X", "K")])
    assert load_dataset(tmp_path / "mine.csv", g).nodes["K"].levels == 4
    write_png(tmp_path / "img" / "2.png", np.zeros((7, 5), np.uint8))
    with pytest.raises(DataError, match=r"row 2, column 'X': image img/2.png is grey 7x5, expected grey 6x5"):
        load_dataset(tmp_path / "mine.csv", g)
    ds_rgb = read_csv(write_csv(tmp_path, "rgb.csv", {"P": ["col/a.jpg"]}))
    assert ds_rgb.images["P"].shape == (1, 3, 6, 5)


def test_csv_import_errors_name_row_and_column(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    g = ADMG([Node("X", "image", shape=(1, 4, 4)), Node("Y", "binary")], [("X", "Y")])
    with pytest.raises(DataError, match=r"row 1, column 'X': unreadable image broken.png"):
        read_csv(write_csv(tmp_path, "a.csv", {"X": ["a.png", "broken.png"], "Y": [0, 1]}), g)
    with pytest.raises(DataError, match=r"row 1, column 'X': image file not found: gone.png"):
        read_csv(write_csv(tmp_path, "b.csv", {"X": ["a.png", "gone.png"], "Y": [0, 1]}), g)
    with pytest.raises(DataError, match=r"row 1, column 'Y': missing value \(NaN\) in a discrete column"):
        read_csv(write_csv(tmp_path, "c.csv", {"X": ["a.png", "a.png"], "Y": [0, None]}), g)
    with pytest.raises(DataError, match=r"missing column for graph node 'Y'"):
        read_csv(write_csv(tmp_path, "d.csv", {"X": ["a.png"]}), g)
    with pytest.raises(DataError, match=r"row 0, column 'X': image path '../a.png' leaves the data folder"):
        sub = tmp_path / "sub"
        sub.mkdir()
        read_csv(write_csv(sub, "e.csv", {"X": ["../a.png"], "Y": [1]}), g)
    with pytest.raises(DataError, match=r"column 'W' of f.csv is not numeric"):
        read_csv(write_csv(tmp_path, "f.csv", {"W": ["cat", "dog"]}))
    with pytest.raises(DataError, match=r"row 1, column 'Y': 2 is not|value 2 is outside 0..1"):
        read_csv(write_csv(tmp_path, "g.csv", {"X": ["a.png", "a.png"], "Y": [0, 2]}), g)


def test_a_ragged_line_is_named_by_its_bad_value_and_row(tmp_path):
    # line 4 lost a comma: its text lands in column B, whose other values are numbers
    (tmp_path / "ragged.csv").write_text("A,B\n1,2\n3,4\n5 six,\n7,8\n")
    with pytest.raises(DataError) as err:
        read_csv(tmp_path / "ragged.csv")
    assert "column 'A' of ragged.csv is not numeric: row 2 (line 4) holds '5 six'" in str(err.value)
    assert "'1'" not in str(err.value)  # not a valid value of the column as "an example"
