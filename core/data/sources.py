"""Imported layouts (HF imagefolder, CelebA, Morpho-MNIST IDX): what their readers share.

A layout reader (:mod:`core.data.imagefolder`, :mod:`core.data.celeba`, :mod:`core.data.morpho_idx`)
returns an :class:`ImportSource` without decoding a single image: the scalar columns as the files
hold them, one :class:`ImageColumn` per image column (files, or an array read from an IDX file),
the held-out split the layout defines, and notes for the reader (renamed columns).

Column types are inferred (:func:`infer_column`) and shown for review; ``overrides`` change them:

    text labels            -> categorical (binary for two), level names kept in ``categories``
    true / false           -> binary
    integers 0/1 or -1/1   -> binary (-1 -> 0, 1 -> 1)
    integers 0..31         -> categorical with levels max + 1 (the values are the codes)
    other integers         -> categorical when at most 12 distinct values (codes in sorted order),
                              else continuous
    other numbers          -> continuous
    images                 -> image (C, H, W): 3 channels if any image is colour, else 1

:func:`import_source` builds the :class:`~core.data.dataset.Dataset`, decoding and preparing one image
at a time into a preallocated uint8 array (n, C, H, W): memory grows with the output, never with the
input, and JPEGs are decoded at a reduced scale where the target size allows (``draft``).  A
:class:`Preparation` (resize to a size, by centre crop or by stretching) is recorded in the data
set's meta, so a run can refuse data prepared differently; without one, every image must already
have the same size.  :func:`import_to` writes the result atomically (a temporary folder or file
renamed into place); a stop request or an error leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from core.data.columns import DataError
from core.data.dataset import Dataset, PreparationRecord, SplitRecord, heldout_rows
from core.data.images import IMAGE_SUFFIXES
from core.graph import Node
from core.graph.node import JSONValue

FITS = ("crop", "stretch")
COLUMN_TYPES = ("binary", "categorical", "continuous", "skip")
MAX_TEXT_LEVELS = 50  # more distinct text values than this is not a category
SMALL_CODES = 32  # integers 0..31 are read as category codes
FEW_VALUES = 12  # other integer columns with at most this many values are categories
DEFAULT_HELDOUT = 0.1  # share of rows held out where the layout defines no split

# progress(phase, done, total): phases "checking" (image headers), "reading" (decoding), "writing"
ImportProgress = Callable[[str, int, int], None]


class ImportStopped(DataError):
    """The import was stopped on request; nothing was written."""


# --------------------------------------------------------------------------------------------------
# Preparation: resize and crop


@dataclass(frozen=True)
class Preparation:
    """Resize every image to ``size`` (height, width): ``crop`` scales the shorter side to fit and
    cuts the centre (keeps the aspect), ``stretch`` resizes the whole image (changes the aspect).
    Resampling is Pillow's antialiased bicubic; JPEGs are first decoded at the smallest DCT scale
    (1/2, 1/4, 1/8) still larger than needed."""

    size: tuple[int, int]
    fit: str = "crop"

    def __post_init__(self) -> None:
        h, w = self.size
        if not (isinstance(h, int) and isinstance(w, int) and 1 <= h <= 4096 and 1 <= w <= 4096):
            raise DataError(f"image size must be 1..4096 pixels a side, got {h}x{w}")
        if self.fit not in FITS:
            raise DataError(f"unknown fit {self.fit!r} (one of {', '.join(FITS)})")

    @classmethod
    def parse(cls, size: str, fit: str = "crop") -> Preparation:
        """``"64"`` (square) or ``"64x48"`` (height x width)."""
        m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(size))
        if not m:
            raise DataError(f"image size must be N or HxW (e.g. 64 or 64x48), got {size!r}")
        h = int(m.group(1))
        return cls((h, int(m.group(2) or h)), fit)

    def to_json(self) -> PreparationRecord:
        return {"size": list(self.size), "fit": self.fit, "resample": "bicubic", "jpeg_draft": True}

    def text(self) -> str:
        """``64x64 centre crop``, ``64x48 stretch``."""
        h, w = self.size
        return f"{h}x{w} " + ("centre crop" if self.fit == "crop" else "stretch")


def preparation_text(record: Mapping[str, JSONValue] | None) -> str:
    """A recorded preparation in words (``64x64 centre crop``; ``as found`` for none)."""
    if not record:
        return "as found (no resize)"
    size = record.get("size") or ["?", "?"]
    return f"{size[0]}x{size[1]} " + ("centre crop" if record.get("fit") == "crop" else str(record.get("fit")))


def prepare_image(im: object, prep: Preparation | None, channels: int) -> np.ndarray:
    """A PIL image (open, not yet decoded) as uint8 (C, H, W) with ``channels``, prepared."""
    from PIL import Image, ImageOps

    mode = "L" if channels == 1 else "RGB"
    if prep is not None and getattr(im, "format", None) == "JPEG":
        h, w = prep.size
        iw, ih = im.size
        if prep.fit == "crop":
            s = max(w / iw, h / ih)
            want = (math.ceil(iw * s), math.ceil(ih * s))
        else:
            want = (w, h)
        im.draft(mode, want)  # libjpeg decodes at 1/2, 1/4 or 1/8 scale when that still covers `want`
    if im.mode != mode:
        im = im.convert(mode)
    if prep is not None:
        h, w = prep.size
        if prep.fit == "crop":
            im = ImageOps.fit(im, (w, h), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))
        elif im.size != (w, h):
            im = im.resize((w, h), Image.Resampling.BICUBIC)
    arr = np.asarray(im)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


# --------------------------------------------------------------------------------------------------
# Image columns


class ImageColumn(Protocol):
    """An image column read one image at a time."""

    name: str

    def __len__(self) -> int: ...

    def scan(self, progress: ImportProgress | None = None, stop: threading.Event | None = None) -> ImageScan:
        """Sizes and channels without decoding pixels (headers only)."""
        ...

    def read(self, i: int, prep: Preparation | None, channels: int) -> np.ndarray:
        """Image ``i`` as uint8 (C, H, W), prepared."""
        ...

    def where(self, i: int) -> str:
        """Row ``i``'s image for messages (``row 4, column 'image' (img/4.jpg)``)."""
        ...


