"""NeuralSCM against a known structural causal model: the three rungs, and what it must refuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.mechanisms import make_mechanism
from core.scm import NeuralSCM
from core.worlds.base import Units


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """These small models gain nothing from a second thread, and on a shared 2-core machine two
    threads that wait on each other (OpenMP barriers) can run many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# Ground truth:  Z ~ Bern(0.4);  X = Z + N(0, 1);  Y = 2 X + N(0, 0.5^2);  B ~ Bern(sigmoid(1.5 X - 3 Z)).
# Z confounds X and B, so P(B | X) != P(B | do(X)).
GRAPH = ADMG(
    [Node("Z", "binary"), Node("X", "continuous"), Node("Y", "continuous"), Node("B", "binary")],
    directed=[("Z", "X"), ("X", "Y"), ("X", "B"), ("Z", "B")],
)


def true_samples(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = (rng.random(n) < 0.4).astype(np.int64)
    x = z + rng.normal(size=n)
    y = 2 * x + 0.5 * rng.normal(size=n)
    b = (rng.random(n) < sigmoid(1.5 * x - 3 * z)).astype(np.int64)
    return {"Z": z, "X": x, "Y": y, "B": b}


SMALL = {
    "Z": {"hidden": 16, "layers": 1},
    "B": {"hidden": 32, "layers": 2},
    "X": {"transforms": 1, "hidden": [32, 32]},
    "Y": {"transforms": 1, "hidden": [32, 32]},
}


@pytest.fixture(scope="module")
def fitted_scm():
    torch.manual_seed(0)
    scm = NeuralSCM.from_graph(GRAPH, preset="quick", overrides=SMALL)
    seen: list[tuple[str, int]] = []
    history = scm.fit(true_samples(6000, 0), steps=400, batch_size=256, lr=3e-3, callback=lambda v, s, loss: seen.append((v, s)))
    assert set(history) == set(GRAPH.names) and len(seen) == 4 * 400
    return scm


def test_observational_samples_match_the_truth(fitted_scm):
    s = fitted_scm.draw_samples(20000, seed=1)
    assert s["Z"].dtype == np.int64 and s["X"].dtype == np.float64 and s["B"].shape == (20000,)
    assert abs(s["Z"].mean() - 0.4) < 0.03
    assert abs(s["X"].mean() - 0.4) < 0.06
    assert abs(np.corrcoef(s["X"], s["Y"])[0, 1] - np.corrcoef(*[true_samples(20000, 9)[k] for k in "XY"])[0, 1]) < 0.02


def test_same_seed_same_samples(fitted_scm):
    a, b = fitted_scm.draw_samples(100, seed=3), fitted_scm.draw_samples(100, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["X"], fitted_scm.draw_samples(100, seed=4)["X"])


def test_interventional_means_match_the_truth(fitted_scm):
    s = fitted_scm.interventional_samples({"X": 1.0}, 20000, seed=2)
    assert np.all(s["X"] == 1.0)
    assert abs(s["Z"].mean() - 0.4) < 0.03  # X's ancestors are untouched
    assert abs(s["Y"].mean() - 2.0) < 0.1
    truth_b = 0.6 * sigmoid(1.5) + 0.4 * sigmoid(-1.5)
    assert abs(s["B"].mean() - truth_b) < 0.04
    # ... and the observational conditional differs: that gap is the confounding
    obs = true_samples(200_000, 5)
    near = np.abs(obs["X"] - 1.0) < 0.05
    assert abs(obs["B"][near].mean() - truth_b) > 0.05

    s = fitted_scm.interventional_samples({"Z": 1}, 20000, seed=3)
    grid = np.linspace(-6, 8, 20001)
    truth_b = np.trapezoid(sigmoid(1.5 * grid - 3) * np.exp(-0.5 * (grid - 1) ** 2) / np.sqrt(2 * np.pi), grid)
    assert abs(s["X"].mean() - 1.0) < 0.06 and abs(s["B"].mean() - truth_b) < 0.04


def test_do_value_may_be_a_function_of_the_unit(fitted_scm):
    # shift X by +1 from its natural value: X's own mechanism is skipped, so use Z (already computed)
    s = fitted_scm.interventional_samples({"X": lambda u: u["Z"] * 3.0}, 500, seed=4)
    assert np.array_equal(s["X"], s["Z"] * 3.0)


def test_counterfactual_with_own_values_returns_the_factual_units(fitted_scm):
    obs = true_samples(300, 11)
    for do in ({"X": lambda u: u["X"]}, {"Z": obs["Z"]}, {"X": obs["X"], "B": obs["B"]}):
        cf = fitted_scm.counterfactual_samples(obs, do)
        assert all(np.array_equal(cf[k], obs[k]) for k in obs), do


def test_linear_gaussian_counterfactual_matches_the_closed_form(fitted_scm):
    # Y = 2X + U_Y: had X been x', Y would have been y + 2 (x' - x); X = Z + U_X: had Z been z', X = x + z' - z.
    obs = true_samples(2000, 12)
    cf = fitted_scm.counterfactual_samples(Units(obs), {"X": obs["X"] + 1.0})
    assert np.array_equal(cf["Z"], obs["Z"])  # non-descendants keep their factual values
    assert np.median(np.abs(cf["Y"] - (obs["Y"] + 2.0))) < 0.1
    cf = fitted_scm.counterfactual_samples(obs, {"Z": 1 - obs["Z"]})
    x_cf = obs["X"] + (1 - 2 * obs["Z"])
    assert np.median(np.abs(cf["X"] - x_cf)) < 0.1
    assert np.median(np.abs(cf["Y"] - (obs["Y"] + 2 * (x_cf - obs["X"])))) < 0.2


def test_binary_counterfactuals_are_monotone_in_the_logit(fitted_scm):
    # raising X raises B's logit: under Gumbel-max no unit with B = 1 can flip to 0
    obs = true_samples(3000, 13)
    cf = fitted_scm.counterfactual_samples(obs, {"X": obs["X"] + 2.0}, seed=1)
    assert np.all(cf["B"][obs["B"] == 1] == 1)
    assert cf["B"].mean() > obs["B"].mean() + 0.1


def test_binary_counterfactual_rates_match_the_gumbel_closed_form(fitted_scm):
    # With true logits a = 1.5 x - 3 z (binary Gumbel-max = logistic noise), a unit with B = 0 has
    # B = 1 under do(X = x + 1) with probability max(0, 1 - (1 - s') / (1 - s)), s = sigmoid(a).
    obs = true_samples(20000, 14)
    s_f = sigmoid(1.5 * obs["X"] - 3 * obs["Z"])
    s_cf = sigmoid(1.5 * (obs["X"] + 1.0) - 3 * obs["Z"])
    zero = obs["B"] == 0
    exact = np.maximum(0.0, 1 - (1 - s_cf) / (1 - s_f))[zero].mean()
    cf = fitted_scm.counterfactual_samples(obs, {"X": obs["X"] + 1.0}, seed=2)
    assert abs(cf["B"][zero].mean() - exact) < 0.03
    # the counterfactual rate is not the interventional one for those units
    assert abs(exact - s_cf[zero].mean()) > 0.05


def test_confounded_graph_is_refused_with_a_pointer_to_idgen():
    g = ADMG.from_edges(["X", "Y"], directed=[("X", "Y")], bidirected=[("X", "Y")])
    mechs = {"X": make_mechanism(g.node("X"), [], preset="quick"), "Y": make_mechanism(g.node("Y"), [g.node("X")], preset="quick")}
    with pytest.raises(WorkbenchError, match=r"X <-> Y.*core\.idgen"):
        NeuralSCM(g, mechs)
    with pytest.raises(WorkbenchError, match="core.idgen"):
        NeuralSCM.from_graph(g, preset="quick")


def test_bad_inputs_get_one_line_naming_the_problem(fitted_scm):
    g = ADMG.from_edges(["X", "Y"], directed=[("X", "Y")])
    with pytest.raises(WorkbenchError, match="missing Y"):
        NeuralSCM(g, {"X": make_mechanism(g.node("X"), [], preset="quick")})
    with pytest.raises(WorkbenchError, match="mechanism for Y"):
        NeuralSCM(g, {"X": make_mechanism(g.node("X"), [], preset="quick"), "Y": make_mechanism(g.node("Y"), [], preset="quick")})
    with pytest.raises(WorkbenchError, match="W"):
        fitted_scm.interventional_samples({"W": 1}, 10)
    obs = true_samples(10, 0)
    del obs["Y"]
    with pytest.raises(WorkbenchError, match="lack columns for Y"):
        fitted_scm.counterfactual_samples(obs, {"X": 0.0})
    with pytest.raises(WorkbenchError, match="outside 0..1"):
        fitted_scm.interventional_samples({"Z": 2}, 10)
    with pytest.raises(WorkbenchError, match="one per unit"):
        fitted_scm.interventional_samples({"X": np.zeros(3)}, 10)


# ---- image nodes: the same calls, Units conventions (uint8 images)

IMG_GRAPH = ADMG(
    [Node("A", "binary"), Node("I", "image", shape=(1, 8, 8)), Node("C", "continuous")],
    directed=[("A", "I"), ("I", "C")],
)


def image_data(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    img = np.zeros((n, 1, 8, 8), dtype=np.uint8)
    img[a == 1, :, :4] = 255
    img = np.clip(img.astype(int) + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)
    c = img.mean(axis=(1, 2, 3)) / 255 + 0.1 * rng.normal(size=n)
    return {"A": a.astype(np.int64), "I": img, "C": c}


@pytest.mark.parametrize("image_kind", ["vae", "diffusion"])
def test_image_nodes_follow_units_conventions(image_kind):
    torch.manual_seed(0)
    tiny = {
        "vae": {"latent": 4, "width": 8},
        "diffusion": {"unet": {"block_out_channels": [8, 16], "norm_num_groups": 4}, "sample_steps": 4, "inversion_steps": 4},
    }[image_kind]
    scm = NeuralSCM.from_graph(
        IMG_GRAPH, kinds={"I": image_kind}, preset="quick",
        overrides={"I": tiny, "A": {"hidden": 8}, "C": {"transforms": 1, "hidden": [8], "image_features": 4}},
    )
    data = image_data(64, 0)
    scm.fit(data, steps=3, batch_size=32)
    s = scm.draw_samples(6, seed=0)
    assert s["I"].dtype == np.uint8 and s["I"].shape == (6, 1, 8, 8) and s["C"].dtype == np.float64
    forced = np.full((1, 8, 8), 200, dtype=np.uint8)
    s = scm.interventional_samples({"I": forced}, 6, seed=0)
    assert np.all(s["I"] == 200) and np.all(np.isfinite(s["C"]))
    obs = {k: v[:6] for k, v in data.items()}
    same = scm.counterfactual_samples(obs, {"A": obs["A"]})
    assert all(np.array_equal(same[k], obs[k]) for k in obs)
    cf = scm.counterfactual_samples(obs, {"I": forced})
    assert np.array_equal(cf["A"], obs["A"]) and np.all(cf["I"] == 200) and not np.allclose(cf["C"], obs["C"])
    cf = scm.counterfactual_samples(obs, {"A": 1 - obs["A"]})
    assert cf["I"].dtype == np.uint8 and cf["I"].shape == obs["I"].shape
