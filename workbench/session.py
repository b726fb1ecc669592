"""The app session and its workspace: restore a saved graph and data on the first run, save what
changed on later runs.  The session is any mutable mapping (``st.session_state`` in the app, a dict
in tests); nothing here imports Streamlit."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from core.errors import WorkbenchError
from core.graph import ADMG
from core.runs.workspace import (
    META,
    Workspace,
    check_name,
    create_workspace,
    last_workspace,
    list_workspaces,
    node_status,
    open_workspace,
    remember_last,
)
from core.worlds.registry import world_from_record
from workbench import graph_state
from workbench.graph_state import Session
from workbench.keys import Shared, Sidebar

if TYPE_CHECKING:
    from core.data import Dataset
    from core.worlds import World

DATA_KEYS = (Shared.DATASET, Shared.DATA_WORLD, Shared.DATA_SOURCE, Shared.DATA_SUMMARY)  # a workspace's data


def attach(state: Session, ws: Workspace) -> list[str]:
    """Make ``ws`` the session's workspace and load its graph and data into the state.  Returns
    problems met while loading (one line each; what could not be loaded is left out)."""
    problems: list[str] = []
    state[Shared.WORKSPACE] = ws
    try:
        graph = ws.load_graph()
    except WorkbenchError as e:
        graph, problems = None, [str(e)]
    if graph is not None:
        graph_state.set_graph(state, graph, ws.graph_name)
        state[Sidebar.SAVED_GRAPH] = graph
    else:
        state[Sidebar.SAVED_GRAPH] = None
    try:
        ds = ws.load_dataset()
    except WorkbenchError as e:
        ds = None
        problems.append(str(e))
    for k in DATA_KEYS:
        state.pop(k, None)
    if ds is not None:
        try:
            world = world_from_record(ds.world)
        except WorkbenchError:
            world = None
        state[Shared.DATASET], state[Shared.DATA_WORLD] = ds, world
        state[Shared.DATA_SOURCE] = ws.data_source or "workspace"
    state[Sidebar.SAVED_DATASET] = ds
    problems += [str(note) for note in ws.meta.get("notes") or ()]
    remember_last(ws.name, ws.path.parent)
    return problems


def persist(state: Session) -> list[str]:
    """Write the session's graph and data set to its workspace where they changed (by identity)."""
    ws = state.get(Shared.WORKSPACE)
    if not isinstance(ws, Workspace):
        return []
    written = []
    graph, saved_graph = state.get(Shared.GRAPH), state.get(Sidebar.SAVED_GRAPH)
    if isinstance(graph, ADMG) and graph is not saved_graph:
        if graph != saved_graph or state.get(Shared.GRAPH_NAME) != ws.meta.get("graph_name"):
            ws.save_graph(graph, state.get(Shared.GRAPH_NAME))
            written.append("graph")
        state[Sidebar.SAVED_GRAPH] = graph
    ds, saved_ds = state.get(Shared.DATASET), state.get(Sidebar.SAVED_DATASET)
    if ds is not None and ds is not saved_ds:
        if saved_ds is None or saved_ds.fingerprint != ds.fingerprint:
            ws.save_dataset(ds, str(state.get(Shared.DATA_SOURCE) or ""))
            written.append("data")
        state[Sidebar.SAVED_DATASET] = ds
    return written


def sync_session(state: Session, root: str | os.PathLike[str] | None = None) -> Workspace:
    """Call at the top of every app run: the first run of a session opens the last workspace and
    restores it into the state; later runs save what changed.  Returns the current workspace."""
    ws = state.get(Shared.WORKSPACE)
    if not isinstance(ws, Workspace) or not (ws.path / META).is_file():  # first run, or its folder was removed
        ws = last_workspace(root)
        state[Shared.WORKSPACE_PROBLEMS] = attach(state, ws)
    else:
        persist(state)
    return ws


def switch_workspace(state: Session, name: str, *, create: bool = False,
                     root: str | os.PathLike[str] | None = None) -> Workspace:
    """Save the current workspace, then open (or create) ``name`` and load it into the state.  A new
    workspace starts from the session's current graph and data, so nothing typed is lost.  The
    root defaults to the current workspace's."""
    current = state.get(Shared.WORKSPACE)
    if root is None and isinstance(current, Workspace):
        root = current.path.parent
    persist(state)
    if create:
        ws = create_workspace(name, root)
        graph, ds = state.get(Shared.GRAPH), state.get(Shared.DATASET)
        if isinstance(graph, ADMG):
            ws.save_graph(graph, state.get(Shared.GRAPH_NAME))
        if ds is not None:
            ws.save_dataset(ds, str(state.get(Shared.DATA_SOURCE) or ""))
    else:
        ws = open_workspace(name, root)
    state[Shared.WORKSPACE_PROBLEMS] = attach(state, ws)
    return ws


