"""CelebA's layout: a reader and a writer.

    celeba/list_attr_celeba.txt       202599                          (the number of images)
                                      5_o_Clock_Shadow Arched_Eyebrows ...   (the attribute names)
                                      000001.jpg -1  1  1 -1 ...      (one row per image, -1 or 1)
    celeba/list_eval_partition.txt    000001.jpg 0                    (optional: 0 train, 1 valid, 2 test)
    celeba/img_align_celeba/000001.jpg ...

The Kaggle copy's ``list_attr_celeba.csv`` / ``list_eval_partition.csv`` (an ``image_id`` column)
read the same.  Attributes become binary nodes (-1 -> 0, 1 -> 1) named after the file's titles
(a leading digit gets ``_``: ``_5_o_Clock_Shadow``); the images are the node ``image``.  The image
folder is ``img_align_celeba`` (or ``img_celeba``, or the only sub-folder holding images, or the
layout's own folder), also when an archive nested it once more.  With a partition file the valid
and test rows are held out; without one, a seeded 10%.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.data.dataset import Dataset
from core.data.folder import read_table
from core.data.sources import (
    DEFAULT_HELDOUT,
    ImageFiles,
    ImportSource,
    atomic_folder,
    images_under,
    node_name,
    ranges_of,
    save_images,
    seeded_split,
)

ATTR_FILES = ("list_attr_celeba.txt", "list_attr_celeba.csv")
PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
IMAGE_FOLDERS = ("img_align_celeba", "img_celeba")
IMAGE_COLUMN = "image"


def is_celeba(folder: Path) -> bool:
    return any((folder / f).is_file() for f in ATTR_FILES)


def _attr_file(folder: Path) -> Path:
    for f in ATTR_FILES:
        if (folder / f).is_file():
            return folder / f
    raise DataError(f"{str(folder)!r} has no list_attr_celeba.txt (the CelebA layout)")


def read_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(image names, attribute titles, values in {-1, 1} as int8 (rows, attributes)) of an
    attribute file; a DataError names the file, row and column of the first bad entry."""
    if path.suffix == ".csv":
        table = read_table(path)
        if "image_id" not in table.columns:
            raise DataError(f"{path.name} has no 'image_id' column")
        names = [str(v) for v in table["image_id"]]
        titles = [str(c) for c in table.columns if c != "image_id"]
        raw = table[titles]
        numeric = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        cells = raw.to_numpy()
    else:
        with open(path, encoding="utf-8") as fh:
            lines = [line for line in fh.read().splitlines() if line.strip()]
        if len(lines) < 2:
            raise DataError(f"{path.name}: expected a count line and a header line, got {len(lines)} lines")
        try:
            count = int(lines[0].strip())
        except ValueError:
            raise DataError(f"{path.name} line 1: expected the number of images, got {lines[0].strip()[:40]!r}") from None
        titles = lines[1].split()
        rows = [line.split() for line in lines[2:]]
        if count != len(rows):
            raise DataError(f"{path.name}: the first line says {count} images, the file lists {len(rows)} rows")
        for i, parts in enumerate(rows):
            if len(parts) != len(titles) + 1:
                raise DataError(f"{path.name} row {i} ({parts[0] if parts else 'empty'}): expected an image name and "
                                f"{len(titles)} values, got {len(parts) - 1} values")
        names = [r[0] for r in rows]
        cells = np.array([r[1:] for r in rows], dtype=object).reshape(len(rows), len(titles))
        numeric = pd.DataFrame(cells).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isin(numeric, (-1.0, 1.0))
    if bad.any():
        i, j = (int(x[0]) for x in np.nonzero(bad))
        raise DataError(f"{path.name} row {i} ({names[i]}), column {titles[j]!r}: value {cells[i, j]!r} is not -1 or 1")
    return names, titles, numeric.astype(np.int8)


def read_partition(path: Path, names: list[str]) -> np.ndarray:
    """The partition (0 train, 1 valid, 2 test) of each image in ``names``."""
    if path.suffix == ".csv":
        table = read_table(path)
        if not {"image_id", "partition"} <= set(table.columns):
            raise DataError(f"{path.name} needs the columns image_id and partition")
        pairs = list(zip(table["image_id"].astype(str), table["partition"], strict=True))
    else:
        with open(path, encoding="utf-8") as fh:
            pairs = []
            for i, line in enumerate(x for x in fh.read().splitlines() if x.strip()):
                parts = line.split()
                if len(parts) != 2:
                    raise DataError(f"{path.name} row {i}: expected 'image partition', got {line.strip()[:60]!r}")
                pairs.append((parts[0], parts[1]))
    of = {}
    for i, (name, part) in enumerate(pairs):
        if str(part).strip() not in ("0", "1", "2"):
            raise DataError(f"{path.name} row {i} ({name}), column 'partition': {part!r} is not 0, 1 or 2")
        of[name] = int(part)
    missing = [nm for nm in names if nm not in of]
    if missing:
        raise DataError(f"{path.name} has no partition for {missing[0]} (row {names.index(missing[0])} of the attributes)")
    return np.array([of[nm] for nm in names], dtype=np.int64)


