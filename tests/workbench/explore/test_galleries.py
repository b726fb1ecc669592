"""The Explore page's galleries (``workbench.explore.galleries``): observational rows, the model's
interventional samples (Neural SCM, ID-GEN, IDC), counterfactuals, and the reasons shown instead.

Ground truth: exact do-tables of discrete worlds (ID-GEN on the front-door graph), the data rows
themselves, and consistency of counterfactuals (``do(X = x)`` on units that already have ``X = x``
changes nothing).  Where the answer goes through tables estimated from data (ID-GEN), the
tolerance adds the table's own binomial sd to the gallery's (4 sd: see the test)."""

from __future__ import annotations

import numpy as np

from core.data import Dataset
from core.graph import ADMG, Node
from core.scm.conditional import scm_conditional
from core.worlds.registry import sample_dataset
from workbench.explore.galleries import (
    counterfactual_units,
    default_unit,
    matching_rows,
    model_counterfactual,
    model_interventional,
    observational_gallery,
)
from workbench.explore.idgen_fit import idgen_for
from workbench.explore.models import ModelHub, Sources, neural_scm
from workbench.explore.question import DoQuery, ExploreQuery, hedge_markdown


def share(values: np.ndarray, level: int) -> float:
    return float(np.mean(np.asarray(values) == level))


# ---- observational


def test_observational_rows_have_the_value():
    ds, _ = sample_dataset("morpho_digits", 400, seed=0, params={"size": 16})
    rows = matching_rows(ds, ds.graph, {"image": ds.column("image")[7]}, n=16)
    assert rows[0] == 7 or np.array_equal(ds.column("image")[rows[0]], ds.column("image")[7])
    bd, _ = sample_dataset("backdoor", 2000, seed=0)
    g = observational_gallery(bd, ExploreQuery(bd.graph, "X", 1, "Y", n=16, seed=3))
    picked = [int(c[1:]) for c in g.captions]
    assert g.ok and np.all(bd.column("X")[picked] == 1) and np.array_equal(g.values, bd.column("Y")[picked])
    near = matching_rows(ds, ds.graph, {"thickness": 2.0}, n=16)
    d = np.abs(ds.column("thickness") - 2.0)
    assert np.max(d[near]) <= np.min(np.delete(d, near))  # the nearest rows, nothing farther


def test_observational_rows_have_x_and_z(frontdoor):
    ds, _ = frontdoor
    g = observational_gallery(ds, ExploreQuery(ds.graph, "X", 1, "M", {"Y": 0}, n=64, seed=2))
    rows = [int(c[1:]) for c in g.captions]
    assert g.ok and g.formula == "P(M | X = 1, Y = 0)"
    assert np.all(ds.column("X")[rows] == 1) and np.all(ds.column("Y")[rows] == 0)
    assert np.array_equal(g.values, ds.column("M")[rows])


def test_a_continuous_condition_keeps_the_nearest_rows():
    g = ADMG([Node("X", "binary"), Node("Z", "continuous"), Node("Y", "binary")], directed=[("X", "Z")])
    rng = np.random.default_rng(9)
    data = Dataset.from_values({"X": np.ones(5000, np.int64), "Z": rng.normal(size=5000),
                                "Y": rng.integers(0, 2, 5000)}, g)
    rows = matching_rows(data, g, {"X": 1, "Z": 0.5}, n=16)
    assert len(rows) == 100 and np.max(np.abs(data.column("Z")[rows] - 0.5)) < 0.06  # 5000 // 50


# ---- interventional


def test_idgen_gallery_matches_the_exact_do_table():
    ds, world = sample_dataset("frontdoor", 20000, seed=0)
    sources = Sources(ModelHub(), ds)
    g = model_interventional(sources, ExploreQuery(ds.graph, "X", 1, "Y", n=20000, seed=1))
    assert g.ok and "ID-GEN" in g.title
    exact = world.do_table(["X"], ["Y"])[1, 1]
    assert abs(g.values.mean() - exact) < 0.02
    # the naive conditional is measurably different (the gap is the spurious part)
    obs = ds.column("Y")[ds.column("X") == 1].mean()
    assert abs(obs - exact) > 0.05
    assert len(sources.hub.idgens) == 1 and idgen_for(sources, DoQuery(ds.graph, "X", "Y"), fit=False) is not None


def test_idgen_conditional_gallery_matches_the_exact_table(frontdoor):
    """P(M | do(X = 1), Y = y) on the front-door graph: Y stays a conditioning variable (IDC cannot
    move it into the intervention), so ID-GEN samples P_x(m, y), fits m | (y, x) on those samples."""
    ds, world = frontdoor
    n = 20_000
    for y in (0, 1):
        g = model_interventional(Sources(ModelHub(), ds), ExploreQuery(ds.graph, "X", 1, "M", {"Y": y}, n=n, seed=1))
        assert g.ok and "ID-GEN" in g.title and g.formula == f"P(M | do(X = 1), Y = {y})"
        exact = world.do_table(["X"], ["M"], ["Y"])[1, 1, y]
        # sd: the gallery's n draws, plus the final table, estimated from the synthetic rows with
        # (X = 1, Y = y) -- about N P(X = 1) P(y | do(X = 1)) of them -- and as much again for the
        # upstream tables it was sampled from (factor 2).
        cell = ds.n * np.mean(ds.column("X") == 1) * world.do_table(["X"], ["Y"])[y, 1]
        sd = np.sqrt(exact * (1 - exact) * (1 / n + 2 / cell))
        assert abs(share(g.values, 1) - exact) < 4 * sd, (share(g.values, 1), exact, sd)
        # the conditional differs from the unconditional answer: conditioning on Y really happened
        marginal = world.do_table(["X"], ["M"])[1, 1]
        assert abs(exact - marginal) > 8 * sd


