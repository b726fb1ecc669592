"""A run folder's manifest: its layout, its schema and documented limits, reading and checking it (no torch).

    RUN/manifest.json                       what the folder holds; validated whole before anything is used
    RUN/nodes/<node>.<step>.safetensors     a node model's weights after ``step`` optimiser steps
    RUN/nodes/<node>.<step>.optim.pt        optimiser state, loss history, step and RNG states (for resume)
    RUN/.lock, RUN/.lock.holder             the writer's lock and who holds it (:mod:`core.locks`)

A manifest is trusted with nothing: :func:`check_manifest` checks every field against :data:`SCHEMA`
(types, ranges, sizes within :data:`LIMITS`), every node file path (a file of ``nodes/``, never a
path that leaves the run folder) and every model config (:func:`check_model_config`) before a byte
of weights is read or a module is built.  Problems are one line that names the file, the field and
the limit.  Readers may read while a writer trains: the manifest is only ever replaced whole
(``os.replace`` of a fully written temporary file in the same folder).
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NotRequired, TypeAlias, TypedDict

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from core.errors import WorkbenchError
from core.graph import ADMG, GraphError
from core.graph.formats import MAX_JSON_DEPTH, check_json_depth
from core.locks import FolderLock, orphan_owner, remove_orphans

FORMAT = "causal-workbench-run"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
NODES_DIR = "nodes"
LOCK_FILE = ".lock"
STATUSES = ("untrained", "training", "trained")
HISTORY_POINTS = 500  # loss-history points kept in the manifest per node

# The documented limits of a run folder: what a manifest may ask for.
MAX_MANIFEST_BYTES = 32 * 2**20
MAX_STEPS = 100_000_000  # optimiser steps of one node
MAX_BATCH_SIZE = 65_536
MAX_HISTORY_POINTS = 10_000
MAX_METRICS = 64
MAX_TEXT = 4096  # characters of a string field
MAX_CONFIG_INTEGER = 65_536  # any width, depth, count or step number in a model config (seeds aside)
MAX_CONFIG_VALUES = 4096  # numbers, strings and containers in one model config
MAX_MODEL_PARAMETERS = 500_000_000  # parameters plus buffers of one node's model (2 GB of float32)
MAX_NODE_FILE_BYTES = 4 * 2**30  # one weights or optimiser file
MAX_ROWS = 10**12
LIMITS = {
    "manifest bytes": MAX_MANIFEST_BYTES,
    "JSON depth": MAX_JSON_DEPTH,
    "steps": MAX_STEPS,
    "batch size": MAX_BATCH_SIZE,
    "loss-history points": MAX_HISTORY_POINTS,
    "metrics per node": MAX_METRICS,
    "text characters": MAX_TEXT,
    "config integer": MAX_CONFIG_INTEGER,
    "config values": MAX_CONFIG_VALUES,
    "model parameters": MAX_MODEL_PARAMETERS,
    "node file bytes": MAX_NODE_FILE_BYTES,
    "data rows": MAX_ROWS,
}

NODE_FILE_RE = re.compile(r"^(?P<node>[A-Za-z_][A-Za-z0-9_]*)\.(?P<step>\d+)\.(?P<what>safetensors|optim\.pt)$")

JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
JSONObject: TypeAlias = dict[str, JSONValue]
Metrics: TypeAlias = dict[str, float | int | str | None]
"""What a node's training measured: ``final_loss``, ``seconds``, ``device``, ``eval_loss``, ..."""


class NodeEntry(TypedDict):
    """One node of ``manifest.json``."""

    kind: str | None
    config: JSONObject | None  # the mechanism's config: rebuilds its exact architecture
    parents: NotRequired[list[str]]
    status: str  # one of STATUSES
    steps_done: int
    total_steps: int
    loss_history: list[list[float]]  # [[step, mean loss], ...], downsampled
    metrics: Metrics
    weights: str | None  # path relative to the run folder
    optimizer: str | None


