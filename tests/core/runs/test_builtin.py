"""Shipped workspaces: the shipped faces workspace's recipe re-samples its training data, packing a
trained run and installing it round-trips, and bad targets or sources are refused."""

from __future__ import annotations

import json

import pytest

from core.runs import builtin as B
from core.runs import workspace as W
from tests.helpers import make_trained_workspace

BUILTIN = B.BUILTIN_ROOT / B.BUILTIN_DEFAULT


def test_shipped_workspace_is_small_and_its_recipe_regenerates_the_training_data():
    files = [f for f in BUILTIN.rglob("*") if f.is_file()]
    sizes = {str(f.relative_to(BUILTIN)): f.stat().st_size for f in files}
    assert all(s < 10 * 2**20 for s in sizes.values()), sizes
    assert sum(sizes.values()) < 8 * 2**20, sizes
    assert not any(f.suffix in (".npz", ".png", ".pt") for f in files)  # no data, no optimiser state
    assert B.BUILTIN_DEFAULT in B.builtin_names()
    recipe = B.read_recipe(BUILTIN)
    ds = B.regenerate_dataset(recipe)
    manifest = json.loads((BUILTIN / "run" / "manifest.json").read_text())
    # the world re-samples exactly the data the shipped models were trained on
    assert ds.fingerprint == recipe["data"]["fingerprint"] == manifest["data"]["fingerprint"]
    assert ds.n == recipe["data"]["n"] == manifest["data"]["rows"]
    # ... and another seed would not (the fingerprint can fail)
    other = B.regenerate_dataset({**recipe, "data": {**recipe["data"], "seed": recipe["data"]["seed"] + 1}})
    assert other.fingerprint != ds.fingerprint


def test_install_builtin_refuses_an_existing_name_and_empty_default_on_request(tmp_path, monkeypatch):
    W.create_workspace("default", tmp_path)
    with pytest.raises(W.WorkspaceError, match="already exists"):
        B.install_builtin("default", tmp_path)
    with pytest.raises(W.WorkspaceError, match="not a shipped workspace"):
        B.install_builtin("other", tmp_path, source=tmp_path)
    assert W.list_workspaces(tmp_path) == ["default"]
    monkeypatch.setenv(W.ENV_DEFAULT, "empty")
    assert W.first_workspace(tmp_path / "fresh").load_graph() is None
    # shipped assets that cannot be used: an empty default with a note, never a failed start
    monkeypatch.setenv(W.ENV_DEFAULT, "no-such-world")
    ws = W.first_workspace(tmp_path / "fresh2")
    assert ws.load_graph() is None and "could not be installed" in ws.meta["notes"][0]


def test_a_packed_run_installs_as_a_workspace_on_the_same_data(tmp_path):
    from core.runs.checkpoint import load_run

    ws, ds, _ = make_trained_workspace(tmp_path / "made", "backdoor", n=400, steps=3)
    with pytest.raises(W.WorkspaceError, match="trained on other data"):
        B.pack_builtin(tmp_path / "shipped", ds.graph, ws.run_path, graph_name="bd", world="backdoor", params={},
                       seed=1, n=400)
    out = B.pack_builtin(tmp_path / "shipped", ds.graph, ws.run_path, graph_name="bd", world="backdoor", params={},
                         seed=0, n=400, settings={"steps": 3}, description="back-door, 3 steps")
    recipe = B.read_recipe(out)
    assert recipe["data"]["fingerprint"] == ds.fingerprint and recipe["description"] == "back-door, 3 steps"
    assert not list((out / "run" / "nodes").glob("*.optim.pt"))  # weights only
    installed = B.install_builtin("copy", tmp_path / "root", source=out)
    assert installed.settings == {"steps": 3} and installed.graph_name == "bd" and installed.meta["builtin"] == "shipped"
    assert installed.data_source == "world backdoor (seed=0), seed 0"
    data = installed.load_dataset()
    run = load_run(installed.run_path, installed.load_graph(), data.fingerprint)
    assert list(run.trained_nodes()) == list(ds.graph.names)
    assert all(run.entry(v)["optimizer"] is None for v in ds.graph.names)


def test_retraining_the_shipped_run_works_without_optimiser_files(tmp_path):
    """The shipped run has no optimiser state: "Train all" skips what is trained, a forgotten node
    trains from scratch, and asking for more steps than shipped retrains (nothing to resume) rather
    than failing."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on the shared 2-core CPU train several times slower
    try:
        retrain_the_shipped_run(tmp_path)
    finally:
        torch.set_num_threads(threads)


def retrain_the_shipped_run(tmp_path):
    from core.runs.checkpoint import load_run
    from core.runs.train import TrainOptions, train

    ws = B.install_builtin("default", tmp_path)
    graph, ds = ws.load_graph(), ws.load_dataset()
    run = load_run(ws.run_path, graph, ds.fingerprint)
    assert all(run.entry(v)["optimizer"] is None for v in graph.names)
    result = train(graph, ds, ws.run_path, options=TrainOptions(preset="quick", kinds={"Face": "vae"}), accelerator=None)
    assert {r.status for r in result.nodes.values()} == {"skipped"}
    run.reset_node("Beard")
    more = TrainOptions(preset="quick", steps=1510)  # Young: 1500 shipped steps, no optimiser to resume
    result = train(graph, ds, ws.run_path, nodes=["Beard", "Young"], options=TrainOptions(preset="quick", steps=30),
                   accelerator=None)
    assert result.nodes["Beard"].status == "trained" and result.nodes["Beard"].steps_done == 30
    assert result.nodes["Young"].status == "skipped"
    result = train(graph, ds, ws.run_path, nodes=["Young"], options=more, accelerator=None)
    assert result.nodes["Young"].status == "trained" and result.nodes["Young"].steps_done == 1510
    run = load_run(ws.run_path, graph, ds.fingerprint)
    assert list(run.trained_nodes()) == list(graph.names)
    assert run.load_mechanism("Young") is not None


def test_large_weights_ship_in_half_precision_and_load_into_float32(tmp_path):
    import torch

    from core.runs.checkpoint import read_safetensors

    state = {"w": torch.randn(64, 64), "steps_done": torch.tensor(7), "flag": torch.tensor(True)}
    (tmp_path / "w.safetensors").write_bytes(B.half_precision(state))
    back = read_safetensors(tmp_path, "w.safetensors")
    assert back["w"].dtype == torch.float16 and back["steps_done"].dtype == torch.int64 and bool(back["flag"])
    module = torch.nn.Linear(64, 64, bias=False)
    module.load_state_dict({"weight": back["w"]})
    assert module.weight.dtype == torch.float32
    assert torch.allclose(module.weight, state["w"], rtol=1e-3, atol=1e-4)
