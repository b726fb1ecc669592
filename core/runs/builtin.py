"""Shipped workspaces: a trained run plus the recipe of its data, installed as a ready workspace.

A shipped workspace folder (``assets/workspaces/<name>/``) holds::

    graph.json      the causal graph
    builtin.json    the recipe (below)
    run/            the trained run (``core.runs.checkpoint``): manifest and weights (float16 for
                    files over 4 MiB), no optimiser files

``builtin.json``::

    {"format": "causal-workbench-builtin-workspace", "version": 1, "graph_name": STR, "description": STR,
     "data": {"world": NAME, "params": {...}, "seed": K, "n": N, "fingerprint": HEX},
     "settings": {...the Train page's settings...}}

The recipe names the data instead of holding it: the world re-samples it in seconds, and the
fingerprint proves it is the very data the models were trained on (the run records that
fingerprint; ID-GEN and the checkpoint refuse mismatches).  :func:`pack_builtin` writes such a
folder from a trained run; :func:`install_builtin` turns one into a workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from core.assets import ASSETS
from core.graph import ADMG, GraphError
from core.runs.checkpoint import (
    MANIFEST,
    JSONObject,
    JSONValue,
    atomic_write_json,
    read_safetensors,
    state_dict_bytes,
)
from core.runs.workspace import (
    DEFAULT_NAME,
    FORMAT,
    FORMAT_VERSION,
    GRAPH_FILE,
    META,
    RUN_DIR,
    Workspace,
    WorkspaceError,
    check_name,
    now_text,
    open_workspace,
    read_json,
    workspace_root,
)

if TYPE_CHECKING:
    from core.data import Dataset

BUILTIN_ROOT = ASSETS / "workspaces"
BUILTIN_DEFAULT = "faces"
RECIPE = "builtin.json"
BUILTIN_FORMAT = "causal-workbench-builtin-workspace"


def builtin_names(folder: Path = BUILTIN_ROOT) -> list[str]:
    """The shipped workspaces (folders of ``assets/workspaces`` with a recipe)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / RECIPE).is_file())


def read_recipe(source: str | os.PathLike[str]) -> JSONObject:
    """The recipe of a shipped workspace folder (``builtin.json``), checked."""
    f = Path(source) / RECIPE
    obj = read_json(f, f"{source} is not a shipped workspace (no {RECIPE})")
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or obj.get("format") != BUILTIN_FORMAT or not isinstance(data, dict):
        raise WorkspaceError(f"{f} is not a shipped-workspace recipe")
    missing = [k for k in ("world", "params", "seed", "n", "fingerprint") if k not in data]
    if missing:
        raise WorkspaceError(f"{f}: the data recipe lacks {', '.join(missing)}")
    return obj


def regenerate_dataset(recipe: Mapping[str, JSONValue]) -> Dataset:
    """The recipe's data set, re-sampled from its world and seed (``core.worlds.registry``); the
    caller compares ``.fingerprint`` with ``recipe["data"]["fingerprint"]``."""
    from core.worlds.registry import sample_dataset

    d = recipe["data"]
    ds, _ = sample_dataset(str(d["world"]), int(d["n"]), seed=int(d["seed"]), params=dict(d["params"]))
    return ds


def data_source_text(recipe: Mapping[str, JSONValue]) -> str:
    """``"world faces (size=28, confounding=1.0, p_glasses=0.2), seed 0"`` (the Data page's wording)."""
    d = recipe["data"]
    shown = ", ".join(f"{k}={v}" for k, v in d["params"].items())
    return f"world {d['world']}" + (f" ({shown})" if shown else "") + f", seed {d['seed']}"


