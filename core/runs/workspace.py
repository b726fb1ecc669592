"""Workspaces: one project per folder, so closing the browser (or the server) loses nothing.

A workspace folder holds everything the pages build up::

    workspaces/<name>/workspace.json   name, graph name, where the data is, per-node training settings
    workspaces/<name>/graph.json       the causal graph (node-link JSON, the canonical format)
    workspaces/<name>/data.npz         a copy of the data set (or ``workspace.json`` references a
                                       dataset folder / .npz elsewhere, checked by fingerprint)
    workspaces/<name>/run/             the training run folder (``core.runs.checkpoint``)
    workspaces/<name>/results/         tables the pages export (effects, attribute shifts)
    workspaces/<name>/versions/        the graphs and data sets this one replaced, the last few of
                                       each (``Workspace.versions``, ``Workspace.restore_version``)

Writes hold the workspace's lock (``.lock`` in its folder, :mod:`core.locks`) for their moment: a
second writer waits up to ``LOCK_WAIT_SECONDS``, then gets one line naming the holder.  Deleting the
run folder also takes the run's own lock, so a run being trained is never deleted under its trainer.

Several workspaces live side by side under ``./workspaces/`` (gitignored; the environment variable
``CAUSAL_WORKBENCH_WORKSPACES`` moves the root, which tests use).  ``.last`` in the root names the
workspace opened last, so reopening the app restores it.

The first start (no workspace yet) opens a ready workspace ``default`` installed from a shipped one
(:mod:`core.runs.builtin`: a trained run plus the recipe of its data).  The environment variable
``CAUSAL_WORKBENCH_DEFAULT`` picks another shipped workspace, or ``empty`` for an empty ``default``
(the test suite's setting).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from core.assets import ASSETS
from core.errors import WorkbenchError
from core.graph import ADMG, GraphError
from core.locks import FolderLock
from core.runs.checkpoint import (
    MANIFEST,
    JSONObject,
    JSONValue,
    Manifest,
    atomic_write_bytes,
    atomic_write_json,
    node_signature,
    read_manifest,
)
from core.runs.manifest import run_lock

if TYPE_CHECKING:
    from core.data import Dataset
    from core.runs.checkpoint import Run

FORMAT = "causal-workbench-workspace"
FORMAT_VERSION = 1
ROOT = ASSETS.parent  # the repository: ./workspaces/ lives beside assets/
ENV_ROOT = "CAUSAL_WORKBENCH_WORKSPACES"
DEFAULT_NAME = "default"
META = "workspace.json"
GRAPH_FILE = "graph.json"
DATA_FILE = "data.npz"
RUN_DIR = "run"
RESULTS_DIR = "results"
VERSIONS_DIR = "versions"
KEEP_VERSIONS = {"graph": 10, "data": 3}  # replaced graphs and data sets kept, per kind
LAST_FILE = ".last"
LOCK_FILE = ".lock"
LOCK_WAIT_SECONDS = 5.0  # workspace writes are quick: a second writer waits this long before it is refused
ENV_DEFAULT = "CAUSAL_WORKBENCH_DEFAULT"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class WorkspaceError(WorkbenchError):
    """A workspace name, folder or file that cannot be used."""


class Version(TypedDict):
    """A graph or data set the workspace replaced, kept so it can be restored."""

    kind: str  # "graph" or "data"
    file: str  # its copy, relative to the workspace folder ("" for a data set referenced elsewhere)
    saved: str  # when it was replaced (UTC, ``now_text``)
    label: str  # what it was, in words: the graph's name and size, the data's source and rows
    entry: JSONObject  # a data version's ``workspace.json`` "data" entry; a graph version's name


def graph_structure(graph: ADMG) -> tuple[object, ...]:
    """What makes two graphs different models: nodes (name, type, levels, shape) and edges, not
    positions or notes.  A replaced graph is kept as a version only when this changed."""
    nodes = tuple((n.name, n.type, n.levels, n.shape) for n in graph.nodes)
    return nodes, tuple(sorted(graph.directed)), tuple(sorted(tuple(sorted(e)) for e in graph.bidirected))


def workspace_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Where workspaces live: ``root``, else ``$CAUSAL_WORKBENCH_WORKSPACES``, else ``./workspaces``."""
    return Path(root or os.environ.get(ENV_ROOT) or ROOT / "workspaces")


