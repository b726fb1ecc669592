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


def faces_session(tmp_path, monkeypatch) -> dict:
    """A session on the shipped, trained faces workspace."""
    monkeypatch.setenv(W.ENV_DEFAULT, B.BUILTIN_DEFAULT)
    state: dict = {}
    S.sync_session(state, tmp_path)
    return state


def test_a_graph_or_data_that_would_strand_trained_models_waits_for_the_user(tmp_path, monkeypatch):
    from workbench.graph_files import load_example

    state = faces_session(tmp_path, monkeypatch)
    shipped, data = state[Shared.GRAPH], state[Shared.DATASET]
    # the faces example is the shipped graph: loading it costs nothing and asks nothing
    assert S.models_lost(state, graph=load_example("faces")) == []
    assert S.propose_graph(state, load_example("faces"), "faces", "the example graph faces")
    # the napkin would leave all six trained models unusable: parked, nothing changed
    assert not S.propose_graph(state, load_example("napkin"), "napkin", "the example graph napkin", query_from_roles=True)
    change = S.pending_replacement(state)
    assert change.lost == tuple(shipped.names) and "workspace **default**" in change.warning
    assert state[Shared.GRAPH] == shipped
    S.cancel_replacement(state)
    assert S.pending_replacement(state) is None and state[Shared.GRAPH] == shipped
    # 28x28 faces (the world's default size) instead of the shipped 16x16: the same question for data
    bigger, world = sample_dataset("faces", 50, seed=0, params={"size": 28})
    assert not S.propose_dataset(state, bigger, world, "world faces (size=28)", "50 new units")
    assert state[Shared.DATASET] is data and S.pending_replacement(state).lost == tuple(shipped.names)
    # ... which the user sends to a new workspace: default keeps its graph, data and models
    state[Sidebar.REPLACE_NAME] = S.suggested_workspace(state, S.pending_replacement(state))
    assert state[Sidebar.REPLACE_NAME] == "faces-data"
    S.replace_in_new_workspace(state)
    assert state[Shared.WORKSPACE].name == "faces-data" and state[Shared.DATASET].fingerprint == bigger.fingerprint
    assert state[Shared.GRAPH] == shipped and state[Sidebar.WORKSPACE_PICK] == "faces-data"
    default = W.open_workspace("default", tmp_path)
    assert default.load_dataset().fingerprint == data.fingerprint and default.load_graph() == shipped
    # in a workspace without trained models nothing is asked
    assert S.propose_graph(state, load_example("napkin"), "napkin", "the example graph napkin")
    assert state[Shared.GRAPH] == load_example("napkin")


def test_replacing_here_keeps_the_old_graph_and_data_as_restorable_versions(tmp_path, monkeypatch):
    from workbench.graph_files import load_example

    state = faces_session(tmp_path, monkeypatch)
    shipped, data = state[Shared.GRAPH], state[Shared.DATASET]
    S.propose_graph(state, load_example("napkin"), "napkin", "the example graph napkin")
    S.replace_here(state)
    assert state[Shared.GRAPH] == load_example("napkin")
    S.sync_session(state, tmp_path)  # the next run saves it
    ws = state[Shared.WORKSPACE]
    (version,) = ws.versions("graph")
    assert version["label"].startswith("faces: 6 nodes")
    bigger, world = sample_dataset("faces", 40, seed=1, params={"size": 16})
    S.set_dataset(state, bigger, world, "world faces, seed 1")
    S.sync_session(state, tmp_path)
    (old_data,) = ws.versions("data")
    assert old_data["label"].startswith("5000 rows from world faces")
    # restore both: the shipped graph and data are back, what they replaced is kept in turn
    S.restore_version(state, version["file"])
    S.restore_version(state, old_data["file"])
    assert state[Shared.GRAPH] == shipped and state[Shared.GRAPH_NAME] == "faces"
    assert state[Shared.DATASET].fingerprint == data.fingerprint
    assert [v["label"].split(":")[0] for v in ws.versions("graph")] == ["napkin", "faces"]
    assert all(r["status"] == "trained" for r in W.node_status(shipped, ws.manifest()))  # the models fit again
