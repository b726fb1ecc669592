"""ID-GEN against exact ground truth on discrete worlds.

For each case: a discrete world with explicit binary latents (strong effects, every table row
bounded away from 0 so every stratum has data), 30k observational rows, tabular conditional models.
The sampled P(y | do(x), z) must be within total variation 0.03 of the exact table for every x and
z; the naive conditional P(y | x, z) and ancestral sampling that ignores the bidirected edges must
be measurably wrong on the same worlds (so these tests can fail).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.errors import WorkbenchError
from core.graph import parse_dagitty
from core.identify import NotIdentifiable
from core.idgen import IDGen, compile_query, fit_plan, ignore_confounders_plan, naive_conditional_plan
from core.worlds.discrete import DiscreteSCM, random_world

N_TRAIN = 50_000
N_SAMPLE = 20_000
TOL = 0.03

CASES = {
    # name: (dagitty, outcome, treatment, given)
    "backdoor": ("dag { Z -> X -> Y ; Z -> Y }", ["Y"], ["X"], []),
    "frontdoor": ("dag { X -> M -> Y ; X <-> Y }", ["Y"], ["X"], []),
    "napkin": ("dag { W1 -> W2 -> X -> Y ; W1 <-> X ; W1 <-> Y }", ["Y"], ["X"], []),
    "confounded_adjuster": ("dag { Z -> X -> Y ; Z -> Y ; X <-> Z }", ["Y"], ["X"], []),
    "two_mediators": ("dag { X -> M1 -> M2 -> Y ; X <-> Y ; X <-> M2 }", ["Y"], ["X"], []),
    # Shpitser & Pearl 2006, identifiable pattern: X -> Z -> Y with X <-> Y and Z's cause W confounded with X
    "sp_w_z": ("dag { W -> X -> Z -> Y ; W -> Z ; X <-> Y ; W <-> X }", ["Y"], ["X"], []),
    "multi_outcome_frontdoor": ("dag { X -> M -> Y ; X <-> Y }", ["M", "Y"], ["X"], []),
    "multi_treatment": ("dag { X1 -> Y ; X2 -> Y ; X1 -> X2 ; X1 <-> X2 ; Z -> X2 ; Z -> Y }", ["Y"], ["X1", "X2"], []),
    # conditional queries (IDC)
    "backdoor_given_z": ("dag { Z -> X -> Y ; Z -> Y }", ["Y"], ["X"], ["Z"]),
    "frontdoor_given_m": ("dag { X -> M -> Y ; X <-> Y }", ["Y"], ["X"], ["M"]),
    "frontdoor_given_descendant": ("dag { X -> M -> Y -> W ; X <-> Y }", ["Y"], ["X"], ["W"]),
    "napkin_given_y_child": ("dag { W1 -> W2 -> X -> Y -> V ; W1 <-> X ; W1 <-> Y }", ["Y"], ["X"], ["V"]),
    "confounded_given_pre": ("dag { C -> X -> M -> Y ; C -> Y ; X <-> Y }", ["Y"], ["X"], ["C"]),
}


def positive_world(graph, seed: int, floor: float = 0.1) -> DiscreteSCM:
    """Strong effects (Dirichlet 0.2 rows) mixed with a uniform floor so no stratum is empty."""
    return DiscreteSCM(graph, seed=seed, alpha=0.2, floor=floor)


def strong_napkin(seed: int) -> DiscreteSCM:
    """Napkin with a strong back-door path X <- W2 <- W1 <-> Y (latent U_W1_Y): random tables
    barely open it, so the naive answer would look right by accident."""
    world = DiscreteSCM(parse_dagitty(CASES["napkin"][0]), seed=seed, alpha=1.0)
    copy = lambda p: np.array([[p, 1 - p], [1 - p, p]])  # noqa: E731  P(child | parent) rows
    w1_parents = world.parents["W1"]  # the two latents
    u_y = next(u for u in w1_parents if "Y" in u)
    t = np.empty((2, 2, 2))
    for a in (0, 1):
        for b in (0, 1):
            u = a if w1_parents[0] == u_y else b
            t[a, b] = copy(0.9)[u]
    world.set_table("W1", t)
    world.set_table("W2", copy(0.9))
    x_parents = world.parents["X"]  # W2 and a latent
    world.set_table("X", np.stack([copy(0.85)] * 2, axis=1) if x_parents[0] == "W2" else np.stack([copy(0.85)] * 2))
    y_parents = world.parents["Y"]  # X and the latent shared with W1
    ty = np.empty((2, 2, 2))
    for a in (0, 1):
        for b in (0, 1):
            x, u = (a, b) if y_parents[0] == "X" else (b, a)
            ty[a, b] = [0.15, 0.85] if (x ^ u) else [0.8, 0.2]
    world.set_table("Y", ty)
    return world


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def empirical(samples: dict[str, np.ndarray], outcome: list[str], cards: dict[str, int]) -> np.ndarray:
    shape = tuple(cards[v] for v in outcome)
    idx = np.ravel_multi_index(tuple(samples[v] for v in outcome), shape)
    return np.bincount(idx, minlength=int(np.prod(shape))).reshape(shape) / len(idx)


def worst_tvd(world: DiscreteSCM, gen: IDGen, outcome, treatment, given) -> float:
    """max over every x (and z) of TVD(sampled, exact P(y | do(x), z))."""
    truth = world.do_table(treatment, outcome, given)  # axes: outcome, treatment, given
    cards = world.cards
    worst = 0.0
    for xs in itertools.product(*(range(cards[v]) for v in treatment)):
        for zs in itertools.product(*(range(cards[v]) for v in given)):
            exact = truth[(slice(None),) * len(outcome) + xs + zs]
            if np.isnan(exact).any():
                continue
            s = gen.sample(do=dict(zip(treatment, xs, strict=True)), given=dict(zip(given, zs, strict=True)),
                           n=N_SAMPLE, seed=7)
            worst = max(worst, tvd(empirical(s, outcome, cards), exact))
    return worst


def naive_exact_tvd(world: DiscreteSCM, outcome, treatment, given) -> float:
    """max TVD between the exact observational P(y | x, z) and the exact P(y | do(x), z)."""
    names = list(world.observed)
    joint = world.observed_joint().probs
    order = [*outcome, *treatment, *given]
    rest = tuple(i for i, v in enumerate(names) if v not in order)
    marg = joint.sum(axis=rest)
    kept = [v for v in names if v in order]
    marg = np.moveaxis(marg, [kept.index(v) for v in order], range(len(order)))
    cond = marg / marg.sum(axis=tuple(range(len(outcome))), keepdims=True)
    truth = world.do_table(treatment, outcome, given)
    diff = np.abs(cond - truth).sum(axis=tuple(range(len(outcome)))) / 2
    return float(np.nanmax(diff))


@pytest.mark.parametrize("name", sorted(CASES))
def test_idgen_matches_exact_interventional_distribution(name):
    text, outcome, treatment, given = CASES[name]
    graph = parse_dagitty(text)
    naive_gaps = []
    for seed in (0, 1):
        world = positive_world(graph, seed)
        data = world.sample(N_TRAIN, seed=100 + seed).values
        gen = IDGen(graph, data, seed=seed).fit(outcome, treatment, given)
        err = worst_tvd(world, gen, outcome, treatment, given)
        assert err <= TOL, f"{name} seed {seed}: ID-GEN TVD {err:.4f} > {TOL}"
        naive_gaps.append(naive_exact_tvd(world, outcome, treatment, given))
    if name in NAIVE_IS_WRONG:
        # The query is not answered by conditioning: the naive estimate is measurably off.
        assert max(naive_gaps) > 0.05, f"{name}: naive P(y|x,z) is too close to truth for this test to mean much"
    if name == "backdoor_given_z":
        assert max(naive_gaps) < 1e-12  # conditioning on the whole back-door set IS the answer


# Cases whose two positive_world seeds confound strongly enough that conditioning is visibly wrong
# (the napkin's is shown on a purpose-built world below).
NAIVE_IS_WRONG = {"backdoor", "frontdoor", "confounded_given_pre", "frontdoor_given_m", "multi_outcome_frontdoor",
                  "multi_treatment", "two_mediators", "confounded_adjuster", "frontdoor_given_descendant"}


CONFOUNDED = ["frontdoor", "napkin", "two_mediators", "sp_w_z"]


@pytest.mark.parametrize("name", CONFOUNDED)
def test_baselines_are_measurably_wrong_where_idgen_is_right(name):
    text, outcome, treatment, _ = CASES[name]
    graph = parse_dagitty(text)
    gaps = {"idgen": [], "naive": [], "ignore_confounders": []}
    for seed in (0, 1, 2):
        world = strong_napkin(seed) if name == "napkin" else DiscreteSCM(graph, seed=seed, alpha=0.1, floor=0.1)
        data = world.sample(N_TRAIN, seed=200 + seed).values
        gaps["idgen"].append(worst_tvd(world, IDGen(graph, data).fit(outcome, treatment), outcome, treatment, ()))
        naive = fit_plan(IDGen(graph, data), naive_conditional_plan(graph, outcome, treatment))
        gaps["naive"].append(worst_tvd(world, naive, outcome, treatment, ()))
        blind = fit_plan(IDGen(graph, data), ignore_confounders_plan(graph, outcome, treatment))
        gaps["ignore_confounders"].append(worst_tvd(world, blind, outcome, treatment, ()))
    assert max(gaps["idgen"]) <= TOL, gaps
    assert max(gaps["naive"]) > 2 * max(gaps["idgen"]) and max(gaps["naive"]) > 0.05, gaps
    if name in ("frontdoor", "napkin"):
        # Y's only modelled parent is confounded with it through X: the Markovian answer is biased.
        # (In two_mediators and sp_w_z that bias runs through a longer path and is small for these tables.)
        assert max(gaps["ignore_confounders"]) > 4 * max(gaps["idgen"]), gaps
        assert max(gaps["ignore_confounders"]) > TOL, gaps


def test_random_identifiable_admgs():
    checked = 0
    for seed in range(60):
        world = random_world(5, 0.45, 0.3, seed=seed)
        g = world.graph
        order = g.topological_order()
        y, x = order[-1], order[len(order) // 2]
        if x not in g.ancestors([y]) or x == y:
            continue
        try:
            compile_query(g, [y], [x])
        except NotIdentifiable:
            continue
        world = positive_world(g, seed)
        data = world.sample(N_TRAIN, seed=seed).values
        gen = IDGen(g, data).fit([y], [x])
        err = worst_tvd(world, gen, [y], [x], [])
        assert err <= TOL, f"random ADMG seed {seed} ({g!r}) P({y} | do({x})): TVD {err:.4f}"
        checked += 1
        if checked == 4:
            break
    assert checked == 4


def test_plan_reports_models_and_reuses_them_across_queries():
    graph = parse_dagitty(CASES["napkin"][0])
    world = positive_world(graph, 0)
    gen = IDGen(graph, world.sample(5000, seed=1).values)
    plan = gen.plan_query(["Y"], ["X"])
    # line 7 on S' = {W1, X, Y}: three models on the data, then Y given (W2, X) on the synthetic set
    assert plan.describe() == [
        "p(W1) on observed data",
        "p(X | W1, W2) on observed data",
        "p(Y | W1, W2, X) on observed data",
        "p(Y | W2, X) on synthetic P(W1, X, Y | do(W2))",
        "p(W2 | X) on observed data (draws the free input)",
    ]
    assert len(gen.missing_models(plan)) == 5
    gen.fit(["Y"], ["X"])
    assert gen.missing_models(plan) == []
    view = plan.plan_graph()
    assert {"id": "X", "kind": "input"} in view["nodes"] and ["X", "Y"] in view["edges"]
    assert ["X", "W2"] in view["edges"] and ["W2", "Y"] in view["edges"]


def test_free_inputs_are_drawn_from_their_conditional_given_the_intervention():
    """Rule 3 leaves the napkin's W2 free in P_{w2}(y | x); it is drawn from P(W2 | X = x) on the
    data (where the last stage was trained on consistent pairs), not from W2's marginal."""
    graph = parse_dagitty(CASES["napkin"][0])
    world = strong_napkin(0)
    data = world.sample(N_TRAIN, seed=2).values
    gen = IDGen(graph, data).fit(["Y"], ["X"])
    for x in (0, 1):
        drawn = np.bincount(gen.sample(do={"X": x}, n=N_SAMPLE, seed=x)["W2"], minlength=2) / N_SAMPLE
        held = np.bincount(data["W2"][data["X"] == x], minlength=2) / (data["X"] == x).sum()
        marginal = np.bincount(data["W2"], minlength=2) / len(data["W2"])
        assert 0.5 * np.abs(drawn - held).sum() <= 0.02
        assert 0.5 * np.abs(held - marginal).sum() >= 0.1  # so a marginal draw would fail


