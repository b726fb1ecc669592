"""What the workbench's own dataset files hold, whatever the file: columns plus a meta record.

The meta record (``meta.json`` in a folder, the ``meta`` entry of an ``.npz``)::

    {"format": "causal-workbench-dataset", "version": 1, "n": 1000,
     "columns": [node JSON, in column order], "graph": graph JSON or null,
     "world": {"name", "params", "seed"} or null, "categories": {column: [level names]},
     "fingerprint": sha256 of the content,
     "preparation": {image column: resize/crop record} (imported data only),
     "split": the held-out rows (imported data only)}

Readers (:mod:`core.data.folder`, :mod:`core.data.npz`) return a :class:`StoredDataset` and writers
take one; ``Dataset.from_stored`` checks the row count and the fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.graph import Node
from core.graph.node import JSONValue

FORMAT = "causal-workbench-dataset"
FORMAT_VERSION = 1

Meta: TypeAlias = dict[str, JSONValue]


@dataclass(frozen=True)
class StoredDataset:
    """Scalar columns (``table``), image columns (uint8 (n, C, H, W)) and the meta record; ``source``
    names where it was read from, for messages (``dataset 'data/napkin'``)."""

    table: pd.DataFrame
    images: dict[str, np.ndarray]
    meta: Meta
    source: str = "the dataset"

    def column(self, name: str) -> np.ndarray:
        return self.images[name] if name in self.images else self.table[name].to_numpy()


def column_nodes(meta: Meta) -> list[Node]:
    """The column types a meta record lists, in column order."""
    return [Node.from_json(c) for c in meta["columns"]]


def check_meta(meta: object, where: str) -> Meta:
    """``meta`` if it is a meta record of a version this code reads, else a DataError."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{where} is not a Causal Workbench dataset (no format tag)")
    if meta.get("version") != FORMAT_VERSION:
        raise DataError(f"{where}: dataset format version {meta.get('version')!r} is not supported")
    return meta