@dataclass(frozen=True)
class ImageScan:
    """What the headers of an image column say: the most common (H, W), how many images have it,
    the first image of another size (row, (H, W)), and whether any image is colour."""

    size: tuple[int, int]
    count: int
    odd: tuple[int, tuple[int, int]] | None
    colour: bool

    @property
    def channels(self) -> int:
        return 3 if self.colour else 1


_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


@dataclass
class ImageFiles:
    """Images listed by path relative to ``root`` (checked on construction: inside ``root``,
    present, listed once).  For messages: ``listed_in`` names the list the paths come from
    (``metadata.csv``), ``source_column`` its column, ``row_label`` how a row is called there."""

    name: str
    root: Path
    paths: list[str]
    listed_in: str = ""
    source_column: str = "file_name"
    row_label: Callable[[int], str] | None = None
    _resolved: list[Path] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        root = self.root.resolve()
        seen: dict[Path, int] = {}
        for i, rel in enumerate(self.paths):
            if not isinstance(rel, str) or not rel.strip():
                raise DataError(f"{self._row(i)}: missing image path")
            if os.path.isabs(rel):
                raise DataError(f"{self._row(i)}: image path {rel!r} leaves the data folder (absolute)")
            path = (root / rel).resolve()
            if not path.is_relative_to(root):
                raise DataError(f"{self._row(i)}: image path {rel!r} leaves the data folder")
            if path in seen:
                raise DataError(f"{self._row(i)}: image {rel!r} is listed twice (also at {self._row(seen[path], short=True)})")
            if not path.is_file():
                raise DataError(f"{self._row(i)}: image file not found: {rel}")
            seen[path] = i
            self._resolved.append(path)

    def __len__(self) -> int:
        return len(self.paths)

    def _row(self, i: int, short: bool = False) -> str:
        row = self.row_label(i) if self.row_label is not None else f"row {i}"
        if short:
            return row
        where = f"{self.listed_in} " if self.listed_in else ""
        return f"{where}{row}, column {self.source_column!r}"

    def where(self, i: int) -> str:
        return f"{self._row(i)} ({self.paths[i]})"

    def scan(self, progress: ImportProgress | None = None, stop: threading.Event | None = None) -> ImageScan:
        from PIL import Image, UnidentifiedImageError

        sizes: dict[tuple[int, int], int] = {}
        first: dict[tuple[int, int], int] = {}
        colour = False
        n = len(self)
        for i, path in enumerate(self._resolved):
            if stop is not None and stop.is_set():
                raise ImportStopped("import stopped; nothing was written")
            try:
                with Image.open(path) as im:
                    w, h = im.size
                    colour = colour or im.mode not in _GREY_MODES
            except (UnidentifiedImageError, OSError, ValueError) as e:
                raise DataError(f"{self.where(i)}: unreadable image ({type(e).__name__})") from None
            sizes[(h, w)] = sizes.get((h, w), 0) + 1
            first.setdefault((h, w), i)
            if progress is not None and (i % 256 == 0 or i == n - 1):
                progress("checking", i + 1, n)
        if not sizes:
            return ImageScan((0, 0), 0, None, False)
        common = max(sizes, key=lambda s: (sizes[s], -first[s]))
        others = [(first[s], s) for s in sizes if s != common]
        return ImageScan(common, sizes[common], min(others) if others else None, colour)

    def read(self, i: int, prep: Preparation | None, channels: int) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self._resolved[i]) as im:
                return prepare_image(im, prep, channels)
        except FileNotFoundError:
            raise DataError(f"{self.where(i)}: image file not found") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            detail = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
            raise DataError(f"{self.where(i)}: truncated or unreadable image ({detail})") from None


