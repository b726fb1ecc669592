"""The Data page's logic: features of every column, associations, the confounding table, the
gallery, importing a folder in a researcher's layout (review of the inferred types, a resize step,
a background import with progress, a proposed graph of the columns without edges), and the session
state the page reads and writes (a plain mapping, so tests need no Streamlit).

A dataset's image columns enter the association summaries through features: the attributes the
world's probe reads off the images when it can (``core.worlds.probes``), else pixel statistics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data import DataError, Dataset, load_upload
from core.data.dataset import heldout_rows
from core.data.load import open_source
from core.data.sources import ColumnReport, ImportSource, Preparation, import_source, preparation_text
from core.errors import WorkbenchError
from core.graph import ADMG
from core.worlds.base import World
from core.worlds.registry import WORLDS, Param, sample_dataset, world_from_record
from workbench import session
from workbench.keys import DataPage, Shared

SessionState = MutableMapping[str, object]


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


def feature_table(dataset: Dataset, world: World | None = None, columns: Iterable[str] | None = None) -> Features:
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


def probe_features(world: World | None, column: str, images: np.ndarray) -> dict[str, tuple[np.ndarray, int | None]]:
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
    *,
    world: World | None = None,
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
                sampled[target] = _shuffled_do_sample(sub, graph=graph, world=world, target=target, seed=seed)
            # Read the fresh units the way the observed ones were read (probe only if it worked there).
            probed = world if features.source.get(a) == "probe" or features.source.get(b) == "probe" else None
            under = feature_table(sampled[target], probed, [a, b]).association(best[1], best[2])
        rows.append({"edge": f"{a} <-> {b}", "feature_a": best[1], "feature_b": best[2], "observed": best[0],
                     "causal_path": path, "do": target if world is not None else None, "under_do": under})
    return pd.DataFrame(rows, columns=["edge", "feature_a", "feature_b", "observed", "causal_path", "do", "under_do"])


def _shuffled_do_sample(dataset: Dataset, *, graph: ADMG, world: World, target: str, seed: int) -> Dataset:
    """Fresh units with ``target`` set to a random permutation of its observed values: P(target) is
    kept, its hidden causes are cut."""
    rng = np.random.default_rng(seed)
    values = dataset.column(target)
    forced = values[rng.permutation(len(values))]
    units = world.interventional_samples({target: forced}, n=len(values), seed=seed + 1)
    return Dataset.from_values(units.values, graph)


def gallery_items(
    dataset: Dataset, column: str, *, k: int = 12, features: Features | None = None, seed: int = 0
) -> list[tuple[np.ndarray, str]]:
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


def _level_name(dataset: Dataset, column: str, value: float | np.generic) -> str:
    names = dataset.categories.get(column)
    return names[int(value)] if names else _fmt(value)


def _fmt(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}"
    return str(v)


# --------------------------------------------------------------------------------------------------
# Session state: the current dataset, where it came from, and its summaries

DEFAULT_N = {"image": 1000, "discrete": 5000}  # units to sample, by world kind




def current_record(state: SessionState, world: str) -> dict[str, object]:
    """The sampling record (params, seed, n) of the session's data when it was sampled from
    ``world``, else {}: the page's widgets start from it, so sampling again without touching them
    gives the same data (the shipped faces are 16x16, the world's default size is 28)."""
    ds = state.get(Shared.DATASET)
    record = getattr(ds, "world", None) or {}
    if record.get("name") != world:
        return {}
    return {"params": dict(record.get("params") or {}), "seed": record.get("seed"), "n": ds.n}


def param_default(state: SessionState, world: str, param: Param) -> object:
    """A world parameter's starting value: the current data's, else the registry's default."""
    recorded = current_record(state, world).get("params") or {}
    value = recorded.get(param.name, param.default)
    return value if param.choices is None or value in param.choices else param.default


def world_params(state: SessionState, world: str) -> dict[str, object]:
    """The parameters of ``world`` as its widgets hold them (the starting values for widgets not yet
    drawn)."""
    return {p.name: state.get(DataPage.param(world, p.name), param_default(state, world, p)) for p in WORLDS[world].params}


def sample_world(state: SessionState) -> None:
    """Sample the picked world with the page's parameters, n and seed; on bad input keep the current
    dataset and record one error line."""
    name = state[DataPage.WORLD_PICK]
    params = world_params(state, name)
    seed = state.get(DataPage.SEED, 0)
    try:
        dataset, world = sample_dataset(name, state.get(DataPage.N, 1000), seed=seed, params=params)
    except WorkbenchError as e:
        state[DataPage.ERROR] = str(e)
        return
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    source = f"world {name}" + (f" ({shown})" if shown else "") + f", seed {seed}"
    if session.propose_dataset(state, dataset, world, source, f"{dataset.n:,} new units of world {name}"):
        state[DataPage.ERROR] = None


def sample_command(state: SessionState, world: str) -> str:
    """The command line that samples what the page would sample."""
    shown = " ".join(f"--param {k}={v}" for k, v in world_params(state, world).items())
    return (
        f"python -m core world {world} --n {state[DataPage.N]} --out data/{world} "
        f"--seed {state.get(DataPage.SEED, 0)} {shown}"
    ).strip()


def load_uploaded(state: SessionState, filename: str, data: bytes) -> None:
    """Make an uploaded file the current dataset (with its world, when it records one this version
    has); on bad input keep the current dataset and record one error line naming the file."""
    try:
        dataset = load_upload(filename, data)
    except WorkbenchError as e:
        state[DataPage.ERROR] = f"{filename}: {e}"
        return
    try:
        world = world_from_record(dataset.world)
    except WorkbenchError:
        world = None  # a record of a world this version does not have: show the data without it
    if session.propose_dataset(state, dataset, world, f"upload {filename}", f"the uploaded {filename}"):
        state[DataPage.ERROR] = None


def use_data_graph(state: SessionState) -> None:
    """Make the current dataset's graph the session's graph."""
    dataset = state[Shared.DATASET]
    name = (dataset.world or {}).get("name") or "data"
    session.propose_graph(state, dataset.graph, name, f"the graph of the data ({name})")
    state[DataPage.ERROR] = None


@dataclass(frozen=True)
class DataSummary:
    """What the page shows of one dataset: its features, their association matrix, the confounding
    table (None without bidirected edges) and the .npz download."""

    fingerprint: str
    features: Features
    matrix: pd.DataFrame
    pairs: pd.DataFrame | None
    npz: bytes


def data_summary(state: SessionState, dataset: Dataset, world: World | None) -> DataSummary:
    """The summary of ``dataset``, computed once and kept in the session until the data changes."""
    cached = state.get(Shared.DATA_SUMMARY)
    if isinstance(cached, DataSummary) and cached.fingerprint == dataset.fingerprint:
        return cached
    features = feature_table(dataset, world)
    pairs = None
    if dataset.graph is not None and dataset.graph.bidirected:
        pairs = confounded_pairs(dataset, dataset.graph, features, world=world)
    summary = DataSummary(dataset.fingerprint, features, association_matrix(features), pairs, dataset.to_npz_bytes())
    state[Shared.DATA_SUMMARY] = summary
    return summary


# --------------------------------------------------------------------------------------------------
# Importing a folder in a researcher's layout (imagefolder, CelebA, Morpho-MNIST): inspect, review
# the inferred types, choose a resize step, import in the background, propose a graph skeleton

IMPORT_TYPES = ("binary", "categorical", "continuous", "skip")  # what a scalar column may be set to


@dataclass
class ImportReview:
    """A folder inspected for import: its source (no image decoded yet) and the column report."""

    path: str
    source: ImportSource
    columns: list[ColumnReport]

    @property
    def mixed_sizes(self) -> bool:
        return any(c.type == "image" and c.detail.startswith("mixed") for c in self.columns)


class ImportJob:
    """One import running in a background thread: progress (phase, done, total), stop, result."""

    def __init__(self, review: ImportReview) -> None:
        self.review = review
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.phase, self.done, self.total = "starting", 0, max(1, review.source.n)
        self.result: Dataset | None = None
        self.error: str | None = None
        self.seconds = 0.0
        self.thread: threading.Thread | None = None

    def report(self, phase: str, done: int, total: int) -> None:
        with self.lock:
            self.phase, self.done, self.total = phase, done, max(1, total)

    def progress(self) -> tuple[float, str]:
        """(fraction of the current phase, a label such as ``reading images 640/2,000``)."""
        with self.lock:
            words = {"checking": "checking image headers", "reading": "reading images", "writing": "writing"}
            return min(1.0, self.done / self.total), f"{words.get(self.phase, self.phase)} {self.done:,}/{self.total:,}"

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def heldout_of(source: ImportSource) -> np.ndarray:
    """The rows ``source`` holds out."""
    return heldout_rows(source.split, source.n)


def inspect_folder(state: SessionState) -> None:
    """Read the folder named in the import field (headers only) and keep its review in the state;
    on bad input record one error line."""
    path = str(state.get(DataPage.IMPORT_PATH) or "").strip()
    state[DataPage.IMPORT_REVIEW] = None
    if not path:
        state[DataPage.ERROR] = "type the path of a folder on this machine first"
        return
    try:
        source = open_source(path)
        state[DataPage.IMPORT_REVIEW] = ImportReview(path, source, source.review())
        state[DataPage.ERROR] = None
    except WorkbenchError as e:
        state[DataPage.ERROR] = f"{path}: {e}"


def type_overrides(review: ImportReview, chosen: Mapping[str, str]) -> dict[str, str]:
    """The scalar columns whose chosen type differs from the inferred one."""
    inferred = {c.name: c.type for c in review.columns if c.type != "image"}
    return {k: v for k, v in chosen.items() if k in inferred and v != inferred[k]}


def review_types(review: ImportReview, chosen: Mapping[str, str]) -> list[ColumnReport]:
    """The review with the chosen types applied (a DataError names a column that cannot be so)."""
    return review.source.review(type_overrides(review, chosen))


def preparation_from(state: SessionState) -> Preparation | None:
    """The resize step the import widgets ask for (None: keep the images as they are)."""
    if not state.get(DataPage.IMPORT_RESIZE):
        return None
    size = int(state.get(DataPage.IMPORT_SIZE) or 64)
    return Preparation((size, size), str(state.get(DataPage.IMPORT_FIT) or "crop"))


def start_import(state: SessionState, chosen: Mapping[str, str]) -> ImportJob | None:
    """Start importing the reviewed folder in a background thread (its types ``chosen``, the resize
    step from the widgets); None and one error line on bad input."""
    review: ImportReview | None = state.get(DataPage.IMPORT_REVIEW)
    old = state.get(DataPage.IMPORT_JOB)
    if review is None:
        state[DataPage.ERROR] = "inspect a folder first"
        return None
    if isinstance(old, ImportJob) and old.alive:
        state[DataPage.ERROR] = "an import is already running: stop it first"
        return None
    try:
        overrides = type_overrides(review, chosen)
        review.source.typed(overrides)  # wrong types are refused now, not half-way through the images
        prep = preparation_from(state)
    except WorkbenchError as e:
        state[DataPage.ERROR] = str(e)
        return None
    if prep is None and review.mixed_sizes:
        state[DataPage.ERROR] = "the images have mixed sizes: tick 'Resize images' and choose a size"
        return None
    job = ImportJob(review)

    def work() -> None:
        t0 = time.perf_counter()
        try:
            job.result = import_source(review.source, prep, overrides, progress=job.report, stop=job.stop_event)
        except WorkbenchError as e:
            job.error = str(e)
        except Exception as e:  # noqa: BLE001 - a crash in the thread reaches the page as one line
            job.error = f"import failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        job.seconds = time.perf_counter() - t0

    job.thread = threading.Thread(target=work, name="data-import", daemon=True)
    state[DataPage.IMPORT_JOB] = job
    state[DataPage.ERROR] = None
    job.thread.start()
    return job


def finish_import(state: SessionState) -> str | None:
    """Once the background import has ended: make its data set current (or record its error) and
    return a one-line summary; None while it runs or when there is none."""
    job = state.get(DataPage.IMPORT_JOB)
    if not isinstance(job, ImportJob) or job.alive:
        return None
    state[DataPage.IMPORT_JOB] = None
    if job.error:
        state[DataPage.ERROR] = f"{job.review.path}: {job.error}"
        return None
    ds = job.result
    source = job.review.source
    if not session.propose_dataset(state, ds, None, f"{source.layout} import of {job.review.path}",
                                   f"the imported {source.layout} data ({ds.n:,} rows)"):
        return f"Imported {ds.n:,} rows: confirm in the sidebar to replace the data the trained models need"
    held = len(ds.heldout_rows())
    prepared = "; ".join(f"{c} {preparation_text(r)}" for c, r in ds.preparation.items())
    return (f"Imported {ds.n:,} rows ({held:,} held out) in {job.seconds:.1f} s"
            + (f"; images {prepared}" if prepared else ""))


def use_skeleton(state: SessionState) -> None:
    """Make a graph of the current data's columns, with no edges, the session's graph."""
    dataset = state[Shared.DATASET]
    if session.propose_graph(state, dataset.skeleton(), "imported", "a graph of the imported columns (no edges)"):
        state[DataPage.ERROR] = None
