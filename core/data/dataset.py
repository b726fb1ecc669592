"""Dataset: a table of scalar columns plus image columns, aligned with a graph's typed nodes.

A :class:`Dataset` holds ``n`` rows.  Scalar columns live in a pandas DataFrame (``int64`` for binary
and categorical nodes, ``float64`` for continuous ones); image columns are ``uint8`` arrays of shape
``(n, C, H, W)`` with C = 1 (grey) or 3 (RGB).  Every column is described by a :class:`core.graph.Node`
(type, levels, shape), so a dataset can be checked against a graph node by node.

On disk a dataset is a folder (:mod:`core.data.folder`) or one ``.npz`` (:mod:`core.data.npz`); both
hold the same meta record (:mod:`core.data.stored`), and ``save*`` here are shortcuts to them.

The fingerprint is ``sha256`` over, for each column in name order, its name, type and raw bytes
(scalars normalised to int64 / float64, images uint8 C-contiguous), and the held-out split where the
data records one (training leaves those rows out, so it is part of what a model was trained on).  It
depends on the data only, not on the file format, so a dataset saved as a folder and as an ``.npz``
has the same fingerprint, and a checkpoint can check that it is being used with the data it was
trained on.

Imported data (``core.data.sources``) may also record how its images were prepared
(``preparation``: per image column, e.g. ``{"size": [64, 64], "fit": "crop", ...}``), which a run
compares with its own record, and a held-out ``split``::

    {"rows": [[start, stop], ...], "source": "..."}        row ranges the layout set aside, or
    {"fraction": 0.1, "seed": 0, "source": "..."}          a seeded random share of the rows

Rows are counted from 0 everywhere (error messages and image file names agree).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from core.data.columns import DataError, check_image_column, check_scalar_column, infer_node
from core.data.folder import write_folder
from core.data.images import images_to_uint8, images_to_unit_range, is_float_tensor, to_numpy
from core.data.npz import npz_bytes, write_npz
from core.data.stored import FORMAT, FORMAT_VERSION, Meta, StoredDataset, column_nodes
from core.data.units import UnitIndex, Units
from core.graph import ADMG, Node
from core.graph.node import JSONValue

if TYPE_CHECKING:
    import torch

# A column's values as callers hand them in: a numpy array, a torch tensor or a plain sequence.
ColumnValues: TypeAlias = "np.ndarray | torch.Tensor | Sequence[float]"
# The world a dataset was sampled from: {"name", "params", "seed"}.
WorldRecord: TypeAlias = Mapping[str, JSONValue]
# How one image column was prepared on import: {"size": [h, w], "fit": "crop" | "stretch", ...}.
PreparationRecord: TypeAlias = dict[str, JSONValue]
# The held-out rows: {"rows": [[start, stop], ...]} or {"fraction", "seed"}, with a "source" text.
SplitRecord: TypeAlias = dict[str, JSONValue]


@dataclass(eq=False)
class Dataset:
    """A table of scalar columns plus image columns, all with ``n`` rows.

    ``nodes`` types every column (inferred from the values when not given); ``graph`` is the graph the
    data was made for or checked against, if any; ``world`` is ``{"name", "params", "seed"}`` for data
    sampled from a built-in world; ``categories`` names the levels of label columns (folder imports);
    ``preparation`` records how each imported image column was resized or cropped; ``split`` the
    held-out rows (see the module docstring).  Treat a Dataset as immutable: the fingerprint is
    computed once.
    """

    table: pd.DataFrame
    images: dict[str, np.ndarray] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    graph: ADMG | None = None
    world: WorldRecord | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)
    preparation: dict[str, PreparationRecord] = field(default_factory=dict)
    split: SplitRecord | None = None

    def __post_init__(self) -> None:
        self.table = self.table.reset_index(drop=True)
        self.images = dict(self.images)
        n = len(self.table)
        if not len(self.table.columns) and self.images:
            n = len(next(iter(self.images.values())))
            # An index of n rows even without scalar columns, so row selection works alike.
            self.table = pd.DataFrame(index=pd.RangeIndex(n))
        for name, arr in self.images.items():
            if name in self.table.columns:
                raise DataError(f"column {name!r} is both a scalar and an image column")
            if len(arr) != n:
                raise DataError(f"column {name!r} has {len(arr)} rows, the others {n}")
        nodes = dict(self.nodes)
        for name in self.table.columns:
            if name not in nodes:
                nodes[name] = infer_node(name, self.table[name].to_numpy())
        for name, arr in self.images.items():
            if name not in nodes:
                nodes[name] = infer_node(name, arr)
        unknown = [k for k in nodes if k not in self.table.columns and k not in self.images]
        if unknown:
            raise DataError(f"column {unknown[0]!r} is typed but has no data")
        # Column order: the graph's order where it applies, then the rest as given.
        order = [v for v in (self.graph.names if self.graph else ()) if v in nodes]
        order += [v for v in list(self.table.columns) + list(self.images) if v not in order]
        self.nodes = {v: nodes[v] for v in order}
        # Coerce (and check) every column against its type so dtypes are canonical.
        for name, node in self.nodes.items():
            if node.type == "image":
                self.images[name] = check_image_column(node, self.images[name])
            else:
                self.table[name] = check_scalar_column(node, self.table[name].to_numpy())
        self.table = self.table[[v for v in order if v in self.table.columns]]

    # ---- construction

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, ColumnValues],
        graph: ADMG | None = None,
        world: WorldRecord | None = None,
    ) -> Dataset:
        """From one array (or torch tensor) per column.  Image tensors in [-1, 1] (model outputs) are
        converted back to uint8; the graph, if given, types the columns and must be covered."""
        scalars: dict[str, np.ndarray] = {}
        images: dict[str, np.ndarray] = {}
        for name, v in values.items():
            node = graph.node(name) if graph is not None and name in graph else None
            is_image = (node.type == "image") if node is not None else np.ndim(v) == 4
            if is_image:
                images[name] = images_to_uint8(v) if is_float_tensor(v) else np.asarray(v)
            else:
                scalars[name] = to_numpy(v)
        nodes = {v: graph.node(v) for v in values if v in graph} if graph is not None else {}
        ds = cls(pd.DataFrame(scalars), images, nodes, graph, dict(world) if world else None)
        if graph is not None:
            ds.check(graph)
        return ds

    @classmethod
    def from_units(cls, units: Units, graph: ADMG, world: WorldRecord | None = None) -> Dataset:
        """From sampled :class:`core.data.units.Units` (only the observed values are kept)."""
        return cls.from_values(units.values, graph, world)

    # ---- accessors

    @property
    def n(self) -> int:
        return len(self.table)

    def __len__(self) -> int:
        return self.n

    @property
    def columns(self) -> list[str]:
        return list(self.nodes)

    @property
    def scalar_columns(self) -> list[str]:
        return [v for v, node in self.nodes.items() if node.type != "image"]

    @property
    def image_columns(self) -> list[str]:
        return [v for v, node in self.nodes.items() if node.type == "image"]

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def column(self, name: str) -> np.ndarray:
        """One column's values: (n,) int64 / float64, or (n, C, H, W) uint8."""
        if name in self.images:
            return self.images[name]
        if name in self.table.columns:
            return self.table[name].to_numpy()
        raise DataError(f"no column {name!r} (data has {', '.join(self.columns)})")

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Every column, in column order, as the arrays a World's Units hold."""
        return {v: self.column(v) for v in self.columns}

    def subset(self, index: UnitIndex) -> Dataset:
        """Rows ``index`` (a slice, integer array or boolean mask), renumbered from 0.  The subset
        keeps the image preparation record but not the held-out split (its rows are renumbered)."""
        idx = np.arange(self.n)[index]
        return Dataset(
            self.table.iloc[idx].reset_index(drop=True),
            {k: v[idx] for k, v in self.images.items()},
            dict(self.nodes),
            self.graph,
            self.world,
            dict(self.categories),
            dict(self.preparation),
        )

    def heldout_rows(self) -> np.ndarray:
        """The rows the split sets aside (sorted int64; empty without a split)."""
        return heldout_rows(self.split, self.n)

    def training_rows(self) -> np.ndarray:
        """Every row the split does not hold out (all rows without a split)."""
        keep = np.ones(self.n, dtype=bool)
        keep[self.heldout_rows()] = False
        return np.flatnonzero(keep)

    def skeleton(self) -> ADMG:
        """A graph proposal: one node per column, typed as the column is, and no edges (which
        causes what is for the researcher to say, not for the data to guess)."""
        return ADMG([Node.from_json(Node.type_fields(self.nodes[v].to_json())) for v in self.columns])

    def with_graph(self, graph: ADMG) -> Dataset:
        """This data checked against ``graph`` and typed by it (columns the graph lacks are kept)."""
        self.check(graph)
        nodes = {v: (graph.node(v) if v in graph else node) for v, node in self.nodes.items()}
        return Dataset(self.table.copy(), dict(self.images), nodes, graph, self.world, dict(self.categories),
                       dict(self.preparation), self.split)

    def check(self, graph: ADMG) -> None:
        """Raise a DataError (one line, naming the row and column) unless every node of ``graph`` has
        a column of its type: discrete integers in [0, levels) without NaN, finite continuous values,
        images of the node's shape."""
        for node in graph.nodes:
            if node.name not in self.nodes:
                have = ", ".join(self.columns) or "no columns"
                raise DataError(f"missing column for graph node {node.name!r} (data has {have})")
            if node.type == "image":
                if node.name not in self.images:
                    raise DataError(f"column {node.name!r} holds scalars but the graph says it is an image node")
                check_image_column(node, self.images[node.name])
            else:
                if node.name in self.images:
                    raise DataError(f"column {node.name!r} holds images but the graph says it is {node.type}")
                check_scalar_column(node, self.table[node.name].to_numpy())

    # ---- fingerprint

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the content (column names, types, values), independent of the file format."""
        h = hashlib.sha256()
        h.update(f"{FORMAT}/{FORMAT_VERSION};n={self.n}".encode())
        for name in sorted(self.nodes):
            node = self.nodes[name]
            arr = np.ascontiguousarray(self.column(name))
            if arr.dtype.byteorder == ">":
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            h.update(f";{name}:{node.type_code()}:{arr.dtype.str}:{arr.shape}".encode())
            h.update(memoryview(arr).cast("B"))
        if self.split is not None:  # only when present, so data without a split keeps its fingerprint
            h.update(f";split={json.dumps(self.split, sort_keys=True)}".encode())
        return h.hexdigest()

    # ---- tensors for models

    def to_tensors(
        self, columns: Iterable[str] | None = None, device: torch.device | str | None = None
    ) -> dict[str, torch.Tensor]:
        """Torch tensors per column: images float32 in [-1, 1] (x / 127.5 - 1), discrete int64,
        continuous float32."""
        import torch

        out = {}
        for name in self.columns if columns is None else columns:
            node = self.node(name)
            arr = self.column(name)
            if node.type == "image":
                t = images_to_unit_range(arr)
            elif node.is_discrete:
                t = torch.from_numpy(np.array(arr, dtype=np.int64))  # a copy: pandas arrays are read-only
            else:
                t = torch.from_numpy(np.array(arr, dtype=np.float32))
            out[name] = t.to(device) if device is not None else t
        return out

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise DataError(f"no column {name!r} (data has {', '.join(self.columns)})") from None

    # ---- meta and files

    def meta(self) -> Meta:
        """The meta record (meta.json; also stored in .npz files), see :mod:`core.data.stored`."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "n": self.n,
            "columns": [self.nodes[v].to_json() for v in self.columns],
            "graph": self.graph.to_json() if self.graph is not None else None,
            "world": self.world,
            "categories": self.categories,
            "fingerprint": self.fingerprint,
            **({"preparation": self.preparation} if self.preparation else {}),
            **({"split": self.split} if self.split is not None else {}),
        }

    def to_stored(self) -> StoredDataset:
        """The columns and meta record that dataset files hold."""
        return StoredDataset(self.table, self.images, self.meta())

    @classmethod
    def from_stored(cls, stored: StoredDataset) -> Dataset:
        """The dataset a file held; its row count and fingerprint must match the meta record."""
        meta, where = stored.meta, stored.source
        nodes = {node.name: node for node in column_nodes(meta)}
        graph = ADMG.from_json(meta["graph"]) if meta.get("graph") else None
        ds = cls(stored.table, stored.images, nodes, graph, meta.get("world"), meta.get("categories") or {},
                 meta.get("preparation") or {}, meta.get("split"))
        if ds.n != meta.get("n"):
            raise DataError(f"{where}: meta.json says {meta.get('n')} rows, the data has {ds.n}")
        if meta.get("fingerprint") and ds.fingerprint != meta["fingerprint"]:
            raise DataError(
                f"{where}: the data changed since it was written (fingerprint mismatch); "
                "delete meta.json to import data.csv as new data"
            )
        return ds

    def save(self, path: str | os.PathLike) -> Path:
        """Write the dataset: a ``.npz`` file if ``path`` ends in .npz, else a dataset folder."""
        p = Path(path)
        if p.suffix.lower() == ".npz":
            return self.save_npz(p)
        return self.save_folder(p)

    def save_folder(self, path: str | os.PathLike) -> Path:
        """Atomically write a dataset folder (:func:`core.data.folder.write_folder`)."""
        return write_folder(self.to_stored(), path)

    def save_npz(self, path: str | os.PathLike) -> Path:
        """Atomically write one compressed ``.npz`` (:func:`core.data.npz.write_npz`)."""
        return write_npz(self.to_stored(), path)

    def to_npz_bytes(self) -> bytes:
        """The .npz file as bytes (for a download button)."""
        return npz_bytes(self.to_stored())


def heldout_rows(split: SplitRecord | None, n: int) -> np.ndarray:
    """The held-out rows of a split record (see the module docstring) among ``n`` rows."""
    if not split:
        return np.zeros(0, dtype=np.int64)
    if "rows" in split:
        ranges = split["rows"]
        if not isinstance(ranges, list) or not all(
            isinstance(r, list) and len(r) == 2 and 0 <= int(r[0]) <= int(r[1]) <= n for r in ranges
        ):
            raise DataError(f"the held-out split's row ranges do not fit {n} rows")
        parts = [np.arange(int(a), int(b), dtype=np.int64) for a, b in ranges]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    fraction, seed = float(split.get("fraction", 0.0)), int(split.get("seed", 0))
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"the held-out fraction must be in [0, 1), got {fraction}")
    k = int(round(fraction * n))
    return np.sort(np.random.default_rng(seed).permutation(n)[:k]).astype(np.int64)
