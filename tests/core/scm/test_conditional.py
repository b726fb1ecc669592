"""Rejection sampling of P(V | do(x), Z = z): ``core.scm.conditional``.

Ground truth for the Neural SCM path is the trained SCM's OWN exact conditional, read off its
categorical mechanisms' logits -- so the tests do not depend on how well a few training steps fit
the data.  Tolerances are binomial: a share estimated from ``n`` independent draws has sd
``sqrt(p (1 - p) / n)``; we allow 4 sd (a false failure has probability below 1e-4 per comparison,
and the seeds are fixed anyway)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import Dataset
from core.graph import ADMG, Node
from core.runs.checkpoint import load_run
from core.runs.train import TrainOptions, train
from core.scm import NeuralSCM, TooFewMatches, keep_given, scm_conditional
from core.scm.conditional import (
    condition_distance,
    conditions_text,
    draw_budget,
    first_stage_nodes,
    matching_mask,
    nearest_rows,
    value_text,
)
from core.worlds.discrete import DiscreteSCM


def share(values: np.ndarray, level: int) -> float:
    return float(np.mean(np.asarray(values) == level))


def binomial_sd(p: float, n: float) -> float:
    return float(np.sqrt(p * (1 - p) / n))


# ---- words and matching


def test_values_and_conditions_read_as_in_a_formula():
    g = ADMG([Node("X", "binary"), Node("T", "continuous"), Node("I", "image", shape=(1, 4, 4))])
    assert value_text(np.int64(1), g.node("X")) == "1"
    assert value_text(0.123456, g.node("T")) == "0.123"
    assert value_text(np.zeros((1, 4, 4), np.uint8), g.node("I")) == "an image"
    assert conditions_text({"X": 1, "T": 2.5}, g) == "X = 1, T = 2.5" and conditions_text(None, g) == ""


def test_discrete_conditions_hold_exactly_and_the_rest_are_ranked_by_distance():
    g = ADMG([Node("X", "binary"), Node("T", "continuous")])
    columns = {"X": np.array([1, 0, 1, 1, 1]), "T": np.array([0.0, 0.5, 0.9, 0.45, 3.0])}
    mask = matching_mask(columns, g, {"X": 1, "T": 0.5})
    assert list(mask) == [True, False, True, True, True]  # T is not matched exactly
    rows = nearest_rows(columns, g, {"X": 1, "T": 0.5}, np.flatnonzero(mask), keep=2)
    assert list(rows) == [3, 2]  # |0.45 - 0.5| < |0.9 - 0.5| < |0.0 - 0.5|
    assert list(nearest_rows(columns, g, {"X": 1}, np.array([0, 2]), keep=1)) == [0, 2]  # all discrete: all kept
    # one scale for every node: |v - x| / sd(v)
    d = condition_distance(columns["T"], 0.5, g.node("T"))
    assert d == pytest.approx(np.abs(columns["T"] - 0.5) / np.std(columns["T"]))


# ---- rejection from any sampler


def test_too_rare_z_is_a_clear_message():
    g = ADMG([Node("X", "binary"), Node("Z", "binary"), Node("Y", "binary")], directed=[("X", "Z"), ("X", "Y")])
    calls = []

    def never(m: int, seed: int) -> dict[str, np.ndarray]:
        calls.append(m)
        return {"X": np.ones(m, np.int64), "Z": np.zeros(m, np.int64), "Y": np.zeros(m, np.int64)}

    with pytest.raises(TooFewMatches, match=r"only 0 of 2000 units drawn under do\(x\) have Z = 1 \(need 16\)"):
        keep_given(never, g, {"Z": 1}, 16)
    assert sum(calls) == draw_budget(16) == 2000  # bounded


def test_continuous_z_keeps_the_nearest_draws():
    g = ADMG([Node("X", "binary"), Node("Z", "continuous"), Node("Y", "binary")], directed=[("X", "Z")])

    def draw(m: int, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {"X": np.ones(m, np.int64), "Z": rng.normal(size=m), "Y": rng.integers(0, 2, m)}

    kept = keep_given(draw, g, {"Z": 0.5}, 16, seed=1)
    # 16 of 800 standard-normal draws nearest to 0.5: a window of about +-0.025 (2% of the mass)
    assert len(kept["Z"]) == 16 and np.max(np.abs(kept["Z"] - 0.5)) < 0.06


# ---- rejection from a Markovian Neural SCM


@pytest.fixture(scope="module")
def markov(tmp_path_factory):
    """X -> W -> Y, X -> Y, Y -> Z (W has 3 levels); every node trained 30 steps (categorical)."""
    g = ADMG([Node("X", "binary"), Node("W", "categorical", levels=3), Node("Y", "binary"), Node("Z", "binary")],
             directed=[("X", "W"), ("W", "Y"), ("X", "Y"), ("Y", "Z")])
    world = DiscreteSCM(g, seed=4, floor=0.3)
    ds = Dataset.from_values(world.sample(2000, seed=0).values, g)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = tmp_path_factory.mktemp("markov") / "run"
        train(g, ds, path, options=TrainOptions(preset="quick", steps=30, device="cpu"), accelerator=None)
    finally:
        torch.set_num_threads(threads)
    run = load_run(path)
    return NeuralSCM(g, {v: run.load_mechanism(v) for v in g.names})


def model_probs(scm: NeuralSCM, name: str, parents: dict[str, int]) -> np.ndarray:
    """The trained categorical mechanism's own p(name | parents)."""
    with torch.no_grad():
        logits = scm.mechanisms[name].logits({k: torch.tensor([v]) for k, v in parents.items()}, 1)
    return torch.softmax(logits.double(), 1)[0].numpy()


