"""The Hugging Face imagefolder layout: world samples written in it import back exactly, typed;
split folders hold rows out; every bad input is one line naming the file, row and column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, Dataset, load_dataset
from core.data.imagefolder import read_imagefolder, write_imagefolder
from core.data.load import detect_layout, open_source
from core.data.sources import Preparation, import_source
from core.graph import Node
from core.worlds.registry import sample_dataset
from tests.core.data.files import write_png


@pytest.fixture(scope="module")
def faces():
    ds, _ = sample_dataset("faces", 40, seed=0, params={"size": 16})
    return ds


def test_faces_in_nested_folders_import_back_typed(faces, tmp_path):
    write_imagefolder(faces, tmp_path / "faces", per_folder=8)
    assert (tmp_path / "faces" / "Face" / "4" / "33.png").is_file()  # nested folders
    assert detect_layout(tmp_path / "faces") == "imagefolder"
    assert detect_layout(tmp_path / "faces" / "metadata.csv") == "imagefolder"
    review = {c.name: c for c in open_source(tmp_path / "faces").review()}
    assert review["Face"].type == "image" and review["Face"].detail == "3x16x16 (RGB)"
    assert review["Face"].source == "Face_file_name"
    assert {review[a].type for a in ("Male", "Young", "Beard", "Eyeglasses", "Lipstick")} == {"binary"}
    back = load_dataset(tmp_path / "faces")
    assert back.columns == faces.columns
    for v in faces.columns:
        np.testing.assert_array_equal(back.column(v), faces.column(v))
    assert back.nodes == {v: Node.from_json(Node.type_fields(n.to_json())) for v, n in faces.nodes.items()}
    # a seeded 10% is held out, the same on every read, and is part of the fingerprint
    assert len(back.heldout_rows()) == 4 and back.fingerprint == load_dataset(tmp_path / "faces").fingerprint
    assert back.fingerprint != Dataset(back.table, back.images, back.nodes).fingerprint
    skeleton = back.skeleton()
    assert list(skeleton.names) == back.columns and not skeleton.directed and not skeleton.bidirected
    assert skeleton.node("Face").shape == (3, 16, 16) and skeleton.node("Male").type == "binary"


def test_jsonl_text_labels_and_split_folders(tmp_path):
    rng = np.random.default_rng(0)
    n = 12
    ds = Dataset(pd.DataFrame({"species": rng.integers(0, 3, n), "weight": rng.normal(size=n)}),
                 {"image": rng.integers(0, 255, (n, 1, 5, 4), dtype=np.uint8)},
                 categories={"species": ["cat", "dog", "fox"]})
    write_imagefolder(ds.subset(slice(0, 9)), tmp_path / "pets" / "train", metadata="jsonl")
    write_imagefolder(ds.subset(slice(9, n)), tmp_path / "pets" / "test", metadata="jsonl")
    assert "cat" in (tmp_path / "pets" / "train" / "metadata.jsonl").read_text()  # labels as text
    back = load_dataset(tmp_path / "pets")
    assert back.nodes["species"] == Node("species", "categorical", levels=3)
    assert back.categories["species"] == ["cat", "dog", "fox"]
    np.testing.assert_array_equal(back.column("species"), ds.column("species"))
    np.testing.assert_allclose(back.column("weight"), ds.column("weight"))
    np.testing.assert_array_equal(back.column("image"), ds.column("image"))
    assert back.heldout_rows().tolist() == [9, 10, 11] and "test" in back.split["source"]


def _folder(tmp_path, rows, images=("a.png", "b.png")):
    root = tmp_path / "bad"
    for name in images:
        write_png(root / name, np.zeros((4, 4), np.uint8))
    pd.DataFrame(rows).to_csv(root / "metadata.csv", index=False)
    return root


@pytest.mark.parametrize("files, message", [
    (["a.png", "../outside.png"], r"metadata.csv row 1, column 'file_name': image path '../outside.png' leaves the data folder"),
    (["a.png", "a.png"], r"metadata.csv row 1, column 'file_name': image 'a.png' is listed twice \(also at row 0\)"),
    (["a.png", "c.png"], r"metadata.csv row 1, column 'file_name': image file not found: c.png"),
    (["a.png", "/etc/passwd"], r"metadata.csv row 1, column 'file_name': image path '/etc/passwd' leaves the data folder"),
])
def test_bad_paths_are_named(tmp_path, files, message):
    (tmp_path / "outside.png").write_bytes(b"")
    root = _folder(tmp_path, {"file_name": files, "y": [0, 1]})
    with pytest.raises(DataError, match=message):
        read_imagefolder(root)


def test_bad_values_truncated_images_and_mixed_sizes_are_named(tmp_path):
    root = _folder(tmp_path, {"file_name": ["a.png", "b.png"], "y": [0.5, None]})
    with pytest.raises(DataError, match=r"^metadata.csv row 1, column 'y': missing value$"):
        load_dataset(root)
    (root / "metadata.csv").unlink()
    (root / "metadata.jsonl").write_text('{"file_name": "a.png", "y": 1}\n{"file_name": "b.png", "y": \n')
    with pytest.raises(DataError, match=r"^metadata.jsonl line 2: not valid JSON"):
        load_dataset(root)
    (root / "metadata.jsonl").write_text('{"file_name": "a.png", "y": 1}\n{"file_name": "b.png", "y": 0}\n')
    write_png(root / "b.png", np.zeros((6, 4), np.uint8))
    with pytest.raises(DataError, match=r"metadata.jsonl row 1, column 'file_name' \(b.png\): image is 6x4 but 1 others "
                                        r"are 4x4: mixed image sizes need a resize step"):
        load_dataset(root)
    ds = import_source(open_source(root), Preparation((4, 4)))  # a resize step makes them one size
    assert ds.images["image"].shape == (2, 1, 4, 4) and ds.preparation["image"]["size"] == [4, 4]
    write_png(root / "b.png", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    data = (root / "b.png").read_bytes()
    (root / "b.png").write_bytes(data[: len(data) * 2 // 3])  # truncated: the header reads, the pixels do not
    with pytest.raises(DataError, match=r"metadata.jsonl row 1, column 'file_name' \(b.png\): truncated or unreadable"):
        import_source(open_source(root), Preparation((4, 4)))
    (root / "b.png").write_text("not an image")
    with pytest.raises(DataError, match=r"metadata.jsonl row 1, column 'file_name' \(b.png\): unreadable image"):
        load_dataset(root)


def test_metadata_without_file_name_and_clashing_columns(tmp_path):
    root = _folder(tmp_path, {"path": ["a.png", "b.png"]})
    with pytest.raises(DataError, match=r"metadata.csv has no 'file_name' column naming each row's image \(it has path\)"):
        load_dataset(root)
    (root / "metadata.csv").write_text("file_name,a b,a-b\na.png,1,2\nb.png,0,1\n")
    with pytest.raises(DataError, match=r"columns 'a b' and 'a-b' both become node 'a_b'"):
        load_dataset(root)
    (root / "metadata.jsonl").write_text(json.dumps({"file_name": "a.png"}))
    with pytest.raises(DataError, match="holds both metadata.csv and metadata.jsonl"):
        load_dataset(root)
