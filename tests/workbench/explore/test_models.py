"""The model hub and the sub-model a query needs (``workbench.explore.models``)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from core.graph import ADMG, Node, parse_dagitty
from core.worlds.registry import sample_dataset
from tests.workbench.explore.images import squares, trained_run
from workbench.explore.models import (
    GENERATED_CACHE_SIZE,
    GeneratedImages,
    ModelHub,
    counterfactual_confounders,
    query_nodes,
    run_data_note,
    uses_diffusion,
)
from workbench.explore.question import DoQuery


def test_query_nodes_keep_only_what_the_query_needs():
    g = ADMG([Node(v, "binary") for v in ["W1", "W2", "X", "Z", "Y"]],
             directed=[("W1", "W2"), ("W2", "X"), ("X", "Y"), ("Z", "Y"), ("W1", "Z")])
    keep, need = query_nodes(DoQuery(g, "X", "Y"))
    assert set(keep) == {"W1", "Z", "X", "Y"} and set(need) == {"W1", "Z", "Y"}  # W2 only feeds X: cut
    keep, need = query_nodes(DoQuery(g, "X", "Y"), counterfactual=True)
    assert set(need) == {"Y"}  # W1, Z keep their factual values
    # conditioning on a node adds its ancestors under do(X), and nothing below the outcome
    markov = ADMG([Node(v, "binary") for v in ["X", "W", "Y", "Z"]],
                  directed=[("X", "W"), ("W", "Y"), ("X", "Y"), ("Y", "Z")])
    assert set(query_nodes(DoQuery(markov, "X", "Y", ("W",)))[0]) == {"X", "W", "Y"}  # Z is not needed


def test_counterfactual_confounders_are_the_edges_at_recomputed_nodes():
    assert counterfactual_confounders(DoQuery(parse_dagitty("dag { X -> Y ; X <-> Y }"), "X", "Y")) == [("X", "Y")]
    beside = parse_dagitty("dag { M -> B ; M <-> Yg }")  # Yg is not recomputed under do(M)
    assert counterfactual_confounders(DoQuery(beside, "M", "B")) == []


def test_models_trained_on_other_data_are_flagged(backdoor_partial):
    ws, ds, _ = backdoor_partial
    run = ws.load_run()
    assert run_data_note(run, ds) == "" and run_data_note(None, ds) == ""
    other, _ = sample_dataset("backdoor", 100, seed=9)
    assert "fitted to other data" in run_data_note(run, other)


def test_diffusion_preview_shares_weights_and_samples_with_fewer_steps(tmp_path):
    ds = squares()
    run = trained_run(ds, tmp_path / "run", steps=1, kinds={"I": "diffusion"})
    hub = ModelHub()
    base, fast = hub.mechanism(run, "I"), hub.mechanism(run, "I", sample_steps=3)
    assert fast is not base and fast is hub.mechanism(run, "I", sample_steps=3)
    assert fast.config["sample_steps"] == 3 and base.config["sample_steps"] != 3
    assert all(p is q for p, q in zip(fast.parameters(), base.parameters(), strict=True))
    parents = {"A": torch.tensor([0, 1])}
    noise = base.draw_noise(2, torch.Generator().manual_seed(0))
    assert torch.equal(fast.predict(parents, noise), base.predict(parents, noise, steps=3))
    assert hub.mechanism(run, "A", sample_steps=3) is hub.mechanism(run, "A")  # other kinds: unchanged
    assert uses_diffusion(run, ds.graph)


def test_the_hub_keeps_the_first_of_concurrent_results():
    """A background ID-GEN fit and the page may finish the same work: one object per key survives,
    world units are drawn once, and generated images stay bounded."""
    hub = ModelHub()
    first, second = object(), object()
    assert hub.idgen(("q",)) is None
    assert hub.keep_idgen(("q",), first) is first and hub.keep_idgen(("q",), second) is first
    assert hub.conditional_models(("data",), create=False) == {} and ("data",) not in hub.idgen_models
    shared = hub.conditional_models(("data",))
    assert hub.conditional_models(("data",), create=False) is shared
    draws = []

    def sample():
        draws.append(threading.get_ident())
        return object()

    units = [hub.units(("ds",), sample) for _ in range(3)]
    assert len(draws) == 1 and units[0] is units[1] is units[2]
    for i in range(GENERATED_CACHE_SIZE + 2):
        hub.keep_generated_images((i,), GeneratedImages(np.zeros((1, 1, 2, 2), np.uint8), f"set {i}"))
    assert len(hub.generated) == GENERATED_CACHE_SIZE and hub.generated_images((0,)) is None
    assert hub.generated_images((GENERATED_CACHE_SIZE + 1,)).note == f"set {GENERATED_CACHE_SIZE + 1}"


def test_the_hub_remembers_results_and_computes_slow_ones_in_the_background():
    from core.errors import WorkbenchError
    from workbench.explore.models import ModelHub

    hub = ModelHub()
    calls = []
    assert hub.remember(("a",), lambda: calls.append(1) or "A") == "A"
    assert hub.remember(("a",), lambda: calls.append(2) or "other") == "A" and calls == [1]
    gate = threading.Event()

    def slow() -> str:
        gate.wait(5)
        return "B"

    assert hub.in_background(("b",), slow) is None  # queued: the page draws without it
    assert hub.in_background(("b",), slow) is None
    gate.set()
    hub.pending[("b",)].result(5)
    assert hub.in_background(("b",), slow) == "B" and hub.remember(("b",), lambda: "x") == "B"

    def broken() -> str:
        raise WorkbenchError("no probe")

    hub.in_background(("c",), broken)
    hub.pending[("c",)].exception(5)
    with pytest.raises(WorkbenchError, match="no probe"):
        hub.in_background(("c",), broken)
