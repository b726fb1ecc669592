"""The ID recursion's estimand algebra: Q is a probability expression over P(V), each line builds an Estimand.

The one subtle point, and where y0 goes wrong: Q(v | pred) in lines 6 and 7 are conditionals of the
CURRENT distribution Q (after line 2 a marginal, after line 7 a product of conditionals), never of
the raw joint.  :class:`CurrentDistribution` keeps Q as

* the observational marginal P(V) (until the first line 7); then Q(v | pred) = P(v | pred), or
* a chain prod_j f_j over members in topological order with some members summed out (line 2); then
  Q(v_i | pred_i) = sum_{D<i} prod_{j<=i} f_j / sum_{D<i} prod_{j<i} f_j over the summed members D<i
  before v_i, keeping only the factors linked to f_i through summed members (the rest cancels).

pred(v) are the vertices before v in the input graph's topological order (those outside the
current vertex set stay as fixed values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.identify.estimand import Estimand, fraction_of, p, product_of, sum_of
from core.identify.recursion import Call, GraphTables, Names

Chain = tuple[tuple[str, Estimand], ...]
"""(member, f_member) pairs in topological order: f_member is a conditional of the member given
earlier members and fixed values."""


@dataclass(frozen=True)
class CurrentDistribution:
    """Q over the current vertices.  ``chain is None``: Q = P(V), the observational marginal.
    Otherwise Q = sum_{summed} prod_j f_j over the ``chain``."""

    chain: Chain | None = None
    summed: Names = frozenset()

    def as_estimand(self, t: GraphTables, vertices: Names) -> Estimand:
        """Q itself, over ``vertices`` (for inspection and tests; the recursion never needs it whole)."""
        if self.chain is None:
            return p(t.sort(vertices))
        return sum_of(t.sort(self.summed), product_of([f for _, f in self.chain]))

    def marginalise(self, drop: Names) -> CurrentDistribution:
        """Line 2: sum ``drop`` out of Q."""
        if self.chain is None:
            return self  # P(V) restricted to the new vertex set is exactly the marginal
        return _prune(self.chain, self.summed | drop)


def _prune(chain: Chain, summed: Names) -> CurrentDistribution:
    """Drop summed members that no other factor mentions: sum_d f_d(d | ...) = 1."""
    members = list(chain)
    changed = True
    while changed:
        changed = False
        uses: dict[str, int] = {}
        for _, f in members:
            for v in f.free:
                uses[v] = uses.get(v, 0) + 1
        for k in range(len(members) - 1, -1, -1):
            v, f = members[k]
            if v in summed and uses.get(v, 0) == 1:  # only its own factor mentions it
                del members[k]
                for u in f.free:
                    uses[u] -= 1
                changed = True
    names = {v for v, _ in members}
    return CurrentDistribution(tuple(members), frozenset(summed & names))


def conditional_of_current(t: GraphTables, q: CurrentDistribution, vertices: Names, v: str) -> Estimand:
    """Q(v | the current vertices before v), built from the current distribution Q."""
    if q.chain is None:
        return p([v], t.sort(u for u in vertices if t.pos[u] < t.pos[v]))
    chain = q.chain
    i = next(k for k, (u, _) in enumerate(chain) if u == v)
    f_v = chain[i][1]
    before_summed = frozenset(u for u, _ in chain[:i] if u in q.summed)
    linked = f_v.free & before_summed
    if not linked:
        return f_v
    # Factors before v linked to f_v through summed members; everything else cancels in the ratio.
    taken: set[int] = set()
    grew = True
    while grew:
        grew = False
        for k in range(i):
            if k not in taken and chain[k][1].free & linked:
                taken.add(k)
                linked = linked | (chain[k][1].free & before_summed)
                grew = True
    factors = [chain[k][1] for k in sorted(taken)]
    over = t.sort(linked)
    return fraction_of(sum_of(over, product_of(factors + [f_v])), sum_of(over, product_of(factors)))


def marginal_of_current(t: GraphTables, q: CurrentDistribution, vertices: Names, keep: Names) -> Estimand:
    """sum_{vertices \\ keep} Q."""
    if q.chain is None:
        return p(t.sort(keep))
    pruned = _prune(q.chain, q.summed | (vertices - keep))
    return sum_of(t.sort(pruned.summed), product_of([f for _, f in pruned.chain or ()]))


class EstimandBuilder:
    """The :class:`~core.identify.recursion.IDAlgebra` whose results are estimands over P(V)."""

    def __init__(self, tables: GraphTables) -> None:
        self.tables = tables

    def marginal(self, call: Call[CurrentDistribution]) -> Estimand:
        return marginal_of_current(self.tables, call.state, call.vertices, call.outcome)

    def drop_non_ancestors(self, call: Call[CurrentDistribution], ancestors: Names) -> CurrentDistribution:
        return call.state.marginalise(call.vertices - ancestors)

    def factorise(self, call: Call[CurrentDistribution], districts: Sequence[Names],
                  factors: Sequence[Estimand]) -> Estimand:
        return sum_of(self.tables.sort(call.vertices - (call.outcome | call.treatment)), product_of(factors))

    def district(self, call: Call[CurrentDistribution], district: Names) -> Estimand:
        t = self.tables
        factors = [conditional_of_current(t, call.state, call.vertices, v) for v in t.sort(district)]
        return sum_of(t.sort(district - call.outcome), product_of(factors))

    def restrict_to_district(self, call: Call[CurrentDistribution], district: Names) -> CurrentDistribution:
        t = self.tables
        chain = tuple((v, conditional_of_current(t, call.state, call.vertices, v)) for v in t.sort(district))
        return CurrentDistribution(chain, frozenset())