def on_pick_workspace(state: Session) -> None:
    """Sidebar callback: open the workspace chosen in the sidebar's picker (problems are recorded)."""
    try:
        switch_workspace(state, state[Sidebar.WORKSPACE_PICK])
    except WorkbenchError as e:
        state[Shared.WORKSPACE_PROBLEMS] = [str(e)]


def on_create_workspace(state: Session) -> None:
    """Sidebar callback: create the workspace named in the sidebar from the session's graph and data,
    and open it."""
    try:
        ws = switch_workspace(state, str(state.get(Sidebar.NEW_WORKSPACE_NAME) or ""), create=True)
    except WorkbenchError as e:
        state[Shared.WORKSPACE_PROBLEMS] = [str(e)]
        return
    state[Sidebar.WORKSPACE_PICK] = ws.name
    state[Sidebar.NEW_WORKSPACE_NAME] = ""


# --------------------------------------------------------------------------------------------------
# Replacing a workspace's graph or data: never silently over trained models


@dataclass(frozen=True, eq=False)
class Replacement:
    """A new graph or data set that would leave some of the workspace's trained models unusable,
    parked until the user says where it goes: into this workspace (the old one is kept as a
    version), into a new workspace, or nowhere."""

    what: Literal["graph", "data"]
    label: str  # what it is, in words ("the example graph faces")
    lost: tuple[str, ...]  # the nodes whose trained models it would leave unusable
    workspace: str  # the workspace it would change
    graph: ADMG | None = None
    graph_name: str = ""
    query_from_roles: bool = False
    dataset: Dataset | None = None
    world: World | None = None
    source: str = ""

    @property
    def warning(self) -> str:
        """One paragraph saying what would happen."""
        models = ", ".join(self.lost)
        why = ("they were made for the current graph" if self.what == "graph"
               else "they were trained on the current data")
        return (f"Loading {self.label} replaces the {self.what} of workspace **{self.workspace}**, whose trained "
                f"models of {models} would then be unusable ({why}). The current {self.what} stays "
                "restorable under *Earlier versions* in the sidebar.")


def models_lost(state: Session, *, graph: ADMG | None = None, dataset: Dataset | None = None) -> list[str]:
    """The nodes whose trained models (in the session's workspace, usable now) would stop being
    usable if ``graph`` replaced the graph or ``dataset`` the data; [] when nothing is lost."""
    ws, current = state.get(Shared.WORKSPACE), state.get(Shared.GRAPH)
    if not isinstance(ws, Workspace) or not isinstance(current, ADMG):
        return []
    try:
        manifest = ws.manifest()
    except WorkbenchError:
        return []
    if manifest is None:
        return []
    trained = [r["node"] for r in node_status(current, manifest) if r["status"] != "untrained"]
    if graph is not None:
        after = {r["node"] for r in node_status(graph, manifest) if r["status"] != "untrained"}
        return [v for v in trained if v not in after]
    run_data = (manifest.get("data") or {}).get("fingerprint")
    ds = state.get(Shared.DATASET)
    if dataset is not None and run_data and ds is not None and ds.fingerprint == run_data \
            and dataset.fingerprint != run_data:
        return trained
    return []


def set_dataset(state: Session, dataset: Dataset, world: World | None, source: str) -> None:
    """Make ``dataset`` the session's data (sampled from ``world``, if any)."""
    state[Shared.DATASET] = dataset
    state[Shared.DATA_WORLD] = world
    state[Shared.DATA_SOURCE] = source


def propose_graph(state: Session, graph: ADMG, name: str, label: str, *, query_from_roles: bool = False) -> bool:
    """Make ``graph`` current, unless it would leave trained models unusable: then park it as a
    :class:`Replacement` for the user to decide.  True when it was applied."""
    lost = models_lost(state, graph=graph)
    if lost:
        state[Sidebar.REPLACEMENT] = Replacement("graph", label, tuple(lost), state[Shared.WORKSPACE].name,
                                                 graph=graph, graph_name=name, query_from_roles=query_from_roles)
        return False
    graph_state.set_graph(state, graph, name, query_from_roles=query_from_roles)
    return True


