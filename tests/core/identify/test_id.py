"""ID and IDC, checked exactly against ground truth.

Every identifiable query below is evaluated on the exact observational joint of a discrete SCM
whose hidden confounders are explicit latent variables, and compared with the true interventional
(conditional) distribution of that SCM, obtained by replacing the treatment's tables by indicators,
at EVERY assignment, to 1e-9, for several random tables (binary, and categorical with 3 levels).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.errors import WorkbenchError
from core.graph import ADMG
from core.identify import NotIdentifiable, identify, is_identifiable
from core.identify.estimand import P, fraction_of, p, product_of, sum_of
from core.worlds.discrete import DiscreteSCM, napkin, random_admg
from tests.core.identify.catalogue import CATALOGUE, graph


def assert_exact(g: ADMG, x, y, z=(), seeds=(0, 1, 2), alpha: float = 0.5) -> None:
    """Estimand on the observed joint == true P(y | do(x), z) at every assignment, for several tables."""
    x, y, z = list(x), list(y), list(z)
    estimand = identify(g, x, y, z)
    for seed in seeds:
        world = DiscreteSCM(g, seed=seed, alpha=alpha)
        truth = world.do_table(x, y, z)
        got = estimand.table(world.observed_joint(), y + x + z)
        assert got.shape == truth.shape
        err = np.abs(got - truth).max()
        assert err < 1e-9, f"{estimand.to_text()} is off by {err} (seed {seed})"
        # one point through the scalar path too
        cell = {v: 0 for v in y + x + z}
        assert abs(estimand.evaluate(world.observed_joint(), cell) - truth.flat[0]) < 1e-9


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_verdict_and_exact_value(name: str) -> None:
    spec, x, y, z, identifiable = CATALOGUE[name]
    g = graph(spec)
    assert is_identifiable(g, x, y, z) is identifiable, name
    if identifiable:
        assert_exact(g, x, y, z)
    else:
        with pytest.raises(NotIdentifiable) as info:
            identify(g, x, y, z)
        f, f_prime = info.value.hedge
        assert f_prime < f, "F' must be a proper subset of F"
        assert f_prime and not (f_prime & set(x))
        assert "not identifiable" in info.value.reason and "\n" not in info.value.reason


@pytest.mark.parametrize("name", ["frontdoor", "napkin", "tian_q_decomposition", "idc_multi", "sequential_treatments"])
def test_categorical_three_levels(name: str) -> None:
    spec, x, y, z, _ = CATALOGUE[name]
    assert_exact(graph(spec, levels=3), x, y, z, seeds=(5, 6))


def test_napkin_matches_the_anchor_formula_and_naive_conditioning_is_wrong() -> None:
    g = graph(CATALOGUE["napkin"][0])
    e = identify(g, "X", "Y")
    # sum_w1 P(x, y | w1, w2) P(w1) / sum_w1 P(x | w1, w2) P(w1)
    expected = fraction_of(
        sum_of(["W1"], product_of([P(("X", "Y"), ("W1", "W2")), P(("W1",))])),
        sum_of(["W1"], product_of([P(("X",), ("W1", "W2")), P(("W1",))])),
    )
    assert e == expected, e.to_text()
    world = napkin(seed=1, alpha=0.3)
    joint = world.observed_joint()
    truth = world.do_table(["X"], ["Y"])
    assert np.abs(e.table(joint, ["Y", "X"]) - truth).max() < 1e-12
    naive = joint.conditional(["Y"], ["X"])
    assert np.abs(naive - truth).max() > 0.05  # so the exact check above can fail


def test_the_answer_does_not_depend_on_the_fixed_w2_in_the_napkin() -> None:
    e = identify(graph(CATALOGUE["napkin"][0]), "X", "Y")
    assert "W2" in e.free
    world = napkin(seed=3)
    joint = world.observed_joint()
    full = e.table(joint, ["Y", "X", "W2"])
    assert np.abs(full[..., 0] - full[..., 1]).max() < 1e-12


def test_known_formulas_print_as_textbook() -> None:
    assert identify(graph("Z->X->Y; Z->Y"), "X", "Y").to_text() == "sum_{Z} P(Z) P(Y | Z, X)"
    assert identify(graph("X->M->Y; X<->Y"), "X", "Y").to_text() == "sum_{M} P(M | X) sum_{X'} P(X') P(Y | X', M)"
    assert identify(graph("Z->X->Y; Z->Y"), "X", "Y", "Z") == p(["Y"], ["Z", "X"])
    assert identify(graph("X->Y"), "X", "Y") == p(["Y"], ["X"])
    # no causal path: the effect is the marginal
    assert identify(graph("Y->X"), "X", "Y") == p(["Y"])


def test_bow_hedge_and_reason() -> None:
    with pytest.raises(NotIdentifiable) as info:
        identify(graph("X->Y; X<->Y"), "X", "Y")
    assert info.value.hedge == (frozenset({"X", "Y"}), frozenset({"Y"}))
    assert info.value.reason.startswith("P(Y | do(X)) is not identifiable: X and Y share hidden confounders")
    assert "F={X, Y}" in info.value.reason and "F'={Y}" in info.value.reason
    assert isinstance(info.value, WorkbenchError)


def test_isolated_nodes_survive_edge_cutting() -> None:
    # Cutting X's incoming edges leaves Z isolated; it must stay in the graph (y0 drops it and crashes).
    g = graph("Z->X->Y; W")
    assert_exact(g, ["X"], ["Y"], ["Z"])
    assert_exact(g, ["X"], ["Y"], ["W"])
    assert_exact(g, ["X"], ["Y", "W"])


@pytest.mark.parametrize(
    ("x", "y", "z", "message"),
    [
        (["Q"], ["Y"], [], "unknown node 'Q'"),
        (["X"], [], [], "outcome is empty"),
        (["X"], ["X"], [], "X cannot be in both the treatment and the outcome"),
        (["X"], ["Y"], ["X"], "X cannot be in both the treatment and the conditioning set"),
        (["X"], ["Y"], ["Y"], "Y cannot be in both the outcome and the conditioning set"),
        (["X"], ["Y"], ["Nope"], "unknown node 'Nope' in conditioning set"),
    ],
)
def test_bad_queries_are_one_line_errors(x, y, z, message) -> None:
    with pytest.raises(WorkbenchError) as info:
        identify(graph("X->Y"), x, y, z)
    assert message in str(info.value)
    assert not isinstance(info.value, NotIdentifiable)
    assert "\n" not in str(info.value)


def test_string_arguments_are_single_names() -> None:
    g = graph("Z->X->Y; Z->Y")
    assert identify(g, "X", "Y") == identify(g, ["X"], ["Y"])


def test_no_treatment_is_the_observational_conditional() -> None:
    g = graph("Z->X->Y; Z->Y")
    assert_exact(g, [], ["Y"], ["X"])


def test_random_graphs_of_eight_nodes_exact() -> None:
    # Larger than the property test; a few queries each, verdicts only where identifiable.
    rng = np.random.default_rng(0)
    checked = 0
    for seed in range(12):
        g = random_admg(8, 0.35, 0.15, seed=seed)
        names = list(g.names)
        rng.shuffle(names)
        x, y = names[:1], names[1:3]
        if is_identifiable(g, x, y):
            assert_exact(g, x, y, seeds=(seed,))
            checked += 1
    assert checked >= 4


def test_two_hundred_node_query_is_fast() -> None:
    g = random_admg(200, 0.02, 0.01, seed=3)
    order = g.topological_order()
    x, y = [order[100]], [order[-1]]
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        is_identifiable(g, x, y)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[2] < 0.5  # generous here; benchmarks/identify_speed.py measures properly