def test_rejection_on_a_descendant_matches_the_models_posterior(markov):
    """P(Y | do(X = 1), Z = 1) with Z a child of Y: the model's answer is
    sum_w p(w | x) p(y | x, w) p(z | y), normalised over y."""
    n = 4000
    units = scm_conditional(markov, "X", 1, {"Z": 1}, n, seed=5)
    assert np.all(units["Z"] == 1) and len(units["Y"]) == n
    pw = model_probs(markov, "W", {"X": 1})
    py = sum(pw[w] * model_probs(markov, "Y", {"X": 1, "W": w}) for w in range(3))
    joint = py * np.array([model_probs(markov, "Z", {"Y": y})[1] for y in range(2)])
    exact = joint[1] / joint.sum()
    assert abs(share(units["Y"], 1) - exact) < 4 * binomial_sd(exact, n), (share(units["Y"], 1), exact)
    assert abs(exact - py[1]) > 8 * binomial_sd(exact, n)  # unfiltered draws would fail the check above


def test_rejection_on_an_ancestor_samples_the_rest_for_kept_units_only(markov):
    """P(Y | do(X = 1), W = 2) = p(Y | X = 1, W = 2): W is drawn and filtered first, then Y (and Z)
    are sampled for the kept units with W forced to their values."""
    assert first_stage_nodes(markov.graph, "X", {"W": 2}) == {"X", "W"}
    n = 4000
    units = scm_conditional(markov, "X", 1, {"W": 2}, n, seed=6)
    assert np.all(units["W"] == 2) and np.all(units["X"] == 1) and len(units["Y"]) == n
    exact = model_probs(markov, "Y", {"X": 1, "W": 2})[1]
    assert abs(share(units["Y"], 1) - exact) < 4 * binomial_sd(exact, n)
    pw = model_probs(markov, "W", {"X": 1})
    marginal = sum(pw[w] * model_probs(markov, "Y", {"X": 1, "W": w})[1] for w in range(3))
    assert abs(exact - marginal) > 8 * binomial_sd(exact, n)  # Y drawn with W unforced would fail
