"""The dataset folder: a reader and a writer.

    data.csv                      scalar columns; image columns hold images/<column>/<row>.png
    images/<column>/<row>.png     one PNG per row and image column (rows counted from 0)
    meta.json                     the meta record (:mod:`core.data.stored`)

Writes are atomic: the folder is written beside the target under a temporary name and renamed into
place, so a crash never leaves half a dataset behind, and an existing folder is replaced only if it
is a dataset (or empty).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.data.images import read_image_column
from core.data.stored import FORMAT, StoredDataset, check_meta, column_nodes

META_FILE = "meta.json"
TABLE_FILE = "data.csv"


def read_folder(path: str | os.PathLike) -> StoredDataset:
    """The columns and meta record of a folder written by :func:`write_folder`."""
    root = Path(path)
    where = f"dataset {str(root)!r}"
    try:
        meta = json.loads((root / META_FILE).read_text(encoding="utf-8"))
    except ValueError as e:
        raise DataError(f"{where}: meta.json is not valid JSON ({e})") from None
    meta = check_meta(meta, where)
    nodes = column_nodes(meta)
    table = read_table(root / TABLE_FILE)
    for node in nodes:
        if node.name not in table.columns:
            raise DataError(f"{where}: data.csv has no column {node.name!r}")
    images = {
        node.name: read_image_column(root, table[node.name].tolist(), node.name, node.shape)
        for node in nodes
        if node.type == "image"
    }
    scalars = table[[nd.name for nd in nodes if nd.type != "image"]]
    return StoredDataset(scalars, images, meta, where)


def write_folder(stored: StoredDataset, path: str | os.PathLike) -> Path:
    """Atomically write ``data.csv``, ``images/<column>/<row>.png`` and ``meta.json`` at ``path``."""
    target = Path(path)
    _check_writable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        write_files(stored, tmp)
        _replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def write_files(stored: StoredDataset, root: Path) -> None:
    """The dataset's files inside the (new, empty) folder ``root``."""
    from PIL import Image

    table = stored.table.copy()  # n rows, even without scalar columns
    for name, arr in stored.images.items():
        folder = root / "images" / name
        folder.mkdir(parents=True)
        mode = "L" if arr.shape[1] == 1 else "RGB"
        paths = []
        for i in range(len(table)):
            rel = f"images/{name}/{i}.png"
            pixels = arr[i, 0] if mode == "L" else arr[i].transpose(1, 2, 0)
            # Low compression: these images are tiny and writing 10k of them should be quick.
            Image.fromarray(np.ascontiguousarray(pixels), mode).save(root / rel, compress_level=1)
            paths.append(rel)
        table[name] = paths
    table = table[[c["name"] for c in stored.meta["columns"]]]
    # repr-precision floats so continuous values survive the CSV round trip exactly.
    table.to_csv(root / TABLE_FILE, index=False, float_format=None)
    (root / META_FILE).write_text(json.dumps(stored.meta, indent=1) + "\n", encoding="utf-8")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV file as a DataFrame, floats read back exactly as written; a DataError if unreadable."""
    try:
        return pd.read_csv(path, float_precision="round_trip")
    except FileNotFoundError:
        raise DataError(f"file not found: {str(path)!r}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path.name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def is_dataset_folder(path: str | os.PathLike) -> bool:
    """True for a folder whose meta.json carries our format tag."""
    meta = Path(path) / META_FILE
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _check_writable(target: Path) -> None:
    if target.exists():
        if not target.is_dir():
            raise DataError(f"refusing to write dataset folder {str(target)!r}: a file of that name exists")
        if any(target.iterdir()) and not is_dataset_folder(target):
            raise DataError(f"refusing to overwrite {str(target)!r}: a non-empty folder that is not a dataset")


def _replace_folder(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``; an existing target (a dataset or empty) is swapped out first, so
    at every moment either the old or the new complete folder is in place."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
