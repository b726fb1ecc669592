"""Conditional instruments and front-door sets: DAGitty's examples, every candidate and set of
random small ADMGs against the definitions written path by path, and the front-door formula
against the exact interventional truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import event, given

from core.evidence.formulas import front_door_estimand
from core.graph import GraphError, parse_dagitty
from core.graph.frontdoor import front_door, is_front_door_set
from core.graph.instruments import conditional_instruments, is_instrument
from core.worlds.discrete import DiscreteSCM
from tests.core.graph.brute_force import Dag, conditional_instrument
from tests.core.graph.brute_force import front_door as front_door_by_paths
from tests.core.graph.strategies import effect_queries, quick, thorough


@pytest.mark.parametrize(
    "code, want",
    [
        ("dag{ i->x->y; x<->y }", ["i"]),  # the examples of DAGitty's instrumentalVariables
        ("dag{ i->x->y; x<->y ; y<-z->i }", ["i | z"]),
        ("dag { w -> z -> x -> y ; w -> x ; w -> y ; x <-> y }", ["z | w"]),
        ("dag { x -> y }", []),
        ("dag { i -> x -> m -> y ; i -> m ; x <-> y }", []),  # i reaches y around x
    ],
)
def test_known_instruments(code, want):
    g = parse_dagitty(code)
    assert [str(i) for i in conditional_instruments(g, "x", "y")] == want


def test_instrument_check_and_bad_input():
    g = parse_dagitty("dag{ i->x->y; x<->y ; y<-z->i }")
    assert is_instrument(g, "x", "y", "i", ("z",)) and not is_instrument(g, "x", "y", "i")
    with pytest.raises(GraphError, match="unknown node 'q' in the instrument"):
        is_instrument(g, "x", "y", "q")
    with pytest.raises(GraphError, match="x cannot be both a treatment and an outcome"):
        conditional_instruments(g, "x", "x")


def test_known_front_doors():
    fd = front_door(parse_dagitty("dag { X -> M1 -> M2 -> Y ; X <-> Y ; X -> N -> Y }"), ["X"], ["Y"])
    assert fd is not None and fd.minimal == ("M1", "N") and set(fd.largest) == {"M1", "M2", "N"}
    assert front_door(parse_dagitty("dag { X -> M -> Y ; X <-> Y ; M <-> Y }"), ["X"], ["Y"]) is None
    assert front_door(parse_dagitty("dag { X -> Y ; X <-> Y }"), ["X"], ["Y"]) is None
    assert is_front_door_set(parse_dagitty("dag { X -> M -> Y ; X <-> Y }"), ["X"], ["Y"], ["M"])


def check_instruments(query):
    g, x, y = query
    x, y = x[0], y[0]
    got = {i.instrument: i.given for i in conditional_instruments(g, x, y)}
    for i, w in got.items():
        assert conditional_instrument(g, x, y, i, w), (g, x, y, i, w)
        assert is_instrument(g, x, y, i, w)
    for z in g.names:
        if z in (x, y):
            continue
        rest = [v for v in g.names if v not in (x, y, z)]
        exists = any(conditional_instrument(g, x, y, z, w, ancestral=True)
                     for k in range(len(rest) + 1) for w in itertools.combinations(rest, k))
        assert exists == (z in got), (g, x, y, z)
    event("has instruments" if got else "no instrument")


@quick(40)
@given(effect_queries(max_nodes=6, max_treatments=1, max_outcomes=1))
def test_instruments_match_the_definition(query):
    check_instruments(query)


@pytest.mark.slow
@thorough(400)
@given(effect_queries(max_nodes=7, max_treatments=1, max_outcomes=1))
def test_instruments_on_hundreds_of_graphs(query):
    check_instruments(query)


def check_front_doors(query):
    g, x, y = query
    rest = [v for v in g.names if v not in x and v not in y]
    valid = [set(c) for k in range(1, len(rest) + 1) for c in itertools.combinations(rest, k)
             if front_door_by_paths(g, x, y, c)]
    for k in range(1, len(rest) + 1):
        for c in itertools.combinations(rest, k):
            assert is_front_door_set(g, x, y, c) == (set(c) in valid), (g, x, y, c)
    fd = front_door(g, x, y)
    causal = any(all(s[2] == "->" for s in p) for a in x for b in y for p in Dag.canonical(g).paths(a, b))
    if not causal:
        assert fd is not None and fd.minimal == ()
        return
    assert (fd is not None) == bool(valid), (g, x, y)
    if fd is not None:
        assert set(fd.minimal) in valid and set(fd.largest) in valid
        assert not any(s < set(fd.minimal) for s in valid)
        world = DiscreteSCM(g, seed=len(g.bidirected) + 3, alpha=0.7)
        for z in (fd.minimal, fd.largest):
            got = front_door_estimand(x, y, z).table(world.observed_joint(), y + x)
            assert np.abs(got - world.do_table(x, y)).max() < 1e-9
    event("front door" if fd is not None else "no front door")


@quick(40)
@given(effect_queries(max_nodes=6))
def test_front_doors_match_the_criterion_and_the_truth(query):
    check_front_doors(query)


@pytest.mark.slow
@thorough(400)
@given(effect_queries(max_nodes=7))
def test_front_doors_on_hundreds_of_graphs(query):
    check_front_doors(query)
