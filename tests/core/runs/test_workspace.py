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

from core.graph import ADMG, Node
from core.runs import builtin as B
from core.runs import workspace as W
from workbench import session as S
from core.runs.train import TrainOptions, train
from core.worlds.registry import sample_dataset

from tests.helpers import make_trained_workspace  # noqa: E402

ENV = W.ENV_ROOT


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
    ws = S.sync_session(first, tmp_path)
    assert ws.name == "default" and "graph" not in first and "dataset" not in first
    from workbench import graph_state

    graph_state.set_graph(first, ds.graph, "fd")
    first["dataset"], first["data_source"] = ds, "world frontdoor"
    S.sync_session(first, tmp_path)
    assert (ws.path / W.GRAPH_FILE).is_file() and (ws.path / W.DATA_FILE).is_file()
    stamp = (ws.path / W.DATA_FILE).stat().st_mtime_ns
    S.sync_session(first, tmp_path)  # nothing changed: nothing written
    assert S.persist(first) == []
    assert (ws.path / W.DATA_FILE).stat().st_mtime_ns == stamp
    # a new session (the browser reopened) gets everything back, the world included
    second: dict = {}
    S.sync_session(second, tmp_path)
    assert second["graph"] == ds.graph and second["graph_name"] == "fd"
    assert second["dataset"].fingerprint == ds.fingerprint
    assert second["data_world"].graph == world.graph
    assert second["workspace_problems"] == []
    # a session whose workspace folder disappeared opens another one instead of failing
    import shutil

    gone: dict = {}
    S.sync_session(gone, tmp_path)
    W.create_workspace("spare", tmp_path)
    shutil.rmtree(gone["workspace"].path)
    assert S.sync_session(gone, tmp_path).name == "spare"
    W.create_workspace("default", tmp_path)
    W.open_workspace("default", tmp_path).save_graph(ds.graph, "fd")
    W.open_workspace("default", tmp_path).save_dataset(ds, "world frontdoor")
    # an edited graph is saved on the next run
    graph_state.set_graph(second, ds.graph.with_node(Node("Z", "binary")), "fd2")
    assert S.persist(second) == ["graph"]
    assert W.open_workspace("default", tmp_path).load_graph().names[-1] == "Z"


def test_switch_and_create_workspaces(tmp_path):
    from workbench import graph_state

    ds, _ = sample_dataset("backdoor", 100, seed=0)
    state: dict = {}
    S.sync_session(state, tmp_path)
    graph_state.set_graph(state, ds.graph, "bd")
    state["dataset"] = ds
    # creating keeps what the session has
    state["ws_new_name"] = "copy"
    S.on_create_workspace(state)
    assert state["workspace"].name == "copy" and state["ws_pick"] == "copy"
    assert W.open_workspace("copy", tmp_path).load_dataset().fingerprint == ds.fingerprint
    # a bad name is one line, and the session stays where it was
    state["ws_new_name"] = "bad name"
    S.on_create_workspace(state)
    assert state["workspace"].name == "copy" and "bad workspace name" in state["workspace_problems"][0]
    # an empty workspace clears the data; switching back restores it
    W.create_workspace("empty", tmp_path)
    state["ws_pick"] = "empty"
    S.on_pick_workspace(state)
    assert state["workspace"].name == "empty" and "dataset" not in state
    state["ws_pick"] = "default"
    S.on_pick_workspace(state)
    assert state["dataset"].fingerprint == ds.fingerprint
    assert (tmp_path / W.LAST_FILE).read_text().strip() == "default"


def test_unreadable_data_is_reported_not_raised(tmp_path):
    ds, _ = sample_dataset("backdoor", 50, seed=0)
    ws = W.create_workspace("w", tmp_path)
    ws.save_graph(ds.graph, "bd")
    ws.save_dataset(ds)
    (ws.path / W.DATA_FILE).unlink()
    state: dict = {}
    S.sync_session(state, tmp_path)
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


# ---- the shipped, trained default workspace (assets/workspaces/faces)

BUILTIN = B.BUILTIN_ROOT / B.BUILTIN_DEFAULT


