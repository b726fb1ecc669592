"""What an ADMG claims about the observed distribution: conditional independences (m-separation)
and, beyond DAGitty, the equality (Verma) constraints that hidden confounders leave behind.

Independences, in two lists like DAGitty's:

* ``missing_edge`` (default): for each pair u, v that no edge joins (u before v in the topological
  order), one statement u _||_ v | Z with Z minimal, when any set separates them.  Z starts as the
  Markov blanket of v in A = An({u, v}): mb(v, A) = dis(v) u pa(dis(v)) minus v, the district taken
  in G[A].  v has no children in A, so u _||_ v | mb(v, A) holds whenever u is outside mb(v, A)
  (the ordered local Markov property of ADMGs, Richardson 2003); when u is inside, u and v are
  collider-connected within An({u, v}) and no set separates them.  Z is then trimmed to a minimal
  separator inside A.  For a DAG, mb(v, A) = pa(v).
* ``basis``: one statement per node v, v _||_ nd(v) \\ mb | mb with mb = mb(v, nd(v) u {v}) (for a
  DAG, DAGitty's local Markov basis v _||_ nd(v) \\ pa(v) | pa(v)).

Verma constraints (Tian & Pearl 2002), where this derivation finds them: for each node v in
topological order, with V_i the nodes up to v, take S the district of v in G[V_i]; D = the
ancestors of v in G[S]; S' the district of v in G[D].  When D != S, the c-factor Q[S'] (an
expression in the observed distribution, :func:`core.evidence.formulas.c_factor_estimand`) depends
on S' u pa(S') only, while the expression is written in all of V_i but S \\ D.  The constraint is
reported for the nodes W of V_i \\ (S \\ D) \\ (S' u pa(S')) that no set m-separates from v (for the
others the independences already say it).  The napkin W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y gives the classic one:
sum_w1 P(y | x, w1, w2) P(x | w1, w2) P(w1) / sum_w1 P(x | w1, w2) P(w1) does not depend on w2.
This is one pass of Tian & Pearl's recursion, not all of it: graphs may imply more constraints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.graph.admg import ADMG
from core.graph.node import GraphError
from core.graph.separation import BitGraph, bits, closure, find_minimal_separator

Kind = Literal["missing_edge", "basis"]
KINDS: tuple[Kind, ...] = ("missing_edge", "basis")


@dataclass(frozen=True)
class Independence:
    """``left`` _||_ ``right`` | ``given``: every distribution of the graph's models satisfies it."""

    left: tuple[str, ...]
    right: tuple[str, ...]
    given: tuple[str, ...]

    def __str__(self) -> str:
        text = f"{', '.join(self.left)} _||_ {', '.join(self.right)}"
        return text + (f" | {', '.join(self.given)}" if self.given else "")

    def pairs(self) -> list[tuple[str, str]]:
        """The pairwise statements it implies (decomposition): (a, b) for a in left, b in right."""
        return [(a, b) for a in self.left for b in self.right]


@dataclass(frozen=True)
class VermaConstraint:
    """Q[target_district] computed from P over ``order`` does not depend on ``free_of``.

    ``order``: the ancestral prefix V_1..V_i in topological order (``node`` is V_i);
    ``district``: S, the district of ``node`` in G[order]; ``ancestral``: D, the ancestors of
    ``node`` in G[S]; ``target_district``: S', the district of ``node`` in G[D]; ``depends_on``:
    S' u pa(S'), the only arguments Q[S'] has."""

    node: str
    order: tuple[str, ...]
    district: tuple[str, ...]
    ancestral: tuple[str, ...]
    target_district: tuple[str, ...]
    depends_on: tuple[str, ...]
    free_of: tuple[str, ...]

    def __str__(self) -> str:
        return (f"Q[{', '.join(self.target_district)}]({', '.join(self.depends_on)}) "
                f"does not depend on {', '.join(self.free_of)}")


