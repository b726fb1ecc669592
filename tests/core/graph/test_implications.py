"""Testable implications: the independence lists against path-by-path d-separation on random small
ADMGs (every statement true, every set minimal, every separable pair listed), and every Verma
constraint against the exact observational distribution of explicit-latent discrete SCMs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import event, given

from core.evidence.formulas import c_factor_estimand
from core.graph import GraphError, parse_dagitty
from core.graph.implications import implied_independencies, verma_constraints
from core.worlds.discrete import DiscreteSCM
from tests.core.graph.brute_force import Dag
from tests.core.graph.strategies import quick, small_admgs, thorough


def _texts(statements):
    return [str(s) for s in statements]


def test_dagitty_examples():
    """impliedConditionalIndependencies' own example: one implication, none once m is latent."""
    g = parse_dagitty("dag { x -> m -> y }")
    assert _texts(implied_independencies(g)) == ["x _||_ y | m"]
    assert _texts(implied_independencies(parse_dagitty("dag { x -> m -> y ; m [latent] }"))) == []


def test_lists_on_a_small_dag():
    g = parse_dagitty("dag { a -> b -> d ; a -> c -> d ; e -> d }")
    assert _texts(implied_independencies(g)) == ["b _||_ c | a", "a _||_ e", "b _||_ e", "c _||_ e", "a _||_ d | b, c"]
    # DAGitty's basis: each node against its non-descendants other than its parents, given its parents
    assert _texts(implied_independencies(g, "basis")) == [
        "a _||_ e", "b _||_ c, e | a", "c _||_ b, e | a", "e _||_ a, b, c", "d _||_ a | b, c, e"]
    with pytest.raises(GraphError, match="unknown kind of implication list 'all'"):
        implied_independencies(g, "all")


def test_napkin_has_no_independence_but_a_verma_constraint():
    g = parse_dagitty("dag { W1 -> W2 -> X -> Y ; W1 <-> X ; W1 <-> Y }")
    assert implied_independencies(g) == [] and implied_independencies(g, "basis") == []
    (c,) = verma_constraints(g)
    assert str(c) == "Q[Y](X, Y) does not depend on W2"
    assert c_factor_estimand(c).to_text() == "[sum_{W1} P(W1) P(X, Y | W1, W2)] / [sum_{W1} P(W1) P(X | W1, W2)]"


def test_classic_verma_graph():
    g = parse_dagitty("dag { a -> b -> c -> d ; b <-> d }")
    assert _texts(implied_independencies(g)) == ["a _||_ c | b"]
    assert [str(c) for c in verma_constraints(g)] == ["Q[d](c, d) does not depend on a"]
    assert verma_constraints(parse_dagitty("dag { a -> b -> c -> d ; a -> d ; b <-> d }")) == []
    assert verma_constraints(parse_dagitty("dag { z -> x -> y ; x <-> y }")) == []  # the IV model: inequalities only


def check_independences(g):
    dag = Dag.canonical(g)
    listed = {}
    for s in implied_independencies(g):
        (u,), (v,) = s.left, s.right
        assert dag.d_separated([u], [v], s.given), (g, str(s))
        for k in range(len(s.given)):
            for smaller in itertools.combinations(s.given, k):
                assert not dag.d_separated([u], [v], smaller), (g, str(s), smaller)  # minimal
        listed[frozenset((u, v))] = s
    for u, v in itertools.combinations(g.names, 2):
        adjacent = g.has_directed(u, v) or g.has_directed(v, u) or g.has_bidirected(u, v)
        rest = [w for w in g.names if w not in (u, v)]
        separable = not adjacent and any(dag.d_separated([u], [v], c)
                                         for k in range(len(rest) + 1) for c in itertools.combinations(rest, k))
        assert separable == (frozenset((u, v)) in listed), (g, u, v)
    for s in implied_independencies(g, "basis"):
        assert dag.d_separated(s.left, s.right, s.given), (g, str(s))
    event(f"{len(listed)} independences")


@quick(40)
@given(small_admgs(3, 6))
def test_independences_match_d_separation(g):
    check_independences(g)


@pytest.mark.slow
@thorough(500)
@given(small_admgs(3, 7))
def test_independences_on_hundreds_of_graphs(g):
    check_independences(g)


def check_verma_constraints(g):
    constraints = verma_constraints(g)
    if not constraints:
        return
    world = DiscreteSCM(g, seed=len(g.directed) * 7 + len(g.bidirected), alpha=0.7, latent_levels=3)
    joint = world.observed_joint()
    for c in constraints:
        estimand = c_factor_estimand(c)
        assert set(c.free_of) <= estimand.free and set(c.depends_on) <= estimand.free
        axes = list(c.depends_on) + [v for v in sorted(estimand.free) if v not in c.depends_on]
        table = estimand.table(joint, axes)
        spread = table.max(axis=tuple(range(len(c.depends_on), len(axes)))) - table.min(
            axis=tuple(range(len(c.depends_on), len(axes))))
        assert np.abs(spread).max() < 1e-9, (g, str(c))
    event(f"{len(constraints)} Verma constraints")


@quick(40)
@given(small_admgs(4, 6))
def test_verma_constraints_hold_in_the_exact_distribution(g):
    check_verma_constraints(g)


@pytest.mark.slow
@thorough(500)
@given(small_admgs(4, 7))
def test_verma_constraints_on_hundreds_of_graphs(g):
    check_verma_constraints(g)
