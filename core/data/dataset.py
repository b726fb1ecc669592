"""Data sets: a table of scalar columns plus image columns, aligned with a graph's typed nodes.

A :class:`Dataset` holds ``n`` rows.  Scalar columns live in a pandas DataFrame (``int64`` for binary
and categorical nodes, ``float64`` for continuous ones); image columns are ``uint8`` arrays of shape
``(n, C, H, W)`` with C = 1 (grey) or 3 (RGB).  Every column is described by a :class:`core.graph.Node`
(type, levels, shape), so a dataset can be checked against a graph node by node.

On disk a dataset is a folder::

    data.csv                      scalar columns; image columns hold images/<column>/<row>.png
    images/<column>/<row>.png     one PNG per row and image column (rows counted from 0)
    meta.json                     format tag, column types, n, graph JSON, world and parameters,
                                  and the content fingerprint

or a single ``.npz`` (arrays only, loaded with ``allow_pickle=False``).  Writes are atomic: we write
into a temporary folder (or file) beside the target and rename it into place, so a crash never
leaves half a dataset behind.

The fingerprint is ``sha256`` over, for each column in name order, its name, type and raw bytes
(scalars normalised to int64 / float64, images uint8 C-contiguous).  It depends on the data only,
not on the file format, so a dataset saved as a folder and as an ``.npz`` has the same fingerprint,
and a checkpoint can check that it is being used with the data it was trained on.

Rows are counted from 0 everywhere (error messages and image file names agree).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import WorkbenchError
from core.graph import ADMG, Node

FORMAT = "causal-workbench-dataset"
FORMAT_VERSION = 1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Uploaded zips are unpacked to disk: refuse archives that would explode (zip bombs).
MAX_UNZIPPED_BYTES = 4 * 1024**3

_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


class DataError(WorkbenchError):
    """Data that does not fit a graph, or cannot be read.  One line naming the row and column."""


# --------------------------------------------------------------------------------------------------
# Column types


def infer_node(name: str, values: np.ndarray) -> Node:
    """The node type a column's values suggest: images by rank, 0/1 integers binary, other
    non-negative integers categorical (levels = max + 1), everything else continuous."""
    values = np.asarray(values)
    if values.ndim == 4:
        return Node(name, "image", shape=tuple(int(s) for s in values.shape[1:]))
    if values.ndim != 1:
        raise DataError(f"column {name!r}: expected one value per row or images (n, C, H, W), got shape {values.shape}")
    if values.dtype == bool:
        return Node(name, "binary")
    if np.issubdtype(values.dtype, np.integer) and len(values) and values.min() >= 0:
        top = int(values.max())
        return Node(name, "binary") if top <= 1 else Node(name, "categorical", levels=top + 1)
    return Node(name, "continuous")


def _describe_type(node: Node) -> str:
    if node.type == "categorical":
        return f"categorical, {node.levels} levels"
    if node.type == "image":
        return "image " + "x".join(map(str, node.shape))
    return node.type


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_scalar_column(node: Node, values: Any) -> np.ndarray:
    """``values`` as int64 (discrete) or float64 (continuous), or a DataError naming the first bad row.

    Discrete: every value an integer in [0, levels), no missing values.  Continuous: finite numbers.
    """
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise DataError(f"column {node.name!r}: expected one value per row, got shape {raw.shape}")
    if raw.dtype == bool:
        raw = raw.astype(np.int64)
    if not (np.issubdtype(raw.dtype, np.number)):
        # Object or string columns: find the first entry that is not a number.
        as_num = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
        present = ~pd.isna(pd.Series(raw, dtype=object)).to_numpy()
        bad = present & np.isnan(as_num)
        if bad.any():
            i = _first_bad(bad)
            raise DataError(f"row {i}, column {node.name!r}: {raw[i]!r} is not a number ({_describe_type(node)} node)")
        raw = as_num
    if node.is_discrete:
        if np.issubdtype(raw.dtype, np.floating):
            if np.isnan(raw).any():
                i = _first_bad(np.isnan(raw))
                raise DataError(f"row {i}, column {node.name!r}: missing value (NaN) in a discrete column")
            frac = ~np.isfinite(raw) | (raw != np.round(raw))
            if frac.any():
                i = _first_bad(frac)
                raise DataError(f"row {i}, column {node.name!r}: {raw[i]:g} is not an integer category")
        out = raw.astype(np.int64)
        bad = (out < 0) | (out >= node.levels)
        if bad.any():
            i = _first_bad(bad)
            raise DataError(
                f"row {i}, column {node.name!r}: value {out[i]} is outside 0..{node.levels - 1} ({_describe_type(node)})"
            )
        return out
    if node.type == "continuous":
        out = raw.astype(np.float64)
        bad = ~np.isfinite(out)
        if bad.any():
            i = _first_bad(bad)
            raise DataError(f"row {i}, column {node.name!r}: {out[i]} in a continuous column (values must be finite)")
        return out
    raise DataError(f"column {node.name!r}: a {node.type} node cannot hold scalar values")


def check_image_column(node: Node, values: Any) -> np.ndarray:
    """``values`` as a uint8 array (n, C, H, W) matching the node's shape, or a DataError."""
    arr = np.asarray(values)
    if arr.ndim != 4:
        raise DataError(f"column {node.name!r}: images must be an array (n, C, H, W), got shape {arr.shape}")
    if tuple(arr.shape[1:]) != tuple(node.shape):
        got = "x".join(map(str, arr.shape[1:]))
        want = "x".join(map(str, node.shape))
        raise DataError(f"column {node.name!r}: images are {got} (CxHxW), the graph says {want}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer) or arr.min(initial=0) < 0 or arr.max(initial=0) > 255:
            raise DataError(f"column {node.name!r}: images must be uint8 in 0..255, got {arr.dtype}")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------------------------------
# The dataset


@dataclass(eq=False)
class Dataset:
    """A table of scalar columns plus image columns, all with ``n`` rows.

    ``nodes`` types every column (inferred from the values when not given); ``graph`` is the graph the
    data was made for or checked against, if any; ``world`` is ``{"name", "params", "seed"}`` for data
    sampled from a built-in world; ``categories`` names the levels of label columns (folder imports).
    Treat a Dataset as immutable: the fingerprint is computed once.
    """

    table: pd.DataFrame
    images: dict[str, np.ndarray] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    graph: ADMG | None = None
    world: dict[str, Any] | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)

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
        values: Mapping[str, Any],
        graph: ADMG | None = None,
        world: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """From one array (or torch tensor) per column.  Image tensors in [-1, 1] (model outputs) are
        converted back to uint8; the graph, if given, types the columns and must be covered."""
        scalars: dict[str, np.ndarray] = {}
        images: dict[str, np.ndarray] = {}
        for name, v in values.items():
            node = graph.node(name) if graph is not None and name in graph else None
            is_image = (node.type == "image") if node is not None else np.ndim(v) == 4
            if is_image:
                images[name] = images_to_uint8(v) if _is_float_tensor(v) else np.asarray(v)
            else:
                scalars[name] = _to_numpy(v)
        nodes = {v: graph.node(v) for v in values if v in graph} if graph is not None else {}
        ds = cls(pd.DataFrame(scalars), images, nodes, graph, dict(world) if world else None)
        if graph is not None:
            ds.check(graph)
        return ds

    @classmethod
    def from_units(cls, units: Any, graph: ADMG, world: Mapping[str, Any] | None = None) -> Dataset:
        """From a world's :class:`core.worlds.base.Units` (only the observed values are kept)."""
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

    def subset(self, index: Any) -> Dataset:
        """Rows ``index`` (a slice, integer array or boolean mask), renumbered from 0."""
        idx = np.arange(self.n)[index]
        return Dataset(
            self.table.iloc[idx].reset_index(drop=True),
            {k: v[idx] for k, v in self.images.items()},
            dict(self.nodes),
            self.graph,
            self.world,
            dict(self.categories),
        )

    def with_graph(self, graph: ADMG) -> Dataset:
        """This data checked against ``graph`` and typed by it (columns the graph lacks are kept)."""
        self.check(graph)
        nodes = {v: (graph.node(v) if v in graph else node) for v, node in self.nodes.items()}
        return Dataset(self.table.copy(), dict(self.images), nodes, graph, self.world, dict(self.categories))

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
            h.update(f";{name}:{_type_code(node)}:{arr.dtype.str}:{arr.shape}".encode())
            h.update(memoryview(arr).cast("B"))
        return h.hexdigest()

    # ---- tensors for models

    def to_tensors(self, columns: Iterable[str] | None = None, device: Any = None) -> dict[str, Any]:
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

    # ---- meta

    def meta(self) -> dict[str, Any]:
        """What meta.json holds (also stored in .npz files)."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "n": self.n,
            "columns": [self.nodes[v].to_json() for v in self.columns],
            "graph": self.graph.to_json() if self.graph is not None else None,
            "world": self.world,
            "categories": self.categories,
            "fingerprint": self.fingerprint,
        }

    # ---- saving

    def save(self, path: str | os.PathLike) -> Path:
        """Write the dataset: a ``.npz`` file if ``path`` ends in .npz, else a dataset folder."""
        p = Path(path)
        if p.suffix.lower() == ".npz":
            return self.save_npz(p)
        return self.save_folder(p)

    def save_folder(self, path: str | os.PathLike) -> Path:
        """Atomically write ``data.csv``, ``images/<column>/<row>.png`` and ``meta.json``."""
        target = Path(path)
        _check_writable_folder(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            self._write_folder(tmp)
            _replace_folder(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def _write_folder(self, root: Path) -> None:
        from PIL import Image

        table = self.table.copy()
        for name in self.image_columns:
            folder = root / "images" / name
            folder.mkdir(parents=True)
            arr = self.images[name]
            mode = "L" if arr.shape[1] == 1 else "RGB"
            paths = []
            for i in range(self.n):
                rel = f"images/{name}/{i}.png"
                pixels = arr[i, 0] if mode == "L" else arr[i].transpose(1, 2, 0)
                # Low compression: these images are tiny and writing 10k of them should be quick.
                Image.fromarray(np.ascontiguousarray(pixels), mode).save(root / rel, compress_level=1)
                paths.append(rel)
            table[name] = paths
        table = table[self.columns]
        # repr-precision floats so continuous values survive the CSV round trip exactly.
        table.to_csv(root / "data.csv", index=False, float_format=None)
        (root / "meta.json").write_text(json.dumps(self.meta(), indent=1) + "\n", encoding="utf-8")

    def save_npz(self, path: str | os.PathLike) -> Path:
        """Atomically write one compressed ``.npz`` (column arrays plus the meta as a JSON string)."""
        target = Path(path)
        if target.exists() and not (target.is_file() and _is_our_npz(target)):
            raise DataError(f"refusing to overwrite {str(target)!r}: it exists and is not a dataset .npz")
        target.parent.mkdir(parents=True, exist_ok=True)
        arrays = self._npz_arrays()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def to_npz_bytes(self) -> bytes:
        """The .npz file as bytes (for a download button)."""
        buf = io.BytesIO()
        np.savez_compressed(buf, **self._npz_arrays())
        return buf.getvalue()

    def _npz_arrays(self) -> dict[str, np.ndarray]:
        """The meta as a 0-d unicode array (loadable without pickle) and one array per column."""
        arrays = {"meta": np.array(json.dumps(self.meta()))}
        arrays.update({f"col.{v}": self.column(v) for v in self.columns})
        return arrays


def _type_code(node: Node) -> str:
    if node.type == "categorical":
        return f"categorical:{node.levels}"
    if node.type == "image":
        return "image:" + "x".join(map(str, node.shape))
    return node.type


def _is_float_tensor(v: Any) -> bool:
    return hasattr(v, "detach") and getattr(v, "is_floating_point", lambda: False)()


def _to_numpy(v: Any) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


# --------------------------------------------------------------------------------------------------
# Conversions for models


def images_to_unit_range(images: np.ndarray) -> Any:
    """uint8 (n, C, H, W) -> float32 torch tensor in [-1, 1]: x / 127.5 - 1."""
    import torch

    arr = np.ascontiguousarray(images)
    if not arr.flags.writeable:
        arr = arr.copy()  # torch warns on read-only memory; the float conversion copies anyway
    return torch.from_numpy(arr).to(torch.float32).div_(127.5).sub_(1.0)


def images_to_uint8(images: Any) -> np.ndarray:
    """Model outputs in [-1, 1] (torch tensor or numpy array) -> uint8 (n, C, H, W), clipped and
    rounded: round((clip(x, -1, 1) + 1) * 127.5)."""
    arr = _to_numpy(images).astype(np.float32, copy=False)
    return np.round((np.clip(arr, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# Atomic folder replacement


def is_dataset_folder(path: str | os.PathLike) -> bool:
    """True for a folder whose meta.json carries our format tag."""
    meta = Path(path) / "meta.json"
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _is_our_npz(path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            return "meta" in z.files and json.loads(str(z["meta"])).get("format") == FORMAT
    except (OSError, ValueError, zipfile.BadZipFile, AttributeError):
        return False


def _check_writable_folder(target: Path) -> None:
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


# --------------------------------------------------------------------------------------------------
# Reading images


def read_image(path: Path, what: str) -> np.ndarray:
    """One PNG/JPEG as uint8 (C, H, W): grey images give C = 1, colour ones C = 3.  ``what`` names
    the row and column for the error message."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "RGB"):
                im = im.convert("L" if im.mode in _GREY_MODES else "RGB")
            else:
                im.load()
            arr = np.asarray(im)
    except FileNotFoundError:
        raise DataError(f"{what}: image file not found: {path.name}") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{what}: unreadable image {path.name} ({type(e).__name__})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def read_image_column(
    root: Path, rel_paths: Sequence[Any], column: str, shape: Sequence[int] | None = None
) -> np.ndarray:
    """Images listed by relative path (relative to ``root``) as one uint8 array (n, C, H, W).

    All must share one shape (the node's, when given); paths may not leave ``root``.
    """
    root_resolved = root.resolve()
    out: np.ndarray | None = None
    for i, rel in enumerate(rel_paths):
        what = f"row {i}, column {column!r}"
        if not isinstance(rel, str) or not rel.strip():
            raise DataError(f"{what}: missing image path")
        path = (root / rel).resolve()
        if not path.is_relative_to(root_resolved):
            raise DataError(f"{what}: image path {rel!r} leaves the data folder")
        img = read_image(path, what)
        if out is None:
            want = tuple(shape) if shape is not None else img.shape
            out = np.empty((len(rel_paths), *want), dtype=np.uint8)
        if img.shape != out.shape[1:]:
            raise DataError(f"{what}: image {rel} is {_shape_text(img.shape)}, expected {_shape_text(out.shape[1:])}")
        out[i] = img
    if out is None:
        c, h, w = shape if shape is not None else (1, 1, 1)
        out = np.zeros((0, c, h, w), dtype=np.uint8)
    return out


