"""Datasets from disk, whatever the format: a dataset folder, an ``.npz``, a CSV, class folders, or
an imported layout (HF imagefolder, CelebA, Morpho-MNIST IDX) recognised by its files.

:func:`detect_layout` names what a path holds; :func:`open_source` returns the
:class:`~core.data.sources.ImportSource` of an imported layout (to review and import with a resize
step); :func:`load_dataset` reads any of them as they are (an imported layout's images must then
share one size).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from core.data.celeba import ATTR_FILES, is_celeba, read_celeba
from core.data.columns import DataError
from core.data.csv import read_csv
from core.data.dataset import Dataset
from core.data.folder import META_FILE, TABLE_FILE, read_folder
from core.data.image_folders import read_image_folders
from core.data.imagefolder import METADATA_FILES, is_imagefolder, read_imagefolder
from core.data.morpho_idx import IMAGES_RE, is_morpho_idx, read_morpho_idx
from core.data.npz import read_npz
from core.data.sources import DEFAULT_HELDOUT, ImportSource, import_source
from core.graph import ADMG

# The imported layouts, in the order they are tried on a folder.
LAYOUTS = {"celeba": (is_celeba, read_celeba), "morpho-idx": (is_morpho_idx, read_morpho_idx),
           "imagefolder": (is_imagefolder, read_imagefolder)}


def load_dataset(path: str | os.PathLike, graph: ADMG | None = None) -> Dataset:
    """Read a dataset folder, a ``.npz``, a CSV (image columns as relative paths), an imported
    layout, or a folder of class sub-folders; check it against ``graph`` if one is given."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data not found: {str(p)!r}")
    layout_folder = _layout_folder_of_file(p)
    if layout_folder is not None:
        p = layout_folder
    if p.is_dir():
        ds = _load_folder_of_any_kind(p, graph)
    elif p.suffix.lower() == ".npz":
        ds = load_npz(p)
    elif p.suffix.lower() == ".csv":
        ds = read_csv(p, graph)
    else:
        raise DataError(f"cannot read {p.name!r}: expected a dataset folder, a .csv or a .npz")
    return ds.with_graph(graph) if graph is not None else ds


def detect_layout(path: str | os.PathLike) -> str:
    """What ``path`` holds: ``dataset`` (our folder), ``npz``, ``csv``, ``celeba``, ``morpho-idx``,
    ``imagefolder`` or ``class-folders``; a DataError when it holds none of them."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data not found: {str(p)!r}")
    folder = _layout_folder_of_file(p)
    if folder is not None:
        return _folder_layout(folder)
    if p.is_file():
        if p.suffix.lower() in (".npz", ".csv"):
            return p.suffix.lower()[1:]
        raise DataError(f"cannot read {p.name!r}: expected a dataset folder, a .csv or a .npz")
    return _folder_layout(p)


def open_source(path: str | os.PathLike, *, heldout: float = DEFAULT_HELDOUT, seed: int = 0) -> ImportSource:
    """The import source of an imported layout at ``path`` (a folder, or one of its files)."""
    p = Path(path)
    layout = detect_layout(p)
    if layout not in LAYOUTS:
        raise DataError(f"{str(p)!r} is a {layout} data set, not an imagefolder, CelebA or Morpho-MNIST layout")
    folder = _layout_folder_of_file(p) or p
    return LAYOUTS[layout][1](folder, heldout=heldout, seed=seed)


def load_folder(path: str | os.PathLike) -> Dataset:
    """A folder written by :meth:`Dataset.save_folder`; the fingerprint must still match."""
    return Dataset.from_stored(read_folder(path))


def load_npz(source: str | os.PathLike | io.BytesIO) -> Dataset:
    """An ``.npz`` written by :meth:`Dataset.save_npz` (never unpickles); the fingerprint must match."""
    return Dataset.from_stored(read_npz(source))


def _layout_folder_of_file(p: Path) -> Path | None:
    """The folder of a layout's own file given as the path (``list_attr_celeba.txt``,
    ``metadata.jsonl``, ``train-images-idx3-ubyte.gz``), else None."""
    if not p.is_file():
        return None
    if p.name in ATTR_FILES or p.name in METADATA_FILES or IMAGES_RE.match(p.name):
        return p.parent
    return None


def _folder_layout(folder: Path) -> str:
    if (folder / META_FILE).is_file():
        return "dataset"
    for name, (recognise, _) in LAYOUTS.items():
        if recognise(folder):
            return name
    if (folder / TABLE_FILE).is_file():
        return "csv"
    csvs = sorted(folder.glob("*.csv"))
    if len(csvs) > 1:
        raise DataError(f"{str(folder)!r} holds several CSV files ({', '.join(c.name for c in csvs)}): name one")
    return "csv" if csvs else "class-folders"


def _load_folder_of_any_kind(folder: Path, graph: ADMG | None) -> Dataset:
    """A dataset folder (meta.json), an imported layout, a folder with data.csv or with one CSV, or
    class folders."""
    layout = _folder_layout(folder)
    if layout == "dataset":
        return load_folder(folder)
    if layout in LAYOUTS:
        return import_source(LAYOUTS[layout][1](folder))
    if (folder / TABLE_FILE).is_file():
        return read_csv(folder / TABLE_FILE, graph)
    csvs = sorted(folder.glob("*.csv"))
    if csvs:
        return read_csv(csvs[0], graph)
    return read_image_folders(folder)
