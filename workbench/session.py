"""The app session and its workspace: restore a saved graph and data on the first run, save what
changed on later runs.  The session is any mutable mapping (``st.session_state`` in the app, a dict
in tests); nothing here imports Streamlit."""

from __future__ import annotations

import os

from core.errors import WorkbenchError
from core.graph import ADMG
from core.runs.workspace import (
    META,
    Workspace,
    create_workspace,
    last_workspace,
    open_workspace,
    remember_last,
)
from core.worlds.registry import world_from_record
from workbench import graph_state
from workbench.graph_state import Session
from workbench.keys import Shared, Sidebar

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
