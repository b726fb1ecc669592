"""Morpho-MNIST's layout: gzipped IDX images and labels beside a CSV of per-image attributes.

    mnist/train-images-idx3-ubyte.gz     n images (IDX: magic 0x00000803, n, rows, cols, then bytes)
    mnist/train-labels-idx1-ubyte.gz     n labels (IDX: magic 0x00000801, n, then bytes)
    mnist/train-morpho.csv               index,area,length,thickness,slant,width,height   (n rows, same order)
    mnist/t10k-...                       the same three files for the test set (optional)

IDX (LeCun et al.): a big-endian header -- two zero bytes, the element type (0x08 unsigned byte),
the number of dimensions, one uint32 per dimension -- then the elements row-major.  Images are read
one at a time from the (gzip) stream.  Labels become the node ``digit`` (categorical, 10 levels when
they are 0..9); the CSV's ``index`` column, if present, must count the rows in order and is dropped;
its other columns are attributes (continuous, typed as :mod:`core.data.sources` infers).  Files that
are not gzipped (no ``.gz``) read the same.  ``train`` comes first; rows of every other prefix
(``t10k``) are held out; with one prefix, a seeded 10%.  (Without ``train``, the first prefix in
sorted order is the training set.)
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.data.dataset import Dataset
from core.data.folder import read_table
from core.data.sources import (
    DEFAULT_HELDOUT,
    ImageScan,
    ImportProgress,
    ImportSource,
    Preparation,
    atomic_folder,
    node_name,
    ranges_of,
    seeded_split,
)

IMAGES_RE = re.compile(r"^(?P<prefix>.+)-images-idx3-ubyte(?:\.gz)?$")
IMAGE_COLUMN = "image"
LABEL_COLUMN = "digit"
UBYTE = 0x08


def is_morpho_idx(folder: Path) -> bool:
    return bool(prefixes(folder))


def prefixes(folder: Path) -> list[str]:
    """The prefixes with an image file (``train`` first, then sorted)."""
    found = {m.group("prefix") for p in folder.iterdir() if p.is_file() and (m := IMAGES_RE.match(p.name))}
    return sorted(found, key=lambda s: (s != "train", s))


def _file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115 - the caller closes


def read_idx_header(stream: BinaryIO, name: str) -> tuple[int, ...]:
    """The dimensions of an IDX stream of unsigned bytes (the stream is left at the first element)."""
    try:
        head = stream.read(4)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{name}: not a readable gzip file ({type(e).__name__})") from None
    if len(head) != 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number)")
    if head[2] != UBYTE:
        raise DataError(f"{name}: IDX element type 0x{head[2]:02x} is not unsigned bytes (0x08)")
    ndim = head[3]
    dims = stream.read(4 * ndim)
    if len(dims) != 4 * ndim:
        raise DataError(f"{name}: truncated IDX header")
    return struct.unpack(f">{ndim}I", dims)


def read_idx(path: Path) -> np.ndarray:
    """A whole IDX file of unsigned bytes (labels are small); a DataError if truncated."""
    with _open(path) as fh:
        dims = read_idx_header(fh, path.name)
        try:
            data = fh.read()
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise DataError(f"{path.name}: truncated or corrupt ({type(e).__name__})") from None
    count = int(np.prod(dims))
    if len(data) < count:
        raise DataError(f"{path.name}: truncated: the header promises {count} bytes, the file holds {len(data)}")
    return np.frombuffer(data[:count], dtype=np.uint8).reshape(dims)


@dataclass
class IdxImages:
    """The images of one or more IDX files, one after another, read one image at a time."""

    name: str
    files: list[tuple[Path, int]]  # (file, images in it)
    shape: tuple[int, int]
    _stream: BinaryIO | None = field(default=None, init=False, repr=False)
    _next: int = field(default=-1, init=False, repr=False)  # the global row the open stream reads next
    _file_index: int = field(default=-1, init=False, repr=False)

    def __len__(self) -> int:
        return sum(k for _, k in self.files)

    def _locate(self, i: int) -> tuple[int, int]:
        for f, (_, k) in enumerate(self.files):
            if i < k:
                return f, i
            i -= k
        raise IndexError(i)

    def where(self, i: int) -> str:
        f, j = self._locate(i)
        return f"row {i}, column {self.name!r} ({self.files[f][0].name} image {j})"

    def scan(self, progress: ImportProgress | None = None, stop: threading.Event | None = None) -> ImageScan:
        return ImageScan(self.shape, len(self), None, False)

    def read(self, i: int, prep: Preparation | None, channels: int) -> np.ndarray:
        f, j = self._locate(i)
        h, w = self.shape
        if self._stream is None or self._file_index != f or self._next != i:
            self.close()
            self._stream = _open(self.files[f][0])
            read_idx_header(self._stream, self.files[f][0].name)
            self._stream.seek(j * h * w, io.SEEK_CUR)  # gzip streams seek forward by decompressing
            self._file_index, self._next = f, i
        try:
            data = self._stream.read(h * w)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise DataError(f"{self.where(i)}: truncated or corrupt IDX data ({type(e).__name__})") from None
        if len(data) != h * w:
            raise DataError(f"{self.where(i)}: truncated IDX data ({len(data)} of {h * w} bytes)")
        self._next = i + 1
        if f == len(self.files) - 1 and j == self.files[f][1] - 1:
            self.close()
        pixels = np.frombuffer(data, dtype=np.uint8).reshape(h, w)
        if prep is None and channels == 1:
            return pixels[None].copy()
        from PIL import Image

        from core.data.sources import prepare_image

        return prepare_image(Image.fromarray(pixels), prep, channels)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def read_morpho_idx(root: str | os.PathLike, *, heldout: float = DEFAULT_HELDOUT, seed: int = 0) -> ImportSource:
    """The :class:`~core.data.sources.ImportSource` of a Morpho-MNIST folder (module docstring)."""
    root = Path(root)
    found = prefixes(root)
    if not found:
        raise DataError(f"{str(root)!r} has no *-images-idx3-ubyte.gz (the Morpho-MNIST layout)")
    files, labels, tables, is_train = [], [], [], []
    shape = None
    for prefix in found:
        img_file = _file(root, f"{prefix}-images-idx3-ubyte")
        label_file = _file(root, f"{prefix}-labels-idx1-ubyte")
        csv = root / f"{prefix}-morpho.csv"
        with _open(img_file) as fh:
            dims = read_idx_header(fh, img_file.name)
        if len(dims) != 3:
            raise DataError(f"{img_file.name}: expected 3 dimensions (images, rows, columns), got {len(dims)}")
        count, h, w = dims
        if shape is not None and (h, w) != shape:
            raise DataError(f"{img_file.name}: images are {h}x{w}, the {found[0]} images {shape[0]}x{shape[1]}")
        shape = (h, w)
        files.append((img_file, count))
        if label_file is not None:
            lab = read_idx(label_file)
            if lab.ndim != 1 or len(lab) != count:
                raise DataError(f"{label_file.name} holds {len(lab)} labels, {img_file.name} holds {count} images")
            labels.append(lab.astype(np.int64))
        elif labels:
            raise DataError(f"{prefix}-labels-idx1-ubyte.gz is missing (the {found[0]} set has labels)")
        if not csv.is_file():
            raise DataError(f"{csv.name} is missing beside {img_file.name}")
        table = read_table(csv)
        if len(table) != count:
            raise DataError(f"{csv.name} has {len(table)} rows, {img_file.name} holds {count} images: "
                            "the attribute rows must match the images one to one")
        if "index" in table.columns:
            index = pd.to_numeric(table["index"], errors="coerce").to_numpy()
            off = np.flatnonzero(index != np.arange(count))
            if len(off):
                i = int(off[0])
                raise DataError(f"{csv.name} row {i}, column 'index': {table['index'].iloc[i]}, expected {i} "
                                "(rows must be in the images' order)")
            table = table.drop(columns=["index"])
        tables.append(table)
        is_train += [prefix == found[0]] * count  # train sorts first; with one prefix nothing is held out
    if labels and len(labels) != len(found):
        raise DataError(f"{found[0]}-labels-idx1-ubyte.gz is missing (other sets have labels)")
    first_cols = list(tables[0].columns)
    for prefix, t in zip(found, tables, strict=True):
        if list(t.columns) != first_cols:
            raise DataError(f"{prefix}-morpho.csv has columns {', '.join(map(str, t.columns))}, "
                            f"{found[0]}-morpho.csv has {', '.join(map(str, first_cols))}")
    table = pd.concat(tables, ignore_index=True)
    titles = {node_name(c): str(c) for c in table.columns}
    table.columns = list(titles)
    if LABEL_COLUMN in titles:
        raise DataError(f"{found[0]}-morpho.csv has a column {LABEL_COLUMN!r}, the name the IDX labels take")
    if labels:
        table.insert(0, LABEL_COLUMN, np.concatenate(labels))
        titles = {LABEL_COLUMN: "labels (IDX)", **titles}
    titles[IMAGE_COLUMN] = "images (IDX)"
    mask = ~np.asarray(is_train)
    split = ({"rows": ranges_of(mask), "source": "the " + ", ".join(found[1:]) + " files"}
             if mask.any() else seeded_split(heldout, seed))
    notes = [f"column {t!r} is node {n!r}" for n, t in titles.items() if n != t and "IDX" not in t]
    listed_in = " + ".join(f"{p}-morpho.csv" for p in found)
    return ImportSource("morpho-idx", root, table, {IMAGE_COLUMN: IdxImages(IMAGE_COLUMN, files, shape)},
                        split, titles, notes, listed_in)


def _write_idx(path: Path, array: np.ndarray) -> None:
    arr = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UBYTE, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(header)
        fh.write(arr.tobytes())


def write_morpho_idx(dataset: Dataset, root: str | os.PathLike, *, image_column: str = IMAGE_COLUMN,
                     label_column: str | None = LABEL_COLUMN, test_rows: int = 0) -> Path:
    """Write ``dataset`` in Morpho-MNIST's layout at ``root`` (a new or empty folder): the grey
    ``image_column`` and the labels ``label_column`` as IDX files, every other scalar column in
    ``<prefix>-morpho.csv`` (with an ``index`` column); the last ``test_rows`` rows as ``t10k``."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(f"refusing to write Morpho-MNIST files into {str(root)!r}: it exists and is not an empty folder")
    images = dataset.column(image_column)
    if images.ndim != 4 or images.shape[1] != 1:
        raise DataError(f"column {image_column!r}: IDX holds grey images (1 channel), got shape {images.shape[1:]}")
    if not 0 <= test_rows < dataset.n:
        raise DataError(f"test_rows must be in 0..{dataset.n - 1}, got {test_rows}")
    attrs = [v for v in dataset.scalar_columns if v != label_column]
    cut = dataset.n - test_rows
    with atomic_folder(root) as tmp:
        for prefix, rows in (("train", slice(0, cut)), ("t10k", slice(cut, dataset.n))):
            k = rows.stop - rows.start
            if k == 0:
                continue
            _write_idx(tmp / f"{prefix}-images-idx3-ubyte.gz", images[rows, 0])
            if label_column is not None:
                _write_idx(tmp / f"{prefix}-labels-idx1-ubyte.gz", dataset.column(label_column)[rows])
            table = pd.DataFrame({"index": np.arange(k), **{v: dataset.column(v)[rows] for v in attrs}})
            table.to_csv(tmp / f"{prefix}-morpho.csv", index=False, float_format=None)
    return root
