"""CelebA's layout: world faces written as CelebA files import back (attributes -1/1 -> 0/1, the
partition's valid and test rows held out); photos are resized by centre crop; every bad input is
one line naming the file, row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import DataError, Dataset, load_dataset
from core.data.celeba import write_celeba
from core.data.load import detect_layout, open_source
from core.data.sources import Preparation, import_source
from core.graph import Node
from tests.core.data.files import write_png


def small_faces(n: int = 12, h: int = 9, w: int = 7, seed: int = 0) -> Dataset:
    """Binary attributes and RGB images of h x w (taller than wide, like CelebA's 218x178)."""
    rng = np.random.default_rng(seed)
    return Dataset(pd.DataFrame({"Smiling": rng.integers(0, 2, n), "Young": rng.integers(0, 2, n)}),
                   {"image": rng.integers(0, 255, (n, 3, h, w), dtype=np.uint8)})


def test_faces_world_as_celeba_files_import_back(tmp_path):
    from core.worlds.registry import sample_dataset

    faces, _ = sample_dataset("faces", 20, seed=1, params={"size": 16})
    partition = np.array([0] * 14 + [1] * 3 + [2] * 3)
    write_celeba(faces, tmp_path / "celeba", image_column="Face", partition=partition, image_format="png")
    text = (tmp_path / "celeba" / "list_attr_celeba.txt").read_text().splitlines()
    assert text[0] == "20" and text[1] == "Male Young Beard Eyeglasses Lipstick" and " -1" in text[2]
    assert detect_layout(tmp_path / "celeba") == "celeba"
    assert detect_layout(tmp_path / "celeba" / "list_attr_celeba.txt") == "celeba"
    back = load_dataset(tmp_path / "celeba")
    assert back.columns == ["Male", "Young", "Beard", "Eyeglasses", "Lipstick", "image"]
    assert all(back.nodes[v] == Node(v, "binary") for v in back.scalar_columns)
    for v in back.scalar_columns:
        np.testing.assert_array_equal(back.column(v), faces.column(v))
    np.testing.assert_array_equal(back.column("image"), faces.column("Face"))
    assert back.heldout_rows().tolist() == list(range(14, 20))
    assert back.split["source"] == "list_eval_partition.txt (valid and test)"


def test_photos_are_centre_cropped_and_the_step_is_recorded(tmp_path):
    ds = small_faces(h=9, w=7)
    write_celeba(ds, tmp_path / "c", image_format="png")
    assert "mixed" not in open_source(tmp_path / "c").review()[-1].detail
    out = import_source(open_source(tmp_path / "c"), Preparation((5, 5)))
    assert out.images["image"].shape == (12, 3, 5, 5)
    assert out.preparation == {"image": {"size": [5, 5], "fit": "crop", "resample": "bicubic", "jpeg_draft": True}}
    saved = load_dataset(out.save(tmp_path / "prepared.npz"))
    assert saved.preparation == out.preparation and saved.fingerprint == out.fingerprint
    stretched = import_source(open_source(tmp_path / "c"), Preparation((5, 5), "stretch"))
    assert not np.array_equal(stretched.images["image"], out.images["image"])


def test_kaggle_csv_files_and_a_leading_digit(tmp_path):
    root = tmp_path / "kaggle"
    for i in range(3):
        write_png(root / "img_align_celeba" / "img_align_celeba" / f"00000{i + 1}.jpg", np.zeros((4, 4, 3), np.uint8),
                  fmt="JPEG")
    (root / "list_attr_celeba.csv").write_text(
        "image_id,5_o_Clock_Shadow,Smiling\n000001.jpg,-1,1\n000002.jpg,1,1\n000003.jpg,-1,-1\n")
    (root / "list_eval_partition.csv").write_text("image_id,partition\n000001.jpg,0\n000002.jpg,0\n000003.jpg,2\n")
    source = open_source(root)
    assert "attribute '5_o_Clock_Shadow' is node '_5_o_Clock_Shadow'" in source.notes
    ds = import_source(source)
    assert ds.columns == ["_5_o_Clock_Shadow", "Smiling", "image"]
    assert ds.column("_5_o_Clock_Shadow").tolist() == [0, 1, 0] and ds.heldout_rows().tolist() == [2]


def _celeba(tmp_path, attr_text: str, images=("000001.jpg", "000002.jpg")):
    root = tmp_path / "bad"
    for name in images:
        write_png(root / "img_align_celeba" / name, np.zeros((4, 4, 3), np.uint8), fmt="JPEG")
    (root / "list_attr_celeba.txt").write_text(attr_text)
    return root


@pytest.mark.parametrize("attr_text, images, message", [
    ("2\nSmiling Young\n000001.jpg -1 1\n000002.jpg 0 1\n", None,
     r"^list_attr_celeba.txt row 1 \(000002.jpg\), column 'Smiling': value '0' is not -1 or 1$"),
    ("3\nSmiling Young\n000001.jpg -1 1\n000002.jpg 1 1\n", None,
     r"^list_attr_celeba.txt: the first line says 3 images, the file lists 2 rows$"),
    ("2\nSmiling Young\n000001.jpg -1 1\n000002.jpg 1\n", None,
     r"^list_attr_celeba.txt row 1 \(000002.jpg\): expected an image name and 2 values, got 1 values$"),
    ("2\nSmiling Young\n000001.jpg -1 1\n000002.jpg 1 1\n", ("000001.jpg", "000002.jpg", "000003.jpg"),
     r"^list_attr_celeba.txt lists 2 images but img_align_celeba holds 3: the attribute rows must match"),
    ("2\nSmiling Young\n000001.jpg -1 1\n000009.jpg 1 1\n", ("000001.jpg", "000002.jpg"),
     r"^list_attr_celeba.txt row 1 \(000009.jpg\), column 'image name': image file not found: img_align_celeba/000009.jpg$"),
    ("2\nSmiling Young\n000001.jpg -1 1\n000001.jpg 1 1\n", ("000001.jpg", "000002.jpg"),
     r"^list_attr_celeba.txt row 1 \(000001.jpg\), column 'image name': image 'img_align_celeba/000001.jpg' is listed twice"),
    ("2\nSmiling Young\n000001.jpg -1 1\n../../x.jpg 1 1\n", ("000001.jpg", "000002.jpg"),
     r"^list_attr_celeba.txt row 1 \(../../x.jpg\), column 'image name': image path '.*' leaves the data folder$"),
])
def test_bad_celeba_files_are_named(tmp_path, attr_text, images, message):
    root = _celeba(tmp_path, attr_text, images or ("000001.jpg", "000002.jpg"))
    with pytest.raises(DataError, match=message):
        load_dataset(root)


def test_bad_partition_is_named(tmp_path):
    root = _celeba(tmp_path, "2\nSmiling\n000001.jpg -1\n000002.jpg 1\n")
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 7\n")
    with pytest.raises(DataError, match=r"^list_eval_partition.txt row 1 \(000002.jpg\), column 'partition': '7' is not"):
        load_dataset(root)
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    with pytest.raises(DataError, match=r"^list_eval_partition.txt has no partition for 000002.jpg"):
        load_dataset(root)