class DataRecord(TypedDict):
    fingerprint: str | None
    rows: int | None
    # how the training data's images were resized or cropped on import ({} for none); runs
    # refuse data prepared differently (older runs lack the key and are not checked)
    preparation: NotRequired[dict[str, JSONObject]]


class Manifest(TypedDict):
    """``manifest.json``::

        {"format": "causal-workbench-run", "version": 1, "created": ISO, "updated": ISO,
         "graph": GRAPH_JSON, "data": {"fingerprint": STR | null, "rows": N | null,
                                       "preparation": {image column: resize/crop record}},
         "nodes": {NAME: {"kind", "config", "parents", "status": "untrained" | "training" | "trained",
                          "steps_done", "total_steps", "loss_history": [[step, loss], ...] (downsampled),
                          "metrics": {...}, "weights": REL_PATH | null, "optimizer": REL_PATH | null}}}
    """

    format: str
    version: int
    created: str
    updated: str
    graph: JSONObject
    data: DataRecord
    nodes: dict[str, NodeEntry]


class CheckpointError(WorkbenchError):
    """A run folder is not ours, corrupt, or does not match the graph or data it is used with."""


_TEXT = {"type": "string", "maxLength": MAX_TEXT}
_STEPS = {"type": "integer", "minimum": 0, "maximum": MAX_STEPS}
_NODE_ENTRY = {
    "type": "object",
    "required": ["status", "steps_done", "total_steps"],
    "properties": {
        "kind": {"type": ["string", "null"], "maxLength": 64},
        "config": {"type": ["object", "null"]},  # checked by check_model_config
        "parents": {"type": "array", "items": _TEXT, "maxItems": MAX_CONFIG_VALUES},
        "status": {"enum": list(STATUSES)},
        "steps_done": _STEPS,
        "total_steps": _STEPS,
        "loss_history": {
            "type": "array",
            "maxItems": MAX_HISTORY_POINTS,
            "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
        },
        "metrics": {
            "type": "object",
            "maxProperties": MAX_METRICS,
            "additionalProperties": {"type": ["number", "string", "boolean", "null"], "maxLength": MAX_TEXT},
        },
        "weights": {"type": ["string", "null"], "maxLength": 256},
        "optimizer": {"type": ["string", "null"], "maxLength": 256},
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version", "graph", "nodes"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "integer", "minimum": 1, "maximum": FORMAT_VERSION},
        "created": _TEXT,
        "updated": _TEXT,
        "graph": {"type": "object"},  # read by ADMG.from_json, with the graph's own limits
        "data": {
            "type": "object",
            "properties": {
                "fingerprint": {"type": ["string", "null"], "maxLength": 128},
                "rows": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ROWS},
                "preparation": {"type": "object", "maxProperties": 1000, "additionalProperties": {"type": "object"}},
            },
        },
        "nodes": {
            "type": "object",
            "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 100},
            "additionalProperties": _NODE_ENTRY,
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


def one_line(e: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), or its type's name."""
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _field_path(parts: Iterable[object]) -> str:
    """``nodes.X.steps_done``; a key that is not a plain word is quoted (and cut), so the line stays one line."""
    words = [str(p) if re.fullmatch(r"[A-Za-z0-9_]{1,100}", str(p)) else repr(str(p))[:40] for p in parts]
    return ".".join(words) or "the top level"


_SIZE_WORDS = {"maxProperties": "entries", "maxItems": "items", "maxLength": "characters"}


def _schema_message(error: ValidationError) -> str:
    """jsonschema's message, or for a size limit (whose message starts with the whole value) the limit."""
    if error.validator in _SIZE_WORDS:
        return f"more than the limit of {error.validator_value:,} {_SIZE_WORDS[error.validator]}"
    message = " ".join(error.message.split())
    return message if len(message) <= 160 else message[:157] + "..."


def check_manifest(obj: JSONValue, where: Path) -> Manifest:
    """``obj`` if it is a valid manifest (:data:`SCHEMA`, node file paths, model configs), else one line
    naming the file, the field and what is wrong with it."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(f"{where} is not a Causal Workbench run manifest")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        shown = repr(version) if len(repr(version)) <= 20 else repr(version)[:17] + "..."
        raise CheckpointError(
            f"{where} has format version {shown}; this workbench reads versions up to {FORMAT_VERSION}"
        )
    check_json_depth(obj, str(where), CheckpointError)
    error = best_match(_VALIDATOR.iter_errors(obj))
    if error is not None:
        raise CheckpointError(f"{where} is corrupt: {_field_path(error.absolute_path)}: {_schema_message(error)}")
    for name, entry in obj["nodes"].items():
        for key, suffix in (("weights", "safetensors"), ("optimizer", "optim.pt")):
            rel = entry.get(key)
            if rel is not None:
                check_node_file_name(rel, f"{where}: node {name}'s {key} path", suffix)
        if entry.get("config") is not None:
            check_model_config(entry["config"], f"{where}: node {name}'s model config")
    return obj


def check_node_file_name(rel: str, what: str, suffix: str) -> None:
    """``rel`` names a file of the run folder's ``nodes/`` (``nodes/<node>.<step>.<suffix>``), nothing else."""
    folder, slash, name = rel.partition("/")
    m = NODE_FILE_RE.match(name)
    if folder != NODES_DIR or not slash or m is None or m.group("what") != suffix:
        raise CheckpointError(f"{what} {rel[:80]!r} is not a file of the run's {NODES_DIR}/ folder "
                              f"({NODES_DIR}/<node>.<step>.{suffix})")


def check_model_config(config: Mapping[str, JSONValue], what: str) -> None:
    """A model config within :data:`LIMITS`: at most ``MAX_CONFIG_VALUES`` values, finite numbers, and
    integers in 0..MAX_CONFIG_INTEGER (``train.steps`` up to MAX_STEPS; seeds and the ``node`` /
    ``parents`` type records, checked as graph nodes, aside)."""
    count = 0
    stack: list[tuple[tuple[str, ...], JSONValue]] = [((k,), v) for k, v in config.items() if k not in ("node", "parents")]
    while stack:
        path, value = stack.pop()
        count += 1
        if count > MAX_CONFIG_VALUES:
            raise CheckpointError(f"{what} has more than {MAX_CONFIG_VALUES:,} values")
        if isinstance(value, dict):
            stack.extend(((*path, str(k)), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, str(i)), v) for i, v in enumerate(value))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if path[-1] == "seed":
                continue
            top = MAX_STEPS if path == ("train", "steps") else MAX_CONFIG_INTEGER
            if not 0 <= value <= top:
                raise CheckpointError(f"{what}: {_field_path(path)} is {str(value)[:24]}, outside 0..{top:,}")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise CheckpointError(f"{what}: {_field_path(path)} is {value}, not a finite number")
        elif isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise CheckpointError(f"{what}: {_field_path(path)} is longer than {MAX_TEXT:,} characters")


def node_file(run_path: Path, rel: str) -> Path:
    """The node file ``rel`` of the run at ``run_path``, checked before it is opened: a regular file
    inside the run folder (symbolic links resolved) of at most ``MAX_NODE_FILE_BYTES``."""
    path = run_path / rel
    try:
        resolved = path.resolve(strict=True)
        info = resolved.stat()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint file {path} is missing") from None
    except (OSError, RuntimeError) as e:
        raise CheckpointError(f"cannot read checkpoint file {path} ({one_line(e)})") from None
    if not resolved.is_relative_to(run_path.resolve()):
        raise CheckpointError(f"checkpoint file {path} leads outside the run folder")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"checkpoint file {path} is not a regular file")
    if info.st_size > MAX_NODE_FILE_BYTES:
        raise CheckpointError(
            f"checkpoint file {path} is {info.st_size:,} bytes, more than the limit of {MAX_NODE_FILE_BYTES:,}"
        )
    return resolved


