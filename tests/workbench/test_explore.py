"""Conditional queries P(Y | do(X = x), Z = z) and generated do-images in ``core.ui_explore``.

Ground truth: exact do-tables of discrete worlds (``DiscreteSCM.do_table(x, y, z)``) for ID-GEN's
IDC path and the truth column, and a trained Neural SCM's OWN exact conditional (read off its
categorical mechanisms' logits) for the rejection path on Markovian graphs -- so that test does not
depend on how well a few training steps fit the data.

Tolerances are binomial: a share estimated from ``n`` independent draws has sd ``sqrt(p (1 - p) / n)``;
where the answer also goes through tables estimated from data (ID-GEN), the table's own sd is added
(``sqrt(p (1 - p) / N_cell)`` per estimation stage, see the test).  We allow 4 sd: a false failure
then has probability below 1e-4 per comparison (and the seeds are fixed anyway)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import Dataset
from core.graph import ADMG, Node
from core.runs.checkpoint import load_run
from core.runs.train import TrainOptions, train
from core.worlds.discrete import DiscreteSCM
from core.worlds.registry import sample_dataset
from workbench import explore as X


def share(values: np.ndarray, level: int, levels: int) -> float:
    node = Node("V", "categorical", levels=levels) if levels > 2 else Node("V", "binary")
    return float(X.value_shares(node, values).share.to_numpy()[level])


def binomial_sd(p: float, n: float) -> float:
    return float(np.sqrt(p * (1 - p) / n))


# ---- ID-GEN's IDC path and the truth column on a confounded discrete world


@pytest.fixture(scope="module")
def frontdoor():
    return sample_dataset("frontdoor", 50_000, seed=0)


@pytest.mark.parametrize("y", [0, 1])
def test_idgen_conditional_gallery_matches_the_exact_table(frontdoor, y):
    """P(M | do(X = 1), Y = y) on the front-door graph: Y stays a conditioning variable (IDC cannot
    move it into the intervention), so ID-GEN samples P_x(m, y), fits m | (y, x) on those samples."""
    ds, world = frontdoor
    n = 20_000
    g = X.model_interventional(X.ModelHub(), None, ds, ds.graph, "X", 1, "M", n, seed=1, given={"Y": y})
    assert g.ok and "ID-GEN" in g.title and g.formula == f"P(M | do(X = 1), Y = {y})"
    exact = world.do_table(["X"], ["M"], ["Y"])[1, 1, y]
    # sd: the gallery's n draws, plus the final table, estimated from the synthetic rows with
    # (X = 1, Y = y) -- about N P(X = 1) P(y | do(X = 1)) of them -- and as much again for the
    # upstream tables it was sampled from (factor 2).
    cell = ds.n * np.mean(ds.column("X") == 1) * world.do_table(["X"], ["Y"])[y, 1]
    sd = np.sqrt(exact * (1 - exact) * (1 / n + 2 / cell))
    assert abs(share(g.values, 1, 2) - exact) < 4 * sd, (share(g.values, 1, 2), exact, sd)
    # the conditional differs from the unconditional answer: conditioning on Y really happened
    marginal = world.do_table(["X"], ["M"])[1, 1]
    assert abs(exact - marginal) > 8 * sd


@pytest.mark.parametrize("y", [0, 1])
def test_truth_column_keeps_the_worlds_units_with_z(frontdoor, y):
    ds, world = frontdoor
    n = 4000
    g = X.truth_interventional(world, ds.graph, "X", 1, "M", n, seed=3, given={"Y": y})
    assert g.ok and g.formula == f"P(M | do(X = 1), Y = {y})" and len(g.values) == n
    exact = world.do_table(["X"], ["M"], ["Y"])[1, 1, y]
    assert abs(share(g.values, 1, 2) - exact) < 4 * binomial_sd(exact, n)


def test_observational_rows_have_x_and_z(frontdoor):
    ds, _ = frontdoor
    g = X.observational_gallery(ds, ds.graph, "X", 1, "M", 64, seed=2, given={"Y": 0})
    rows = [int(c[1:]) for c in g.captions]
    assert g.ok and g.formula == "P(M | X = 1, Y = 0)"
    assert np.all(ds.column("X")[rows] == 1) and np.all(ds.column("Y")[rows] == 0)
    assert np.array_equal(g.values, ds.column("M")[rows])


def test_non_identifiable_conditional_query_gives_the_hedge():
    """Napkin: P(Y | do(X)) is identifiable, P(Y | do(X), W2) is not (IDC keeps W2 given)."""
    ds, _ = sample_dataset("napkin", 500, seed=0)
    hub = X.ModelHub()
    assert X.model_interventional(hub, None, ds, ds.graph, "X", 1, "Y", 8).ok
    g = X.model_interventional(hub, None, ds, ds.graph, "X", 1, "Y", 8, given={"W2": 0})
    assert not g.ok and g.hedge is not None and "not identifiable" in g.message
    assert g.formula == "P(Y | do(X = 1), W2 = 0)"
    assert "**Why:** the hedge is" in X.hedge_markdown(g.hedge, "X", "Y", ["W2"])


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
    return g, ds, load_run(path)


def model_probs(run, name: str, parents: dict[str, int]) -> np.ndarray:
    """The trained categorical mechanism's own p(name | parents)."""
    hub = X.ModelHub()
    mech = hub.mechanism(run, name)
    with torch.no_grad():
        logits = mech.logits({k: torch.tensor([v]) for k, v in parents.items()}, 1)
    return torch.softmax(logits.double(), 1)[0].numpy()


