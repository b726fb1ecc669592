"""The Hugging Face ``imagefolder`` layout: a reader and a writer.

    photos/metadata.csv           file_name,species,age       (or metadata.jsonl, one JSON object a line)
    photos/a/0001.jpg             0001.jpg's row: a/0001.jpg,cat,3
    photos/b/c/0002.png           paths are relative to the metadata file's folder; nesting is allowed

``file_name`` names the image of each row (the image column ``image``); a column ``<x>_file_name``
names a second image column ``<x>``.  Every other column is an attribute, typed as
:mod:`core.data.sources` infers.  Split folders (``train/``, ``test/``, ``validation/`` ... each with
its own metadata file, no metadata at the top) are read one after another, ``train`` first; rows of
the other splits are held out.  Without split folders a seeded 10% of the rows is held out.
"""

from __future__ import annotations

import json
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
    node_name,
    ranges_of,
    save_images,
    seeded_split,
)

METADATA_FILES = ("metadata.csv", "metadata.jsonl")
FILE_COLUMN = "file_name"
TRAIN_SPLIT = "train"
SPLIT_FOLDERS = ("train", "validation", "valid", "val", "dev", "test")


def is_imagefolder(folder: Path) -> bool:
    """True for a folder with a metadata file, or with split folders that have one."""
    return metadata_file(folder) is not None or bool(split_folders(folder))


def metadata_file(folder: Path) -> Path | None:
    """``metadata.csv`` or ``metadata.jsonl`` in ``folder`` (both at once is an error)."""
    found = [folder / m for m in METADATA_FILES if (folder / m).is_file()]
    if len(found) > 1:
        raise DataError(f"{str(folder)!r} holds both metadata.csv and metadata.jsonl: keep one")
    return found[0] if found else None


def split_folders(folder: Path) -> list[Path]:
    """The split sub-folders that hold a metadata file, ``train`` first, then in the usual order."""
    return [folder / s for s in SPLIT_FOLDERS if (folder / s).is_dir() and metadata_file(folder / s) is not None]


def read_metadata(path: Path) -> pd.DataFrame:
    """A metadata file as a DataFrame (a DataError names the file and line that cannot be read)."""
    if path.suffix == ".csv":
        table = read_table(path)
    else:
        records = []
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path.name} line {line_no}: not valid JSON ({e.msg})") from None
                if not isinstance(obj, dict):
                    raise DataError(f"{path.name} line {line_no}: expected a JSON object, got {type(obj).__name__}")
                records.append(obj)
        table = pd.DataFrame.from_records(records)
    if FILE_COLUMN not in table.columns and not any(str(c).endswith(f"_{FILE_COLUMN}") for c in table.columns):
        have = ", ".join(map(str, table.columns)) or "no columns"
        raise DataError(f"{path.name} has no {FILE_COLUMN!r} column naming each row's image (it has {have})")
    return table


def image_column_name(title: str) -> str:
    """``file_name`` -> ``image``; ``mask_file_name`` -> ``mask``."""
    return "image" if title == FILE_COLUMN else node_name(title[: -len(f"_{FILE_COLUMN}")])


def read_imagefolder(root: str | os.PathLike, *, heldout: float = DEFAULT_HELDOUT, seed: int = 0) -> ImportSource:
    """The :class:`~core.data.sources.ImportSource` of an imagefolder (see the module docstring)."""
    root = Path(root)
    meta = metadata_file(root)
    if meta is not None:
        parts = [(root, meta, TRAIN_SPLIT)]
    else:
        parts = [(folder, metadata_file(folder), folder.name) for folder in split_folders(root)]
        if not parts:
            raise DataError(f"{str(root)!r} has no metadata.csv or metadata.jsonl (the imagefolder layout)")
    tables, is_train = [], []
    for folder, file, split in parts:
        table = read_metadata(file)
        if folder != root:  # paths in a split's metadata are relative to the split folder
            for c in table.columns:
                if str(c) == FILE_COLUMN or str(c).endswith(f"_{FILE_COLUMN}"):
                    table[c] = [f"{folder.name}/{p}" if isinstance(p, str) else p for p in table[c]]
        tables.append(table)
        is_train += [split == TRAIN_SPLIT] * len(table)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    listed_in = meta.name if meta is not None else f"the {' + '.join(p[2] for p in parts)} metadata"
    titles: dict[str, str] = {}
    images = {}
    scalars = {}
    for title in table.columns:
        title = str(title)
        is_image = title == FILE_COLUMN or title.endswith(f"_{FILE_COLUMN}")
        name = image_column_name(title) if is_image else node_name(title)
        if name in titles:
            raise DataError(f"{listed_in}: columns {titles[name]!r} and {title!r} both become node {name!r}: rename one")
        titles[name] = title
        if is_image:
            images[name] = ImageFiles(name, root, list(table[title]), listed_in=listed_in, source_column=title)
        else:
            scalars[name] = table[title]
    if len(table) == 0:
        raise DataError(f"{listed_in} lists no images")
    notes = [f"column {t!r} is node {n!r}" for n, t in titles.items() if n != t and not t.endswith(FILE_COLUMN)]
    if meta is None and not all(is_train):
        split = {"rows": ranges_of(~np.asarray(is_train)),
                 "source": "the " + ", ".join(p[2] for p in parts if p[2] != TRAIN_SPLIT) + " split folders"}
    else:
        split = seeded_split(heldout, seed)
    return ImportSource("imagefolder", root, pd.DataFrame(scalars), images, split, titles, notes, listed_in)


def write_imagefolder(dataset: Dataset, root: str | os.PathLike, *, metadata: str = "csv", image_format: str = "png",
                      per_folder: int = 0, labels_as_text: bool = True) -> Path:
    """Write ``dataset`` in the imagefolder layout at ``root`` (a new or empty folder): the first image
    column as ``file_name`` when it is called ``image`` (others as ``<column>_file_name``), images
    ``<column>/<row>.<format>`` or, with ``per_folder``, nested ``<column>/<row // per_folder>/<row>``;
    category codes as their level names where the data has them (``labels_as_text``)."""

    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(f"refusing to write an imagefolder into {str(root)!r}: it exists and is not an empty folder")
    if metadata not in ("csv", "jsonl"):
        raise DataError(f"metadata must be csv or jsonl, got {metadata!r}")
    suffix = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg"}.get(image_format.lower())
    if suffix is None:
        raise DataError(f"image format must be png or jpeg, got {image_format!r}")
    with atomic_folder(root) as tmp:
        columns: dict[str, list[object]] = {}
        for name in dataset.image_columns:
            title = FILE_COLUMN if name == "image" else f"{name}_{FILE_COLUMN}"
            rels = [f"{name}/{i // per_folder}/{i}{suffix}" if per_folder else f"{name}/{i}{suffix}"
                    for i in range(dataset.n)]
            save_images(dataset.images[name], [tmp / r for r in rels])
            columns[title] = rels
        for name in dataset.scalar_columns:
            values = dataset.column(name)
            names = dataset.categories.get(name)
            columns[name] = [names[int(v)] for v in values] if labels_as_text and names else values.tolist()
        table = pd.DataFrame(columns)
        if metadata == "csv":
            table.to_csv(tmp / "metadata.csv", index=False)
        else:
            with open(tmp / "metadata.jsonl", "w", encoding="utf-8") as fh:
                for record in table.to_dict(orient="records"):
                    fh.write(json.dumps(record) + "\n")
    return root
