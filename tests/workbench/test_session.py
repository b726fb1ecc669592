"""workbench.session: a session restores its workspace's graph and data, saves only what changed,
and switches or creates workspaces from the sidebar."""

from __future__ import annotations

import shutil

from core.graph import ADMG, Node
from core.runs import builtin as B
from core.runs import workspace as W
from core.runs.checkpoint import load_run
from core.worlds.registry import sample_dataset
from workbench import graph_state
from workbench import session as S
from workbench.keys import Shared, Sidebar

BUILTIN = B.BUILTIN_ROOT / B.BUILTIN_DEFAULT  # the shipped, trained faces workspace


def test_session_restores_and_saves_only_changes(tmp_path):
    ds, world = sample_dataset("frontdoor", 300, seed=0)
    first: dict = {}
    ws = S.sync_session(first, tmp_path)
    assert ws.name == "default" and Shared.GRAPH not in first and Shared.DATASET not in first
    graph_state.set_graph(first, ds.graph, "fd")
    first[Shared.DATASET], first[Shared.DATA_SOURCE] = ds, "world frontdoor"
    S.sync_session(first, tmp_path)
    assert (ws.path / W.GRAPH_FILE).is_file() and (ws.path / W.DATA_FILE).is_file()
    stamp = (ws.path / W.DATA_FILE).stat().st_mtime_ns
    S.sync_session(first, tmp_path)  # nothing changed: nothing written
    assert S.persist(first) == []
    assert (ws.path / W.DATA_FILE).stat().st_mtime_ns == stamp
    # a new session (the browser reopened) gets everything back, the world included
    second: dict = {}
    S.sync_session(second, tmp_path)
    assert second[Shared.GRAPH] == ds.graph and second[Shared.GRAPH_NAME] == "fd"
    assert second[Shared.DATASET].fingerprint == ds.fingerprint
    assert second[Shared.DATA_WORLD].graph == world.graph
    assert second[Shared.WORKSPACE_PROBLEMS] == []
    # a session whose workspace folder disappeared opens another one instead of failing
    gone: dict = {}
    S.sync_session(gone, tmp_path)
    W.create_workspace("spare", tmp_path)
    shutil.rmtree(gone[Shared.WORKSPACE].path)
    assert S.sync_session(gone, tmp_path).name == "spare"
    W.create_workspace("default", tmp_path)
    W.open_workspace("default", tmp_path).save_graph(ds.graph, "fd")
    W.open_workspace("default", tmp_path).save_dataset(ds, "world frontdoor")
    # an edited graph is saved on the next run
    graph_state.set_graph(second, ds.graph.with_node(Node("Z", "binary")), "fd2")
    assert S.persist(second) == ["graph"]
    assert W.open_workspace("default", tmp_path).load_graph().names[-1] == "Z"


def test_switch_and_create_workspaces(tmp_path):
    ds, _ = sample_dataset("backdoor", 100, seed=0)
    state: dict = {}
    S.sync_session(state, tmp_path)
    graph_state.set_graph(state, ds.graph, "bd")
    state[Shared.DATASET] = ds
    # creating keeps what the session has
    state[Sidebar.NEW_WORKSPACE_NAME] = "copy"
    S.on_create_workspace(state)
    assert state[Shared.WORKSPACE].name == "copy" and state[Sidebar.WORKSPACE_PICK] == "copy"
    assert W.open_workspace("copy", tmp_path).load_dataset().fingerprint == ds.fingerprint
    # a bad name is one line, and the session stays where it was
    state[Sidebar.NEW_WORKSPACE_NAME] = "bad name"
    S.on_create_workspace(state)
    assert state[Shared.WORKSPACE].name == "copy" and "bad workspace name" in state[Shared.WORKSPACE_PROBLEMS][0]
    # an empty workspace clears the data; switching back restores it
    W.create_workspace("empty", tmp_path)
    state[Sidebar.WORKSPACE_PICK] = "empty"
    S.on_pick_workspace(state)
    assert state[Shared.WORKSPACE].name == "empty" and Shared.DATASET not in state
    state[Sidebar.WORKSPACE_PICK] = "default"
    S.on_pick_workspace(state)
    assert state[Shared.DATASET].fingerprint == ds.fingerprint
    assert (tmp_path / W.LAST_FILE).read_text().strip() == "default"


def test_unreadable_data_is_reported_not_raised(tmp_path):
    ds, _ = sample_dataset("backdoor", 50, seed=0)
    ws = W.create_workspace("w", tmp_path)
    ws.save_graph(ds.graph, "bd")
    ws.save_dataset(ds)
    (ws.path / W.DATA_FILE).unlink()
    state: dict = {}
    S.sync_session(state, tmp_path)
    assert state[Shared.GRAPH] == ds.graph and Shared.DATASET not in state
    assert len(state[Shared.WORKSPACE_PROBLEMS]) == 1 and "is missing" in state[Shared.WORKSPACE_PROBLEMS][0]


def test_first_start_opens_the_trained_faces_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_DEFAULT, B.BUILTIN_DEFAULT)
    state: dict = {}
    ws = S.sync_session(state, tmp_path)
    assert ws.name == "default" and W.list_workspaces(tmp_path) == ["default"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [W.LAST_FILE, "default"]  # no temporary folder left
    assert state[Shared.WORKSPACE_PROBLEMS] == []
    graph = ADMG.from_json((BUILTIN / "graph.json").read_text())
    assert state[Shared.GRAPH] == graph and state[Shared.GRAPH_NAME] == "faces"
    assert state[Shared.DATASET].fingerprint == B.read_recipe(BUILTIN)["data"]["fingerprint"]
    assert state[Shared.DATA_WORLD] is not None and state[Shared.DATA_SOURCE].startswith("world faces (size=16")
    run = load_run(ws.run_path, graph, state[Shared.DATASET].fingerprint)  # refuses other graphs or data
    assert list(run.trained_nodes()) == list(graph.names)
    assert all(r["status"] == "trained" for r in W.node_status(graph, ws.manifest()))
    assert run.entry("Face")["kind"] == "vae" and ws.settings["nodes"]["Face"]["kind"] == "vae"
    face = run.load_mechanism("Face")  # strict load: the shipped weights fit today's VAE code
    assert face.node.shape == (3, 16, 16)
    # the next start reopens it (nothing is installed twice)
    assert S.sync_session({}, tmp_path).path == ws.path
