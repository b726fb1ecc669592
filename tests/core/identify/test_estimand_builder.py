"""The estimand algebra of the ID recursion: conditionals of the CURRENT distribution Q."""

from __future__ import annotations

import numpy as np

from core.identify.estimand import fraction_of, p, sum_of
from core.identify.estimand_builder import CurrentDistribution, EstimandBuilder, conditional_of_current
from core.identify.recursion import Call, GraphTables
from core.worlds.discrete import napkin
from tests.core.identify.catalogue import CATALOGUE, graph


def test_conditionals_are_taken_of_the_current_distribution() -> None:
    """Q(v | pred) built by the recursion == the literal ratio sum_{later} Q / sum_{later, v} Q of the
    current distribution Q, here the napkin's line-7 product with W1 then summed out (line 2)."""
    g = graph(CATALOGUE["napkin"][0])
    t = GraphTables.of(g)
    everything = frozenset(g.names)
    s_prime = frozenset({"W1", "X", "Y"})
    call = Call(frozenset({"Y"}), frozenset({"X"}), CurrentDistribution(), everything)
    q7 = EstimandBuilder(t).restrict_to_district(call, s_prime)  # P(W1) P(X | W1, W2) P(Y | W1, W2, X)
    q2 = q7.marginalise(frozenset({"W1"}))  # line 2: W1 is not an ancestor of Y in G[{W1, X, Y}]
    vertices = frozenset({"X", "Y"})
    world = napkin(seed=1, alpha=0.3)
    joint = world.observed_joint()
    for current, verts in ((q7, s_prime), (q2, vertices)):
        whole = current.as_estimand(t, verts)
        order = t.sort(verts)
        for i, v in enumerate(order):
            later = list(order[i + 1 :])
            literal = fraction_of(sum_of(later, whole), sum_of(later + [v], whole))
            built = conditional_of_current(t, current, verts, v)
            cells = list(order[: i + 1]) + ["W2"]
            assert np.abs(built.table(joint, cells) - literal.table(joint, cells)).max() < 1e-12, (v, built.to_text())
    # and it is NOT the raw joint's P(Y | X) (the predecessors in the current graph), y0's napkin answer
    q_y = conditional_of_current(t, q2, vertices, "Y")
    raw = p(["Y"], ["X"])
    assert np.abs(q_y.table(joint, ["Y", "X"]) - raw.table(joint, ["Y", "X"])).max() > 0.05
