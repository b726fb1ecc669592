"""Datasets from disk, whatever the format: a dataset folder, an ``.npz``, a CSV, or class folders."""

from __future__ import annotations

import io
import os
from pathlib import Path

from core.data.columns import DataError
from core.data.csv import read_csv
from core.data.dataset import Dataset
from core.data.folder import META_FILE, TABLE_FILE, read_folder
from core.data.image_folders import read_image_folders
from core.data.npz import read_npz
from core.graph import ADMG


def load_dataset(path: str | os.PathLike, graph: ADMG | None = None) -> Dataset:
    """Read a dataset folder, a ``.npz``, a CSV (image columns as relative paths), or a folder of
    class sub-folders; check it against ``graph`` if one is given."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data not found: {str(p)!r}")
    if p.is_dir():
        ds = _load_folder_of_any_kind(p, graph)
    elif p.suffix.lower() == ".npz":
        ds = load_npz(p)
    elif p.suffix.lower() == ".csv":
        ds = read_csv(p, graph)
    else:
        raise DataError(f"cannot read {p.name!r}: expected a dataset folder, a .csv or a .npz")
    return ds.with_graph(graph) if graph is not None else ds


def load_folder(path: str | os.PathLike) -> Dataset:
    """A folder written by :meth:`Dataset.save_folder`; the fingerprint must still match."""
    return Dataset.from_stored(read_folder(path))


def load_npz(source: str | os.PathLike | io.BytesIO) -> Dataset:
    """An ``.npz`` written by :meth:`Dataset.save_npz` (never unpickles); the fingerprint must match."""
    return Dataset.from_stored(read_npz(source))


def _load_folder_of_any_kind(folder: Path, graph: ADMG | None) -> Dataset:
    """A dataset folder (meta.json), a folder with data.csv or with one CSV, or class folders."""
    if (folder / META_FILE).is_file():
        return load_folder(folder)
    if (folder / TABLE_FILE).is_file():
        return read_csv(folder / TABLE_FILE, graph)
    csvs = sorted(folder.glob("*.csv"))
    if len(csvs) > 1:
        raise DataError(f"{str(folder)!r} holds several CSV files ({', '.join(c.name for c in csvs)}): name one")
    if csvs:
        return read_csv(csvs[0], graph)
    return read_image_folders(folder)
