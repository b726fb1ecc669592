"""What the workbench's own dataset files hold, whatever the file: columns plus a meta record.

The meta record (``meta.json`` in a folder, the ``meta`` entry of an ``.npz``)::

    {"format": "causal-workbench-dataset", "version": 1, "n": 1000,
     "columns": [node JSON, in column order], "graph": graph JSON or null,
     "world": {"name", "params", "seed"} or null, "categories": {column: [level names]},
     "fingerprint": sha256 of the content,
     "preparation": {image column: resize/crop record} (imported data only),
     "split": the held-out rows (imported data only)}

Readers (:mod:`core.data.folder`, :mod:`core.data.npz`) return a :class:`StoredDataset` and writers
take one; :func:`check_meta` checks every field of the record (:data:`META_SCHEMA`, at most
``MAX_META_BYTES``) before anything else is read, and ``Dataset.from_stored`` checks the row count
and the fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from core.data.columns import DataError
from core.graph import GraphError, Node
from core.graph.node import JSONValue

FORMAT = "causal-workbench-dataset"
FORMAT_VERSION = 1
MAX_META_BYTES = 16 * 2**20
MAX_COLUMNS = 10_000

_NAME = {"type": "string", "maxLength": 100}
META_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version", "n", "columns"],
    "properties": {
        "n": {"type": "integer", "minimum": 0},
        "columns": {"type": "array", "maxItems": MAX_COLUMNS, "items": {"type": "object", "required": ["name"]}},
        "graph": {"type": ["object", "null"]},
        "world": {"type": ["object", "null"]},
        "categories": {"type": ["object", "null"], "additionalProperties": {"type": "array", "items": _NAME}},
        "fingerprint": {"type": ["string", "null"], "maxLength": 128},
    },
}
_VALIDATOR = Draft202012Validator(META_SCHEMA)

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
    """``meta`` if it is a meta record of a version this code reads whose fields all check out
    (:data:`META_SCHEMA`; the columns are valid, distinct graph nodes), else one line of DataError."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{where} is not a Causal Workbench dataset (no format tag)")
    if meta.get("version") != FORMAT_VERSION:
        raise DataError(f"{where}: dataset format version {str(meta.get('version'))[:20]!r} is not supported")
    error = best_match(_VALIDATOR.iter_errors(meta))
    if error is not None:
        field = ".".join(str(p) for p in error.absolute_path) or "the top level"
        message = " ".join(error.message.split())
        raise DataError(f"{where}: meta.json is corrupt: {field}: {message[:160]}")
    try:
        names = [node.name for node in column_nodes(meta)]
    except GraphError as e:
        raise DataError(f"{where}: meta.json has a bad column ({e})") from None
    if len(set(names)) != len(names):
        twice = next(v for v in names if names.count(v) > 1)
        raise DataError(f"{where}: meta.json lists column {twice!r} twice")
    return meta