def images_under(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (recursively, hidden entries skipped), sorted by path."""
    out = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if any(part.startswith((".", "__")) for part in rel):
            continue
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            out.append(p)
    return sorted(out)


# --------------------------------------------------------------------------------------------------
# Scalar columns: names and types


def node_name(text: str) -> str:
    """A column title as a node name: other characters become ``_``, a leading digit gets ``_``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(text).strip()) or "column"
    return f"_{name}" if name[0].isdigit() else name


@dataclass(frozen=True)
class TypedColumn:
    """A scalar column as a node: its node, its int64 codes or float64 values, the level names of a
    category read from text (or from integers that are not 0..levels-1), and how it was read."""

    node: Node
    values: np.ndarray
    categories: list[str] | None = None
    note: str = ""


def infer_column(name: str, values: pd.Series, want: str | None = None, where: str = "") -> TypedColumn:
    """The type ``values`` suggest (see the module docstring), or ``want`` (binary, categorical,
    continuous) where the values allow it; a DataError names the file (``where``), row and column
    of the first value that does not fit."""
    series = values.reset_index(drop=True)
    whole = f"{where} column {name!r}".strip()

    def at(i: int) -> str:
        return f"{where} row {i}, column {name!r}".strip()

    missing = series.isna().to_numpy()
    if missing.any():
        raise DataError(f"{at(int(np.flatnonzero(missing)[0]))}: missing value")
    if series.dtype == bool:
        series = series.astype(np.int64)
    numeric = pd.to_numeric(series, errors="coerce")
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip()
        lowered = text.str.lower()
        if lowered.isin(["true", "false"]).all():
            return _as(name, (lowered == "true").astype(np.int64).to_numpy(), want, whole, note="true/false read as 1/0")
        if numeric.isna().any():  # text labels
            if want == "continuous":
                i = int(np.flatnonzero(numeric.isna().to_numpy())[0])
                raise DataError(f"{at(i)}: {series.iloc[i]!r} is not a number")
            levels = sorted(text.unique())
            if len(levels) > MAX_TEXT_LEVELS:
                raise DataError(f"{whole}: {len(levels)} distinct text values are too many for a category "
                                f"(at most {MAX_TEXT_LEVELS}); give numbers or fewer labels")
            codes = text.map({v: k for k, v in enumerate(levels)}).to_numpy(dtype=np.int64)
            return _as(name, codes, want, whole, levels, note="one label only" if len(levels) < 2 else "")
    arr = numeric.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{at(i)}: {series.iloc[i]!r} is not a finite number")
    integral = bool(np.all(arr == np.round(arr)))
    if want == "continuous" or (want is None and not integral):
        return TypedColumn(Node(name, "continuous"), arr)
    if not integral:
        i = int(np.flatnonzero(arr != np.round(arr))[0])
        raise DataError(f"{at(i)}: {arr[i]:g} is not a whole number, so not a {want} code")
    ints = arr.astype(np.int64)
    distinct = np.unique(ints)
    if set(distinct.tolist()) <= {-1, 1} and distinct.min() == -1:
        return _as(name, (ints > 0).astype(np.int64), want, whole, note="-1/1 read as 0/1")
    if distinct.min() >= 0 and distinct.max() < SMALL_CODES:
        return _as(name, ints, want, whole)
    if want is None and len(distinct) > FEW_VALUES:
        return TypedColumn(Node(name, "continuous"), arr)
    codes = np.searchsorted(distinct, ints).astype(np.int64)
    return _as(name, codes, want, whole, [str(v) for v in distinct.tolist()])