def test_rejection_on_a_descendant_matches_the_models_posterior(markov):
    """P(Y | do(X = 1), Z = 1) with Z a child of Y: the model's answer is
    sum_w p(w | x) p(y | x, w) p(z | y), normalised over y."""
    g, ds, run = markov
    n = 4000
    gal = X.model_interventional(X.ModelHub(), run, ds, g, "X", 1, "Y", n, seed=5, given={"Z": 1})
    assert gal.ok and gal.formula == "P(Y | do(X = 1), Z = 1)"
    pw = model_probs(run, "W", {"X": 1})
    py = sum(pw[w] * model_probs(run, "Y", {"X": 1, "W": w}) for w in range(3))
    joint = py * np.array([model_probs(run, "Z", {"Y": y})[1] for y in range(2)])
    exact = joint[1] / joint.sum()
    assert abs(share(gal.values, 1, 2) - exact) < 4 * binomial_sd(exact, n), (share(gal.values, 1, 2), exact)
    assert abs(exact - py[1]) > 8 * binomial_sd(exact, n)  # unfiltered draws would fail the check above


def test_rejection_on_an_ancestor_samples_the_rest_for_kept_units_only(markov):
    """P(Y | do(X = 1), W = 2) = p(Y | X = 1, W = 2): W is drawn and filtered first, then Y is
    sampled for the kept units with W forced to their values."""
    g, ds, run = markov
    n = 4000
    scm = X.neural_scm(X.ModelHub(), run, g, "X", "Y", given=["W"])
    assert set(scm.graph.names) == {"X", "W", "Y"}  # Z is not needed
    units = X.scm_conditional(scm, "X", 1, {"W": 2}, n, seed=6)
    assert np.all(units["W"] == 2) and np.all(units["X"] == 1) and len(units["Y"]) == n
    exact = model_probs(run, "Y", {"X": 1, "W": 2})[1]
    assert abs(share(units["Y"], 1, 2) - exact) < 4 * binomial_sd(exact, n)
    pw = model_probs(run, "W", {"X": 1})
    marginal = sum(pw[w] * model_probs(run, "Y", {"X": 1, "W": w})[1] for w in range(3))
    assert abs(exact - marginal) > 8 * binomial_sd(exact, n)  # Y drawn with W unforced would fail


def test_too_rare_z_is_a_clear_message():
    g = ADMG([Node("X", "binary"), Node("Z", "binary"), Node("Y", "binary")], directed=[("X", "Z"), ("X", "Y")])
    calls = []

    def never(m: int, seed: int) -> dict[str, np.ndarray]:
        calls.append(m)
        return {"X": np.ones(m, np.int64), "Z": np.zeros(m, np.int64), "Y": np.zeros(m, np.int64)}

    with pytest.raises(X.TooFewMatches, match=r"only 0 of 2000 units drawn under do\(x\) have Z = 1 \(need 16\)"):
        X.keep_given(never, g, {"Z": 1}, 16)
    assert sum(calls) == X.draw_budget(16) == 2000  # bounded


def test_continuous_z_keeps_the_nearest_draws():
    g = ADMG([Node("X", "binary"), Node("Z", "continuous"), Node("Y", "binary")], directed=[("X", "Z")])

    def draw(m: int, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {"X": np.ones(m, np.int64), "Z": rng.normal(size=m), "Y": rng.integers(0, 2, m)}

    kept = X.keep_given(draw, g, {"Z": 0.5}, 16, seed=1)
    # 16 of 800 standard-normal draws nearest to 0.5: a window of about +-0.025 (2% of the mass)
    assert len(kept["Z"]) == 16 and np.max(np.abs(kept["Z"] - 0.5)) < 0.06
    data = Dataset.from_values(draw(5000, 9), g)
    rows = X.matching_rows(data, g, "X", 1, 16, given={"Z": 0.5})
    assert len(rows) == 100 and np.max(np.abs(data.column("Z")[rows] - 0.5)) < 0.06  # 5000 // 50


# ---- do(X = a generated image)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A (binary) -> I (8x8 image), both trained 2 steps (VAE): speed, not quality."""
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 64)
    imgs = np.zeros((64, 1, 8, 8), np.uint8)
    imgs[a == 1, :, 2:6, 2:6] = 200
    ds = Dataset.from_values({"A": a, "I": imgs}, g)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        root = tmp_path_factory.mktemp("imgrun")
        train(g, ds, root / "all", options=TrainOptions(preset="quick", steps=2, kinds={"I": "vae"}, device="cpu"),
              accelerator=None)
        train(g, ds, root / "only_i", nodes=["I"],
              options=TrainOptions(preset="quick", steps=2, kinds={"I": "vae"}, device="cpu"), accelerator=None)
    finally:
        torch.set_num_threads(threads)
    return g, ds, load_run(root / "all"), load_run(root / "only_i")


