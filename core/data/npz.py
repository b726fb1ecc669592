"""A dataset as one ``.npz`` file: a reader and a writer.

Entries: ``meta`` (the meta record as a 0-d unicode array, see :mod:`core.data.stored`) and
``col.<name>`` (one array per column).  Read with ``allow_pickle=False``, so a file never runs code.
Writes are atomic (a temporary file beside the target, renamed into place).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.data.stored import FORMAT, StoredDataset, check_meta, column_nodes


def read_npz(source: str | os.PathLike | io.BytesIO) -> StoredDataset:
    """The columns and meta record of an ``.npz`` written by :func:`write_npz` (never unpickles)."""
    where = f"{str(source)!r}" if not isinstance(source, io.BytesIO) else "the .npz upload"
    try:
        with np.load(source, allow_pickle=False) as z:
            if "meta" not in z.files:
                raise DataError(f"{where} is not a Causal Workbench dataset (no 'meta' entry)")
            meta = check_meta(json.loads(str(z["meta"])), where)
            arrays = {k[4:]: z[k] for k in z.files if k.startswith("col.")}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{where} is not a readable .npz ({type(e).__name__}: {str(e).splitlines()[0][:80]})") from None
    nodes = column_nodes(meta)
    for node in nodes:
        if node.name not in arrays:
            raise DataError(f"{where}: no array for column {node.name!r}")
    table = pd.DataFrame({nd.name: arrays[nd.name] for nd in nodes if nd.type != "image"})
    images = {nd.name: arrays[nd.name] for nd in nodes if nd.type == "image"}
    return StoredDataset(table, images, meta, where)


def write_npz(stored: StoredDataset, path: str | os.PathLike) -> Path:
    """Atomically write one compressed ``.npz``; refuses to replace a file that is not a dataset .npz."""
    target = Path(path)
    if target.exists() and not (target.is_file() and is_dataset_npz(target)):
        raise DataError(f"refusing to overwrite {str(target)!r}: it exists and is not a dataset .npz")
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(stored)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def npz_bytes(stored: StoredDataset) -> bytes:
    """The ``.npz`` file as bytes (for a download button)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **_arrays(stored))
    return buf.getvalue()


def is_dataset_npz(path: Path) -> bool:
    """True for an ``.npz`` whose meta entry carries our format tag."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return "meta" in z.files and json.loads(str(z["meta"])).get("format") == FORMAT
    except (OSError, ValueError, zipfile.BadZipFile, AttributeError):
        return False


def _arrays(stored: StoredDataset) -> dict[str, np.ndarray]:
    """The meta as a 0-d unicode array (loadable without pickle), then one array per column in order."""
    arrays = {"meta": np.array(json.dumps(stored.meta))}
    arrays.update({f"col.{c['name']}": stored.column(c["name"]) for c in stored.meta["columns"]})
    return arrays
