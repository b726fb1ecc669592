"""Causal and biasing paths: known graphs, and every path of random small ADMGs against the paths of
their canonical DAGs (each bidirected edge a latent fork) with the textbook blocking rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.graph import GraphError, parse_dagitty
from core.graph.adjustment import minimal_adjustment_sets
from core.graph.paths import paths_between
from tests.core.graph.brute_force import Dag
from tests.core.graph.strategies import quick, small_admgs, thorough


def test_confounded_mediation():
    g = parse_dagitty("dag { X -> M -> Y ; X -> Y ; Z -> X ; Z -> Y ; X <-> W ; W -> Y }")
    report = paths_between(g, ["X"], ["Y"])
    assert [str(p) for p in report.causal] == ["X -> Y", "X -> M -> Y"]
    assert [str(p) for p in report.biasing] == ["X <- Z -> Y", "X <-> W -> Y"]
    assert report.complete and report.closed == []
    adjusted = paths_between(g, ["X"], ["Y"], ["Z", "W"])
    assert adjusted.biasing == [] and [str(p) for p in adjusted.closed] == ["X <- Z -> Y", "X <-> W -> Y"]
    roles = report.edge_roles()
    assert roles[("Z", "X", "directed")] == "biasing" and roles[("X", "M", "directed")] == "causal"
    assert roles[("X", "W", "bidirected")] == "biasing"
    (z_set,) = [s for s in minimal_adjustment_sets(g, ["X"], ["Y"])]
    assert all(p.blocked_by(g, z_set) for p in report.biasing)


def test_collider_paths_open_only_when_adjusted():
    g = parse_dagitty("dag { A -> X -> Y ; A -> M ; B -> M ; B -> Y }")
    path = "X <- A -> M <- B -> Y"
    assert [str(p) for p in paths_between(g, ["X"], ["Y"]).closed] == [path]
    assert [str(p) for p in paths_between(g, ["X"], ["Y"], ["M"]).biasing] == [path]


def test_limit_and_bad_input():
    g = parse_dagitty("dag { X -> A1 -> Y ; X -> A2 -> Y ; X -> A3 -> Y ; X -> Y }")
    report = paths_between(g, ["X"], ["Y"], limit=2)
    assert len(report.paths) == 2 and not report.complete
    with pytest.raises(GraphError, match="unknown node 'Q' in the adjusted set"):
        paths_between(g, ["X"], ["Y"], ["Q"])
    with pytest.raises(GraphError, match="the path limit must be at least 1"):
        paths_between(g, ["X"], ["Y"], limit=0)


def _as_admg_path(dag_path, latent):
    """A canonical-DAG path written in the ADMG's terms: ``a <- U -> b`` becomes ``a <-> b``."""
    nodes, steps = [dag_path[0][0]], []
    i = 0
    while i < len(dag_path):
        a, b, mark = dag_path[i]
        if b in latent:
            nodes.append(dag_path[i + 1][1])
            steps.append("<->")
            i += 2
        else:
            nodes.append(b)
            steps.append(mark)
            i += 1
    out = nodes[0]
    for s, n in zip(steps, nodes[1:], strict=True):
        out += f" {s} {n}"
    return out


def check_paths(g, data):
    names = list(g.names)
    x = data.draw(st.sampled_from(names))
    y = data.draw(st.sampled_from([v for v in names if v != x]))
    z = [v for v in names if v not in (x, y) and data.draw(st.booleans())]
    dag = Dag.canonical(g)
    want = {_as_admg_path(p, dag.latent): not dag.blocked(p, set(z)) for p in dag.paths(x, y)}
    report = paths_between(g, [x], [y], z, limit=100_000)  # dense 7-node graphs have thousands
    got = {str(p): o for p, o in zip(report.paths, report.open, strict=True)}
    assert report.complete and got == want, (g, x, y, z)
    for p in report.paths:
        assert p.causal == all(s == "->" for s in p.steps)


@quick(40)
@given(small_admgs(3, 6), st.data())
def test_paths_match_the_canonical_dag(g, data):
    check_paths(g, data)


@pytest.mark.slow
@thorough(500)
@given(small_admgs(3, 7), st.data())
def test_paths_on_hundreds_of_graphs(g, data):
    check_paths(g, data)
