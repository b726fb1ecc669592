"""Uploads: a ``.npz``, a ``.csv`` without image columns, or a ``.zip`` of any folder
:func:`core.data.load.load_dataset` reads (imported layouts included), unpacked safely (no path may leave the archive, and at most
``MAX_UNZIPPED_BYTES`` are written).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

from core.data.columns import DataError
from core.data.csv import read_csv
from core.data.dataset import Dataset
from core.data.folder import META_FILE
from core.data.load import load_dataset, load_npz
from core.graph import ADMG

# Uploaded zips are unpacked to disk: refuse archives that would explode (zip bombs).
MAX_UNZIPPED_BYTES = 4 * 1024**3
# Files that mark a folder as the data's own (a CSV, metadata.jsonl, CelebA's .txt lists, IDX .gz).
DATA_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".txt", ".gz")


def load_upload(filename: str, data: bytes, graph: ADMG | None = None) -> Dataset:
    """An uploaded file: a ``.npz``, a ``.csv`` without image columns, or a ``.zip`` of a dataset
    folder, of a CSV with its images, or of class sub-folders."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".npz":
        ds = load_npz(io.BytesIO(data))
        return ds.with_graph(graph) if graph is not None else ds
    with tempfile.TemporaryDirectory(prefix="cw-upload-") as tmp:
        if suffix == ".csv":
            target = Path(tmp) / "data.csv"
            target.write_bytes(data)
            return read_csv(target, graph)
        if suffix != ".zip":
            raise DataError(f"cannot read {filename!r}: upload a .zip (dataset folder, CSV + images, class folders) or a .npz")
        safe_unzip(data, Path(tmp), filename)
        return load_dataset(_dataset_root(Path(tmp)), graph)


def safe_unzip(data: bytes, dest: Path, filename: str) -> None:
    """Unpack the zip ``data`` into ``dest``; a DataError for an unreadable archive, an entry that
    points outside ``dest``, or more than ``MAX_UNZIPPED_BYTES`` in all (``filename`` names the upload)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError(f"{filename!r} is not a readable zip file") from None
    with zf:
        total = 0
        for info in zf.infolist():
            name = info.filename
            if name.startswith("__MACOSX/") or name.endswith("/"):
                continue
            out = (dest / name).resolve()
            if not out.is_relative_to(dest.resolve()):
                raise DataError(f"{filename!r}: entry {name!r} points outside the archive")
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise DataError(f"{filename!r} unpacks to more than {MAX_UNZIPPED_BYTES >> 30} GiB")
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)


def _dataset_root(tmp: Path) -> Path:
    """The folder inside an unpacked zip that holds the data: the archive root, or its single
    top-level folder (zips of a folder usually wrap it)."""
    root = tmp
    while True:
        entries = [e for e in root.iterdir() if not e.name.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and entries[0].is_dir() and not (root / META_FILE).exists():
            inner = entries[0]
            # One folder holding images directly is a class folder of a one-class set, not a wrapper.
            if any(e.is_dir() for e in inner.iterdir()) or any(
                e.suffix.lower() in DATA_FILE_SUFFIXES for e in inner.iterdir()
            ):
                root = inner
                continue
        return root
