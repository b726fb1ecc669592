"""Identification of P(y | do(x)) and P(y | do(x), z): Shpitser & Pearl's ID, and IDC on top of it.

``identify(graph, treatment, outcome, given)`` returns an :class:`~core.identify.estimand.Estimand`
over the observational distribution, or raises :class:`~core.identify.recursion.NotIdentifiable`
carrying the hedge (F, F').  ID is :func:`core.identify.recursion.run_id` with the estimand algebra
(``estimand_builder``); a conditional query first moves what rule 2 allows into the intervention
(``idc.idc_reduce``) and is then P_x(y, z) / sum_y P_x(y, z).
"""

from __future__ import annotations

from core.graph import ADMG
from core.identify.estimand import Estimand, fraction_of, sum_of
from core.identify.estimand_builder import CurrentDistribution, EstimandBuilder
from core.identify.idc import idc_reduce
from core.identify.query import NameArg, Query
from core.identify.recursion import VERDICT, GraphTables, Names, NotIdentifiable, solve, start


def identify(graph: ADMG, treatment: NameArg, outcome: NameArg, given: NameArg = ()) -> Estimand:
    """An estimand for P(outcome | do(treatment), given) over the observational distribution.

    Raises NotIdentifiable (with ``.hedge`` and ``.reason``) when no such estimand exists, and a
    GraphError for a malformed query (unknown node, empty outcome, a node in two roles).
    """
    return identify_query(Query.of(graph, treatment, outcome, given))


def is_identifiable(graph: ADMG, treatment: NameArg, outcome: NameArg, given: NameArg = ()) -> bool:
    """True when identify() would return an estimand."""
    return query_is_identifiable(Query.of(graph, treatment, outcome, given))


def identify_query(query: Query) -> Estimand:
    """:func:`identify` for a query already made."""
    t = GraphTables.of(query.graph)
    y, x, z = query.outcome_set, query.treatment_set, query.given_set
    if not z:
        return _estimand(t, query, y, x)
    x, z = idc_reduce(query.graph, y, x, z)
    joint = _estimand(t, query, y | z, x)
    return fraction_of(joint, sum_of(t.sort(y), joint))


def query_is_identifiable(query: Query) -> bool:
    """:func:`is_identifiable` for a query already made."""
    try:
        require_identifiable(query)
    except NotIdentifiable:
        return False
    return True


def require_identifiable(query: Query) -> None:
    """Raise NotIdentifiable (with the hedge) where :func:`identify_query` would, building no estimand."""
    y, x, z = query.outcome_set, query.treatment_set, query.given_set
    if z:
        x, z = idc_reduce(query.graph, y, x, z)
    t = GraphTables.of(query.graph)
    solve(VERDICT, t, query, start(t, y | z, x, None))


def _estimand(t: GraphTables, query: Query, y: Names, x: Names) -> Estimand:
    """P_x(y) by ID.  The verdict first: cheap, and it spares building estimands a hedge would throw away."""
    solve(VERDICT, t, query, start(t, y, x, None))
    return solve(EstimandBuilder(t), t, query, start(t, y, x, CurrentDistribution()))
