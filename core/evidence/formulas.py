"""The estimands that graph answers stand for, as :mod:`core.identify.estimand` trees beside ID's.

* adjustment for Z:  P(y | do(x)) = sum_z P(y | x, z) P(z)           (Z empty: P(y | x));
* front door by Z:   P(y | do(x)) = sum_z P(z | x) sum_x' P(y | x', z) P(x');
* a Verma constraint (:class:`core.graph.implications.VermaConstraint`): the c-factor Q[S'] of
  Tian & Pearl (2002), built from the observational distribution, is a function of S' and its
  parents only, so evaluated at any value of the constraint's other arguments it must not change.

Q[S] for the district S of the last node of an ancestral prefix V_1..V_i is prod_{v_j in S}
P(v_j | V_1..V_{j-1}); summing out S \\ D for an ancestral set D of G[S] gives Q[D]; the district S'
of G[D] holding the node has Q[S'] = prod_{v_j in S'} Q[D_j] / Q[D_{j-1}] with D_j the first j
nodes of D and Q[D_j] = sum_{D \\ D_j} Q[D].
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.graph.implications import VermaConstraint
from core.identify.estimand import Estimand, fraction_of, p, product_of, sum_of


def adjustment_estimand(treatment: Iterable[str], outcome: Iterable[str], adjust: Iterable[str]) -> Estimand:
    """sum_z P(outcome | treatment, z) P(z): the adjustment formula for the set ``adjust``."""
    x, y, z = list(treatment), list(outcome), list(adjust)
    if not z:
        return p(y, x)
    return sum_of(z, product_of([p(y, x + z), p(z)]))


def front_door_estimand(treatment: Iterable[str], outcome: Iterable[str], mediators: Iterable[str]) -> Estimand:
    """sum_z P(z | x) sum_x' P(y | x', z) P(x'): the front-door formula for the set ``mediators``."""
    x, y, z = list(treatment), list(outcome), list(mediators)
    inner = sum_of(x, product_of([p(y, x + z), p(x)]))
    return sum_of(z, product_of([p(z, x), inner]))


def c_factor_estimand(constraint: VermaConstraint) -> Estimand:
    """Q[S'] of a Verma constraint as an estimand over the observational distribution; its free
    variables are S' u pa(S') and the constraint's ``free_of`` nodes, on which it must not depend."""
    prefix = list(constraint.order)
    position = {v: i for i, v in enumerate(prefix)}
    district = sorted(constraint.district, key=position.__getitem__)
    q_s = product_of([p([v], prefix[: position[v]]) for v in district])
    q_d = sum_of([v for v in district if v not in constraint.ancestral], q_s)
    d_order = sorted(constraint.ancestral, key=position.__getitem__)
    factors: list[Estimand] = []
    for j, v in enumerate(d_order):
        if v not in constraint.target_district:
            continue
        upto = _marginal(q_d, d_order, j + 1)
        factors.append(upto if j == 0 else fraction_of(upto, _marginal(q_d, d_order, j)))  # Q[D_0] = 1
    return product_of(factors)


def _marginal(q_d: Estimand, d_order: Sequence[str], keep: int) -> Estimand:
    """Q[D_keep] = sum over the nodes of D after the first ``keep`` of Q[D]."""
    return sum_of(list(d_order[keep:]), q_d)
