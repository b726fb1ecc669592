"""Class folders: one sub-folder of images per class becomes an image and a label column."""

from __future__ import annotations

import numpy as np

from core.data import load_dataset
from tests.core.data.files import write_png


def test_class_folders_import(tmp_path):
    for cls, value in (("cat", 10), ("dog", 200)):
        for i in range(3):
            write_png(tmp_path / "pets" / cls / f"{i}.png", np.full((5, 5, 3), value, np.uint8))
    ds = load_dataset(tmp_path / "pets")
    assert ds.columns == ["label", "image"]
    assert ds.nodes["label"].type == "binary" and ds.categories["label"] == ["cat", "dog"]
    assert ds.table["label"].tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.images["image"][4, 0, 0, 0] == 200 and ds.images["image"].shape == (6, 3, 5, 5)
    # Categories survive a save and load.
    back = load_dataset(ds.save(tmp_path / "saved"))
    assert back.categories == {"label": ["cat", "dog"]}