def install_builtin(name: str = DEFAULT_NAME, root: str | os.PathLike[str] | None = None,
                    source: str | os.PathLike[str] | None = None) -> Workspace:
    """Create workspace ``name`` from a shipped one (default ``assets/workspaces/faces``): its graph
    and settings, a copy of its trained run, and its data re-sampled from the recipe.

    Built in a hidden folder beside the target and renamed into place, so a crash leaves no half
    workspace and two sessions starting at once end with one (the loser opens the winner's).  Data
    that re-samples to another fingerprint (a numerics change in the world) is kept with a note: the
    models then count as fitted to other data and the pages say so."""
    name = check_name(name)
    src = Path(source) if source is not None else BUILTIN_ROOT / BUILTIN_DEFAULT
    recipe = read_recipe(src)
    base = workspace_root(root)
    target = base / name
    if target.exists():
        raise WorkspaceError(f"a workspace named {name!r} already exists")
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=base))
    try:
        ws = Workspace(tmp, {"format": FORMAT, "version": FORMAT_VERSION, "name": name, "created": now_text(),
                             "graph_name": None, "data": None, "settings": dict(recipe.get("settings") or {}),
                             "builtin": src.name})
        try:
            graph = ADMG.from_json((src / GRAPH_FILE).read_text(encoding="utf-8"))
        except (OSError, GraphError, ValueError) as e:
            raise WorkspaceError(f"shipped workspace {src}: its graph cannot be read ({e})") from None
        ws.save_graph(graph, str(recipe.get("graph_name") or src.name))
        ds = regenerate_dataset(recipe)
        expected = str(recipe["data"]["fingerprint"])
        ws.save_dataset(ds, data_source_text(recipe))
        if ds.fingerprint != expected:
            ws.meta["notes"] = [f"the re-sampled data differs from the data the shipped models were trained on "
                                f"(fingerprint {ds.fingerprint[:12]}, expected {expected[:12]}): retrain on the Train page"]
        if (src / RUN_DIR / MANIFEST).is_file():
            shutil.copytree(src / RUN_DIR, tmp / RUN_DIR)
        ws.write_meta()
        try:
            os.rename(tmp, target)
        except OSError:
            if (target / META).is_file():  # another session installed it first: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
                return open_workspace(name, root)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_workspace(name, root)


HALF_PRECISION_ABOVE = 4 * 2**20  # weights files larger than this ship in float16


def half_precision(state: Mapping[str, torch.Tensor]) -> bytes:
    """Safetensors bytes with the float32 tensors stored as float16 (half the size).  Loading copies
    them into the float32 modules; every other tensor (step counters, flags) is kept as it is."""
    return state_dict_bytes({k: v.half() if v.dtype == torch.float32 else v for k, v in state.items()})


def pack_builtin(
    out: str | os.PathLike[str],
    graph: ADMG,
    run_dir: str | os.PathLike[str],
    *,
    graph_name: str,
    world: str,
    params: Mapping[str, JSONValue],
    seed: int,
    n: int,
    settings: Mapping[str, JSONValue] | None = None,
    description: str = "",
) -> Path:
    """Write a shipped workspace folder: graph, recipe, and the run's manifest and weights (the
    optimiser files stay behind: they only serve resuming, and double the size).  The data
    (``world`` with ``params``, ``n`` units from ``seed``) is re-sampled here to record its
    fingerprint, and must match the run's."""
    from core.runs.checkpoint import load_run

    run = load_run(run_dir)
    recipe = {"format": BUILTIN_FORMAT, "version": 1, "graph_name": graph_name, "description": description,
              "data": {"world": world, "params": dict(params), "seed": int(seed), "n": int(n), "fingerprint": ""},
              "settings": json.loads(json.dumps(dict(settings or {})))}
    ds = regenerate_dataset(recipe)
    if run.fingerprint != ds.fingerprint:
        raise WorkspaceError(f"run {run_dir} was trained on other data than the recipe gives "
                             f"({str(run.fingerprint)[:12]} vs {ds.fingerprint[:12]})")
    recipe["data"]["fingerprint"] = ds.fingerprint
    recipe["data"]["params"] = dict(ds.world["params"])  # every parameter, defaults included
    out = Path(out)
    if (out / RUN_DIR).exists():
        shutil.rmtree(out / RUN_DIR)  # a previous pack: replaced (notes beside it stay)
    (out / RUN_DIR / "nodes").mkdir(parents=True)
    atomic_write_json(out / GRAPH_FILE, graph.to_json())
    manifest = json.loads(json.dumps(run.manifest))
    for entry in manifest["nodes"].values():
        if entry.get("weights"):
            src, dst = run.path / entry["weights"], out / RUN_DIR / entry["weights"]
            if src.stat().st_size > HALF_PRECISION_ABOVE:
                dst.write_bytes(half_precision(read_safetensors(run.path, entry["weights"])))
            else:
                shutil.copy2(src, dst)
        entry["optimizer"] = None
    atomic_write_json(out / RUN_DIR / MANIFEST, manifest)
    atomic_write_json(out / RECIPE, recipe)
    return out
