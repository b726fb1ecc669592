"""Class folders: one sub-folder of images per class, as an image column plus a label column (read only).

    pets/cat/1.png, pets/cat/2.png, pets/dog/1.jpg ...  ->  image (n, C, H, W), label 0 = cat, 1 = dog

Classes are numbered in sorted folder-name order and their names kept in ``Dataset.categories``; the
label is binary for two classes, categorical otherwise.  Hidden entries (``.x``, ``__x``) are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.data.dataset import Dataset
from core.data.images import IMAGE_SUFFIXES, read_image_column
from core.graph import Node


def read_image_folders(root: str | os.PathLike, *, image_column: str = "image", label_column: str = "label") -> Dataset:
    """The dataset the class sub-folders of ``root`` hold (see the module docstring)."""
    root = Path(root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))
    files: list[str] = []
    labels: list[int] = []
    for k, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                files.append(f"{cls}/{f.name}")
                labels.append(k)
    if len(classes) < 2 or not files:
        raise DataError(
            f"{str(root.name)!r} has no dataset: expected meta.json, a CSV, or one sub-folder of images per class (at least 2)"
        )
    images = read_image_column(root, files, image_column)
    label_node = Node(label_column, "binary") if len(classes) == 2 else Node(label_column, "categorical", levels=len(classes))
    table = pd.DataFrame({label_column: np.asarray(labels, dtype=np.int64)})
    return Dataset(table, {image_column: images}, {label_column: label_node}, categories={label_column: classes})