def _as(name: str, codes: np.ndarray, want: str | None, label: str, levels: list[str] | None = None,
        note: str = "") -> TypedColumn:
    """Category codes as a binary or categorical node (continuous on request)."""
    top = int(codes.max()) if len(codes) else 0
    k = max(len(levels) if levels else 0, top + 1, 2)
    if want == "continuous":
        return TypedColumn(Node(name, "continuous"), codes.astype(np.float64), None, note)
    if want == "binary" and k > 2:
        raise DataError(f"{label}: {k} levels cannot be binary")
    if want == "binary" or (want is None and k == 2):
        return TypedColumn(Node(name, "binary"), codes, levels if levels and len(levels) == 2 else None, note)
    return TypedColumn(Node(name, "categorical", levels=k), codes, levels, note)


# --------------------------------------------------------------------------------------------------
# The source


@dataclass(frozen=True)
class ColumnReport:
    """One column as the review table and ``data inspect`` show it."""

    name: str
    source: str  # the column's title in the files
    type: str  # binary, categorical, continuous, image, skip
    detail: str  # "3 levels: cat, dog, fox", "3x218x178", "mixed sizes: ..."
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "source": self.source, "type": self.type, "detail": self.detail, "note": self.note}


@dataclass
class ImportSource:
    """What a layout reader found (see the module docstring).  ``table`` holds the scalar columns as
    read (already named as nodes); ``titles`` maps a node name to the column's title in the files;
    ``split`` is the held-out record (None: no rows held out)."""

    layout: str
    root: Path
    table: pd.DataFrame
    images: dict[str, ImageColumn]
    split: SplitRecord | None = None
    titles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    listed_in: str = ""
    _scans: dict[str, ImageScan] = field(default_factory=dict, init=False, repr=False)

    @property
    def n(self) -> int:
        if len(self.table.columns):
            return len(self.table)
        return len(next(iter(self.images.values()))) if self.images else 0

    def typed(self, overrides: Mapping[str, str] | None = None) -> dict[str, TypedColumn]:
        """Every scalar column typed (``overrides``: column -> binary, categorical, continuous or
        skip); skipped columns are left out."""
        overrides = dict(overrides or {})
        unknown = [c for c in overrides if c not in self.table.columns]
        if unknown:
            raise DataError(f"no scalar column {unknown[0]!r} to retype (columns: {', '.join(self.table.columns)})")
        out = {}
        for c in self.table.columns:
            want = overrides.get(c)
            if want is not None and want not in COLUMN_TYPES:
                raise DataError(f"column {c!r}: unknown type {want!r} (one of {', '.join(COLUMN_TYPES)})")
            if want == "skip":
                continue
            out[c] = infer_column(c, self.table[c], want, self.listed_in)
        return out

    def scan(self, name: str, progress: ImportProgress | None = None, stop: threading.Event | None = None) -> ImageScan:
        """The header scan of image column ``name`` (done once)."""
        if name not in self._scans:
            self._scans[name] = self.images[name].scan(progress, stop)
        return self._scans[name]

    def review(self, overrides: Mapping[str, str] | None = None,
               progress: ImportProgress | None = None) -> list[ColumnReport]:
        """Each column's inferred (or overridden) type, for people to check before importing."""
        rows = []
        typed = self.typed(overrides)
        for c in self.table.columns:
            title = self.titles.get(c, c)
            if c not in typed:
                rows.append(ColumnReport(c, title, "skip", "left out"))
                continue
            t = typed[c]
            if t.node.type == "continuous":
                v = t.values
                detail = f"{v.min():.4g} .. {v.max():.4g}, mean {v.mean():.4g}"
            else:
                names = t.categories or [str(k) for k in range(t.node.levels)]
                shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
                detail = f"{t.node.levels} levels: {shown}"
            rows.append(ColumnReport(c, title, t.node.type, detail, t.note))
        for name in self.images:
            s = self.scan(name, progress)
            kind = "RGB" if s.colour else "grey"
            if s.odd is None:
                detail = f"{s.channels}x{s.size[0]}x{s.size[1]} ({kind})"
                note = ""
            else:
                row, (h, w) = s.odd
                detail = f"mixed sizes: {s.count} of {len(self.images[name])} are {s.size[0]}x{s.size[1]} ({kind})"
                note = f"{self.images[name].where(row)} is {h}x{w}: choose a resize step"
            rows.append(ColumnReport(name, self.titles.get(name, name), "image", detail, note))
        return rows

    def describe(self, overrides: Mapping[str, str] | None = None) -> dict[str, JSONValue]:
        """The layout, the row count, the held-out split and every column's type, as JSON."""
        return {
            "layout": self.layout,
            "path": str(self.root),
            "rows": self.n,
            "heldout": int(len(heldout_rows(self.split, self.n))),
            "split": (self.split or {}).get("source") if self.split else None,
            "columns": [r.to_json() for r in self.review(overrides)],
            "notes": list(self.notes),
        }