def propose_dataset(state: Session, dataset: Dataset, world: World | None, source: str, label: str) -> bool:
    """Make ``dataset`` current, unless it would leave trained models unusable (then parked, as in
    :func:`propose_graph`).  True when it was applied."""
    lost = models_lost(state, dataset=dataset)
    if lost:
        state[Sidebar.REPLACEMENT] = Replacement("data", label, tuple(lost), state[Shared.WORKSPACE].name,
                                                 dataset=dataset, world=world, source=source)
        return False
    set_dataset(state, dataset, world, source)
    return True


def pending_replacement(state: Session) -> Replacement | None:
    found = state.get(Sidebar.REPLACEMENT)
    return found if isinstance(found, Replacement) else None


def _apply(state: Session, change: Replacement) -> None:
    if change.graph is not None:
        graph_state.set_graph(state, change.graph, change.graph_name, query_from_roles=change.query_from_roles)
    if change.dataset is not None:
        set_dataset(state, change.dataset, change.world, change.source)


def replace_here(state: Session) -> None:
    """Callback: the parked change goes into the current workspace (the next run saves it, keeping
    what it replaces as a version)."""
    change = state.pop(Sidebar.REPLACEMENT, None)
    if isinstance(change, Replacement):
        _apply(state, change)


def cancel_replacement(state: Session) -> None:
    """Callback: forget the parked change."""
    state.pop(Sidebar.REPLACEMENT, None)


def free_name(base: str, root: str | os.PathLike[str] | None = None) -> str:
    """A workspace name from ``base`` (cleaned) that no workspace under ``root`` has: ``base``,
    ``base-2``, ``base-3``..."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(base)).strip("-.") or "workspace"
    base = base[:56]
    taken = set(list_workspaces(root))
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return check_name(name)


def suggested_workspace(state: Session, change: Replacement) -> str:
    """The new workspace's name the page offers: the graph's name, or the data's world."""
    ws = state.get(Shared.WORKSPACE)
    root = ws.path.parent if isinstance(ws, Workspace) else None
    if change.what == "graph":
        return free_name(change.graph_name or "graph", root)
    world = (change.dataset.world or {}).get("name") if change.dataset is not None else None
    return free_name(f"{world or 'data'}-data", root)


def replace_in_new_workspace(state: Session) -> None:
    """Callback: create the workspace named in the prompt with the parked change and the session's
    other half (its data for a new graph, its graph for new data), and open it; the current
    workspace is left as it is.  A bad name is reported and the change stays parked."""
    change = pending_replacement(state)
    current = state.get(Shared.WORKSPACE)
    if change is None or not isinstance(current, Workspace):
        return
    persist(state)
    try:
        ws = create_workspace(str(state.get(Sidebar.REPLACE_NAME) or ""), current.path.parent)
    except WorkbenchError as e:
        state[Shared.WORKSPACE_PROBLEMS] = [str(e)]
        return
    graph = change.graph if change.graph is not None else state.get(Shared.GRAPH)
    name = change.graph_name if change.graph is not None else state.get(Shared.GRAPH_NAME)
    if isinstance(graph, ADMG):
        ws.save_graph(graph, str(name or "graph"))
    ds = change.dataset if change.dataset is not None else state.get(Shared.DATASET)
    source = change.source if change.dataset is not None else state.get(Shared.DATA_SOURCE)
    if ds is not None:
        ws.save_dataset(ds, str(source or ""))
    state.pop(Sidebar.REPLACEMENT, None)
    state[Shared.WORKSPACE_PROBLEMS] = attach(state, ws)
    _apply(state, change)  # the world and the question come with the change
    state[Sidebar.SAVED_GRAPH], state[Sidebar.SAVED_DATASET] = state.get(Shared.GRAPH), state.get(Shared.DATASET)
    state[Sidebar.WORKSPACE_PICK] = ws.name


# --------------------------------------------------------------------------------------------------
# Earlier versions


def restore_version(state: Session, file: str) -> None:
    """Callback: save the session, make the workspace's kept version ``file`` current (what it
    replaces becomes a version) and load the workspace again."""
    ws = state.get(Shared.WORKSPACE)
    if not isinstance(ws, Workspace):
        return
    persist(state)
    try:
        ws.restore_version(file)
    except WorkbenchError as e:
        state[Shared.WORKSPACE_PROBLEMS] = [str(e)]
        return
    state[Shared.WORKSPACE_PROBLEMS] = attach(state, ws)
