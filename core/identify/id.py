"""Identification of P(y | do(x)) and P(y | do(x), z): Shpitser & Pearl's ID and IDC.

``identify(graph, treatment, outcome, given)`` returns an :class:`~core.estimand.Estimand` over the
observational distribution, or raises :class:`NotIdentifiable` carrying the hedge (F, F').

ID (Shpitser & Pearl 2006), with G the current graph over vertices V and Q the CURRENT distribution:

1. x empty:                      return sum_{V \\ y} Q
2. V != An(y):                   return ID(y, x n An(y), sum_{V \\ An(y)} Q, G[An(y)])
3. W = (V \\ x) \\ An(y) in G with edges into x cut, W nonempty:  return ID(y, x u W, Q, G)
4. C(G \\ x) = {S_1..S_k}, k > 1:  return sum_{V \\ (y u x)} prod_i ID(s_i, V \\ s_i, Q, G)
5. C(G \\ x) = {S} and C(G) = {V}: fail, the hedge is (F, F') = (V, S)
6. S is a district of G:         return sum_{S \\ y} prod_{v in S} Q(v | pred(v))
7. S inside the district S' of G: return ID(y, x n S', prod_{v in S'} Q(v | pred(v)), G[S'])

where pred(v) are the vertices before v in a topological order (those outside S' stay as fixed
values).  The one subtle point, and where y0 goes wrong: Q(v | pred) in lines 6 and 7 are
conditionals of the CURRENT distribution Q (after line 2 a marginal, after line 7 a product of
conditionals), never of the raw joint.  We keep Q as

* the observational marginal P(V) (until the first line 7); then Q(v | pred) = P(v | pred), or
* a chain prod_j f_j over members in topological order with some members summed out (line 2); then
  Q(v_i | pred_i) = sum_{D<i} prod_{j<=i} f_j / sum_{D<i} prod_{j<i} f_j over the summed members D<i
  before v_i, keeping only the factors linked to f_i through summed members (the rest cancels).

IDC (Shpitser & Pearl 2006b): a conditioning variable Z with (Y _||_ Z | X, z \\ Z) in G with edges
into X and out of Z cut moves into the intervention (rule 2 of do-calculus); what is left is
P_x(y, z) / sum_y P_x(y, z).

Every graph in the recursion is an induced subgraph of the input graph, so the recursion runs on
frozensets of names against the input's parent / sibling tables: no graph objects are built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import WorkbenchError
from core.graph import ADMG
from core.identify.estimand import ONE, Estimand, fraction_of, p, product_of, sum_of

Names = frozenset[str]


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


class _Hedge(Exception):
    """Raised by line 5 inside the recursion; turned into NotIdentifiable at the top."""

    def __init__(self, f: Names, f_prime: Names) -> None:
        super().__init__()
        self.f = f
        self.f_prime = f_prime


# --------------------------------------------------------------------------------------------------
# The input graph as lookup tables


@dataclass(frozen=True)
class _Tables:
    pa: dict[str, Names]
    sib: dict[str, Names]
    pos: dict[str, int]  # position in one fixed topological order

    @staticmethod
    def of(graph: ADMG) -> _Tables:
        return _Tables(
            {v: graph.parents(v) for v in graph.names},
            {v: graph.siblings(v) for v in graph.names},
            {v: i for i, v in enumerate(graph.topological_order())},
        )

    def sort(self, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(names, key=self.pos.__getitem__))


def ancestors_in(t: _Tables, vertices: Names, ys: Names) -> Names:
    """An(ys) in G[vertices], ys included."""
    seen = set(ys)
    stack = list(ys)
    pa = t.pa
    while stack:
        v = stack.pop()
        for u in pa[v]:
            if u in vertices and u not in seen:
                seen.add(u)
                stack.append(u)
    return frozenset(seen)


def ancestors_with_incoming_cut(t: _Tables, vertices: Names, ys: Names, xs: Names) -> Names:
    """An(ys) in G[vertices] with every edge into xs removed (the graph G_{bar x} of line 3)."""
    seen = set(ys)
    stack = [v for v in ys if v not in xs]
    pa = t.pa
    while stack:
        v = stack.pop()
        for u in pa[v]:
            if u in vertices and u not in seen:
                seen.add(u)
                if u not in xs:
                    stack.append(u)
    return frozenset(seen)


def districts_in(t: _Tables, vertices: Names) -> list[Names]:
    """C-components of G[vertices], ordered by their first vertex in topological order."""
    seen: set[str] = set()
    out: list[Names] = []
    sib = t.sib
    for v in t.sort(vertices):
        if v in seen:
            continue
        comp = {v}
        stack = [v]
        while stack:
            u = stack.pop()
            for w in sib[u]:
                if w in vertices and w not in comp:
                    comp.add(w)
                    stack.append(w)
        seen |= comp
        out.append(frozenset(comp))
    return out


# --------------------------------------------------------------------------------------------------
# The current distribution Q of the recursion


@dataclass(frozen=True)
class _Current:
    """Q over the current vertices.  ``chain is None``: Q = P(V), the observational marginal.
    Otherwise Q = sum_{summed} prod_j f_j, with ``chain`` the (member, f_member) pairs in
    topological order; every f_j is a conditional distribution of its member given earlier members
    and fixed values."""

    chain: tuple[tuple[str, Estimand], ...] | None = None
    summed: Names = frozenset()

    def as_estimand(self, t: _Tables, vertices: Names) -> Estimand:
        """Q itself, over ``vertices`` (for inspection and tests; the recursion never needs it whole)."""
        if self.chain is None:
            return p(t.sort(vertices))
        return sum_of(t.sort(self.summed), product_of([f for _, f in self.chain]))

    def marginalise(self, drop: Names) -> _Current:
        """Line 2: sum ``drop`` out of Q."""
        if self.chain is None:
            return self  # P(V) restricted to the new vertex set is exactly the marginal
        return _prune(self.chain, self.summed | drop)


def _prune(chain: tuple[tuple[str, Estimand], ...], summed: Names) -> _Current:
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
    return _Current(tuple(members), frozenset(summed & names))


def conditional_of_current(t: _Tables, q: _Current, vertices: Names, v: str) -> Estimand:
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


def marginal_of_current(t: _Tables, q: _Current, vertices: Names, keep: Names) -> Estimand:
    """sum_{vertices \\ keep} Q (line 1)."""
    if q.chain is None:
        return p(t.sort(keep))
    pruned = _prune(q.chain, q.summed | (vertices - keep))
    return sum_of(t.sort(pruned.summed), product_of([f for _, f in pruned.chain or ()]))


# --------------------------------------------------------------------------------------------------
# The lines of ID


def line1_no_intervention(t: _Tables, y: Names, q: _Current, vertices: Names) -> Estimand:
    return marginal_of_current(t, q, vertices, y)


def line4_factorise(t: _Tables, y: Names, x: Names, q: _Current, vertices: Names, parts: list[Names]) -> Estimand:
    factors = [_id(t, s, vertices - s, q, vertices) for s in parts]
    return sum_of(t.sort(vertices - (y | x)), product_of(factors))


def line6_district(t: _Tables, y: Names, q: _Current, vertices: Names, s: Names) -> Estimand:
    factors = [conditional_of_current(t, q, vertices, v) for v in t.sort(s)]
    return sum_of(t.sort(s - y), product_of(factors))


def line7_restrict(t: _Tables, q: _Current, vertices: Names, s_prime: Names) -> _Current:
    chain = tuple((v, conditional_of_current(t, q, vertices, v)) for v in t.sort(s_prime))
    return _Current(chain, frozenset())


def _id(t: _Tables, y: Names, x: Names, q: _Current | None, vertices: Names) -> Estimand:
    """The ID recursion.  With ``q`` None only the verdict is computed (no estimand is built), which
    is what is_identifiable() and the first pass of identify() use."""
    build = q is not None
    if not x:  # line 1
        return line1_no_intervention(t, y, q, vertices) if build else ONE
    anc = ancestors_in(t, vertices, y)
    if anc != vertices:  # line 2
        return _id(t, y, x & anc, q.marginalise(vertices - anc) if build else None, anc)
    w = (vertices - x) - ancestors_with_incoming_cut(t, vertices, y, x)
    if w:  # line 3
        return _id(t, y, x | w, q, vertices)
    parts = districts_in(t, vertices - x)
    if len(parts) > 1:  # line 4
        if build:
            return line4_factorise(t, y, x, q, vertices, parts)
        for s in parts:
            _id(t, s, vertices - s, None, vertices)
        return ONE
    s = parts[0]
    whole = districts_in(t, vertices)
    if len(whole) == 1:  # line 5
        raise _Hedge(vertices, s)
    if s in whole:  # line 6
        return line6_district(t, y, q, vertices, s) if build else ONE
    s_prime = next(d for d in whole if s <= d)  # line 7
    return _id(t, y, x & s_prime, line7_restrict(t, q, vertices, s_prime) if build else None, s_prime)


# --------------------------------------------------------------------------------------------------
# Public API


def _as_names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(dict.fromkeys(value))


def _fmt(t: _Tables | None, names: Iterable[str]) -> str:
    names = t.sort(names) if t is not None else sorted(names)
    return ", ".join(names)


def query_text(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> str:
    """'P(Y | do(X), Z)' for messages."""
    y, x, z = list(outcome), list(treatment), list(given)
    cond = []
    if x:
        cond.append(f"do({', '.join(x)})")
    cond += z
    return f"P({', '.join(y)} | {', '.join(cond)})" if cond else f"P({', '.join(y)})"


def validate_query(
    graph: ADMG, treatment: str | Iterable[str], outcome: str | Iterable[str], given: str | Iterable[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Check the query against the graph; returns (treatment, outcome, given) as tuples of names."""
    x, y, z = _as_names(treatment), _as_names(outcome), _as_names(given)
    graph.check_nodes(x, "treatment")
    graph.check_nodes(y, "outcome")
    graph.check_nodes(z, "given")
    if not y:
        raise WorkbenchError("the outcome is empty: name at least one outcome node")
    for a, b, what in ((x, y, "treatment and outcome"), (x, z, "treatment and given"), (y, z, "outcome and given")):
        both = [v for v in a if v in set(b)]
        if both:
            raise WorkbenchError(f"{', '.join(both)} cannot be both {what}")
    return x, y, z