def test_models_are_shared_across_queries():
    graph = parse_dagitty(CASES["frontdoor"][0])
    gen = IDGen(graph, positive_world(graph, 0).sample(5000, seed=1).values).fit(["Y"], ["X"])
    # P(y | do(x), m) = P(y | do(m)) by rule 2: every model it needs was trained for P(y | do(x)).
    plan = gen.plan_query(["Y"], ["X"], ["M"])
    assert plan.describe() == ["p(X) on observed data", "p(Y | X, M) on observed data",
                               "p(Y | M) on synthetic P(X, Y | do(M))"]
    assert gen.missing_models(plan) == []


def test_one_network_serves_every_value_of_x():
    graph = parse_dagitty(CASES["frontdoor"][0])
    world = positive_world(graph, 3)
    gen = IDGen(graph, world.sample(N_TRAIN, seed=3).values).fit(["Y"], ["X"])
    trained = len(gen.cache)
    per_unit = gen.sample(do={"X": np.array([0, 1] * 5000)}, n=10_000, seed=1)
    assert len(gen.cache) == trained
    truth = world.do_table(["X"], ["Y"])
    for xv in (0, 1):
        sel = per_unit["X"] == xv
        assert abs(per_unit["Y"][sel].mean() - truth[1, xv]) < 0.03