def image_folder(root: Path) -> Path:
    """Where the images are (see the module docstring)."""
    for name in IMAGE_FOLDERS:
        folder = root / name
        if folder.is_dir():
            inner = folder / name  # archives that wrap the folder once more
            return inner if inner.is_dir() and not any(p.is_file() for p in folder.iterdir()) else folder
    subs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__")) and images_under(d)]
    return subs[0] if len(subs) == 1 else root


def read_celeba(root: str | os.PathLike, *, heldout: float = DEFAULT_HELDOUT, seed: int = 0) -> ImportSource:
    """The :class:`~core.data.sources.ImportSource` of a CelebA folder (see the module docstring)."""
    root = Path(root)
    attr = _attr_file(root)
    names, titles, values = read_attributes(attr)
    folder = image_folder(root)
    prefix = folder.relative_to(root).as_posix()
    rels = [f"{prefix}/{nm}" if prefix != "." else nm for nm in names]
    images = ImageFiles(IMAGE_COLUMN, root, rels, listed_in=attr.name, source_column="image name",
                        row_label=lambda i: f"row {i} ({names[i]})")
    on_disk = len(images_under(folder)) if folder != root else sum(
        1 for p in images_under(root) if p.parent == root)
    if on_disk != len(names):
        where = folder.relative_to(root).as_posix() if folder != root else "the folder"
        raise DataError(f"{attr.name} lists {len(names)} images but {where} holds {on_disk}: "
                        "the attribute rows must match the images one to one")
    columns: dict[str, np.ndarray] = {}
    given: dict[str, str] = {}
    for j, title in enumerate(titles):
        name = node_name(title)
        if name in given or name == IMAGE_COLUMN:
            raise DataError(f"{attr.name}: attributes {given.get(name, IMAGE_COLUMN)!r} and {title!r} both become "
                            f"node {name!r}: rename one")
        given[name] = title
        columns[name] = values[:, j]
    part_file = next((root / f for f in PARTITION_FILES if (root / f).is_file()), None)
    if part_file is not None:
        partition = read_partition(part_file, names)
        split = {"rows": ranges_of(partition != 0), "source": f"{part_file.name} (valid and test)"}
    else:
        split = seeded_split(heldout, seed)
    notes = [f"attribute {t!r} is node {n!r}" for n, t in given.items() if n != t]
    source = ImportSource("celeba", root, pd.DataFrame(columns), {IMAGE_COLUMN: images}, split,
                          {**given, IMAGE_COLUMN: "image name"}, notes, attr.name)
    return source


def write_celeba(dataset: Dataset, root: str | os.PathLike, *, image_column: str | None = None,
                 partition: np.ndarray | None = None, image_format: str = "jpeg") -> Path:
    """Write ``dataset`` in CelebA's layout at ``root`` (a new or empty folder): its binary columns as
    attributes (-1/1), ``image_column`` (default: the only image column) as
    ``img_align_celeba/000001.jpg ...``, and ``partition`` (0/1/2 per row) if given."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(f"refusing to write CelebA files into {str(root)!r}: it exists and is not an empty folder")
    column = image_column or (dataset.image_columns[0] if len(dataset.image_columns) == 1 else None)
    if column is None or column not in dataset.images:
        raise DataError(f"name the image column to write (image columns: {', '.join(dataset.image_columns) or 'none'})")
    attrs = [v for v in dataset.scalar_columns if dataset.nodes[v].type == "binary"]
    others = [v for v in dataset.scalar_columns if v not in attrs]
    if others:
        raise DataError(f"CelebA attributes are binary; column {others[0]!r} is {dataset.nodes[others[0]].type_text()}")
    suffix = ".jpg" if image_format.lower() in ("jpeg", "jpg") else ".png"
    names = [f"{i + 1:06d}{suffix}" for i in range(dataset.n)]
    with atomic_folder(root) as tmp:
        save_images(dataset.images[column], [tmp / "img_align_celeba" / nm for nm in names])
        signs = np.stack([2 * dataset.column(v) - 1 for v in attrs], axis=1) if attrs else np.zeros((dataset.n, 0), int)
        lines = [str(dataset.n), " ".join(attrs)]
        lines += [nm + " " + " ".join(f"{int(x):2d}" for x in row) for nm, row in zip(names, signs, strict=True)]
        (tmp / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if partition is not None:
            part = np.asarray(partition, dtype=np.int64)
            if part.shape != (dataset.n,) or not np.isin(part, (0, 1, 2)).all():
                raise DataError("partition must hold 0, 1 or 2 for every row")
            text = "\n".join(f"{nm} {int(p)}" for nm, p in zip(names, part, strict=True))
            (tmp / "list_eval_partition.txt").write_text(text + "\n", encoding="utf-8")
    return root
