"""Adjustment sets by the generalized adjustment criterion: known graphs, every subset of random
small ADMGs against the path-by-path criterion on their canonical DAGs, and every minimal set's
adjustment formula against the exact interventional truth of an explicit-latent discrete SCM."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import event, given

from core.evidence.formulas import adjustment_estimand
from core.graph import ADMG, GraphError, parse_dagitty
from core.graph.adjustment import (
    find_adjustment_set,
    is_adjustment_set,
    minimal_adjustment_sets,
    why_not_adjustment_set,
)
from core.worlds.discrete import DiscreteSCM
from tests.core.graph.brute_force import adjustment_valid, all_adjustment_sets, inclusion_minimal
from tests.core.graph.strategies import effect_queries, quick, thorough


@pytest.mark.parametrize(
    "code, x, y, want",
    [
        ("dag { Z -> X -> Y ; Z -> Y }", "X", "Y", [("Z",)]),
        ("dag { X -> Y }", "X", "Y", [()]),
        ("dag { X -> M -> Y ; X <-> Y }", "X", "Y", []),  # front door only
        ("dag { X -> Y ; X <-> Y }", "X", "Y", []),
        # DAGitty's M-bias: adjusting for the collider M alone opens X <- A -> M <- B -> Y
        ("dag { A -> X -> Y ; A -> M ; B -> M ; B -> Y }", "X", "Y", [()]),
        ("dag { Z1 -> X -> Y ; Z1 -> Z2 -> Y ; Z3 -> Z2 ; Z3 -> Y ; A -> X ; A -> Z1 }", "X", "Y",
         [("Z1",), ("Z2", "Z3")]),
        ("dag { X -> M -> Y ; M -> D ; C -> X ; C -> Y }", "X", "Y", [("C",)]),  # mediator, its child: forbidden
        ("dag { X <-> Z ; Z -> Y ; X -> Y }", "X", "Y", [("Z",)]),
        ("dag { X1 -> Y ; X2 -> Y ; Z -> X1 ; Z -> X2 ; Z -> Y }", "X1,X2", "Y", [("Z",)]),
    ],
)
def test_known_minimal_sets(code, x, y, want):
    g = parse_dagitty(code)
    assert minimal_adjustment_sets(g, x.split(","), y.split(",")) == want
    one = find_adjustment_set(g, x.split(","), y.split(","))
    assert (one is None) == (not want) and (one is None or one in want)


def test_validity_with_reasons():
    g = parse_dagitty("dag { A -> X -> Y ; A -> M ; B -> M ; B -> Y ; X -> D ; D -> Y }")
    assert is_adjustment_set(g, ["X"], ["Y"], [])
    assert not is_adjustment_set(g, ["X"], ["Y"], ["M"])
    assert why_not_adjustment_set(g, ["X"], ["Y"], ["M"]) == "a non-causal path from the treatment to the outcome stays open"
    assert is_adjustment_set(g, ["X"], ["Y"], ["M", "A"])
    assert "D is on or after a causal path" in why_not_adjustment_set(g, ["X"], ["Y"], ["D"])
    assert why_not_adjustment_set(g, ["X"], ["Y"], ["A"]) == ""


def test_include_asks_for_sets_holding_given_nodes():
    g = parse_dagitty("dag { A -> X -> Y ; A -> M ; B -> M ; B -> Y }")
    assert minimal_adjustment_sets(g, ["X"], ["Y"], include=["M"]) == [("A", "M"), ("M", "B")]
    assert minimal_adjustment_sets(g, ["X"], ["Y"], allowed=["A", "M"]) == [()]


@pytest.mark.parametrize(
    "args, message",
    [
        ((["Q"], ["Y"], ["Z"]), "unknown node 'Q' in the treatment"),
        ((["X"], ["Y"], ["Q"]), "unknown node 'Q' in the adjustment set"),
        ((["X"], ["Y"], ["X"]), "X is the treatment, so it cannot be in the adjustment set"),
        ((["X"], ["Y"], ["Y"]), "Y is the outcome, so it cannot be in the adjustment set"),
        (([], ["Y"], []), "name at least one treatment"),
        ((["X"], [], []), "name at least one outcome"),
        ((["X"], ["X"], []), "X cannot be both a treatment and an outcome"),
    ],
)
def test_bad_input_is_one_line(args, message):
    g = parse_dagitty("dag { Z -> X -> Y ; Z -> Y }")
    with pytest.raises(GraphError, match=message):
        is_adjustment_set(g, *args)


def check_against_brute_force(query):
    g, x, y = query
    valid = all_adjustment_sets(g, x, y)
    rest = [v for v in g.names if v not in x and v not in y]
    for k in range(len(rest) + 1):
        for z in itertools.combinations(rest, k):
            assert is_adjustment_set(g, x, y, z) == (frozenset(z) in valid), (g, x, y, z)
    got = minimal_adjustment_sets(g, x, y)
    assert len(got) == len(set(got))
    assert {frozenset(z) for z in got} == inclusion_minimal(valid), (g, x, y)
    event("adjustable" if got else "no adjustment set")


@quick(40)
@given(effect_queries(max_nodes=6))
def test_adjustment_matches_the_criterion_on_the_canonical_dag(query):
    check_against_brute_force(query)


@pytest.mark.slow
@thorough(500)
@given(effect_queries(max_nodes=7))
def test_adjustment_matches_the_criterion_on_hundreds_of_graphs(query):
    check_against_brute_force(query)


def check_formula_against_truth(query):
    g, x, y = query
    world = DiscreteSCM(g, seed=len(g.directed) + 7, alpha=0.7)
    joint = world.observed_joint()
    truth = world.do_table(x, y)
    for z in minimal_adjustment_sets(g, x, y):
        got = adjustment_estimand(x, y, z).table(joint, y + x)
        assert np.abs(got - truth).max() < 1e-9, (g, x, y, z)


@quick(40)
@given(effect_queries(max_nodes=6))
def test_every_minimal_adjustment_formula_equals_the_interventional_truth(query):
    check_formula_against_truth(query)


@pytest.mark.slow
@thorough(400)
@given(effect_queries(max_nodes=7))
def test_adjustment_formulas_on_hundreds_of_graphs(query):
    check_formula_against_truth(query)


def test_an_invalid_set_gives_a_wrong_answer():
    """The criterion is not only sufficient: adjusting for the collider of the M graph is biased."""
    g = ADMG.from_edges(["A", "B", "M", "X", "Y"], [("A", "X"), ("A", "M"), ("B", "M"), ("B", "Y"), ("X", "Y")])
    world = DiscreteSCM(g, seed=1, alpha=0.5)
    truth = world.do_table(["X"], ["Y"])
    assert not adjustment_valid(g, ["X"], ["Y"], ["M"])
    biased = adjustment_estimand(["X"], ["Y"], ["M"]).table(world.observed_joint(), ["Y", "X"])
    assert np.abs(biased - truth).max() > 1e-3