def identify(
    graph: ADMG, treatment: str | Iterable[str], outcome: str | Iterable[str], given: str | Iterable[str] = ()
) -> Estimand:
    """An estimand for P(outcome | do(treatment), given) over the observational distribution.

    Raises NotIdentifiable (with ``.hedge`` and ``.reason``) when no such estimand exists, and a
    WorkbenchError for a malformed query (unknown node, empty outcome, overlapping sets).
    """
    x, y, z = validate_query(graph, treatment, outcome, given)
    t = _Tables.of(graph)
    if z:
        return _idc(graph, t, frozenset(y), frozenset(x), frozenset(z), (x, y, z))
    return _top_id(t, frozenset(y), frozenset(x), (x, y, z))


def is_identifiable(
    graph: ADMG, treatment: str | Iterable[str], outcome: str | Iterable[str], given: str | Iterable[str] = ()
) -> bool:
    """True when identify() would return an estimand."""
    x, y, z = validate_query(graph, treatment, outcome, given)
    try:
        if z:
            _idc(graph, _Tables.of(graph), frozenset(y), frozenset(x), frozenset(z), (x, y, z), build=False)
        else:
            _top_id(_Tables.of(graph), frozenset(y), frozenset(x), (x, y, z), build=False)
    except NotIdentifiable:
        return False
    return True


