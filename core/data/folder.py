"""The dataset folder: a reader and a writer.

    data.csv                      scalar columns; image columns hold images/<column>/<row>.png
    images/<column>/<row>.png     one PNG per row and image column (rows counted from 0)
    meta.json                     the meta record (:mod:`core.data.stored`)

Writes are atomic: the folder is written beside the target under a temporary name and renamed into
place, so a crash never leaves half a dataset behind, and an existing folder is replaced only if it
is a dataset (or empty).  One writer at a time: a writer holds ``.<name>.lock`` beside the target
(:mod:`core.locks`; a second writer gets one line naming the holder), and removes the temporary
folders that killed writers of the same target left (``.<name>.<pid>-<random>.tmp``).  Folders and
files get the modes a plain ``mkdir`` and ``open`` would (the umask decides), as run folders do.

Reading is bounded: ``meta.json`` is at most ``MAX_META_BYTES`` and nests at most 64 deep.
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
from core.data.stored import FORMAT, MAX_META_BYTES, StoredDataset, check_meta, column_nodes
from core.graph.formats import parse_json, read_text_file
from core.locks import FolderLock, remove_orphans, temp_prefix

META_FILE = "meta.json"
TABLE_FILE = "data.csv"

# The process umask, read once at import (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def read_folder(path: str | os.PathLike) -> StoredDataset:
    """The columns and meta record of a folder written by :func:`write_folder`."""
    root = Path(path)
    where = f"dataset {str(root)!r}"
    text = read_text_file(root / META_FILE, f"{where}: {META_FILE}", MAX_META_BYTES, DataError)
    meta = check_meta(parse_json(text, f"{where}: {META_FILE}", DataError), where)
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
    target = check_writable(path)
    _make_parent(target)
    with dataset_lock(target):
        check_writable(target)  # again, now that no one else can write it
        remove_orphans(target.parent, target.name)
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent))
        try:
            os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700: give the folder the mode a plain mkdir would
            write_files(stored, tmp)
            _replace_folder(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def dataset_lock(target: Path) -> FolderLock:
    """The lock a writer of the dataset folder ``target`` holds: ``.<name>.lock`` beside it (the folder
    itself is swapped whole, so its lock cannot live inside)."""
    return FolderLock(target.parent / f".{target.name}.lock", f"dataset folder {str(target)!r}")


def _make_parent(target: Path) -> None:
    """Create the folder ``target`` goes into, or one line saying why it cannot be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot write dataset folder {str(target)!r}: {e.strerror or e}") from None


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
        obj = parse_json(read_text_file(meta, META_FILE, MAX_META_BYTES, DataError), META_FILE, DataError)
    except DataError:
        return False
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def check_writable(path: str | os.PathLike) -> Path:
    """``path`` as a Path if a dataset folder may be written there: it is missing, empty or a dataset
    folder, and no folder above it is a file; else one line saying why not."""
    target = Path(path)
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(f"cannot write dataset folder {str(target)!r}: {str(parent)!r} is a file")
            break
    if target.exists():
        if not target.is_dir():
            raise DataError(f"refusing to write dataset folder {str(target)!r}: a file of that name exists")
        if any(target.iterdir()) and not is_dataset_folder(target):
            raise DataError(f"refusing to overwrite {str(target)!r}: a non-empty folder that is not a dataset")
    return target


def _replace_folder(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``; an existing target (a dataset or empty) is swapped out first, so
    at every moment either the old or the new complete folder is in place."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name), suffix=".old", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
