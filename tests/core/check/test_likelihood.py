"""Likelihood scores: exactly -log p for a likelihood model, seeded objective chunks otherwise; a
short parent-blind fit learns the marginal; paired standard errors."""

from __future__ import annotations

import numpy as np
import torch

from core.check.likelihood import has_likelihood, measure_of, paired, scores, train_short
from core.graph import Node
from core.mechanisms import make_mechanism


def test_scores_are_minus_log_p_and_a_blind_fit_learns_the_marginal():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 2, 2000))
    y = torch.where(torch.rand(2000) < 0.9, x, 1 - x)  # y copies x 90% of the time
    mech = make_mechanism(Node("Y", "binary"), [Node("X", "binary")], preset="quick", seed=0)
    assert has_likelihood(mech) and measure_of(mech) == "NLL"
    aware = train_short(mech, {"X": x}, y, steps=150, seed=0, shuffle_parents=False)
    blind = train_short(mech, {"X": x}, y, steps=150, seed=0, shuffle_parents=True)
    s = scores(aware, {"X": x[:100]}, y[:100])
    with torch.no_grad():
        expect = -aware.log_prob({"X": x[:100]}, y[:100]).numpy()
    np.testing.assert_allclose(s, expect)
    h = lambda p: -(p * np.log(p) + (1 - p) * np.log(1 - p))  # noqa: E731 - entropy in nats
    assert abs(scores(aware, {"X": x}, y).mean() - h(0.9)) < 0.03  # H(Y | X)
    assert abs(scores(blind, {"X": x}, y).mean() - np.log(2)) < 0.03  # H(Y): the parent is no use
    gain, se = paired(scores(blind, {"X": x}, y), scores(aware, {"X": x}, y))
    assert abs(gain - (np.log(2) - h(0.9))) < 0.04 and 0 < se < 0.02


def test_objective_scores_are_seeded_chunks():
    mech = make_mechanism(Node("I", "image", shape=(1, 4, 4)), [Node("C", "binary")], kind="diffusion",
                          preset="quick", seed=0)
    assert not has_likelihood(mech) and measure_of(mech) == "denoising loss"
    images = torch.randint(0, 255, (20, 1, 4, 4), dtype=torch.uint8)
    c = torch.randint(0, 2, (20,))
    a, b = scores(mech, {"C": c}, images, seed=3), scores(mech, {"C": c}, images, seed=3)
    assert len(a) == 3 and np.array_equal(a, b)  # chunks of 8 rows; the same noise for the same seed
    assert not np.array_equal(a, scores(mech, {"C": c}, images, seed=4))