def _top_id(t: _Tables, y: Names, x: Names, query: tuple[tuple[str, ...], ...], build: bool = True) -> Estimand:
    vertices = frozenset(t.pos)
    try:
        # The verdict first: cheap, and it spares building estimands a hedge would throw away.
        _id(t, y, x, None, vertices)
        return _id(t, y, x, _Current(), vertices) if build else ONE
    except _Hedge as h:
        raise _not_identifiable(t, h, query) from None


def _not_identifiable(t: _Tables, h: _Hedge, query: tuple[tuple[str, ...], ...]) -> NotIdentifiable:
    x, y, z = query
    treated = h.f & set(x) or (h.f - h.f_prime)
    reason = (
        f"{query_text(x, y, z)} is not identifiable: {_fmt(t, treated)} and {_fmt(t, h.f_prime)} share "
        f"hidden confounders (the hedge F={{{_fmt(t, h.f)}}}, F'={{{_fmt(t, h.f_prime)}}}), so no amount of "
        f"observational data separates the effect of {', '.join(x)} from confounding"
    )
    return NotIdentifiable(reason, (frozenset(h.f), frozenset(h.f_prime)))


def _idc(
    graph: ADMG, t: _Tables, y: Names, x: Names, z: Names, query: tuple[tuple[str, ...], ...], build: bool = True
) -> Estimand:
    """IDC: move every conditioning variable that rule 2 allows into the intervention, then
    P_x(y, z) / sum_y P_x(y, z)."""
    cut_in = graph.do(x)
    for zi in t.sort(z):
        rest = z - {zi}
        if cut_in.remove_outgoing([zi]).m_separated(y, {zi}, x | rest):
            return _idc(graph, t, y, x | {zi}, rest, query, build)
    joint = _top_id(t, y | z, x, query, build)
    if not build:
        return ONE
    return fraction_of(joint, sum_of(t.sort(y), joint))
