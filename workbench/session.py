"""The app session and its workspace: restore a saved graph and data on the first run, save what
changed on later runs.  The session is any mutable mapping (``st.session_state`` in the app, a dict
in tests); nothing here imports Streamlit."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

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
from workbench import graph_state

STATE_WS = "workspace"
_SAVED_GRAPH = "_ws_saved_graph"
_SAVED_DATA = "_ws_saved_dataset"




def attach(state: MutableMapping[str, Any], ws: Workspace) -> list[str]:
    """Make ``ws`` the session's workspace and load its graph and data into the state.  Returns
    problems met while loading (one line each; what could not be loaded is left out)."""
    problems: list[str] = []
    state[STATE_WS] = ws
    try:
        graph = ws.load_graph()
    except WorkbenchError as e:
        graph, problems = None, [str(e)]
    if graph is not None:
        graph_state.set_graph(state, graph, ws.graph_name)
        state[_SAVED_GRAPH] = graph
    else:
        state[_SAVED_GRAPH] = None
    try:
        ds = ws.load_dataset()
    except WorkbenchError as e:
        ds = None
        problems.append(str(e))
    for k in ("dataset", "data_world", "data_source", "data_summary"):
        state.pop(k, None)
    if ds is not None:
        world = None
        try:
            from core.worlds.registry import world_from_record

            world = world_from_record(ds.world)
        except WorkbenchError:
            world = None
        state["dataset"], state["data_world"] = ds, world
        state["data_source"] = ws.data_source or "workspace"
    state[_SAVED_DATA] = ds
    problems += [str(note) for note in ws.meta.get("notes") or ()]
    remember_last(ws.name, ws.path.parent)
    return problems


def persist(state: MutableMapping[str, Any]) -> list[str]:
    """Write the session's graph and data set to its workspace where they changed (by identity)."""
    ws: Workspace | None = state.get(STATE_WS)
    if ws is None:
        return []
    written = []
    graph = state.get("graph")
    if isinstance(graph, ADMG) and graph is not state.get(_SAVED_GRAPH):
        if graph != state.get(_SAVED_GRAPH) or state.get("graph_name") != ws.meta.get("graph_name"):
            ws.save_graph(graph, state.get("graph_name"))
            written.append("graph")
        state[_SAVED_GRAPH] = graph
    ds = state.get("dataset")
    if ds is not None and ds is not state.get(_SAVED_DATA):
        saved = state.get(_SAVED_DATA)
        if saved is None or saved.fingerprint != ds.fingerprint:
            ws.save_dataset(ds, str(state.get("data_source") or ""))
            written.append("data")
        state[_SAVED_DATA] = ds
    return written


def sync_session(state: MutableMapping[str, Any], root: str | os.PathLike[str] | None = None) -> Workspace:
    """Call at the top of every app run: the first run of a session opens the last workspace and
    restores it into the state; later runs save what changed.  Returns the current workspace."""
    ws = state.get(STATE_WS)
    if not isinstance(ws, Workspace) or not (ws.path / META).is_file():  # first run, or its folder was removed
        ws = last_workspace(root)
        state["workspace_problems"] = attach(state, ws)
    else:
        persist(state)
    return ws


def switch_workspace(state: MutableMapping[str, Any], name: str, create: bool = False,
                     root: str | os.PathLike[str] | None = None) -> Workspace:
    """Save the current workspace, then open (or create) ``name`` and load it into the state.  A new
    workspace starts from the session's current graph and data, so nothing typed is lost.  The
    root defaults to the current workspace's."""
    current = state.get(STATE_WS)
    if root is None and isinstance(current, Workspace):
        root = current.path.parent
    persist(state)
    if create:
        ws = create_workspace(name, root)
        graph, ds = state.get("graph"), state.get("dataset")
        if isinstance(graph, ADMG):
            ws.save_graph(graph, state.get("graph_name"))
        if ds is not None:
            ws.save_dataset(ds, str(state.get("data_source") or ""))
    else:
        ws = open_workspace(name, root)
    state["workspace_problems"] = attach(state, ws)
    return ws


def on_pick_workspace(state: MutableMapping[str, Any]) -> None:
    """Sidebar callback: open the workspace chosen in ``state["ws_pick"]`` (problems are recorded)."""
    try:
        switch_workspace(state, state["ws_pick"])
    except WorkbenchError as e:
        state["workspace_problems"] = [str(e)]


def on_create_workspace(state: MutableMapping[str, Any]) -> None:
    """Sidebar callback: create ``state["ws_new_name"]`` from the session's graph and data, open it."""
    try:
        ws = switch_workspace(state, str(state.get("ws_new_name") or ""), create=True)
    except WorkbenchError as e:
        state["workspace_problems"] = [str(e)]
        return
    state["ws_pick"] = ws.name
    state["ws_new_name"] = ""