def test_generated_images_come_from_the_model_of_x(image_run):
    from core.scm import NeuralSCM

    g, ds, run, only_i = image_run
    hub = X.ModelHub()
    X.GENERATED_CACHE.clear()
    images, note = X.generated_images(hub, run, g, ds, "I", k=8, seed=3)
    assert images.shape == (8, 1, 8, 8) and images.dtype == np.uint8
    assert "parents A drawn by their models first" in note
    # ancestral sampling: A from its model, then I from its model given A (same seeds, same draws)
    scm = NeuralSCM(g, {v: hub.mechanism(run, v) for v in g.names})
    assert np.array_equal(images, scm.draw_samples(8, 3)["I"])
    assert X.generated_images(hub, run, g, ds, "I", k=8, seed=3)[0] is images  # cached
    assert not np.array_equal(X.generated_images(hub, run, g, ds, "I", k=8, seed=4)[0], images)
    ctl = X.intervention_control(g.node("I"), ds, generated=(images, note))
    assert ctl.kind == "image" and ctl.rows == () and ctl.images is images and ctl.labels[0] == "generated 1"
    data_ctl = X.intervention_control(g.node("I"), ds)
    assert np.array_equal(data_ctl.images, ds.column("I")[list(data_ctl.rows)])
    # A untrained: parents copied from data rows, I still from its model
    images2, note2 = X.generated_images(hub, only_i, g, ds, "I", k=5, seed=0)
    assert images2.shape == (5, 1, 8, 8) and "copied from data rows" in note2
    with pytest.raises(X.MissingModels, match="no trained model for A"):
        X.generated_images(hub, only_i, g, ds, "A", k=2)
    # a generated image is a valid do-value all the way through
    gal = X.model_interventional(hub, run, ds, g, "I", images[0], "A", 4)
    assert gal.ok and gal.formula == "P(A | do(I = an image))"


def test_counterfactual_formula_is_inline_math_with_escaped_text():
    from workbench.explore import counterfactual_formula

    assert counterfactual_formula("Face", "Male", "1") == r"$\mathrm{Face}_{\mathrm{Male} = \text{1}}(\text{unit})$"
    odd = counterfactual_formula("my_y", "x_1", "image #3 {50%}")
    assert odd == r"$\mathrm{my\_y}_{\mathrm{x\_1} = \text{image \#3 50\%}}(\text{unit})$"
    assert odd.count("$") == 2


def test_attribute_figure_has_one_panel_per_attribute_three_a_row():
    import pandas as pd

    from workbench.explore import attribute_figure

    names = ["Male", "Young", "Beard", "Eyeglasses", "Lipstick"]
    shares = pd.DataFrame([{"attribute": a, "value": v, "share": s}
                           for a in names for v, s in (("no", 0.25), ("yes", 0.75))])
    fig = attribute_figure(shares)
    assert [a.text for a in fig.layout.annotations] == names
    assert len(fig.data) == 5 and list(fig.data[3].y) == [0.25, 0.75] and list(fig.data[3].x) == ["no", "yes"]
    # panels 4 and 5 sit on a second row, below the first
    assert fig.layout.yaxis4.domain[1] < fig.layout.yaxis.domain[0]
    one = attribute_figure(shares[shares["attribute"] == "Male"])
    assert len(one.data) == 1 and one.layout.height < fig.layout.height


def test_instant_specs_are_tables_and_input_less_draws_from_the_data():
    """What the Explore page counts as "exact (instant)" is what idgen_factory fits at no cost."""
    from core.idgen import EmpiricalModel, MechanismModel, ModelSpec, TabularModel
    from core.worlds.napkin_digits import NapkinDigits
    from workbench.explore import idgen_factory, instant_label, instant_spec

    graph = NapkinDigits(size=16).graph
    factory = idgen_factory({})
    ref = object()
    for target, inputs, instant, kind in [("W1", (), True, EmpiricalModel), ("W2", ("W1",), False, MechanismModel),
                                          ("X", ("W1", "W2"), False, MechanismModel)]:
        assert instant_spec(ModelSpec(target, inputs, ref), graph) is instant, target
        assert isinstance(factory(graph.node(target), [graph.node(u) for u in inputs]), kind), target
    assert instant_label(ModelSpec("W1", (), ref), graph) == "draws from the data"
    discrete = ADMG.from_dagitty("dag { A -> B }")
    assert instant_spec(ModelSpec("B", ("A",), ref), discrete)
    assert instant_label(ModelSpec("B", ("A",), ref), discrete) == "exact table"
    assert instant_label(ModelSpec("A", (), ref), discrete) == "exact table"
    assert isinstance(idgen_factory({})(discrete.node("B"), [discrete.node("A")]), TabularModel)