def read_manifest(path: Path) -> Manifest:
    """The checked manifest of the run folder ``path`` (:func:`check_manifest`)."""
    file = path / MANIFEST
    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{file} is not a regular file")
        if info.st_size > MAX_MANIFEST_BYTES:
            raise CheckpointError(f"{file} is {info.st_size:,} bytes, more than the limit of {MAX_MANIFEST_BYTES:,}")
        text = file.read_bytes()[: MAX_MANIFEST_BYTES + 1].decode("utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"{path} is not a run folder (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"cannot read {file} ({one_line(e)})") from None
    try:
        obj = json.loads(text)
    except RecursionError:
        raise CheckpointError(f"{file} nests arrays or objects more than {MAX_JSON_DEPTH} deep") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{file} is corrupt (not JSON: {e.msg} at line {e.lineno})") from None
    return check_manifest(obj, file)


def read_run_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The checked manifest of an existing run folder (no torch: commands check a run before they
    import it); a file, a missing folder or a folder without a manifest is one line."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CheckpointError(f"{p} is a file, not a run folder")
    if not p.is_dir():
        raise CheckpointError(f"run folder {p} does not exist")
    return read_manifest(p)


def manifest_graph(manifest: Manifest, path: Path) -> ADMG:
    """The graph a checked manifest records (with the graph's own limits), or one line naming the run."""
    try:
        return ADMG.from_json(manifest["graph"])
    except GraphError as e:
        raise CheckpointError(f"{path / MANIFEST} holds a bad graph: {e}") from None


def untrained_entry() -> NodeEntry:
    return {
        "kind": None,
        "config": None,
        "status": "untrained",
        "steps_done": 0,
        "total_steps": 0,
        "loss_history": [],
        "metrics": {},
        "weights": None,
        "optimizer": None,
    }


def new_manifest(graph: ADMG, fingerprint: str | None, rows: int | None = None,
                 preparation: Mapping[str, JSONObject] | None = None) -> Manifest:
    t = now_iso()
    data: DataRecord = {"fingerprint": fingerprint, "rows": rows}
    if preparation is not None:
        data["preparation"] = copy.deepcopy(dict(preparation))
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": t,
        "updated": t,
        "graph": graph.to_json(),
        "data": data,
        "nodes": {name: untrained_entry() for name in graph.names},
    }