def implied_independencies(graph: ADMG, kind: Kind = "missing_edge") -> list[Independence]:
    """The independences the graph implies, as a list of the given ``kind`` (module docstring)."""
    if kind not in KINDS:
        raise GraphError(f"unknown kind of implication list {kind!r} (one of {', '.join(KINDS)})")
    g = BitGraph.of(graph)
    return _missing_edge_list(g) if kind == "missing_edge" else _basis_list(g)


def _topological(g: BitGraph) -> list[int]:
    return [g.index[v] for v in g.graph.topological_order()]


def markov_blanket(g: BitGraph, v: int, ancestral: int) -> int:
    """mb(v, A) = dis(v) u pa(dis(v)) minus v, the district and parents taken in G[A]."""
    district = closure(1 << v, g.sib, ancestral)
    return (district | (g.parents_of(district) & ancestral)) & ~(1 << v)


def separable(g: BitGraph, u: int, v: int) -> bool:
    """Whether some set m-separates the non-adjacent nodes u and v (u not a descendant of v)."""
    ancestral = g.ancestors((1 << u) | (1 << v))
    return not (markov_blanket(g, v, ancestral) >> u) & 1


def _missing_edge_list(g: BitGraph) -> list[Independence]:
    order = _topological(g)
    ancestors = [g.ancestors(1 << i) for i in range(len(g.names))]
    adjacent = [g.pa[i] | g.ch[i] | g.sib[i] for i in range(len(g.names))]
    out = []
    for j, v in enumerate(order):
        for u in order[:j]:
            if (adjacent[v] >> u) & 1:
                continue
            ancestral = ancestors[u] | ancestors[v]
            blanket = markov_blanket(g, v, ancestral)
            if (blanket >> u) & 1:
                continue  # collider-connected: no set separates them
            z = find_minimal_separator(g, 1 << u, 1 << v, 0, blanket)
            assert z is not None, "the Markov blanket separates, so a subset does"
            out.append(Independence((g.names[u],), (g.names[v],), g.names_of(z)))
    return out


def _basis_list(g: BitGraph) -> list[Independence]:
    out = []
    for v in _topological(g):
        non_descendants = g.full & ~g.descendants(1 << v)
        blanket = markov_blanket(g, v, non_descendants | (1 << v))
        rest = non_descendants & ~blanket
        if rest:
            out.append(Independence((g.names[v],), g.names_of(rest), g.names_of(blanket)))
    return out


def verma_constraints(graph: ADMG) -> list[VermaConstraint]:
    """The equality constraints one pass of Tian & Pearl's c-factor recursion finds (module docstring)."""
    g = BitGraph.of(graph)
    order = _topological(g)
    out = []
    prefix = 0
    for i, v in enumerate(order):
        prefix |= 1 << v
        district = closure(1 << v, g.sib, prefix)
        ancestral = closure(1 << v, g.pa, district)
        if ancestral == district:
            continue
        target = closure(1 << v, g.sib, ancestral)
        depends_on = target | g.parents_of(target)
        mentioned = prefix & ~(district & ~ancestral)  # what the expression of Q[S'] is written in
        free = [w for w in bits(mentioned & ~depends_on) if not _separable_pair(g, w, v)]
        if free:
            out.append(VermaConstraint(
                node=g.names[v],
                order=tuple(g.names[w] for w in order[: i + 1]),
                district=g.names_of(district),
                ancestral=g.names_of(ancestral),
                target_district=g.names_of(target),
                depends_on=g.names_of(depends_on),
                free_of=tuple(g.names[w] for w in free),
            ))
    return out


def _separable_pair(g: BitGraph, a: int, b: int) -> bool:
    """Whether some set m-separates a and b (never when they are adjacent)."""
    if ((g.pa[a] | g.ch[a] | g.sib[a]) >> b) & 1:
        return False
    ancestral = g.ancestors((1 << a) | (1 << b))
    descendant_of_a = (g.descendants(1 << a) >> b) & 1
    later, earlier = (b, a) if descendant_of_a else (a, b) if (g.descendants(1 << b) >> a) & 1 else (b, a)
    return not (markov_blanket(g, later, ancestral) >> earlier) & 1