def _shape_text(shape: Sequence[int]) -> str:
    c, h, w = shape
    return f"{'grey' if c == 1 else 'RGB' if c == 3 else f'{c}-channel'} {h}x{w}"


# --------------------------------------------------------------------------------------------------
# Loading


def load_dataset(path: str | os.PathLike, graph: ADMG | None = None) -> Dataset:
    """Read a dataset folder, a ``.npz``, a CSV (image columns as relative paths), or a folder of
    class sub-folders; check it against ``graph`` if one is given."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data not found: {str(p)!r}")
    if p.is_dir():
        if (p / "meta.json").is_file():
            ds = load_folder(p)
        elif (p / "data.csv").is_file():
            ds = from_csv(p / "data.csv", graph)
        else:
            csvs = sorted(p.glob("*.csv"))
            if len(csvs) == 1:
                ds = from_csv(csvs[0], graph)
            elif len(csvs) > 1:
                raise DataError(f"{str(p)!r} holds several CSV files ({', '.join(c.name for c in csvs)}): name one")
            else:
                ds = from_image_folders(p)
    elif p.suffix.lower() == ".npz":
        ds = load_npz(p)
    elif p.suffix.lower() == ".csv":
        ds = from_csv(p, graph)
    else:
        raise DataError(f"cannot read {p.name!r}: expected a dataset folder, a .csv or a .npz")
    return ds.with_graph(graph) if graph is not None else ds


def _read_meta(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise DataError(f"{where} is not a Causal Workbench dataset (no format tag)")
    if obj.get("version") != FORMAT_VERSION:
        raise DataError(f"{where}: dataset format version {obj.get('version')!r} is not supported")
    return obj


def _dataset_from_meta(meta: dict[str, Any], table: pd.DataFrame, images: dict[str, np.ndarray], where: str) -> Dataset:
    nodes = {c["name"]: Node.from_json(c) for c in meta["columns"]}
    graph = ADMG.from_json(meta["graph"]) if meta.get("graph") else None
    ds = Dataset(table, images, nodes, graph, meta.get("world"), meta.get("categories") or {})
    if ds.n != meta.get("n"):
        raise DataError(f"{where}: meta.json says {meta.get('n')} rows, the data has {ds.n}")
    if meta.get("fingerprint") and ds.fingerprint != meta["fingerprint"]:
        raise DataError(
            f"{where}: the data changed since it was written (fingerprint mismatch); "
            "delete meta.json to import data.csv as new data"
        )
    return ds


def load_folder(path: str | os.PathLike) -> Dataset:
    """Read a folder written by :meth:`Dataset.save_folder`; the fingerprint must still match."""
    root = Path(path)
    where = f"dataset {str(root)!r}"
    try:
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    except ValueError as e:
        raise DataError(f"{where}: meta.json is not valid JSON ({e})") from None
    meta = _read_meta(meta, where)
    nodes = [Node.from_json(c) for c in meta["columns"]]
    table = _read_csv(root / "data.csv")
    for node in nodes:
        if node.name not in table.columns:
            raise DataError(f"{where}: data.csv has no column {node.name!r}")
    images = {
        node.name: read_image_column(root, table[node.name].tolist(), node.name, node.shape)
        for node in nodes
        if node.type == "image"
    }
    scalars = table[[nd.name for nd in nodes if nd.type != "image"]]
    return _dataset_from_meta(meta, scalars, images, where)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, float_precision="round_trip")
    except FileNotFoundError:
        raise DataError(f"file not found: {str(path)!r}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path.name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def load_npz(source: str | os.PathLike | io.BytesIO) -> Dataset:
    """Read a ``.npz`` written by :meth:`Dataset.save_npz` (never unpickles)."""
    where = f"{str(source)!r}" if not isinstance(source, io.BytesIO) else "the .npz upload"
    try:
        with np.load(source, allow_pickle=False) as z:
            if "meta" not in z.files:
                raise DataError(f"{where} is not a Causal Workbench dataset (no 'meta' entry)")
            meta = _read_meta(json.loads(str(z["meta"])), where)
            arrays = {k[4:]: z[k] for k in z.files if k.startswith("col.")}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{where} is not a readable .npz ({type(e).__name__}: {str(e).splitlines()[0][:80]})") from None
    nodes = [Node.from_json(c) for c in meta["columns"]]
    for node in nodes:
        if node.name not in arrays:
            raise DataError(f"{where}: no array for column {node.name!r}")
    table = pd.DataFrame({nd.name: arrays[nd.name] for nd in nodes if nd.type != "image"})
    images = {nd.name: arrays[nd.name] for nd in nodes if nd.type == "image"}
    return _dataset_from_meta(meta, table, images, where)


def _looks_like_image_column(values: pd.Series) -> bool:
    present = values.dropna()
    if not len(present) or not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return False
    return bool(present.astype(str).str.lower().str.endswith(IMAGE_SUFFIXES).all())


def from_csv(path: str | os.PathLike, graph: ADMG | None = None) -> Dataset:
    """Import a user's CSV.  Image columns (the graph's image nodes, or columns whose every value is
    a .png/.jpg path) hold paths relative to the CSV's folder; images keep their size (no resizing),
    grey ones are 1 channel and colour ones 3.  Other columns are typed by the graph or inferred."""
    path = Path(path)
    table = _read_csv(path)
    if graph is not None:
        for node in graph.nodes:
            if node.name not in table.columns:
                have = ", ".join(map(str, table.columns)) or "no columns"
                raise DataError(f"missing column for graph node {node.name!r} ({path.name} has {have})")
        image_cols = [nd.name for nd in graph.nodes if nd.type == "image"]
    else:
        image_cols = [c for c in table.columns if _looks_like_image_column(table[c])]
    bad_names = [c for c in table.columns if not isinstance(c, str) or not c.isidentifier()]
    if bad_names:
        raise DataError(f"{path.name}: column name {bad_names[0]!r} is not a valid node name (letters, digits, _)")
    images = {}
    for c in image_cols:
        shape = graph.node(c).shape if graph is not None else None
        images[c] = read_image_column(path.parent, table[c].tolist(), c, shape)
    scalars = table.drop(columns=image_cols)
    nodes = {v: graph.node(v) for v in scalars.columns if graph is not None and v in graph}
    for c in scalars.columns:
        if c not in nodes and not pd.api.types.is_numeric_dtype(scalars[c]):
            first = scalars[c].dropna()
            sample = repr(first.iloc[0]) if len(first) else "empty"
            raise DataError(f"column {c!r} of {path.name} is not numeric (e.g. {sample}); scalar columns must be numbers")
        if c not in nodes and scalars[c].isna().any():
            i = _first_bad(scalars[c].isna().to_numpy())
            raise DataError(f"row {i}, column {c!r}: missing value")
    ds = Dataset(scalars, images, nodes)
    return ds.with_graph(graph) if graph is not None else ds


def from_image_folders(
    root: str | os.PathLike, image_column: str = "image", label_column: str = "label"
) -> Dataset:
    """Import one sub-folder of images per class: an image column plus a label column (binary for
    two classes, categorical otherwise; classes numbered in sorted folder-name order and their names
    kept in ``categories``)."""
    root = Path(root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))
    files: list[str] = []
    labels: list[int] = []
    for k, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                files.append(f"{cls}/{f.name}")
                labels.append(k)
    if len(classes) < 2 or not files:
        raise DataError(
            f"{str(root.name)!r} has no dataset: expected meta.json, a CSV, or one sub-folder of images per class (at least 2)"
        )
    images = read_image_column(root, files, image_column)
    label_node = Node(label_column, "binary") if len(classes) == 2 else Node(label_column, "categorical", levels=len(classes))
    table = pd.DataFrame({label_column: np.asarray(labels, dtype=np.int64)})
    return Dataset(table, {image_column: images}, {label_column: label_node}, categories={label_column: classes})


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
            return from_csv(target, graph)
        if suffix != ".zip":
            raise DataError(f"cannot read {filename!r}: upload a .zip (dataset folder, CSV + images, class folders) or a .npz")
        _safe_unzip(data, Path(tmp), filename)
        return load_dataset(_dataset_root(Path(tmp)), graph)


def _safe_unzip(data: bytes, dest: Path, filename: str) -> None:
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
        if len(entries) == 1 and entries[0].is_dir() and not (root / "meta.json").exists():
            inner = entries[0]
            # One folder holding images directly is a class folder of a one-class set, not a wrapper.
            if any(e.is_dir() for e in inner.iterdir()) or any(
                e.suffix.lower() in (".csv", ".json") for e in inner.iterdir()
            ):
                root = inner
                continue
        return root


# --------------------------------------------------------------------------------------------------
# Summaries for the Data page: features per column, associations, confounding


@dataclass
class Features:
    """Numeric features of a dataset: ``table`` (one column per feature), ``owner`` (the dataset
    column each feature belongs to) and ``levels`` (number of categories of a categorical feature,
    None for a numeric one)."""

    table: pd.DataFrame
    owner: dict[str, str]
    levels: dict[str, int | None]
    source: dict[str, str] = field(default_factory=dict)  # column -> "value", "probe" or "pixels"

    def of(self, column: str) -> list[str]:
        return [f for f, c in self.owner.items() if c == column]

    def association(self, a: str, b: str) -> float:
        return association(self.table[a].to_numpy(), self.table[b].to_numpy(), self.levels[a], self.levels[b])


def feature_table(dataset: Dataset, world: Any = None, columns: Iterable[str] | None = None) -> Features:
    """One feature per scalar column, and a few per image column (of ``columns``, default all).

    Image features are the attributes the world's probe reads off the images
    (``world.probe(column).read(images)``: ``{attribute: (n,) array}``) when it can, else the mean
    brightness and, for colour images, the mean of each channel.
    """
    feats: dict[str, np.ndarray] = {}
    owner: dict[str, str] = {}
    levels: dict[str, int | None] = {}
    source: dict[str, str] = {}
    for name in dataset.columns if columns is None else columns:
        node = dataset.node(name)
        if node.type != "image":
            feats[name] = dataset.column(name)
            owner[name] = name
            levels[name] = node.levels
            source[name] = "value"
            continue
        read = probe_features(world, name, dataset.column(name))
        source[name] = "probe" if read else "pixels"
        if not read:
            read = {k: (v, None) for k, v in pixel_features(dataset.column(name)).items()}
        for attr, (vals, k) in read.items():
            feats[f"{name}.{attr}"] = vals
            owner[f"{name}.{attr}"] = name
            levels[f"{name}.{attr}"] = k
    return Features(pd.DataFrame(feats, index=dataset.table.index), owner, levels, source)


def probe_features(world: Any, column: str, images: np.ndarray) -> dict[str, tuple[np.ndarray, int | None]]:
    """``{attribute: (values, levels)}`` a world's probe reads off ``images`` of ``column`` (levels
    for categorical attributes, else None); {} when the world has no working probe for it (no probe
    module, or trained probe weights missing)."""
    make = getattr(world, "probe", None)
    if make is None or column not in getattr(world, "graph", ()):
        return {}
    try:
        probe = make(column)
        read = probe.read(images)
    except (ImportError, NotImplementedError, WorkbenchError):
        return {}
    attrs = getattr(probe, "attributes", {}) or {}
    out = {}
    for k, v in dict(read).items():
        arr = np.asarray(v)
        if arr.ndim == 1 and len(arr) == len(images) and np.issubdtype(arr.dtype, np.number):
            labels = getattr(attrs.get(k), "labels", None)
            out[str(k)] = (arr, len(labels) if labels else None)
    return out


def pixel_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """Mean brightness in [0, 1] and, for RGB, the mean of each channel."""
    x = images.astype(np.float32) / 255.0
    out = {"brightness": x.mean(axis=(1, 2, 3))}
    if images.shape[1] == 3:
        for c, name in enumerate(("red", "green", "blue")):
            out[name] = x[:, c].mean(axis=(1, 2))
    return out


def association(x: np.ndarray, y: np.ndarray, x_levels: int | None = None, y_levels: int | None = None) -> float:
    """Strength of association in [0, 1].

    Numeric (or binary) pairs: |Pearson r|.  A categorical (> 2 levels) with a numeric: the
    correlation ratio eta = sqrt(sum_k n_k (mean_k - mean)^2 / sum_i (y_i - mean)^2).  Two
    categoricals: Cramér's V = sqrt(chi^2 / (n (min(r, c) - 1))).  Zero for a constant variable.
    """
    x_cat = x_levels is not None and x_levels > 2
    y_cat = y_levels is not None and y_levels > 2
    if x_cat and y_cat:
        return _cramers_v(x, y)
    if x_cat:
        return _correlation_ratio(x, y)
    if y_cat:
        return _correlation_ratio(y, x)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0
    return float(abs(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy)))


def _correlation_ratio(cats: np.ndarray, y: np.ndarray) -> float:
    y = np.asarray(y, dtype=np.float64)
    total = np.sum((y - y.mean()) ** 2)
    if total == 0:
        return 0.0
    codes, inv = np.unique(cats, return_inverse=True)
    counts = np.bincount(inv)
    means = np.bincount(inv, weights=y) / counts
    between = np.sum(counts * (means - y.mean()) ** 2)
    return float(np.sqrt(min(1.0, between / total)))


def _cramers_v(x: np.ndarray, y: np.ndarray) -> float:
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    r, c = xi.max() + 1, yi.max() + 1
    if min(r, c) < 2:
        return 0.0
    table = np.zeros((r, c))
    np.add.at(table, (xi, yi), 1)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = np.sum((table - expected) ** 2 / expected)
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def association_matrix(features: Features) -> pd.DataFrame:
    """The pairwise :func:`association` of every feature (symmetric, 1 on the diagonal)."""
    names = list(features.table.columns)
    m = np.eye(len(names))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            m[i, j] = m[j, i] = features.association(a, names[j])
    return pd.DataFrame(m, index=names, columns=names)


def confounded_pairs(
    dataset: Dataset,
    graph: ADMG,
    features: Features,
    world: Any = None,
    seed: int = 0,
    max_do_units: int = 2000,
) -> pd.DataFrame:
    """For each bidirected edge a <-> b (a hidden common cause): the strongest observed association
    between a feature of a and a feature of b, and whether a directed path joins them as well.

    With the world, also the same association in fresh units where the earlier of the two (in
    topological order), say a, is set by do() to its observed values shuffled across units (at
    most ``max_do_units``): a keeps its distribution but no longer listens to the hidden cause, so
    what remains is the causal association (zero up to noise when no directed path joins them);
    observed minus under_do is the spurious part.  Columns: edge, feature_a, feature_b, observed,
    causal_path, do, under_do."""
    rows = []
    order = {v: i for i, v in enumerate(graph.topological_order())}
    sampled: dict[str, Dataset] = {}  # one interventional sample per do() target
    for a, b in graph.bidirected:
        if a not in dataset or b not in dataset:
            continue
        best = max(
            ((features.association(x, y), x, y) for x in features.of(a) for y in features.of(b)),
            default=(0.0, "", ""),
        )
        path = b in graph.descendants([a]) or a in graph.descendants([b])
        target = a if order[a] <= order[b] else b
        under = None
        if world is not None and best[1]:
            if target not in sampled:
                sub = dataset if dataset.n <= max_do_units else dataset.subset(slice(0, max_do_units))
                sampled[target] = _shuffled_do_sample(sub, graph, world, target, seed)
            # Read the fresh units the way the observed ones were read (probe only if it worked there).
            probed = world if features.source.get(a) == "probe" or features.source.get(b) == "probe" else None
            under = feature_table(sampled[target], probed, [a, b]).association(best[1], best[2])
        rows.append({"edge": f"{a} <-> {b}", "feature_a": best[1], "feature_b": best[2], "observed": best[0],
                     "causal_path": path, "do": target if world is not None else None, "under_do": under})
    return pd.DataFrame(rows, columns=["edge", "feature_a", "feature_b", "observed", "causal_path", "do", "under_do"])


def _shuffled_do_sample(dataset: Dataset, graph: ADMG, world: Any, target: str, seed: int) -> Dataset:
    """Fresh units with ``target`` set to a random permutation of its observed values: P(target) is
    kept, its hidden causes are cut."""
    rng = np.random.default_rng(seed)
    values = dataset.column(target)
    forced = values[rng.permutation(len(values))]
    units = world.interventional_samples({target: forced}, n=len(values), seed=seed + 1)
    return Dataset.from_values(units.values, graph)


def gallery_items(dataset: Dataset, column: str, k: int = 12, features: Features | None = None,
                  seed: int = 0) -> list[tuple[np.ndarray, str]]:
    """Up to ``k`` random rows as (H x W x C image for display, caption): the row number, its scalar
    values, then after "read:" the attributes measured off this image (``features``).  A read
    attribute named like a scalar column is shown only where it disagrees with that column (a
    different category, or over 5% off), as ``name=read (≠true)``."""
    if column not in dataset.images:
        raise DataError(f"no image column {column!r} (image columns: {', '.join(dataset.image_columns) or 'none'})")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(dataset.n, size=min(k, dataset.n), replace=False))
    out = []
    for i in rows:
        img = dataset.images[column][i].transpose(1, 2, 0)
        if img.shape[2] == 1:
            img = img[:, :, 0]
        parts = [f"#{i}"]
        for c in dataset.scalar_columns:
            parts.append(f"{c}={_level_name(dataset, c, dataset.table[c].iloc[i])}")
        read = []
        for f in features.of(column) if features is not None else ():
            attr, value = f.split(".", 1)[1], features.table[f].iloc[i]
            if attr in dataset.scalar_columns:
                truth = dataset.table[attr].iloc[i]
                if dataset.nodes[attr].is_discrete:
                    if int(value) == int(truth):
                        continue
                elif abs(float(value) - float(truth)) <= 0.05 * abs(float(truth)):
                    continue
                read.append(f"{attr}={_fmt(value)} (≠{_level_name(dataset, attr, truth)})")
            else:
                read.append(f"{attr}={_fmt(value)}")
        if read:
            parts.append("| read: " + " ".join(read))
        out.append((img, " ".join(parts)))
    return out


def _level_name(dataset: Dataset, column: str, value: Any) -> str:
    names = dataset.categories.get(column)
    return names[int(value)] if names else _fmt(value)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}"
    return str(v)