def test_not_identifiable_fails_before_training():
    graph = parse_dagitty("dag { X -> Y ; X <-> Y }")
    data = {"X": np.array([0, 1, 0, 1]), "Y": np.array([0, 1, 1, 0])}
    gen = IDGen(graph, data)
    with pytest.raises(NotIdentifiable) as err:
        gen.fit(["Y"], ["X"])
    assert err.value.hedge and gen.cache == {}


def test_non_identifiable_conditional_query_is_refused():
    # P(y | do(x), w2) in the napkin: W2 inherits W1's confounding with Y, and no rule moves it.
    graph = parse_dagitty(CASES["napkin"][0])
    with pytest.raises(NotIdentifiable, match="not identifiable"):
        compile_query(graph, ["Y"], ["X"], ["W2"])


def test_bad_do_values_are_refused_with_one_line():
    graph = parse_dagitty(CASES["frontdoor"][0])
    world = positive_world(graph, 0)
    gen = IDGen(graph, world.sample(2000, seed=0).values).fit(["Y"], ["X"])
    with pytest.raises(WorkbenchError, match="takes values 0..1"):
        gen.sample(do={"X": 3}, n=10)
    with pytest.raises(WorkbenchError, match="fitted for do"):
        gen.sample(do={"M": 1}, n=10)
    data = world.sample(2000, seed=0).values
    data["X"] = np.zeros_like(data["X"])
    gen = IDGen(graph, data).fit(["Y"], ["X"])
    with pytest.raises(WorkbenchError, match="never occurs in the data"):
        gen.sample(do={"X": 1}, n=10)
    with pytest.raises(WorkbenchError, match="no column for node"):
        IDGen(graph, {"X": data["X"]})