# --------------------------------------------------------------------------------------------------
# The folder: its writer's lock, whether it may be written, orphans of killed writers


def run_lock(path: Path) -> FolderLock:
    """The lock a writer of the run folder ``path`` holds (one writer at a time)."""
    return FolderLock(path / LOCK_FILE, f"run folder {path}")


def _own_entries(folder: Path) -> list[str]:
    """What a folder holds besides the lock files, which any refused writer may have left."""
    return [p.name for p in folder.iterdir() if p.name not in (LOCK_FILE, f"{LOCK_FILE}.holder")]


def check_writable_run_folder(path: str | os.PathLike[str]) -> Path:
    """Refuse early (before loading data) a target that is a file, lies under a file, or is a non-empty
    folder that is not a run."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CheckpointError(f"{p} is a file, not a run folder")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CheckpointError(f"cannot create run folder {p}: {parent} is a file")
            break
    if p.is_dir() and not (p / MANIFEST).exists() and _own_entries(p):
        raise CheckpointError(f"{p} is not empty and is not a run folder (no {MANIFEST}): refusing to write into it")
    return p


def remove_temporary_files(path: Path) -> None:
    """Delete the temporary files that killed writers left behind (call it holding the folder's lock):
    those named by a dead process (or by this one), and unnamed ones of older versions."""
    for folder in (path, path / NODES_DIR):
        remove_orphans(folder)
        if folder.is_dir():
            for f in folder.iterdir():
                if f.name.startswith(".") and f.name.endswith(".tmp") and orphan_owner(f.name) is None and f.is_file():
                    f.unlink(missing_ok=True)