def test_bow_is_not_identifiable_and_says_why():
    ds, _ = sample_dataset("bow", 500, seed=0)
    query = ExploreQuery(ds.graph, "X", 1, "Y", n=16)
    g = model_interventional(Sources(ModelHub(), ds), query)
    assert not g.ok and g.hedge is not None and "X" in g.hedge[0]
    assert "**Why:** the hedge is" in hedge_markdown(g.hedge, query.do_query)


def test_non_identifiable_conditional_query_gives_the_hedge():
    """Napkin: P(Y | do(X)) is identifiable, P(Y | do(X), W2) is not (IDC keeps W2 given)."""
    ds, _ = sample_dataset("napkin", 500, seed=0)
    sources = Sources(ModelHub(), ds)
    assert model_interventional(sources, ExploreQuery(ds.graph, "X", 1, "Y", n=8)).ok
    query = ExploreQuery(ds.graph, "X", 1, "Y", {"W2": 0}, n=8)
    g = model_interventional(sources, query)
    assert not g.ok and g.hedge is not None and "not identifiable" in g.message
    assert g.formula == "P(Y | do(X = 1), W2 = 0)"
    assert "**Why:** the hedge is" in hedge_markdown(g.hedge, query.do_query)


def test_untrained_treatment_is_fine_untrained_outcome_is_named(backdoor_partial):
    ws, ds, _ = backdoor_partial
    sources = Sources(ModelHub(), ds, run=ws.load_run())
    # X has no model, but do(X) never evaluates it
    g = model_interventional(sources, ExploreQuery(ds.graph, "X", 1, "Y", n=32))
    assert g.ok and g.values.shape == (32,)
    # do(Z) on X's value needs X's model
    g = model_interventional(sources, ExploreQuery(ds.graph, "Z", 1, "X", n=8))
    assert not g.ok and g.message == "no trained model for X (needed for X under do(Z)): train it on the Train page"
    assert g.level == "info"


def test_a_conditional_query_on_a_markovian_graph_is_the_scms_rejection_sample(backdoor_partial):
    """The gallery of P(Y | do(X = 1), Z = 0) is exactly ``scm_conditional`` on the query's sub-model."""
    ws, ds, _ = backdoor_partial
    sources = Sources(ModelHub(), ds, run=ws.load_run())
    query = ExploreQuery(ds.graph, "X", 1, "Y", {"Z": 0}, n=32, seed=4)
    g = model_interventional(sources, query)
    assert g.ok and g.formula == "P(Y | do(X = 1), Z = 0)"
    scm = neural_scm(sources.hub, sources.run, query.do_query)
    assert np.array_equal(g.values, scm_conditional(scm, "X", 1, {"Z": 0}, 32, seed=4)["Y"])


# ---- counterfactual


def test_model_counterfactuals_are_consistent(backdoor_partial):
    ws, ds, _ = backdoor_partial
    sources = Sources(ModelHub(), ds, run=ws.load_run())
    rows = counterfactual_units(40, 3, ds.n, seed=2)
    assert rows[0] == 3 and len(set(rows)) == 40
    have = rows[ds.column("X")[rows] == 1]
    g = model_counterfactual(sources, ExploreQuery(ds.graph, "X", 1, "Y"), have)
    assert g.ok and np.array_equal(g.values, ds.column("Y")[have]) and np.array_equal(g.factual, g.values)


def test_no_model_counterfactual_through_a_hidden_confounder():
    ds, _ = sample_dataset("bow", 200, seed=0)
    g = model_counterfactual(Sources(ModelHub(), ds), ExploreQuery(ds.graph, "X", 1, "Y"), np.arange(4))
    assert not g.ok and g.level == "info" and "hidden confounders (X <-> Y)" in g.message


def test_the_default_counterfactual_unit_is_one_the_intervention_changes(frontdoor):
    ds, _ = frontdoor
    x = np.asarray(ds.column("X"))
    for value in (0, 1):
        unit = default_unit(ds, ExploreQuery(ds.graph, "X", value, "Y"))
        assert x[unit] != value and (x[:unit] == value).all()  # the first row with another X
    # continuous and image treatments

    morpho, _ = sample_dataset("morpho_digits", 50, seed=0, params={"size": 16})
    t = np.asarray(morpho.column("thickness"))
    unit = default_unit(morpho, ExploreQuery(morpho.graph, "thickness", float(t[0]), "image"))
    assert abs(t[unit] - t[0]) >= 0.25 * np.ptp(t)
    img = np.asarray(morpho.column("image"))
    assert default_unit(morpho, ExploreQuery(morpho.graph, "image", img[0], "digit")) > 0
