"""m-separation and minimal separators: checked against path enumeration on the DAG a latent
projection came from, and against every subset on random small ADMGs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.graph import ADMG
from core.graph.separation import (
    BitGraph,
    find_minimal_separator,
    list_minimal_separators,
    m_separated,
    separated,
)
from tests.core.graph.brute_force import Dag, inclusion_minimal
from tests.core.graph.strategies import quick, small_admgs, thorough


def test_classic_graphs():
    chain = ADMG.from_edges("ABC", [("A", "B"), ("B", "C")])
    assert not separated(chain, ["A"], ["C"]) and separated(chain, ["A"], ["C"], ["B"])
    collider = ADMG.from_edges("ABCD", [("A", "B"), ("C", "B"), ("B", "D")])
    assert separated(collider, ["A"], ["C"]) and not separated(collider, ["A"], ["C"], ["D"])
    bow = ADMG.from_edges("XYZ", [("X", "Z")], [("Z", "Y")])  # X -> Z <-> Y: Z a collider
    assert separated(bow, ["X"], ["Y"]) and not separated(bow, ["X"], ["Y"], ["Z"])
    assert not separated(chain, ["A"], ["A", "C"])


@st.composite
def projected_queries(draw):
    """A random DAG on 4-8 nodes, some of them latent, its latent projection, and X, Y, Z among the
    observed nodes."""
    n = draw(st.integers(4, 7))
    seed = draw(st.integers(0, 10**6))
    rng = np.random.default_rng(seed)
    p = draw(st.sampled_from([0.25, 0.4, 0.55]))
    names = [f"V{i}" for i in range(n)]
    directed = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    dag = ADMG.from_edges(names, directed)
    latent = [v for v in names if rng.random() < 0.35]
    observed = [v for v in names if v not in latent]
    if len(observed) < 2:
        latent, observed = latent[2:], observed + latent[:2]
    perm = draw(st.permutations(observed))
    kx = draw(st.integers(1, 2))
    ky = draw(st.integers(1, max(1, min(2, len(perm) - kx))))
    x, y = list(perm[:kx]), list(perm[kx : kx + ky])
    z = [v for v in perm[kx + ky :] if draw(st.booleans())]
    return dag, latent, x, y, z


def check_against_the_projected_dag(query):
    dag, latent, x, y, z = query
    projected = dag.latent_projection(latent)
    want = Dag.canonical(dag).d_separated(x, y, z)
    assert separated(projected, x, y, z) == want
    assert projected.m_separated(x, y, z) == want  # the moral-graph test in ADMG agrees


@quick()
@given(projected_queries())
def test_m_separation_matches_d_separation_before_projection(query):
    check_against_the_projected_dag(query)


@pytest.mark.slow
@thorough(500)
@given(projected_queries())
def test_m_separation_matches_d_separation_before_projection_on_hundreds(query):
    check_against_the_projected_dag(query)


def check_separators_against_subsets(g, data):
    names = list(g.names)
    x = data.draw(st.sampled_from(names))
    y = data.draw(st.sampled_from([v for v in names if v != x]))
    rest = [v for v in names if v not in (x, y)]
    allowed = [v for v in rest if data.draw(st.booleans()) or len(rest) < 3]
    include = [v for v in allowed if data.draw(st.integers(0, 4)) == 0]
    dag = Dag.canonical(g)
    seps = [frozenset(c) for k in range(len(allowed) + 1) for c in itertools.combinations(allowed, k)
            if set(include) <= set(c) and dag.d_separated([x], [y], c)]
    want = inclusion_minimal(seps)
    bg = BitGraph.of(g)
    got = list_minimal_separators(bg, bg.mask([x]), bg.mask([y]), bg.mask(include), bg.mask(allowed))
    assert len(got) == len(set(got))
    assert {frozenset(bg.names_of(z)) for z in got} == want
    one = find_minimal_separator(bg, bg.mask([x]), bg.mask([y]), bg.mask(include), bg.mask(allowed))
    assert (one is None) == (not want)
    if one is not None:
        assert frozenset(bg.names_of(one)) in want
    for z in got:
        assert m_separated(bg, bg.mask([x]), bg.mask([y]), z)


@quick()
@given(small_admgs(3, 6), st.data())
def test_minimal_separators_are_exactly_the_minimal_subsets_that_separate(g, data):
    check_separators_against_subsets(g, data)


@pytest.mark.slow
@thorough(500)
@given(small_admgs(3, 7), st.data())
def test_minimal_separators_on_hundreds_of_graphs(g, data):
    check_separators_against_subsets(g, data)


def test_separator_listing_respects_the_limit():
    # X and Y joined by four parallel two-step paths: 2**4 minimal separators.
    nodes = ["X", "Y"] + [f"{a}{i}" for i in range(4) for a in "AB"]
    directed = [e for i in range(4) for e in (("X", f"A{i}"), (f"A{i}", f"B{i}"), (f"B{i}", "Y"))]
    g = ADMG.from_edges(nodes, directed)
    bg = BitGraph.of(g)
    assert len(list_minimal_separators(bg, bg.mask(["X"]), bg.mask(["Y"]))) == 16
    assert len(list_minimal_separators(bg, bg.mask(["X"]), bg.mask(["Y"]), limit=5)) == 5
