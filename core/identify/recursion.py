"""Shpitser & Pearl's ID recursion, written once over an algebra: an estimand, a sampling plan, or a verdict.

ID (Shpitser & Pearl 2006), with G the current graph over vertices V and Q the CURRENT distribution:

1. x empty:                      return sum_{V \\ y} Q
2. V != An(y):                   return ID(y, x n An(y), sum_{V \\ An(y)} Q, G[An(y)])
3. W = (V \\ x) \\ An(y) in G with edges into x cut, W nonempty:  return ID(y, x u W, Q, G)
4. C(G \\ x) = {S_1..S_k}, k > 1:  return sum_{V \\ (y u x)} prod_i ID(s_i, V \\ s_i, Q, G)
5. C(G \\ x) = {S} and C(G) = {V}: fail, the hedge is (F, F') = (V, S)
6. S is a district of G:         return sum_{S \\ y} prod_{v in S} Q(v | pred(v))
7. S inside the district S' of G: return ID(y, x n S', prod_{v in S'} Q(v | pred(v)), G[S'])

The graph bookkeeping (which line applies, the sets it works on) is the same whatever Q stands for;
only what a line DOES with Q differs.  An :class:`IDAlgebra` says that: ``core.identify.estimand_builder``
builds an estimand over P(V) (Q a probability expression), ``core.idgen.compiler`` compiles a plan of
conditional generative models (Q a data set and the models trained on it), and :class:`Verdict` only
answers whether the recursion reaches line 5.  Each line is one small function below (``line_1`` ...
``line_7``, as in y0's ``identify/id_std.py``); :func:`run_id` walks them.

Every graph in the recursion is an induced subgraph of the input graph, so the bookkeeping runs on
frozensets of names against the input's parent / sibling tables (:class:`GraphTables`): no graph
objects are built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, NoReturn, Protocol, TypeVar

from core.errors import WorkbenchError
from core.graph import ADMG
from core.identify.query import Query, query_text

Names = frozenset[str]

State = TypeVar("State")
Result = TypeVar("Result")


class NotIdentifiable(WorkbenchError):
    """The query is not identifiable from P(V) in this graph.

    ``hedge`` is ``(F, F')``: two frozensets of node names, F' a subset of F, both single
    c-components (districts) rooted in ancestors of the outcome, F containing treated nodes and F'
    none.  Two models that differ only on F agree on P(V) but not on the effect.  ``reason`` is a
    plain-language sentence (also the exception's message).
    """

    def __init__(self, reason: str, hedge: tuple[Names, Names]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hedge = hedge


class Hedge(Exception):
    """Raised by line 5 inside the recursion; :func:`solve` turns it into NotIdentifiable."""

    def __init__(self, f: Names, f_prime: Names) -> None:
        super().__init__()
        self.f = f
        self.f_prime = f_prime


# --------------------------------------------------------------------------------------------------
# The input graph as lookup tables


@dataclass(frozen=True)
class GraphTables:
    """Parents, siblings and one fixed topological position of every node of the input graph."""

    pa: dict[str, Names]
    sib: dict[str, Names]
    pos: dict[str, int]
    vertices: Names  # every node: the vertex set of the first call

    @staticmethod
    def of(graph: ADMG) -> GraphTables:
        return GraphTables(
            {v: graph.parents(v) for v in graph.names},
            {v: graph.siblings(v) for v in graph.names},
            {v: i for i, v in enumerate(graph.topological_order())},
            frozenset(graph.names),
        )

    def sort(self, names: Iterable[str]) -> tuple[str, ...]:
        """``names`` in the input graph's topological order."""
        return tuple(sorted(names, key=self.pos.__getitem__))

    def ancestors(self, vertices: Names, ys: Names) -> Names:
        """An(ys) in G[vertices], ys included."""
        seen = set(ys)
        stack = list(ys)
        pa = self.pa
        while stack:
            v = stack.pop()
            for u in pa[v]:
                if u in vertices and u not in seen:
                    seen.add(u)
                    stack.append(u)
        return frozenset(seen)

    def ancestors_with_incoming_cut(self, vertices: Names, ys: Names, xs: Names) -> Names:
        """An(ys) in G[vertices] with every edge into xs removed (the graph G_{bar x} of line 3)."""
        seen = set(ys)
        stack = [v for v in ys if v not in xs]
        pa = self.pa
        while stack:
            v = stack.pop()
            for u in pa[v]:
                if u in vertices and u not in seen:
                    seen.add(u)
                    if u not in xs:
                        stack.append(u)
        return frozenset(seen)

    def districts(self, vertices: Names) -> list[Names]:
        """C-components of G[vertices], ordered by their first vertex in topological order."""
        seen: set[str] = set()
        out: list[Names] = []
        sib = self.sib
        for v in self.sort(vertices):
            if v in seen:
                continue
            component = {v}
            stack = [v]
            while stack:
                u = stack.pop()
                for w in sib[u]:
                    if w in vertices and w not in component:
                        component.add(w)
                        stack.append(w)
            seen |= component
            out.append(frozenset(component))
        return out


# --------------------------------------------------------------------------------------------------
# The interface


class Call(NamedTuple, Generic[State]):
    """One call ID(y, x, Q, G[vertices]) of the recursion: ``state`` is what the algebra keeps for Q.
    (A named tuple: the recursion makes many, and they are cheapest so.)"""

    outcome: Names
    treatment: Names
    state: State
    vertices: Names


class IDAlgebra(Protocol[State, Result]):
    """What the lines of ID do with the current distribution Q (held in ``Call.state``).

    Lines 3 and 5 touch only the graph, so they have no method here."""

    def marginal(self, call: Call[State]) -> Result:
        """Line 1: sum_{V \\ y} Q."""
        ...

    def drop_non_ancestors(self, call: Call[State], ancestors: Names) -> State:
        """Line 2: Q summed down to ``ancestors`` (the new vertex set)."""
        ...

    def factorise(self, call: Call[State], districts: Sequence[Names], factors: Sequence[Result]) -> Result:
        """Line 4: sum_{V \\ (y u x)} of the product of ``factors``, one per district of G \\ x."""
        ...

    def district(self, call: Call[State], district: Names) -> Result:
        """Line 6: sum_{S \\ y} prod_{v in S} Q(v | pred(v)) for ``district`` S, a district of G."""
        ...

    def restrict_to_district(self, call: Call[State], district: Names) -> State:
        """Line 7: prod_{v in S'} Q(v | pred(v)) over ``district`` S', the new vertex set."""
        ...


class Verdict:
    """The algebra that builds nothing: :func:`run_id` with it only finds out whether line 5 is reached."""

    def marginal(self, call: Call[None]) -> None:
        return None

    def drop_non_ancestors(self, call: Call[None], ancestors: Names) -> None:
        return None

    def factorise(self, call: Call[None], districts: Sequence[Names], factors: Sequence[None]) -> None:
        return None

    def district(self, call: Call[None], district: Names) -> None:
        return None

    def restrict_to_district(self, call: Call[None], district: Names) -> None:
        return None


VERDICT = Verdict()


# --------------------------------------------------------------------------------------------------
# The lines


def line_1(algebra: IDAlgebra[State, Result], call: Call[State]) -> Result:
    """x is empty: the marginal of Q over y."""
    return algebra.marginal(call)


def line_2(algebra: IDAlgebra[State, Result], call: Call[State], ancestors: Names) -> Call[State]:
    """Non-ancestors of y are summed out and leave the graph."""
    state = algebra.drop_non_ancestors(call, ancestors)
    return Call(call.outcome, call.treatment & ancestors, state, ancestors)


def line_3(call: Call[State], w: Names) -> Call[State]:
    """W, which reaches y only through x once x's incoming edges are cut, joins the intervention."""
    return Call(call.outcome, call.treatment | w, call.state, call.vertices)


def line_4(
    algebra: IDAlgebra[State, Result], tables: GraphTables, call: Call[State], districts: list[Names]
) -> Result:
    """G \\ x has several districts S_i: one recursion ID(s_i, V \\ s_i) each, then their product."""
    factors = [run_id(algebra, tables, Call(s, call.vertices - s, call.state, call.vertices)) for s in districts]
    return algebra.factorise(call, districts, factors)


def line_5(call: Call[State], district: Names) -> NoReturn:
    """G \\ x is the single district S and G is one district too: the hedge (G's vertices, S)."""
    raise Hedge(call.vertices, district)


def line_6(algebra: IDAlgebra[State, Result], call: Call[State], district: Names) -> Result:
    """S is a district of G: the product of Q's conditionals over S, summed over S \\ y."""
    return algebra.district(call, district)


def line_7(algebra: IDAlgebra[State, Result], call: Call[State], district: Names) -> Call[State]:
    """S lies inside the larger district S' of G: recurse on G[S'] with Q's conditionals over S'."""
    state = algebra.restrict_to_district(call, district)
    return Call(call.outcome, call.treatment & district, state, district)


def run_id(algebra: IDAlgebra[State, Result], tables: GraphTables, call: Call[State]) -> Result:
    """ID(y, x, Q, G[vertices]) with ``algebra``; raises Hedge at line 5.  Lines 2, 3 and 7 hand
    on a new call (a loop here, not a nested recursion); line 4 recurses once per district."""
    ancestors_of, ancestors_cut, districts_of = tables.ancestors, tables.ancestors_with_incoming_cut, tables.districts
    while True:
        y, x, _, vertices = call
        if not x:
            return line_1(algebra, call)
        ancestors = ancestors_of(vertices, y)
        if ancestors != vertices:
            call = line_2(algebra, call, ancestors)
            continue
        w = (vertices - x) - ancestors_cut(vertices, y, x)
        if w:
            call = line_3(call, w)
            continue
        districts = districts_of(vertices - x)
        if len(districts) > 1:
            return line_4(algebra, tables, call, districts)
        s = districts[0]
        whole = districts_of(vertices)
        if len(whole) == 1:
            line_5(call, s)
        if s in whole:
            return line_6(algebra, call, s)
        call = line_7(algebra, call, next(d for d in whole if s <= d))


def solve(algebra: IDAlgebra[State, Result], tables: GraphTables, query: Query, call: Call[State]) -> Result:
    """:func:`run_id` for one step of answering ``query``; a hedge becomes NotIdentifiable naming
    ``query`` (the whole query, also when ``call`` is the P_x(y, z) of its IDC step)."""
    try:
        return run_id(algebra, tables, call)
    except Hedge as hedge:
        raise not_identifiable(tables, hedge, query) from None


def not_identifiable(tables: GraphTables, hedge: Hedge, query: Query) -> NotIdentifiable:
    """The NotIdentifiable for ``query`` blocked by ``hedge``, its reason in one sentence."""
    x, y, z = query.treatment, query.outcome, query.given

    def listed(names: Iterable[str]) -> str:
        return ", ".join(tables.sort(names))

    treated = hedge.f & set(x) or (hedge.f - hedge.f_prime)
    reason = (
        f"{query_text(x, y, z)} is not identifiable: {listed(treated)} and {listed(hedge.f_prime)} share "
        f"hidden confounders (the hedge F={{{listed(hedge.f)}}}, F'={{{listed(hedge.f_prime)}}}), so no amount of "
        f"observational data separates the effect of {', '.join(x)} from confounding"
    )
    return NotIdentifiable(reason, (frozenset(hedge.f), frozenset(hedge.f_prime)))


def start(tables: GraphTables, outcome: Names, treatment: Names, state: State) -> Call[State]:
    """The first call ID(y, x, Q, G) on the whole input graph."""
    return Call(outcome, treatment, state, tables.vertices)
