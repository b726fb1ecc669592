"""Run folders: trained node models on disk, written so that a crash never leaves a half-written run.

A run folder holds one training run of one graph on one data set; its layout, its manifest's schema
and the limits a manifest may ask for are in :mod:`core.runs.manifest`.

One writer at a time: :func:`open_run` takes the folder's lock (:mod:`core.locks`) and the Run holds
it until :meth:`Run.close`; a second writer (another process, or another thread) is refused with one
line naming the holder.  A Run read with :func:`load_run` takes the lock only for the moment of a
write (``reset_node``), and writes on top of the manifest on disk at that moment.

Saving a checkpoint writes the two node files under new names (each through a temporary file in the
same folder and ``os.replace``), then replaces the manifest, then deletes the previous pair.  The
manifest only ever names complete files, so a process killed at any instant (SIGKILL included)
leaves a folder that loads, at worst with stray files of an unfinished save, which the next writer
removes (temporary names carry the writer's process id).  A reader whose files were replaced by a
newer checkpoint between reading the manifest and opening them reads the manifest again.  Nothing is
ever unpickled: weights are safetensors and the optimiser file is read with
``torch.load(weights_only=True)``; every file is checked first (:func:`core.runs.manifest.node_file`),
and every model config is sized on the meta device before a real module is built.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import pickle
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from core.graph import ADMG, Node
from core.locks import FolderLock, temp_prefix
from core.runs.manifest import (
    FORMAT,
    FORMAT_VERSION,
    HISTORY_POINTS,
    MANIFEST,
    MAX_MODEL_PARAMETERS,
    NODES_DIR,
    STATUSES,
    CheckpointError,
    DataRecord,
    JSONObject,
    JSONValue,
    Manifest,
    Metrics,
    NodeEntry,
    check_manifest,
    check_writable_run_folder,
    manifest_graph,
    new_manifest,
    node_file,
    now_iso,
    one_line,
    read_manifest,
    read_run_manifest,
    remove_temporary_files,
    run_lock,
    untrained_entry,
)

if TYPE_CHECKING:
    from core.mechanisms.base import Mechanism

__all__ = [
    "FORMAT", "FORMAT_VERSION", "HISTORY_POINTS", "MANIFEST", "NODES_DIR", "STATUSES", "CheckpointError",
    "DataRecord", "JSONObject", "JSONValue", "Manifest", "Metrics", "NodeCheckpoint", "NodeEntry",
    "OptimizerState", "RNGState", "Run", "atomic_write_bytes", "atomic_write_json", "build_mechanism",
    "check_manifest", "check_writable_run_folder", "downsample_history", "load_run", "new_manifest",
    "open_run", "read_manifest", "readable_json", "remove_temporary_files", "untrained_entry",
]

READ_ATTEMPTS = 3  # manifest reads of a reader whose files a writer replaced meanwhile
_NODE_FILE_RE = re.compile(r"^(?P<node>[A-Za-z_][A-Za-z0-9_]*)\.(?P<step>\d+)\.(?:safetensors|optim\.pt)$")


# The process umask, read once at import (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


OptimizerState: TypeAlias = dict[str, object]
"""``torch.optim.Optimizer.state_dict()`` (or a ``GradScaler``'s): tensors, numbers, lists, dicts."""
RNGState: TypeAlias = dict[str, torch.Tensor | list[torch.Tensor]]
"""``{"torch": CPU RNG, "batch": the batch sampler's generator, "cuda": one state per GPU}``."""


# --------------------------------------------------------------------------------------------------
# Atomic writes


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.

    The temporary file lives in the same folder (``os.replace`` is atomic only within one file
    system) and is flushed to disk before the rename, so a power cut cannot publish an empty file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the mode a plain open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | os.PathLike[str], obj: JSONValue) -> None:
    atomic_write_bytes(path, (readable_json(obj) + "\n").encode())


def readable_json(obj: JSONValue) -> str:
    """Indented JSON with innermost lists of numbers/strings on one line (loss curves, shapes)."""
    text = json.dumps(obj, indent=1)
    return _FLAT_LIST_RE.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)


