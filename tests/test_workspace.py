"""Workspaces: folders that hold a project (graph, data, run, results) and restore a session.

Also home of :func:`make_trained_workspace`, the small trained workspace the app tests share (a
tiny model trained for a few steps on a built-in world, so no test trains a big model).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core import workspace as W
from core.graph import ADMG, Node
from core.train import TrainOptions, train
from core.worlds.registry import sample_dataset

ENV = W.ENV_ROOT


def make_trained_workspace(root: Path, world: str = "backdoor", n: int = 3000, steps: int = 150,
                           params: dict | None = None, kinds: dict | None = None, name: str = "trained",
                           train_nodes: list[str] | None = None):
    """A workspace under ``root`` with world data and (unless ``steps == 0``) every node (or
    ``train_nodes``) trained for ``steps`` steps with the quick preset on the CPU.  Returns
    (workspace, dataset, world)."""
    ds, w = sample_dataset(world, n, seed=0, params=params or {})
    ws = W.create_workspace(name, root)
    ws.save_graph(ds.graph, world)
    ws.save_dataset(ds, f"world {world}")
    W.remember_last(ws.name, root)
    if steps and ds.graph.is_markovian:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models: a second thread only adds contention (measured 25x slower under load)
        try:
            train(ds.graph, ds, ws.run_path, nodes=train_nodes,
                  options=TrainOptions(preset="quick", steps=steps, kinds=kinds or {}, device="cpu"), accelerator=None)
        finally:
            torch.set_num_threads(threads)
    return ws, ds, w


# ---- names, creation, opening


def test_names_are_checked(tmp_path):
    for bad in ["", ".hidden", "a/b", "x" * 65, "sp ace", "../up"]:
        with pytest.raises(W.WorkspaceError, match="bad workspace name"):
            W.create_workspace(bad, tmp_path)
    assert W.check_name(" ok-1.2_b ") == "ok-1.2_b"


def test_create_list_open_and_refuse_existing(tmp_path):
    assert W.list_workspaces(tmp_path) == []
    a = W.create_workspace("a", tmp_path)
    W.create_workspace("b", tmp_path)
    (tmp_path / "not-a-workspace").mkdir()
    assert W.list_workspaces(tmp_path) == ["a", "b"]
    with pytest.raises(W.WorkspaceError, match="already exists"):
        W.create_workspace("a", tmp_path)
    assert W.open_workspace("a", tmp_path).meta["created"] == a.meta["created"]
    with pytest.raises(W.WorkspaceError, match="no workspace named 'zz' \\(have a, b\\)"):
        W.open_workspace("zz", tmp_path)


def test_corrupt_or_foreign_meta_is_one_line(tmp_path):
    ws = W.create_workspace("a", tmp_path)
    (ws.path / W.META).write_text("{not json")
    with pytest.raises(W.WorkspaceError, match="is corrupt"):
        W.open_workspace("a", tmp_path)
    (ws.path / W.META).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(W.WorkspaceError, match="not a Causal Workbench workspace"):
        W.open_workspace("a", tmp_path)
    (ws.path / W.META).write_text(json.dumps({"format": W.FORMAT, "version": 99}))
    with pytest.raises(W.WorkspaceError, match="version 99"):
        W.open_workspace("a", tmp_path)


def test_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path / "elsewhere"))
    assert W.workspace_root() == tmp_path / "elsewhere"
    assert W.workspace_root(tmp_path) == tmp_path


def test_last_workspace_creates_default_then_remembers(tmp_path):
    assert W.last_workspace(tmp_path).name == "default"
    W.create_workspace("zeta", tmp_path)
    assert W.last_workspace(tmp_path).name == "default"  # no .last yet: the first by name
    W.remember_last("zeta", tmp_path)
    assert W.last_workspace(tmp_path).name == "zeta"


# ---- contents


def test_graph_and_dataset_round_trip(tmp_path):
    ds, _ = sample_dataset("frontdoor", 200, seed=3)
    ws = W.create_workspace("w", tmp_path)
    assert ws.load_graph() is None and ws.load_dataset() is None
    ws.save_graph(ds.graph, "fd")
    ws.save_dataset(ds, "world frontdoor")
    again = W.open_workspace("w", tmp_path)
    assert again.load_graph() == ds.graph and again.graph_name == "fd"
    back = again.load_dataset()
    assert back.fingerprint == ds.fingerprint and back.world == ds.world
    assert again.data_source == "world frontdoor"


def test_referenced_dataset_must_not_change(tmp_path):
    ds, _ = sample_dataset("backdoor", 100, seed=1)
    folder = ds.save(tmp_path / "data")
    ws = W.create_workspace("w", tmp_path / "ws")
    ws.reference_dataset(folder)
    assert W.open_workspace("w", tmp_path / "ws").load_dataset().fingerprint == ds.fingerprint
    other, _ = sample_dataset("backdoor", 100, seed=2)
    import shutil

    shutil.rmtree(folder)
    other.save(folder)
    with pytest.raises(W.WorkspaceError, match="changed since it was chosen"):
        W.open_workspace("w", tmp_path / "ws").load_dataset()
    shutil.rmtree(folder)
    with pytest.raises(W.WorkspaceError, match="is missing"):
        W.open_workspace("w", tmp_path / "ws").load_dataset()


def test_settings_and_results(tmp_path):
    ws = W.create_workspace("w", tmp_path)
    ws.update_settings(nodes={"X": {"kind": "vae", "preset": "quick"}}, steps=10)
    assert W.open_workspace("w", tmp_path).settings == {"nodes": {"X": {"kind": "vae", "preset": "quick"}}, "steps": 10}
    with pytest.raises(TypeError):
        ws.update_settings(bad=object())
    f = ws.save_result("effects_X_Y.csv", "a,b\n1,2\n")
    assert f.read_text() == "a,b\n1,2\n" and f.parent == ws.results_path
    with pytest.raises(W.WorkspaceError, match="bad result file name"):
        ws.save_result("../x.csv", "")


# ---- the session glue


def test_session_restores_and_saves_only_changes(tmp_path):
    ds, world = sample_dataset("frontdoor", 300, seed=0)
    first: dict = {}
    ws = W.sync_session(first, tmp_path)
    assert ws.name == "default" and "graph" not in first and "dataset" not in first
    from core import ui

    ui.set_graph(first, ds.graph, "fd")
    first["dataset"], first["data_source"] = ds, "world frontdoor"
    W.sync_session(first, tmp_path)
    assert (ws.path / W.GRAPH_FILE).is_file() and (ws.path / W.DATA_FILE).is_file()
    stamp = (ws.path / W.DATA_FILE).stat().st_mtime_ns
    W.sync_session(first, tmp_path)  # nothing changed: nothing written
    assert W.persist(first) == []
    assert (ws.path / W.DATA_FILE).stat().st_mtime_ns == stamp
    # a new session (the browser reopened) gets everything back, the world included
    second: dict = {}
    W.sync_session(second, tmp_path)
    assert second["graph"] == ds.graph and second["graph_name"] == "fd"
    assert second["dataset"].fingerprint == ds.fingerprint
    assert second["data_world"].graph == world.graph
    assert second["workspace_problems"] == []
    # a session whose workspace folder disappeared opens another one instead of failing
    import shutil

    gone: dict = {}
    W.sync_session(gone, tmp_path)
    W.create_workspace("spare", tmp_path)
    shutil.rmtree(gone["workspace"].path)
    assert W.sync_session(gone, tmp_path).name == "spare"
    W.create_workspace("default", tmp_path)
    W.open_workspace("default", tmp_path).save_graph(ds.graph, "fd")
    W.open_workspace("default", tmp_path).save_dataset(ds, "world frontdoor")
    # an edited graph is saved on the next run
    ui.set_graph(second, ds.graph.with_node(Node("Z", "binary")), "fd2")
    assert W.persist(second) == ["graph"]
    assert W.open_workspace("default", tmp_path).load_graph().names[-1] == "Z"


def test_switch_and_create_workspaces(tmp_path):
    from core import ui

    ds, _ = sample_dataset("backdoor", 100, seed=0)
    state: dict = {}
    W.sync_session(state, tmp_path)
    ui.set_graph(state, ds.graph, "bd")
    state["dataset"] = ds
    # creating keeps what the session has
    state["ws_new_name"] = "copy"
    W.on_create_workspace(state)
    assert state["workspace"].name == "copy" and state["ws_pick"] == "copy"
    assert W.open_workspace("copy", tmp_path).load_dataset().fingerprint == ds.fingerprint
    # a bad name is one line, and the session stays where it was
    state["ws_new_name"] = "bad name"
    W.on_create_workspace(state)
    assert state["workspace"].name == "copy" and "bad workspace name" in state["workspace_problems"][0]
    # an empty workspace clears the data; switching back restores it
    W.create_workspace("empty", tmp_path)
    state["ws_pick"] = "empty"
    W.on_pick_workspace(state)
    assert state["workspace"].name == "empty" and "dataset" not in state
    state["ws_pick"] = "default"
    W.on_pick_workspace(state)
    assert state["dataset"].fingerprint == ds.fingerprint
    assert (tmp_path / W.LAST_FILE).read_text().strip() == "default"


def test_unreadable_data_is_reported_not_raised(tmp_path):
    ds, _ = sample_dataset("backdoor", 50, seed=0)
    ws = W.create_workspace("w", tmp_path)
    ws.save_graph(ds.graph, "bd")
    ws.save_dataset(ds)
    (ws.path / W.DATA_FILE).unlink()
    state: dict = {}
    W.sync_session(state, tmp_path)
    assert state["graph"] == ds.graph and "dataset" not in state
    assert len(state["workspace_problems"]) == 1 and "is missing" in state["workspace_problems"][0]


# ---- node status from the run manifest


def test_node_status_from_a_trained_run(tmp_path):
    ws, ds, _ = make_trained_workspace(tmp_path, "backdoor", n=500, steps=5, train_nodes=["Z", "X"])
    rows = {r["node"]: r for r in W.node_status(ds.graph, ws.manifest())}
    assert rows["Z"]["status"] == "trained" and rows["Z"]["steps_done"] == 5 and rows["Z"]["kind"] == "categorical"
    assert np.isfinite(rows["Z"]["loss"])
    assert rows["Y"]["status"] == "untrained"
    assert W.status_line(rows["Z"]).startswith("trained · 5/5 steps · loss ")
    assert W.status_line(rows["Y"]) == "untrained"
    # X's parents change: its model no longer counts
    changed = ds.graph.without_edges(directed=[("Z", "X")])
    rows = {r["node"]: r for r in W.node_status(changed, ws.manifest())}
    assert rows["X"]["status"] == "untrained" and "another graph" in W.status_line(rows["X"])
    assert rows["Z"]["status"] == "trained"
    assert [r["status"] for r in W.node_status(ADMG([Node("Q", "binary")]), None)] == ["untrained"]
    ws.discard_run()
    assert not ws.has_run() and ws.manifest() is None