def test_neural_mechanisms_on_a_frontdoor_with_a_continuous_mediator():
    """Mixed types: the continuous mediator needs a flow, the others get tables; truth by simulation."""
    from core.graph import ADMG, Node
    from core.idgen import mechanism_factory

    def simulate(n, rng, do_x=None):
        u = rng.random(n) < 0.5
        x = (rng.random(n) < np.where(u, 0.8, 0.2)).astype(np.int64) if do_x is None else np.full(n, do_x)
        m = 1.5 * x + rng.normal(0, 1, n)
        y = (rng.random(n) < 1 / (1 + np.exp(-(m - 2 + 2 * u)))).astype(np.int64)
        return {"X": x, "M": m, "Y": y}

    rng = np.random.default_rng(0)
    graph = ADMG([Node("X"), Node("M", "continuous"), Node("Y")], [("X", "M"), ("M", "Y")], [("X", "Y")])
    data = simulate(10_000, rng)
    gen = IDGen(graph, data, model_factory=mechanism_factory(preset="quick", steps=300)).fit(["Y"], ["X"])
    kinds = {type(m).__name__ for m in gen.cache.values()}
    assert kinds == {"MechanismModel", "TabularModel"}
    for xv in (0, 1):
        truth = simulate(200_000, rng, do_x=xv)["Y"].mean()
        ours = gen.sample(do={"X": xv}, n=20_000, seed=1)["Y"].mean()
        naive = data["Y"][data["X"] == xv].mean()
        assert abs(ours - truth) < 0.03, (xv, ours, truth)
        assert abs(naive - truth) > 0.06, (xv, naive, truth)