def seeded_split(fraction: float = DEFAULT_HELDOUT, seed: int = 0) -> SplitRecord | None:
    """A held-out record of a seeded random share of the rows (None for 0)."""
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"the held-out share must be in [0, 1), got {fraction}")
    if fraction == 0:
        return None
    return {"fraction": float(fraction), "seed": int(seed), "source": f"a seeded random {fraction:.0%} of the rows"}


def ranges_of(mask: Sequence[bool] | np.ndarray) -> list[list[int]]:
    """Row ranges [[start, stop], ...] where ``mask`` is True."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(np.int8), [0]])))
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]


# --------------------------------------------------------------------------------------------------
# Writing (the layout writers)


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """A temporary folder beside ``target`` to write into; renamed to ``target`` when the block
    ends without error, removed otherwise (``target`` must not exist, or be an empty folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.is_dir():
            target.rmdir()  # empty (checked by the caller); a non-empty one makes rmdir fail loudly
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_images(images: np.ndarray, paths: Sequence[Path]) -> None:
    """uint8 (n, C, H, W) images as files (PNG, or JPEG at quality 95 for .jpg), folders made as needed."""
    from PIL import Image

    for arr, path in zip(images, paths, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(np.ascontiguousarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)))
        if path.suffix.lower() in (".jpg", ".jpeg"):
            im.save(path, quality=95)
        else:
            im.save(path, compress_level=1)


# --------------------------------------------------------------------------------------------------
# Importing


def import_source(
    source: ImportSource,
    preparation: Preparation | Mapping[str, Preparation] | None = None,
    overrides: Mapping[str, str] | None = None,
    *,
    progress: ImportProgress | None = None,
    stop: threading.Event | None = None,
) -> Dataset:
    """The data set ``source`` describes: scalar columns typed (``overrides`` as in
    :meth:`ImportSource.typed`), images decoded one at a time into one uint8 array per column,
    prepared by ``preparation`` (one for every image column, or per column).  Without a
    preparation, images of another size than the first are an error naming the row and file."""
    typed = source.typed(overrides)
    n = source.n
    images: dict[str, np.ndarray] = {}
    prep_records: dict[str, PreparationRecord] = {}
    for name, column in source.images.items():
        prep = preparation.get(name) if isinstance(preparation, Mapping) else preparation
        scan = source.scan(name, progress, stop)
        if prep is None and scan.odd is not None:
            row, (h, w) = scan.odd
            raise DataError(
                f"{column.where(row)}: image is {h}x{w} but {scan.count} others are {scan.size[0]}x{scan.size[1]}: "
                "mixed image sizes need a resize step (a size to resize and crop to)"
            )
        h, w = prep.size if prep is not None else scan.size
        out = np.empty((n, scan.channels, h, w), dtype=np.uint8)  # the output: the only big allocation
        for i in range(n):
            if stop is not None and stop.is_set():
                raise ImportStopped("import stopped; nothing was written")
            img = column.read(i, prep, scan.channels)
            if img.shape != out.shape[1:]:
                raise DataError(f"{column.where(i)}: image is {img.shape[1]}x{img.shape[2]}, expected {h}x{w} "
                                "(mixed image sizes need a resize step)")
            out[i] = img
            if progress is not None and (i % 64 == 0 or i == n - 1):
                progress("reading", i + 1, n)
        images[name] = out
        if prep is not None:
            prep_records[name] = prep.to_json()
    table = pd.DataFrame({c: t.values for c, t in typed.items()})
    nodes = {c: t.node for c, t in typed.items()}
    categories = {c: list(t.categories) for c, t in typed.items() if t.categories}
    if not len(table.columns):
        table = pd.DataFrame(index=pd.RangeIndex(n))
    return Dataset(table, images, nodes, categories=categories, preparation=prep_records, split=source.split)


def import_to(
    source: ImportSource,
    out: str | os.PathLike,
    preparation: Preparation | Mapping[str, Preparation] | None = None,
    overrides: Mapping[str, str] | None = None,
    *,
    progress: ImportProgress | None = None,
    stop: threading.Event | None = None,
) -> Dataset:
    """:func:`import_source`, then write the data set to ``out`` (a dataset folder, or one ``.npz``
    when ``out`` ends in .npz), atomically: an interrupted import leaves no file behind."""
    ds = import_source(source, preparation, overrides, progress=progress, stop=stop)
    if stop is not None and stop.is_set():
        raise ImportStopped("import stopped; nothing was written")
    if progress is not None:
        progress("writing", 0, 1)
    ds.save(out)
    if progress is not None:
        progress("writing", 1, 1)
    return ds
