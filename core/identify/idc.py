"""IDC's rule-2 step (Shpitser & Pearl 2006b), shared by identification and ID-GEN.

A conditioning variable Z_i with (Y _||_ Z_i | X, Z \\ Z_i) in G with the edges into X and out of
Z_i cut (G_{bar X, underline Z_i}) moves into the intervention: P(y | do(x), z) = P(y | do(x, z_i),
z \\ z_i) (rule 2 of do-calculus).  What no rule moves stays conditioning, and the query becomes
P_x(y, z) / sum_y P_x(y, z).
"""

from __future__ import annotations

from core.graph import ADMG


def idc_reduce(
    graph: ADMG, y: frozenset[str], x: frozenset[str], z: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """(x', z'): every z that rule 2 moves, moved into the intervention.  The first movable z in
    topological order moves; the test restarts with the larger intervention until none moves."""
    x, z = set(x), set(z)
    moved = True
    while moved:
        moved = False
        cut_in = graph.do(x)
        for zi in graph.sort(z):
            if cut_in.remove_outgoing([zi]).m_separated(y, {zi}, x | (z - {zi})):
                x.add(zi)
                z.discard(zi)
                moved = True
                break
    return frozenset(x), frozenset(z)
