"""The model check on a world whose truth is known: it calls a good model good and a model trained
with its parents shuffled poor, and the gains it measures match the world's exact conditional
tables; results are saved in the run and shown again until a model is retrained."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from core.check.model_check import (
    CHECK_FILE,
    CheckOptions,
    format_report,
    load_model_check,
    run_model_check,
    save_model_check,
)
from core.data import Dataset
from core.data.sources import seeded_split
from core.errors import WorkbenchError
from core.mechanisms import make_mechanism
from core.runs.checkpoint import CheckpointError, load_run
from core.runs.train import TrainOptions, node_tensors, train
from core.worlds.registry import sample_dataset


def backdoor_with_split(n: int) -> tuple[Dataset, object]:
    """Back-door world data (Z -> X -> Y, Z -> Y) with 20% of the rows held out, and the world."""
    ds, world = sample_dataset("backdoor", n, seed=0)
    return Dataset(ds.table, ds.images, ds.nodes, ds.graph, ds.world, split=seeded_split(0.2)), world


def shuffle_parents_of(run_path, ds: Dataset, node: str, steps: int) -> None:
    """Replace ``node``'s model in the run by one trained with its parents shuffled across rows."""
    run = load_run(run_path)
    g = ds.graph
    parents, values = node_tensors(ds.subset(ds.training_rows()), g, node)
    perm = torch.from_numpy(np.random.default_rng(1).permutation(len(values)))
    mech = make_mechanism(g.node(node), [g.node(p) for p in g.sort(g.parents(node))], preset="quick", seed=0)
    mech.fit({k: v[perm] for k, v in parents.items()}, values, steps=steps)
    run.save_node(node, kind=mech.kind, config=mech.config, weights=mech.state_dict(), optimizer={}, step=steps,
                  total_steps=steps, loss_history=[0.0], status="trained")


def true_gain(world, ds: Dataset, node: str, rows: np.ndarray) -> float:
    """E[log p(v | pa) - log p(v)] on ``rows`` under the world's exact tables."""
    g = ds.graph
    v = ds.column(node)[rows]
    cond = world.tables[node][tuple(ds.column(p)[rows] for p in g.sort(g.parents(node))) + (v,)]
    marginal = world.observed_joint().marginal([node])
    return float(np.mean(np.log(cond) - np.log(marginal[v])))


def test_saved_results_come_back_until_a_model_is_retrained(tmp_path):
    ds, _ = backdoor_with_split(400)
    train(ds.graph, ds, tmp_path / "run", options=TrainOptions(preset="quick", steps=20, device="cpu"), accelerator=None)
    run = load_run(tmp_path / "run")
    assert load_model_check(run) == (None, False)
    stages = []
    check = run_model_check(run, ds, options=CheckOptions(steps=20, eval_rows=60),
                            progress=lambda text, done, total: stages.append((done, total)))
    assert list(check.nodes) == ["Z", "X", "Y"] and check.heldout and check.rows == 60
    assert stages[-1] == (3, 3)
    save_model_check(run, check)
    back, current = load_model_check(load_run(tmp_path / "run"))
    assert current and back.to_json() == check.to_json()
    assert "Model check on 60 held-out rows" in format_report(back)
    load_run(tmp_path / "run").reset_node("Y")  # the model changed: the saved results are stale
    assert load_model_check(load_run(tmp_path / "run"))[1] is False
    with pytest.raises(WorkbenchError, match="node Y has no trained model in run .*: train it first"):
        run_model_check(load_run(tmp_path / "run"), ds, ["Y"])
    other, _ = backdoor_with_split(300)
    with pytest.raises(CheckpointError, match="this data is not the data run .* was trained on"):
        run_model_check(load_run(tmp_path / "run"), other)
    (tmp_path / "run" / CHECK_FILE).write_text("{not json")
    assert load_model_check(load_run(tmp_path / "run")) == (None, False)


@pytest.mark.slow
def test_a_good_model_is_good_and_one_trained_with_shuffled_parents_is_poor(tmp_path):
    torch.set_num_threads(1)
    ds, world = backdoor_with_split(3000)
    train(ds.graph, ds, tmp_path / "good", options=TrainOptions(preset="quick", steps=400, device="cpu"),
          accelerator=None)
    shutil.copytree(tmp_path / "good", tmp_path / "bad")
    shuffle_parents_of(tmp_path / "bad", ds, "Y", 400)
    options = CheckOptions(steps=400)
    good = run_model_check(load_run(tmp_path / "good"), ds, options=options)
    bad = run_model_check(load_run(tmp_path / "bad"), ds, options=options)
    assert [v.grade for v in good.verdicts()] == ["good", "good", "good"], format_report(good)
    assert bad.nodes["Y"].verdict.grade == "poor", format_report(bad)
    assert bad.nodes["Y"].verdict.reason.startswith("ignores its parents")
    # the truth: the world's tables give the gain a model of p(y | z, x) can have over p(y)
    held = ds.heldout_rows()
    truth = true_gain(world, ds, "Y", held)
    assert truth > 0.1
    assert abs(good.nodes["Y"].likelihood.gain - truth) < 4 * good.nodes["Y"].likelihood.gain_se + 0.02
    assert bad.nodes["Y"].likelihood.gain < 0.25 * truth


@pytest.mark.slow
def test_an_untrained_image_model_is_poor_and_a_trained_one_is_not(tmp_path):
    """TinyWorld's C -> X: an 8x8 image whose channel C is lit.  A trained VAE shows do(C) in its
    counterfactuals and beats a short parent-blind fit; the same architecture untrained does not."""
    from core.graph import Node
    from tests.helpers import TinyWorld

    torch.set_num_threads(2)
    world = TinyWorld(8)
    units = world.sample(1000, 0)
    graph = world.graph.subgraph(["C", "X"])
    ds = Dataset.from_values({"C": units["C"], "X": units["X"]}, graph)
    ds = Dataset(ds.table, ds.images, ds.nodes, graph, split=seeded_split(0.2))
    train(graph, ds, tmp_path / "good", options=TrainOptions(preset="quick", steps=250, kinds={"X": "vae"},
                                                               device="cpu"), accelerator=None)
    shutil.copytree(tmp_path / "good", tmp_path / "bad")
    run = load_run(tmp_path / "bad")
    mech = make_mechanism(graph.node("X"), [Node("C", "categorical", levels=3)], kind="vae", preset="quick", seed=0)
    run.save_node("X", kind=mech.kind, config=mech.config, weights=mech.state_dict(), optimizer={}, step=250,
                  total_steps=250, loss_history=[0.0], status="trained")
    options = CheckOptions(steps=200, image_steps=100, reader_steps=300, units=64, realism_steps=150, eval_rows=200)
    good = run_model_check(load_run(tmp_path / "good"), ds, options=options)
    bad = run_model_check(load_run(tmp_path / "bad"), ds, options=options)
    print(format_report(good))
    print(format_report(bad))
    assert good.nodes["X"].reader["accuracy"]["C"] > 0.9  # the read-out reads C off real images
    assert good.nodes["X"].verdict.grade != "poor", format_report(good)
    effectiveness = next(r for r in good.nodes["X"].soundness if r.metric == "effectiveness")
    assert effectiveness.value > 0.8  # do(C) shows in the trained model's counterfactuals
    assert bad.nodes["X"].verdict.grade == "poor", format_report(bad)