_FLAT_LIST_RE = re.compile(r"\[\s*((?:-?[\d.eE+-]+|\"[^\"\n\[\]{},]*\"|true|false|null)(?:,\s*(?:-?[\d.eE+-]+|\"[^\"\n\[\]{},]*\"|true|false|null))*)\s*\]")


def state_dict_bytes(state: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """A state dict as safetensors bytes.  Tensors are cloned to the CPU so that shared storage
    (which safetensors refuses) and device tensors both serialise."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    return safetensors_save(tensors, metadata=dict(metadata or {}))


def torch_state_bytes(obj: Mapping[str, object]) -> bytes:
    """``torch.save`` to bytes, for optimiser state (dicts of tensors and numbers only)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def read_safetensors(run_path: Path, rel: str) -> dict[str, torch.Tensor]:
    """The tensors of the safetensors file ``rel`` of a run folder (checked first: :func:`node_file`)."""
    path = run_path / rel
    try:
        return safetensors_load(node_file(run_path, rel).read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint file {path} is missing") from None
    except (SafetensorError, ValueError, OSError) as e:
        raise CheckpointError(f"checkpoint file {path} is corrupt ({one_line(e)})") from None


def read_torch_state(run_path: Path, rel: str) -> object:
    """``torch.load(weights_only=True)`` of the file ``rel`` of a run folder: tensors, dicts, lists and
    numbers; never arbitrary code (the caller checks the shape of what it gets)."""
    path = run_path / rel
    try:
        with open(node_file(run_path, rel), "rb") as f, warnings.catch_warnings():
            # a file pickled with another protocol: refused or read below, not a warning to print
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(f, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint file {path} is missing") from None
    except pickle.UnpicklingError:
        # torch's own message goes on to explain how to switch the protection off: not our advice
        raise CheckpointError(
            f"checkpoint file {path} is refused: it holds Python objects other than tensors and numbers, "
            "and loading those could run code"
        ) from None
    except CheckpointError:
        raise
    except Exception as e:  # a truncated zip, a bad header: "corrupt" to the user
        raise CheckpointError(f"checkpoint file {path} is corrupt ({one_line(e)})") from None


def build_mechanism(config: Mapping[str, JSONValue], what: str) -> Mechanism:
    """The (untrained) mechanism a stored config describes, once its size is known to be within the
    limits: it is first built on the meta device (no memory), and refused with one line if it cannot
    be built or has more than ``MAX_MODEL_PARAMETERS`` parameters and buffers."""
    from core.errors import WorkbenchError
    from core.mechanisms import mechanism_from_config

    try:
        size = _meta_size(config)
    except WorkbenchError as e:
        raise CheckpointError(f"{what}: {e}") from None
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError, AssertionError) as e:
        raise CheckpointError(f"{what} does not build a model ({type(e).__name__}: {one_line(e)})") from None
    if size > MAX_MODEL_PARAMETERS:
        raise CheckpointError(
            f"{what} describes a model of {size:,} parameters, more than the limit of {MAX_MODEL_PARAMETERS:,}"
        )
    try:
        return mechanism_from_config(config)
    except WorkbenchError as e:
        raise CheckpointError(f"{what}: {e}") from None
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError, AssertionError) as e:
        raise CheckpointError(f"{what} does not build a model ({type(e).__name__}: {one_line(e)})") from None


def _meta_size(config: Mapping[str, JSONValue]) -> int:
    """Parameters plus buffers of the model ``config`` describes, counted without allocating them."""
    from core.mechanisms import mechanism_from_config

    try:
        with torch.device("meta"):
            module = mechanism_from_config(config)
    except NotImplementedError:
        from accelerate import init_empty_weights

        # an operator without a meta kernel (zuko's masks): parameters on meta, small helpers for real
        with init_empty_weights(include_buffers=False):
            module = mechanism_from_config(config)
    return sum(t.numel() for t in module.parameters()) + sum(t.numel() for t in module.buffers())


# --------------------------------------------------------------------------------------------------
# Pure helpers


def downsample_history(history: Sequence[float], max_points: int = HISTORY_POINTS, start: int = 0) -> list[list[float]]:
    """``[[step, mean loss], ...]`` with at most ``max_points`` rows.

    Losses are averaged over equal runs of consecutive steps (a bucket of ``k`` steps is labelled
    with its last step, counted from 1), so the curve keeps its level and loses only noise.
    """
    n = len(history)
    if n == 0:
        return []
    k = max(1, -(-n // max_points))  # ceil(n / max_points)
    out = []
    for i in range(0, n, k):
        chunk = history[i : i + k]
        out.append([start + i + len(chunk), float(f"{sum(chunk) / len(chunk):.6g}")])
    return out


def node_signature(graph: ADMG, name: str) -> JSONObject:
    """What a trained model of ``name`` depends on: its own type and its parents' names and types."""
    node = graph.node(name)
    return {
        "node": type_only(node.to_json()),
        "parents": sorted((type_only(graph.node(p).to_json()) for p in graph.parents(name)), key=lambda d: d["name"]),
    }


def type_only(node_json: Mapping[str, Any]) -> dict[str, Any]:
    """A node's JSON without free-form extras (positions, notes): those do not change a model."""
    return Node.type_fields(node_json)


def describe_type(n: Mapping[str, Any]) -> str:
    """``binary``, ``categorical[3]``, ``image[3, 16, 16]`` (:meth:`core.graph.Node.type_notation`)."""
    return Node.from_json(n).type_notation()


def describe_signature(sig: JSONObject) -> str:
    what = describe_type(sig["node"])
    parents = ", ".join(f"{p['name']} {describe_type(p)}" for p in sig["parents"])
    return f"{what} with parents {{{parents}}}" if parents else f"{what} with no parents"


# --------------------------------------------------------------------------------------------------
# The run folder


@dataclass(frozen=True)
class NodeCheckpoint:
    """Everything needed to continue training one node."""

    weights: dict[str, torch.Tensor]
    optimizer: OptimizerState
    step: int
    loss_history: list[float]
    rng: RNGState
    scaler: OptimizerState | None


class Run:
    """One run folder.  Thread-safe for one writer process (the UI trains in a background thread).

    Obtain one with :func:`load_run` (read an existing run) or :func:`open_run` (create or continue
    a run for training, holding the folder's lock until :meth:`close`; also a context manager).
    """

    def __init__(self, path: Path, manifest: Manifest, writer_lock: FolderLock | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self._lock = threading.RLock()
        self._writer_lock = writer_lock
        self.graph = manifest_graph(manifest, path)

    def close(self) -> None:
        """Give up the folder's lock (a Run from :func:`open_run`); reading still works."""
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the folder's lock for one write.  A Run that does not hold it already (one read with
        :func:`load_run`) takes it for the moment and first re-reads the manifest, so the write goes on
        top of what is on disk now."""
        with self._lock:
            if self._writer_lock is not None and self._writer_lock.held:
                yield
                return
            with run_lock(self.path):
                self.manifest = read_manifest(self.path)
                self.graph = manifest_graph(self.manifest, self.path)
                yield

    # ---- reading

    @property
    def fingerprint(self) -> str | None:
        return self.manifest.get("data", {}).get("fingerprint")

    def entry(self, name: str) -> NodeEntry:
        if name not in self.manifest["nodes"]:
            raise CheckpointError(f"run {self.path} has no node {name!r} (it has {', '.join(self.manifest['nodes'])})")
        return self.manifest["nodes"][name]

    def status(self, name: str) -> str:
        return self.entry(name)["status"]

    def trained_nodes(self) -> list[str]:
        return [n for n in self.graph.names if n in self.manifest["nodes"] and self.status(n) == "trained"]

    def load_weights(self, name: str) -> dict[str, torch.Tensor]:
        """The node's weights.  A reader may find the files its manifest names already replaced by a
        writer's newer checkpoint: it then reads the manifest again and takes the new files."""
        for attempt in range(READ_ATTEMPTS):
            entry = self.entry(name)
            if not entry.get("weights"):
                raise CheckpointError(f"node {name} in run {self.path} has no weights yet (status {entry['status']})")
            try:
                return read_safetensors(self.path, entry["weights"])
            except CheckpointError:
                if attempt + 1 == READ_ATTEMPTS or not self._reread_if_changed(name):
                    raise
        raise AssertionError("unreachable")

    def _reread_if_changed(self, name: str) -> bool:
        """Re-read the manifest (a Run that is not the writer); True if the node's entry changed."""
        if self._writer_lock is not None:
            return False
        with self._lock:
            before = self.manifest["nodes"].get(name)
            self.manifest = read_manifest(self.path)
            self.graph = manifest_graph(self.manifest, self.path)
            return self.manifest["nodes"].get(name) != before

    def load_mechanism(self, name: str, device: torch.device | str = "cpu", allow_partial: bool = False) -> Mechanism:
        """The node's trained :class:`~core.mechanisms.base.Mechanism`, in eval mode.

        A node still ``training`` (stopped or interrupted) loads only with ``allow_partial``.
        """
        entry = self.entry(name)
        if entry["status"] != "trained" and not (allow_partial and entry.get("weights")):
            raise CheckpointError(
                f"node {name} in run {self.path} is {entry['status']}"
                + (f" ({entry['steps_done']}/{entry['total_steps']} steps)" if entry["status"] == "training" else "")
                + ": train it first"
            )
        self.check_entry_matches_graph(name)
        mech = build_mechanism(entry["config"], f"{self.path / MANIFEST}: node {name}'s model config")
        state = self.load_weights(name)
        try:
            mech.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise CheckpointError(
                f"weights of node {name} in run {self.path} do not fit its model config ({one_line(e)})"
            ) from None
        return mech.to(device).eval()

    def mechanisms(self, device: torch.device | str = "cpu") -> dict[str, Mechanism]:
        """Every trained node's mechanism, by name (untrained nodes are left out)."""
        return {name: self.load_mechanism(name, device) for name in self.trained_nodes()}

    def load_node_checkpoint(self, name: str) -> NodeCheckpoint | None:
        """The latest checkpoint of a node (for resume), or None if it never saved one."""
        entry = self.entry(name)
        if not entry.get("weights") or not entry.get("optimizer"):
            return None
        weights = self.load_weights(name)
        state = read_torch_state(self.path, entry["optimizer"])
        if not isinstance(state, dict) or "optimizer" not in state or "step" not in state:
            raise CheckpointError(f"checkpoint file {self.path / entry['optimizer']} is corrupt (no optimiser state)")
        if int(state["step"]) != int(entry["steps_done"]):
            raise CheckpointError(
                f"checkpoint of node {name} in {self.path} is inconsistent "
                f"(manifest says step {entry['steps_done']}, optimiser file says {state['step']})"
            )
        history = state.get("loss_history")
        return NodeCheckpoint(
            weights=weights,
            optimizer=state["optimizer"],
            step=int(state["step"]),
            loss_history=[float(x) for x in history.tolist()] if isinstance(history, torch.Tensor) else [],
            rng=dict(state.get("rng") or {}),
            scaler=state.get("scaler"),
        )

    # ---- checks

    def check_entry_matches_graph(self, name: str) -> None:
        """The stored config was built for this run's graph (guards against hand-edited manifests)."""
        entry = self.entry(name)
        cfg = entry.get("config") or {}
        if name not in self.graph:
            raise CheckpointError(f"run {self.path}: node {name} is not in the run's graph")
        want = node_signature(self.graph, name)
        try:
            got = {
                "node": type_only(cfg["node"]),
                "parents": sorted((type_only(p) for p in cfg["parents"]), key=lambda d: d["name"]),
            }
        except (KeyError, TypeError):
            raise CheckpointError(f"{self.path / MANIFEST} is corrupt: node {name} has no model config") from None
        if got != want:
            raise CheckpointError(
                f"run {self.path}: the model of {name} was built for {describe_signature(got)}, "
                f"but the graph has {describe_signature(want)}"
            )

    @property
    def preparation(self) -> dict[str, JSONObject] | None:
        """How the training data's images were prepared ({} for as found; None: not recorded)."""
        return self.manifest.get("data", {}).get("preparation")

    def check_compatible(self, graph: ADMG, fingerprint: str | None,
                         preparation: Mapping[str, Mapping[str, JSONValue]] | None = None) -> None:
        """Refuse to continue this run with a graph or data its trained models were not made for.

        A node with any training done must keep its type and its parents (names and types); nodes may
        be added, and nodes never trained may change freely.  The data fingerprint must match once
        anything was trained, and so must the images' preparation (resize/crop on import) when both
        the run and the caller know it (``preparation``: the data's record, {} for none).
        """
        started = [n for n, e in self.manifest["nodes"].items() if e["steps_done"] > 0 or e["status"] != "untrained"]
        for name in started:
            if name not in graph:
                raise CheckpointError(
                    f"run {self.path} has a trained model of {name}, which the graph does not have: use a new run folder"
                )
            old, new = node_signature(self.graph, name), node_signature(graph, name)
            if old != new:
                raise CheckpointError(
                    f"run {self.path} trained {name} as {describe_signature(old)}, but the graph now has "
                    f"{describe_signature(new)}: use a new run folder"
                )
        if started:
            self.check_preparation(preparation)
        if started and self.fingerprint and fingerprint and fingerprint != self.fingerprint:
            prepared = f"; its images: {preparation_words(self.preparation)}" if self.preparation else ""
            raise CheckpointError(
                f"run {self.path} was trained on different data (fingerprint {self.fingerprint[:12]}, "
                f"this data {fingerprint[:12]}{prepared}): use a new run folder"
            )

    def check_preparation(self, preparation: Mapping[str, Mapping[str, JSONValue]] | None) -> None:
        """Refuse data whose images were prepared (resized, cropped) otherwise than the training
        data's; nothing to compare when either side does not know (None)."""
        mine = self.preparation
        if mine is None or preparation is None:
            return
        if json.dumps(mine, sort_keys=True) != json.dumps(dict(preparation), sort_keys=True):
            raise CheckpointError(
                f"run {self.path} was trained on {preparation_words(mine)}; this data has "
                f"{preparation_words(preparation)}: import it with the same resize step, or use a new run folder"
            )

    # ---- writing

    def _write_manifest(self) -> None:
        self.manifest["updated"] = now_iso()
        atomic_write_json(self.path / MANIFEST, self.manifest)

    def adopt(self, graph: ADMG, fingerprint: str | None, rows: int | None = None,
              preparation: Mapping[str, JSONObject] | None = None) -> None:
        """Continue this run with ``graph`` (checked compatible) and record the data it trains on; the
        manifest is rewritten only if that changes it (a command refused later leaves the run as it was)."""
        with self._writing():
            self.check_compatible(graph, fingerprint, preparation)
            before = copy.deepcopy(self.manifest)
            nodes = self.manifest["nodes"]
            self.manifest["nodes"] = {n: nodes.get(n, untrained_entry()) for n in graph.names}
            for n, entry in nodes.items():
                if n not in graph and entry.get("weights"):
                    self._remove_files(n, keep=())
            self.manifest["graph"] = graph.to_json()
            self.graph = graph
            data = self.manifest.setdefault("data", {})
            if fingerprint is not None:
                data["fingerprint"] = fingerprint
            if rows is not None:
                data["rows"] = rows
            if preparation is not None:
                data["preparation"] = copy.deepcopy(dict(preparation))
            if self.manifest != before:
                self._write_manifest()

    def update_node(self, name: str, **fields: JSONValue) -> None:
        """Change manifest fields of one node (status, metrics, ...) and commit."""
        with self._writing():
            self.entry(name).update(copy.deepcopy(fields))
            self._write_manifest()

    def save_node(
        self,
        name: str,
        *,
        kind: str,
        config: Mapping[str, JSONValue],
        weights: Mapping[str, torch.Tensor],
        optimizer: Mapping[str, object],
        step: int,
        total_steps: int,
        loss_history: Sequence[float],
        rng: Mapping[str, torch.Tensor | list[torch.Tensor]] | None = None,
        scaler: Mapping[str, object] | None = None,
        status: str = "training",
        metrics: Mapping[str, float | int | str | None] | None = None,
    ) -> None:
        """One checkpoint of one node: both files under new names, then the manifest, then cleanup."""
        if status not in STATUSES:
            raise ValueError(f"bad status {status!r}")
        with self._writing():
            folder = self.path / NODES_DIR
            folder.mkdir(exist_ok=True)
            weights_rel = f"{NODES_DIR}/{name}.{step}.safetensors"
            optim_rel = f"{NODES_DIR}/{name}.{step}.optim.pt"
            atomic_write_bytes(
                self.path / weights_rel, state_dict_bytes(weights, {"node": name, "step": str(step), "kind": kind})
            )
            atomic_write_bytes(
                self.path / optim_rel,
                torch_state_bytes(
                    {
                        "optimizer": optimizer,
                        "step": int(step),
                        "loss_history": torch.tensor(list(loss_history), dtype=torch.float32),
                        "rng": dict(rng or {}),
                        "scaler": dict(scaler) if scaler else None,
                    }
                ),
            )
            entry = self.entry(name)
            entry.update(
                kind=kind,
                config=copy.deepcopy(dict(config)),
                parents=sorted(self.graph.parents(name)),
                status=status,
                steps_done=int(step),
                total_steps=int(total_steps),
                loss_history=downsample_history(list(loss_history)),
                weights=weights_rel,
                optimizer=optim_rel,
            )
            if metrics is not None:
                entry["metrics"] = copy.deepcopy(dict(metrics))
            self._write_manifest()
            self._remove_files(name, keep=(weights_rel, optim_rel))

    def _remove_files(self, name: str, keep: Iterable[str]) -> None:
        """Delete this node's files that the manifest no longer names (older steps, unfinished saves)."""
        keep = set(keep)
        folder = self.path / NODES_DIR
        if not folder.is_dir():
            return
        for f in folder.iterdir():
            m = _NODE_FILE_RE.match(f.name)
            if m and m.group("node") == name and f"{NODES_DIR}/{f.name}" not in keep:
                f.unlink(missing_ok=True)

    def reset_node(self, name: str) -> None:
        """Forget a node's model (to retrain it from scratch with another kind or config)."""
        with self._writing():
            self.manifest["nodes"][name] = untrained_entry()
            self._write_manifest()
            self._remove_files(name, keep=())


def preparation_words(preparation: Mapping[str, Mapping[str, JSONValue]]) -> str:
    """``image 64x64 centre crop``; ``images as found`` when nothing was resized."""
    from core.data.sources import preparation_text

    if not preparation:
        return "images as found (no resize)"
    return ", ".join(f"{column} {preparation_text(rec)}" for column, rec in sorted(preparation.items()))


# --------------------------------------------------------------------------------------------------
# Opening


def load_run(path: str | os.PathLike[str], graph: ADMG | None = None, fingerprint: str | None = None,
             preparation: Mapping[str, JSONObject] | None = None) -> Run:
    """Open an existing run folder for reading.

    With ``graph``, ``fingerprint`` and/or ``preparation``, refuse a run whose trained models were
    made for another graph (a node's type or parents differ) or other data.
    """
    p = Path(path)
    run = Run(p, read_run_manifest(p))
    if graph is not None or fingerprint is not None or preparation is not None:
        run.check_compatible(graph if graph is not None else run.graph, fingerprint, preparation)
    return run


def open_run(
    path: str | os.PathLike[str], graph: ADMG, fingerprint: str | None = None, rows: int | None = None,
    preparation: Mapping[str, JSONObject] | None = None,
) -> Run:
    """A run folder to train into: created if missing or empty, continued if it is a compatible run.

    The returned Run holds the folder's lock until :meth:`Run.close` (a second writer gets one line
    naming this process).  A folder that is neither a run nor empty is never written into, and a
    folder this call created is removed again if it fails.
    """
    p = check_writable_run_folder(path)
    created = not p.exists()
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot create run folder {p}: {e.strerror or e}") from None
    lock = run_lock(p)
    try:
        lock.acquire()
    except BaseException:
        if created:
            shutil.rmtree(p, ignore_errors=True)
        raise
    try:
        check_writable_run_folder(p)  # again, now that no one else can write it
        if (p / MANIFEST).exists():
            remove_temporary_files(p)
            run = Run(p, read_manifest(p), lock)
            run.adopt(graph, fingerprint, rows, preparation)
            return run
        (p / NODES_DIR).mkdir(exist_ok=True)
        run = Run(p, new_manifest(graph, fingerprint, rows, preparation), lock)
        run._write_manifest()
        return run
    except BaseException:
        lock.release()
        if created:
            shutil.rmtree(p, ignore_errors=True)
        raise


