"""Hypothesis strategies for random small ADMGs and queries on them (shared by the graph tests)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.graph import ADMG
from core.worlds.discrete import random_admg


def quick(examples: int = 40) -> settings:
    """Hypothesis settings for a default-run property test (a few dozen graphs, derandomized)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)


def thorough(examples: int = 400) -> settings:
    """Settings for the same property on hundreds of graphs (tests marked slow)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True, database=None)


@st.composite
def small_admgs(draw, min_nodes: int = 3, max_nodes: int = 6) -> ADMG:
    """A random ADMG (random causal order, each pair directed / bidirected at random densities)."""
    n = draw(st.integers(min_nodes, max_nodes))
    seed = draw(st.integers(0, 10**6))
    p_dir = draw(st.sampled_from([0.2, 0.35, 0.5, 0.7]))
    p_bi = draw(st.sampled_from([0.0, 0.1, 0.25, 0.4]))
    return random_admg(n, p_dir, p_bi, seed=seed)


@st.composite
def effect_queries(draw, max_nodes: int = 6, max_treatments: int = 2, max_outcomes: int = 2):
    """(graph, treatment, outcome): disjoint, non-empty node lists of a random small ADMG."""
    g = draw(small_admgs(3, max_nodes))
    names = draw(st.permutations(list(g.names)))
    kx = draw(st.integers(1, max_treatments))
    ky = draw(st.integers(1, max_outcomes))
    return g, list(names[:kx]), list(names[kx : kx + ky])