def test_first_start_opens_the_trained_faces_workspace(tmp_path, monkeypatch):
    from core.runs.checkpoint import load_run

    monkeypatch.setenv(W.ENV_DEFAULT, B.BUILTIN_DEFAULT)
    state: dict = {}
    ws = S.sync_session(state, tmp_path)
    assert ws.name == "default" and W.list_workspaces(tmp_path) == ["default"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [W.LAST_FILE, "default"]  # no temporary folder left
    assert state["workspace_problems"] == []
    graph = ADMG.from_json((BUILTIN / "graph.json").read_text())
    assert state["graph"] == graph and state["graph_name"] == "faces"
    assert state["dataset"].fingerprint == B.read_recipe(BUILTIN)["data"]["fingerprint"]
    assert state["data_world"] is not None and state["data_source"].startswith("world faces (size=16")
    run = load_run(ws.run_path, graph, state["dataset"].fingerprint)  # refuses other graphs or data
    assert list(run.trained_nodes()) == list(graph.names)
    assert all(r["status"] == "trained" for r in W.node_status(graph, ws.manifest()))
    assert run.entry("Face")["kind"] == "vae" and ws.settings["nodes"]["Face"]["kind"] == "vae"
    face = run.load_mechanism("Face")  # strict load: the shipped weights fit today's VAE code
    assert face.node.shape == (3, 16, 16)
    # the next start reopens it (nothing is installed twice)
    assert S.sync_session({}, tmp_path).path == ws.path


@pytest.fixture(scope="module")
def faces_ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces_ws")
    ws = B.install_builtin("default", root)
    return ws, ws.load_graph(), ws.load_dataset(), ws.load_run()


def test_idgen_reuses_the_runs_face_model_instead_of_training(faces_ws, monkeypatch):
    """P(Face | do(Male)) needs p(Face | Male, Young, Eyeglasses, Beard, Lipstick) on the observed data:
    exactly the trained node model.  Fitting any neural model here fails the test."""
    from core.idgen import sampler as idgen
    from workbench import explore as X

    ws, graph, ds, run = faces_ws

    def no_training(self, inputs, target):
        raise AssertionError(f"ID-GEN retrained {self.target.name}, which the run already has")

    monkeypatch.setattr(idgen.MechanismModel, "fit", no_training)
    hub = X.ModelHub()
    settings = X.idgen_settings(ws.settings)
    status = X.idgen_status(hub, run, ds, graph, "Male", "Face", settings)
    assert [s.target for s in status.reused] == ["Face"] and not status.to_fit
    assert sorted(s.target for s in status.instant) == ["Beard", "Eyeglasses", "Lipstick", "Young"]
    assert status.summary() == "1 of 5 models already trained, 4 exact (instant), 0 to train"
    gen = X.idgen_for(hub, ds, graph, "Male", "Face", settings, run=run)
    (face_key,) = [k for k in gen.reused]
    assert gen.reused[face_key].mechanism is hub.mechanism(run, "Face")  # the run's weights, loaded once
    assert face_key not in hub.idgen_models[next(iter(hub.idgen_models))]  # not copied into the shared cache
    # the run's Face model answers the query: Beard follows do(Male), Young does not (ground truth:
    # P(Beard | do(Male = m)) = 0.02 / 0.6, P(Young | do(Male = m)) = 0.6 for both m)
    probe = ds_world_probe(ds)
    rates = {m: probe.read(gen.sample(do={"Male": m}, n=300, seed=m)["Face"]) for m in (0, 1)}
    beard = {m: float(np.mean(rates[m]["Beard"])) for m in (0, 1)}
    young = {m: float(np.mean(rates[m]["Young"])) for m in (0, 1)}
    assert beard[1] - beard[0] > 0.3, beard
    assert abs(young[1] - young[0]) < 0.15, young
    # other data (a different fingerprint): nothing is reused, the plan would train Face
    status = X.idgen_status(hub, run, ds.subset(np.arange(1000)), graph, "Male", "Face", settings)
    assert not status.reused and [s.target for s in status.to_fit] == ["Face"]


def ds_world_probe(ds):
    from core.worlds.registry import world_from_record

    return world_from_record(ds.world).probe("Face")


def test_faces_counterfactuals_are_answered_despite_the_hidden_confounder(faces_ws):
    """Male <-> Young touches no node that do(Male) recomputes (Beard, Lipstick, Face), so each
    unit's counterfactual face comes from abduction; the bow's X <-> Y does block it."""
    from core.graph import parse_dagitty
    from workbench import explore as X

    ws, graph, ds, run = faces_ws
    assert X.counterfactual_confounders(graph, "Male", "Face") == []
    assert X.counterfactual_confounders(graph, "Beard", "Face") == []
    assert X.counterfactual_confounders(parse_dagitty("dag { X -> Y ; X <-> Y }"), "X", "Y") == [("X", "Y")]
    hub = X.ModelHub()
    rows = np.arange(40)
    for treatment in ("Male", "Beard"):  # do(Beard) keeps Male <-> Young in the sub-model: dropped there
        cf = X.model_counterfactual(hub, run, ds, graph, treatment, 1, "Face", rows)
        assert cf.ok, cf.message
        assert cf.values.shape == (40, 3, 16, 16)
        same = np.asarray(ds.column(treatment))[rows] == 1  # already treated: nothing changes (consistency)
        assert same.any() and np.array_equal(cf.values[same], cf.factual[same])
        assert not np.array_equal(cf.values[~same], cf.factual[~same])


def test_an_image_model_idgen_must_fit_trains_in_a_background_job_with_progress_and_stops_cleanly(faces_ws):
    """P(Face | do(Young), Beard) needs p(Face | Young, Beard): not the run's Face model (other
    inputs), so it is fitted -- in a Train-page job (core.ui_train), reporting steps, losses and an
    ETA per model; a stop leaves neither a network nor a half-trained model behind."""
    import torch

    from workbench import explore as X
    from workbench import train_page

    ws, graph, ds, run = faces_ws
    assert X.idgen_status(X.ModelHub(), run, ds, graph, "Young", "Face", X.idgen_settings(ws.settings),
                          ("Beard",)).summary() == "1 of 6 models already trained, 4 exact (instant), 1 to train"
    # 400 rows (other data: the run's Face model is not used) keep ID-GEN's synthetic data small
    ds = ds.subset(np.arange(400))
    settings = {**X.idgen_settings(ws.settings), "idgen_steps": 4}
    hub = X.ModelHub()
    labels, work = X.idgen_fit_work(hub, ds, graph, "Young", "Face", settings, ("Beard",), run)
    assert sorted(labels) == ["p(Face | Male, Young, Eyeglasses, Beard, Lipstick)", "p(Face | Young, Beard)"]
    threads = torch.get_num_threads()
    try:
        # asked to stop before its first step: the job raises, nothing is cached
        stopped = train_page.TrainJob("ws#idgen", labels)
        stopped.request_stop()
        with pytest.raises(W.WorkbenchError, match=r"stopped at p\(Face \| .*\), step 1 of 4: nothing was kept"):
            work(stopped)
        assert X.idgen_for(hub, ds, graph, "Young", "Face", settings, fit=False, given=("Beard",), run=run) is None
        assert not any(k for cache in hub.idgen_models.values() for k in cache if "Face" in str(k))
        # in the background: the registry's thread fits it; the page's next run finds the network
        reg = train_page.JobRegistry()
        job = reg.start("ws#idgen", labels, work)
        assert job.wait(120) and job.error is None, job.error
        assert job.summary.startswith("ID-GEN for P(Face | do(Young), Beard): 2 models trained")
        for label, p in job.snapshot().items():
            assert (p.node, p.step, p.total, p.phase) == (label, 4, 4, "done") and p.loss is not None
        gen = X.idgen_for(hub, ds, graph, "Young", "Face", settings, fit=False, given=("Beard",), run=run)
        assert gen is not None and [s.target for s in X.idgen_status(hub, run, ds, graph, "Young", "Face", settings,
                                                                      ("Beard",)).to_fit] == []
        assert gen.sample(do={"Young": 1}, n=4, seed=0, given={"Beard": 1})["Face"].shape == (4, 3, 16, 16)
    finally:
        torch.set_num_threads(threads)