def check_name(name: str) -> str:
    """A workspace name is a folder name: letters, digits, ``_ . -``, at most 64 characters."""
    name = str(name).strip()
    if not _NAME_RE.match(name):
        raise WorkspaceError(
            f"bad workspace name {name!r}: use letters, digits, '_', '.' or '-' (at most 64, not starting with '.')"
        )
    return name


def list_workspaces(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the workspace folders under ``root``, sorted."""
    base = workspace_root(root)
    if not base.is_dir():
        return []
    # dot-folders are workspaces being installed (see install_builtin), not workspaces yet
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / META).is_file())


def now_text() -> str:
    """The time now in UTC, ``2024-05-01T12:00:00Z``: the stamps of ``workspace.json``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Workspace:
    """One workspace folder; ``meta`` is the parsed ``workspace.json``."""

    path: Path
    meta: JSONObject
    _lock: FolderLock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lock = FolderLock(self.path / LOCK_FILE, f"workspace {self.path.name}", wait=LOCK_WAIT_SECONDS)

    def writing(self) -> FolderLock:
        """The workspace's lock, for ``with ws.writing(): ...`` around a write (re-entrant in one thread)."""
        return self._lock

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def key(self) -> str:
        """A stable key for caches and background jobs (the resolved folder)."""
        return str(self.path.resolve())

    @property
    def run_path(self) -> Path:
        return self.path / RUN_DIR

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS_DIR

    # ---- metadata

    def write_meta(self) -> None:
        with self.writing():
            self.meta["updated"] = now_text()
            atomic_write_json(self.path / META, self.meta)

    @property
    def settings(self) -> JSONObject:
        return dict(self.meta.get("settings") or {})

    def update_settings(self, **items: JSONValue) -> None:
        """Merge ``items`` into the saved settings (JSON values only)."""
        settings = self.settings
        settings.update(items)
        self.meta["settings"] = json.loads(json.dumps(settings))  # a JSON round trip refuses non-JSON early
        self.write_meta()

    # ---- graph

    def save_graph(self, graph: ADMG, name: str | None = None) -> None:
        """Write ``graph`` (and its name); the graph it replaces is kept as a version when it was
        another model (not only moved nodes)."""
        with self.writing():
            try:
                old = self.load_graph()
            except WorkspaceError:
                old = None  # an unreadable graph file: nothing worth keeping
            if old is not None and graph_structure(old) != graph_structure(graph):
                self._keep_version("graph", self.path / GRAPH_FILE, ".json",
                                   f"{self.graph_name}: {len(old)} nodes, {len(old.directed)} directed and "
                                   f"{len(old.bidirected)} bidirected edges", {"graph_name": self.graph_name})
            atomic_write_json(self.path / GRAPH_FILE, graph.to_json())
            if name is not None:
                self.meta["graph_name"] = str(name)
            self.write_meta()

    def load_graph(self) -> ADMG | None:
        """The saved graph, or None when the workspace has none yet."""
        f = self.path / GRAPH_FILE
        if not f.is_file():
            return None
        try:
            return ADMG.from_json(f.read_text(encoding="utf-8"))
        except (GraphError, ValueError) as e:
            raise WorkspaceError(f"{f} is not a readable graph ({e})") from None

    @property
    def graph_name(self) -> str:
        return str(self.meta.get("graph_name") or "graph")

    # ---- data

    def save_dataset(self, dataset: Dataset, source: str = "") -> None:
        """Keep a copy of ``dataset`` (a ``core.data.Dataset``) in the workspace as ``data.npz``; the
        data set it replaces (another fingerprint) is kept as a version."""
        with self.writing():
            self._keep_data_version(dataset.fingerprint)
            dataset.save_npz(self.path / DATA_FILE)
            self.meta["data"] = {"mode": "copy", "path": DATA_FILE, "fingerprint": dataset.fingerprint,
                                 "rows": dataset.n, "source": source}
            self.write_meta()

    def reference_dataset(self, path: str | os.PathLike[str], source: str = "") -> Dataset:
        """Point the workspace at a dataset folder or .npz elsewhere (not copied); returns it loaded."""
        from core.data import load_dataset

        p = Path(path).resolve()
        ds = load_dataset(p)
        self._keep_data_version(ds.fingerprint)
        self.meta["data"] = {"mode": "reference", "path": str(p), "fingerprint": ds.fingerprint,
                             "rows": ds.n, "source": source or f"folder {p}"}
        self.write_meta()
        return ds

    @property
    def data_source(self) -> str:
        return str((self.meta.get("data") or {}).get("source") or "")

    def load_dataset(self) -> Dataset | None:
        """The workspace's data set (``core.data.Dataset``), or None when it has none.  A referenced
        data set whose content changed since it was chosen is refused: the trained models were made
        for the old one."""
        ref = self.meta.get("data")
        if not ref:
            return None
        from core.data import load_dataset

        p = Path(ref["path"])
        p = p if p.is_absolute() else self.path / p
        if not p.exists():
            raise WorkspaceError(f"workspace {self.name}: its data {p} is missing")
        ds = load_dataset(p)
        if ref.get("fingerprint") and ds.fingerprint != ref["fingerprint"]:
            raise WorkspaceError(
                f"workspace {self.name}: the data at {p} changed since it was chosen "
                f"(fingerprint {ds.fingerprint[:12]}, expected {str(ref['fingerprint'])[:12]})"
            )
        return ds

    # ---- versions: what save_graph and save_dataset replaced

    def versions(self, kind: str | None = None) -> list[Version]:
        """The kept versions, newest first (only ``kind``'s when given)."""
        kept = [v for v in self.meta.get("versions") or () if isinstance(v, dict)]
        return [v for v in reversed(kept) if kind is None or v.get("kind") == kind]

    def _keep_version(self, kind: str, source: Path | None, suffix: str, label: str, entry: JSONObject) -> None:
        """Copy ``source`` to ``versions/`` and record it (the caller writes the metadata); beyond
        ``KEEP_VERSIONS[kind]`` the oldest of that kind is deleted."""
        number = int(self.meta.get("versions_made") or 0) + 1
        file = ""
        if source is not None and source.is_file():
            (self.path / VERSIONS_DIR).mkdir(exist_ok=True)
            file = f"{VERSIONS_DIR}/{kind}-{number:04d}{suffix}"
            shutil.copyfile(source, self.path / file)
        kept = [*self.versions()[::-1], Version(kind=kind, file=file, saved=now_text(), label=label, entry=entry)]
        same = [v for v in kept if v["kind"] == kind]
        for old in same[: max(0, len(same) - KEEP_VERSIONS[kind])]:
            kept.remove(old)
            if old.get("file"):
                (self.path / old["file"]).unlink(missing_ok=True)
        self.meta["versions"], self.meta["versions_made"] = kept, number

    def _keep_data_version(self, fingerprint: str) -> None:
        ref = self.meta.get("data")
        if not ref or ref.get("fingerprint") == fingerprint:
            return
        copy = self.path / DATA_FILE if ref.get("mode") == "copy" else None
        label = f"{ref.get('rows', '?')} rows from {ref.get('source') or 'a data set'}"
        self._keep_version("data", copy, ".npz", label, dict(ref))

    def restore_version(self, file: str) -> Version:
        """Make the kept version ``file`` (a ``Version["file"]``, or for a referenced data set its
        label) current again; what it replaces is kept as a version in turn."""
        with self.writing():
            return self._restore_version(file)

    def _restore_version(self, file: str) -> Version:
        match = [v for v in self.versions() if file in (v.get("file"), v.get("label"))]
        if not match:
            raise WorkspaceError(f"workspace {self.name} keeps no version {file!r}")
        version = match[0]
        if version["kind"] == "graph":
            f = self.path / version["file"]
            try:
                graph = ADMG.from_json(f.read_text(encoding="utf-8"))
            except (OSError, GraphError, ValueError) as e:
                raise WorkspaceError(f"{f} is not a readable graph ({e})") from None
            self.save_graph(graph, str(version["entry"].get("graph_name") or "graph"))
            return version
        from core.data import load_dataset

        entry = dict(version["entry"])
        if version["file"]:
            ds = load_dataset(self.path / version["file"])
            self.save_dataset(ds, str(entry.get("source") or ""))
        else:
            self.reference_dataset(str(entry["path"]), str(entry.get("source") or ""))
        return version

    # ---- the training run

    def has_run(self) -> bool:
        return (self.run_path / MANIFEST).is_file()

    def manifest(self) -> Manifest | None:
        """The run manifest (a plain read, no locks: it is always replaced atomically), or None."""
        if not self.has_run():
            return None
        return read_manifest(self.run_path)

    def load_run(self) -> Run | None:
        """The run folder as a :class:`core.runs.checkpoint.Run`, or None before any training."""
        if not self.has_run():
            return None
        from core.runs.checkpoint import load_run

        return load_run(self.run_path)

    def discard_run(self) -> None:
        """Forget every trained model (the run folder is deleted; refused while a trainer holds it)."""
        if self.run_path.exists():
            if self.run_path.is_dir() and ((self.run_path / MANIFEST).is_file() or not any(self.run_path.iterdir())):
                with self.writing(), run_lock(self.run_path):
                    shutil.rmtree(self.run_path)
            else:
                raise WorkspaceError(f"{self.run_path} is not a run folder: not deleting it")

    # ---- results

    def save_result(self, name: str, text: str) -> Path:
        """Write one exported table (CSV text) to ``results/<name>``."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
            raise WorkspaceError(f"bad result file name {name!r}")
        with self.writing():
            self.results_path.mkdir(exist_ok=True)
            f = self.results_path / name
            atomic_write_bytes(f, text.encode("utf-8"))
        return f


def read_json(f: Path, not_found: str) -> JSONValue:
    """The JSON in ``f``; a missing file raises ``not_found``, an unreadable one says it is corrupt."""
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(not_found) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WorkspaceError(f"{f} is corrupt ({type(e).__name__})") from None


def _read_meta(path: Path) -> JSONObject:
    f = path / META
    obj = read_json(f, f"{path} is not a workspace (no {META})")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise WorkspaceError(f"{f} is not a Causal Workbench workspace file")
    if not isinstance(obj.get("version"), int) or obj["version"] > FORMAT_VERSION:
        raise WorkspaceError(f"{f} has version {obj.get('version')!r}; this workbench reads up to {FORMAT_VERSION}")
    return obj


def create_workspace(name: str, root: str | os.PathLike[str] | None = None) -> Workspace:
    """A new, empty workspace; an existing one with that name is refused (never overwritten)."""
    name = check_name(name)
    path = workspace_root(root) / name
    if path.exists():
        raise WorkspaceError(f"a workspace named {name!r} already exists")
    path.mkdir(parents=True)
    ws = Workspace(path, {"format": FORMAT, "version": FORMAT_VERSION, "name": name, "created": now_text(),
                          "graph_name": None, "data": None, "settings": {}})
    ws.write_meta()
    return ws


def open_workspace(name: str, root: str | os.PathLike[str] | None = None) -> Workspace:
    name = check_name(name)
    path = workspace_root(root) / name
    if not path.is_dir():
        raise WorkspaceError(f"no workspace named {name!r} (have {', '.join(list_workspaces(root)) or 'none'})")
    return Workspace(path, _read_meta(path))


def remember_last(name: str, root: str | os.PathLike[str] | None = None) -> None:
    base = workspace_root(root)
    base.mkdir(parents=True, exist_ok=True)
    (base / LAST_FILE).write_text(check_name(name) + "\n", encoding="utf-8")


def last_workspace(root: str | os.PathLike[str] | None = None) -> Workspace:
    """The workspace opened last (``.last``), else the first one, else a new ``default`` (from the
    shipped workspace: see :func:`first_workspace`)."""
    base = workspace_root(root)
    names = list_workspaces(root)
    try:
        last = (base / LAST_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        last = ""
    if last in names:
        return open_workspace(last, root)
    if names:
        return open_workspace(names[0], root)
    return first_workspace(root)


def first_workspace(root: str | os.PathLike[str] | None = None) -> Workspace:
    """The workspace a first start opens: the shipped one named by ``$CAUSAL_WORKBENCH_DEFAULT``
    (default ``faces``), installed as ``default``; ``empty`` (or shipped assets that cannot be
    used) gives an empty ``default``."""
    from core.runs.builtin import (  # builtin builds on this module
        BUILTIN_DEFAULT,
        BUILTIN_ROOT,
        install_builtin,
    )

    choice = os.environ.get(ENV_DEFAULT, BUILTIN_DEFAULT).strip() or BUILTIN_DEFAULT
    if choice != "empty":
        try:
            return install_builtin(DEFAULT_NAME, root, BUILTIN_ROOT / choice)
        except WorkbenchError as e:
            ws = create_workspace(DEFAULT_NAME, root)
            ws.meta["notes"] = [f"the shipped workspace {choice!r} could not be installed: {e}"]
            ws.write_meta()
            return ws
    return create_workspace(DEFAULT_NAME, root)


# --------------------------------------------------------------------------------------------------
# Node status for the sidebar (read from the run manifest)


class NodeStatus(TypedDict):
    """One node's row in the sidebar and on the Train page."""

    node: str
    status: str  # "untrained", "training" or "trained"
    steps_done: int
    total_steps: int
    loss: float | None  # the final (or last recorded) training loss
    kind: str | None  # the mechanism kind
    note: str  # why a stored model does not count, or ""


def node_status(graph: ADMG, manifest: Manifest | None) -> list[NodeStatus]:
    """One row per node of ``graph``: status (untrained / training / trained), steps, last loss, kind.

    A model trained for another version of the node (type or parents changed since) does not count:
    the row says ``untrained`` with a note, because that model cannot be used with this graph.
    """
    nodes = (manifest or {}).get("nodes", {})
    run_graph = None
    if manifest:
        try:
            run_graph = ADMG.from_json(manifest["graph"])
        except (GraphError, KeyError, TypeError):
            run_graph = None
    rows: list[NodeStatus] = []
    for v in graph.names:
        entry = nodes.get(v)
        row: NodeStatus = {"node": v, "status": "untrained", "steps_done": 0, "total_steps": 0, "loss": None, "kind": None,
               "note": ""}
        if entry and entry.get("status") != "untrained":
            if run_graph is None or v not in run_graph or node_signature(run_graph, v) != node_signature(graph, v):
                row["note"] = "its model was trained for another graph"
            else:
                hist = entry.get("loss_history") or []
                loss = (entry.get("metrics") or {}).get("final_loss")
                row.update(status=entry["status"], steps_done=int(entry.get("steps_done", 0)),
                           total_steps=int(entry.get("total_steps", 0)), kind=entry.get("kind"),
                           loss=float(loss) if isinstance(loss, (int, float)) else (float(hist[-1][1]) if hist else None))
        rows.append(row)
    return rows


def status_line(row: NodeStatus) -> str:
    """``"trained · 400/400 steps · loss 0.213 · vae"`` (or ``untrained``, with its note)."""
    if row["status"] == "untrained":
        return "untrained" + (f" ({row['note']})" if row.get("note") else "")
    parts = [row["status"], f"{row['steps_done']}/{row['total_steps']} steps"]
    if row.get("loss") is not None:
        parts.append(f"loss {row['loss']:.4g}")
    if row.get("kind"):
        parts.append(str(row["kind"]))
    return " · ".join(parts)
