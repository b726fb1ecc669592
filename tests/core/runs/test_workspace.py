"""Workspaces: folders that hold a project (graph, data, run, results) and restore a session.

Also home of :func:`make_trained_workspace`, the small trained workspace the app tests share (a
tiny model trained for a few steps on a built-in world, so no test trains a big model).
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from core.errors import InUseError
from core.graph import ADMG, Node
from core.runs import builtin as B
from core.runs import workspace as W
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




@pytest.fixture(scope="module")
def faces_ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces_ws")
    ws = B.install_builtin("default", root)
    return ws, ws.load_graph(), ws.load_dataset(), ws.load_run()


def test_idgen_reuses_the_runs_face_model_instead_of_training(faces_ws, monkeypatch):
    """P(Face | do(Male)) needs p(Face | Male, Young, Eyeglasses, Beard, Lipstick) on the observed data:
    exactly the trained node model.  Fitting any neural model here fails the test."""
    from dataclasses import replace

    from core.idgen import MechanismModel
    from workbench.explore.idgen_fit import idgen_for, idgen_settings, idgen_status
    from workbench.explore.models import ModelHub, Sources
    from workbench.explore.question import DoQuery

    ws, graph, ds, run = faces_ws

    def no_training(self, inputs, target):
        raise AssertionError(f"ID-GEN retrained {self.target.name}, which the run already has")

    monkeypatch.setattr(MechanismModel, "fit", no_training)
    hub = ModelHub()
    sources = Sources(hub, ds, run=run, settings=idgen_settings(ws.settings))
    query = DoQuery(graph, "Male", "Face")
    status = idgen_status(sources, query)
    assert [s.target for s in status.reused] == ["Face"] and not status.to_fit
    assert sorted(s.target for s in status.instant) == ["Beard", "Eyeglasses", "Lipstick", "Young"]
    assert status.summary() == "1 of 5 models already trained, 4 exact (instant), 0 to train"
    gen = idgen_for(sources, query)
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
    status = idgen_status(replace(sources, dataset=ds.subset(np.arange(1000))), query)
    assert not status.reused and [s.target for s in status.to_fit] == ["Face"]


def ds_world_probe(ds):
    from core.worlds.registry import world_from_record

    return world_from_record(ds.world).probe("Face")


def test_faces_counterfactuals_are_answered_despite_the_hidden_confounder(faces_ws):
    """Male <-> Young touches no node that do(Male) recomputes (Beard, Lipstick, Face), so each
    unit's counterfactual face comes from abduction; the bow's X <-> Y does block it."""
    from core.graph import parse_dagitty
    from workbench.explore.galleries import model_counterfactual
    from workbench.explore.models import ModelHub, Sources, counterfactual_confounders
    from workbench.explore.question import DoQuery, ExploreQuery

    ws, graph, ds, run = faces_ws
    assert counterfactual_confounders(DoQuery(graph, "Male", "Face")) == []
    assert counterfactual_confounders(DoQuery(graph, "Beard", "Face")) == []
    assert counterfactual_confounders(DoQuery(parse_dagitty("dag { X -> Y ; X <-> Y }"), "X", "Y")) == [("X", "Y")]
    sources = Sources(ModelHub(), ds, run=run)
    rows = np.arange(40)
    for treatment in ("Male", "Beard"):  # do(Beard) keeps Male <-> Young in the sub-model: dropped there
        cf = model_counterfactual(sources, ExploreQuery(graph, treatment, 1, "Face"), rows)
        assert cf.ok, cf.message
        assert cf.values.shape == (40, 3, 16, 16)
        same = np.asarray(ds.column(treatment))[rows] == 1  # already treated: nothing changes (consistency)
        assert same.any() and np.array_equal(cf.values[same], cf.factual[same])
        assert not np.array_equal(cf.values[~same], cf.factual[~same])


def test_an_image_model_idgen_must_fit_trains_in_a_background_job_with_progress_and_stops_cleanly(faces_ws):
    """P(Face | do(Young), Beard) needs p(Face | Young, Beard): not the run's Face model (other
    inputs), so it is fitted -- in a Train-page job (workbench.train_page), reporting steps, losses and an
    ETA per model; a stop leaves neither a network nor a half-trained model behind."""

    from workbench import train_page
    from workbench.explore.idgen_fit import idgen_fit_work, idgen_for, idgen_settings, idgen_status
    from workbench.explore.models import ModelHub, Sources
    from workbench.explore.question import DoQuery

    ws, graph, ds, run = faces_ws
    query = DoQuery(graph, "Young", "Face", ("Beard",))
    shipped = Sources(ModelHub(), ds, run=run, settings=idgen_settings(ws.settings))
    assert idgen_status(shipped, query).summary() == "1 of 6 models already trained, 4 exact (instant), 1 to train"
    # 400 rows (other data: the run's Face model is not used) keep ID-GEN's synthetic data small
    ds = ds.subset(np.arange(400))
    sources = Sources(ModelHub(), ds, run=run, settings={**idgen_settings(ws.settings), "idgen_steps": 4})
    hub = sources.hub
    labels, work = idgen_fit_work(sources, query)
    assert sorted(labels) == ["p(Face | Male, Young, Eyeglasses, Beard, Lipstick)", "p(Face | Young, Beard)"]
    threads = torch.get_num_threads()
    try:
        # asked to stop before its first step: the job raises, nothing is cached
        stopped = train_page.TrainJob("ws#idgen", labels)
        stopped.request_stop()
        with pytest.raises(W.WorkbenchError, match=r"stopped at p\(Face \| .*\), step 1 of 4: nothing was kept"):
            work(stopped)
        assert idgen_for(sources, query, fit=False) is None
        assert not any(k for cache in hub.idgen_models.values() for k in cache if "Face" in str(k))
        # in the background: the registry's thread fits it; the page's next run finds the network
        reg = train_page.JobRegistry()
        job = reg.start("ws#idgen", labels, work)
        assert job.wait(120) and job.error is None, job.error
        assert job.summary.startswith("ID-GEN for P(Face | do(Young), Beard): 2 models trained")
        for label, p in job.snapshot().items():
            assert (p.node, p.step, p.total, p.phase) == (label, 4, 4, "done") and p.loss is not None
        gen = idgen_for(sources, query, fit=False)
        assert gen is not None and [s.target for s in idgen_status(sources, query).to_fit] == []
        assert gen.sample(do={"Young": 1}, n=4, seed=0, given={"Beard": 1})["Face"].shape == (4, 3, 16, 16)
    finally:
        torch.set_num_threads(threads)


def test_replaced_graphs_and_data_are_kept_as_the_last_few_versions(tmp_path, monkeypatch):
    monkeypatch.setitem(W.KEEP_VERSIONS, "graph", 2)
    ws = W.create_workspace("a", tmp_path)
    g = ADMG([Node("A", "binary"), Node("B", "binary")], [("A", "B")])
    ws.save_graph(g, "first")
    ws.save_graph(g.with_node(g.node("A").with_extra(pos=(1, 2))), "first")  # a move is not another model
    assert ws.versions() == []
    for i, name in enumerate(["C", "D", "E"]):
        ws.save_graph(ws.load_graph().with_node(Node(name, "binary")), f"g{i}")
    graphs = ws.versions("graph")
    assert [v["label"].split(":")[0] for v in graphs] == ["g1", "g0"]  # newest first, the oldest dropped
    assert sorted(p.name for p in (ws.path / W.VERSIONS_DIR).iterdir()) == sorted(
        v["file"].split("/")[1] for v in graphs)
    ds1, _ = sample_dataset("backdoor", 30, seed=0)
    ds2, _ = sample_dataset("backdoor", 30, seed=1)
    ws.save_dataset(ds1, "one")
    ws.save_dataset(ds1, "one")  # the same data: no version
    ws.save_dataset(ds2, "two")
    (old,) = ws.versions("data")
    assert old["label"] == "30 rows from one"
    ws.restore_version(old["file"])
    assert ws.load_dataset().fingerprint == ds1.fingerprint and ws.data_source == "one"
    assert ws.versions("data")[0]["label"] == "30 rows from two"
    with pytest.raises(W.WorkspaceError, match="keeps no version 'nope'"):
        ws.restore_version("nope")
    # the metadata survives a reopen
    assert W.open_workspace("a", tmp_path).versions() == ws.versions()


# ---- one writer at a time


def test_concurrent_writers_of_one_workspace_take_turns_and_lose_nothing(tmp_path):
    W.create_workspace("w", tmp_path)
    errors: list[BaseException] = []

    def write(key: str) -> None:
        ws = W.open_workspace("w", tmp_path)  # each writer has its own view, like two browser tabs
        try:
            for i in range(15):
                ws.update_settings(**{key: i})
        except BaseException as e:  # collected for the assertion below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    meta = json.loads((tmp_path / "w" / W.META).read_text())  # whole, valid JSON
    assert meta["settings"] in ({"a": 14}, {"b": 14}, {"a": 14, "b": 14})
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [W.META], "no lock file left"


def test_a_workspace_held_by_another_process_is_one_line_naming_it(tmp_path, monkeypatch):
    import subprocess
    import sys

    from tests.helpers import REPO

    ws = W.create_workspace("w", tmp_path)
    code = ("import sys, time; from pathlib import Path; from core.locks import FolderLock; "
            "lock = FolderLock(Path(sys.argv[1]), 'w').acquire(); print('held', flush=True); time.sleep(300)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "w" / W.LOCK_FILE)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        ws._lock.wait = 0.2
        with pytest.raises(InUseError, match=rf"^workspace w is in use by process {proc.pid} since"):
            ws.update_settings(x=1)
    finally:
        proc.kill()
        proc.wait()
    ws.update_settings(x=1)  # the dead holder's lock is taken over
    assert W.open_workspace("w", tmp_path).settings == {"x": 1}


def test_discarding_a_run_that_is_being_trained_is_refused(tmp_path):
    from core.runs.checkpoint import open_run

    ws = W.create_workspace("w", tmp_path)
    graph = ADMG([Node("A")])
    with open_run(ws.run_path, graph):
        with pytest.raises(InUseError, match="run folder .* is in use by process"):
            ws.discard_run()
        assert ws.has_run()
    ws.discard_run()
    assert not ws.run_path.exists()
