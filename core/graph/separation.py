"""m-separation and minimal separators in ADMGs, on bitsets.

Node sets are Python ints (bit i = the i-th node of :class:`BitGraph`), so a set union is one ``|``.

m-connection (Bayes ball for mixed graphs): a walk from X reaches v with an arrowhead into v
(``a -> v``, ``a <-> v``) or with v's tail (``v -> a``, arrived at from a child).  It passes a
non-collider v when v is not in Z, and a collider (arrowheads on both sides) when v is in An(Z).
X and Y are m-separated by Z when no such walk reaches Y.

Separators (van der Zander, Liskiewicz & Textor 2019): a minimal separator of X and Y that
contains I lies inside A = An(X u Y u I), where Z m-separates X and Y exactly when it separates
them in the moral graph of G[A].  The moral graph here joins every node of a district D of G[A]
and of its parents pa(D) through one extra vertex per district (never part of a separator), so
it has |A| + #districts vertices and sum |D u pa(D)| edges, instead of cliques.

* :func:`find_minimal_separator`: one minimal separator (close the component of X, then of Y);
* :func:`list_minimal_separators`: all of them, with polynomial delay: a binary search over which
  side of the separator each boundary vertex lies on (Takata 2010), where a branch is kept only if
  the separator nearest to X that respects it exists (so every branch ends in an answer).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.graph.admg import ADMG


def bits(mask: int) -> Iterator[int]:
    """The indices of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def closure(start: int, step: list[int] | tuple[int, ...], within: int = -1) -> int:
    """``start`` and every node reached from it by ``step`` (a mask of next nodes per node) without
    leaving ``within``."""
    seen = start
    frontier = start
    while frontier:
        nxt = 0
        for i in bits(frontier):
            nxt |= step[i]
        frontier = nxt & within & ~seen
        seen |= frontier
    return seen


@dataclass(frozen=True, eq=False)
class BitGraph:
    """An ADMG's nodes numbered in graph order, with parents, children and siblings as bitmasks."""

    graph: ADMG
    names: tuple[str, ...]
    index: dict[str, int]
    pa: tuple[int, ...]
    ch: tuple[int, ...]
    sib: tuple[int, ...]

    @staticmethod
    def of(graph: ADMG) -> BitGraph:
        """The bitset view of ``graph`` (cached for the last few graphs)."""
        return _bit_graph(graph)

    @staticmethod
    def clear_cache() -> None:
        """Forget the cached bitset views (benchmarks time answers from a cold start with it)."""
        _bit_graph.cache_clear()

    @property
    def full(self) -> int:
        return (1 << len(self.names)) - 1

    def mask(self, names: Iterable[str]) -> int:
        out = 0
        for v in names:
            out |= 1 << self.index[v]
        return out

    def names_of(self, mask: int) -> tuple[str, ...]:
        """The nodes of ``mask`` in graph order."""
        return tuple(self.names[i] for i in bits(mask))

    def ancestors(self, mask: int, within: int = -1) -> int:
        return closure(mask, self.pa, within)

    def descendants(self, mask: int, within: int = -1) -> int:
        return closure(mask, self.ch, within)

    def district(self, mask: int, within: int = -1) -> int:
        return closure(mask, self.sib, within)

    def parents_of(self, mask: int) -> int:
        out = 0
        for i in bits(mask):
            out |= self.pa[i]
        return out

    def children_of(self, mask: int) -> int:
        out = 0
        for i in bits(mask):
            out |= self.ch[i]
        return out

    def siblings_of(self, mask: int) -> int:
        out = 0
        for i in bits(mask):
            out |= self.sib[i]
        return out

    def without_edges_out_of(self, mask: int, into: int = -1) -> BitGraph:
        """The graph with the directed edges from ``mask`` into ``into`` removed (all of them by default)."""
        ch = tuple(c & ~into if (mask >> i) & 1 else c for i, c in enumerate(self.ch))
        pa = tuple(p & ~mask if (into >> i) & 1 else p for i, p in enumerate(self.pa))
        return BitGraph(self.graph, self.names, self.index, pa, ch, self.sib)

    def without_edges_into(self, mask: int) -> BitGraph:
        """Graph surgery for do(mask): the directed and bidirected edges into ``mask`` removed."""
        pa = tuple(0 if (mask >> i) & 1 else p for i, p in enumerate(self.pa))
        ch = tuple(c & ~mask for c in self.ch)
        sib = tuple(0 if (mask >> i) & 1 else s & ~mask for i, s in enumerate(self.sib))
        return BitGraph(self.graph, self.names, self.index, pa, ch, sib)


@functools.lru_cache(maxsize=8)
def _bit_graph(graph: ADMG) -> BitGraph:
    names = graph.names
    index = {v: i for i, v in enumerate(names)}

    def mask(vs: Iterable[str]) -> int:
        out = 0
        for v in vs:
            out |= 1 << index[v]
        return out

    return BitGraph(graph, names, index, tuple(mask(graph.parents(v)) for v in names),
                    tuple(mask(graph.children(v)) for v in names), tuple(mask(graph.siblings(v)) for v in names))


# --------------------------------------------------------------------------------------------------
# m-connection


def m_connected_to(g: BitGraph, xs: int, zs: int) -> int:
    """Every node that some m-connecting walk from ``xs`` given ``zs`` reaches (``xs`` not included
    unless a walk returns to it)."""
    an_z = g.ancestors(zs)
    head = tail = 0  # reached with an arrowhead into the node / at the node's tail
    new_head, new_tail = g.children_of(xs) | g.siblings_of(xs), g.parents_of(xs)
    while new_head or new_tail:
        new_head &= ~head
        new_tail &= ~tail
        head |= new_head
        tail |= new_tail
        next_head = next_tail = 0
        # Arrived at v's tail (from a child): v is a non-collider whatever comes next.
        for i in bits(new_tail & ~zs):
            next_head |= g.ch[i] | g.sib[i]
            next_tail |= g.pa[i]
        # Arrived with an arrowhead: on through v's tail if v is not in Z; back through an arrowhead
        # (v a collider) if v is in An(Z).
        for i in bits(new_head & ~zs):
            next_head |= g.ch[i]
        for i in bits(new_head & an_z):
            next_tail |= g.pa[i]
            next_head |= g.sib[i]
        new_head, new_tail = next_head, next_tail
    return head | tail


def m_separated(g: BitGraph, xs: int, ys: int, zs: int = 0) -> bool:
    """Whether ``zs`` m-separates ``xs`` and ``ys`` (sets that share a node are never separated)."""
    if xs & ys:
        return False
    return not (m_connected_to(g, xs & ~zs, zs) & ys)


def separated(graph: ADMG, xs: Iterable[str], ys: Iterable[str], zs: Iterable[str] = ()) -> bool:
    """Whether ``zs`` m-separates ``xs`` and ``ys`` in ``graph`` (node names; unknown ones refused)."""
    g = BitGraph.of(graph)
    x, y, z = (g.mask(graph.check_nodes(s, what)) for s, what in ((xs, "X"), (ys, "Y"), (zs, "Z")))
    return m_separated(g, x, y, z)


# --------------------------------------------------------------------------------------------------
# The moral graph of an ancestral set, and separators in it


@dataclass(frozen=True)
class MoralGraph:
    """The moral graph of G[A] for an ancestral set A: vertices 0..n-1 are the graph's nodes (only
    those of A have edges), n.. are one extra vertex per district D of G[A], joined to D u pa(D)."""

    adjacency: tuple[int, ...]
    nodes: int  # the mask of A

    def reach(self, start: int, avoid: int) -> int:
        """``start`` and every vertex reached from it without entering ``avoid``."""
        return closure(start, self.adjacency, ~avoid)

    def neighbours(self, mask: int) -> int:
        out = 0
        for i in bits(mask):
            out |= self.adjacency[i]
        return out & ~mask


def moral_graph(g: BitGraph, ancestral: int) -> MoralGraph:
    """The moral graph of G[ancestral] (``ancestral`` must be closed under parents)."""
    n = len(g.names)
    adjacency = [0] * n
    left = ancestral
    while left:
        first = left & -left
        district = g.district(first, ancestral)
        left &= ~district
        members = district | (g.parents_of(district) & ancestral)
        aux = len(adjacency)
        adjacency.append(members)
        for i in bits(members):
            adjacency[i] |= 1 << aux
    return MoralGraph(tuple(adjacency), ancestral)


def find_minimal_separator(g: BitGraph, xs: int, ys: int, include: int = 0, allowed: int = -1) -> int | None:
    """A minimal m-separator Z of ``xs`` and ``ys`` with ``include`` <= Z <= ``allowed`` (minimal: no
    smaller such set separates), or None when no such set separates them."""
    if xs & ys or (include & (xs | ys)):
        return None
    ancestral = g.ancestors(xs | ys | include)
    moral = moral_graph(g, ancestral)
    candidates = (allowed & ancestral & g.full & ~(xs | ys)) | include
    if moral.reach(xs, candidates) & ys:
        return None
    near_x = moral.neighbours(moral.reach(xs, candidates)) & candidates & ~include
    return (moral.neighbours(moral.reach(ys, near_x | include)) & near_x) | include


def list_minimal_separators(
    g: BitGraph, xs: int, ys: int, include: int = 0, allowed: int = -1, limit: int | None = None
) -> list[int]:
    """Every minimal m-separator Z of ``xs`` and ``ys`` with ``include`` <= Z <= ``allowed``, each
    once (at most ``limit`` of them), in a fixed order."""
    if xs & ys or (include & (xs | ys)):
        return []
    ancestral = g.ancestors(xs | ys | include)
    moral = moral_graph(g, ancestral)
    allowed &= ancestral & g.full & ~(xs | ys | include)
    return list(_minimal_vertex_separators(moral, xs, ys, allowed, include, limit))


def _minimal_vertex_separators(
    moral: MoralGraph, xs: int, ys: int, allowed: int, removed: int, limit: int | None
) -> Iterator[int]:
    """Minimal (xs, ys)-vertex separators S <= ``allowed`` in the moral graph with the vertices of
    ``removed`` deleted, each yielded as S | removed.

    A state is (A, T): A must lie on X's side of the separator, T must not.  Closing A (adding every
    vertex reachable from it through vertices that cannot be in S) leaves N(A) <= allowed; the
    separator nearest to X that keeps A on X's side is S* = N(C_Y), with C_Y the component of Y in
    the graph minus N(A), and every minimal separator with A on X's side has X's component
    containing that of S*.  So a state has answers iff X's component of S* avoids T; then either
    every vertex of S* is in T (S* is the only answer) or a vertex v of S* not in T splits the
    state into v on X's side, or v in the separator (added to T)."""
    found = 0
    stack = [(xs, 0)]
    while stack:
        a_side, not_a_side = stack.pop()
        a_side = moral.reach(a_side, allowed | removed)
        if a_side & (ys | not_a_side):
            continue
        boundary = moral.neighbours(a_side) & ~removed
        y_side = moral.reach(ys, boundary | removed)
        nearest = moral.neighbours(y_side) & boundary
        x_side = moral.reach(xs, nearest | removed)
        if x_side & not_a_side:
            continue
        open_vertices = nearest & ~not_a_side
        if not open_vertices:
            yield nearest | removed
            found += 1
            if limit is not None and found >= limit:
                return
            continue
        v = open_vertices & -open_vertices
        stack.append((x_side, not_a_side | v))  # v in the separator (explored second)
        stack.append((x_side | v, not_a_side))  # v on X's side (explored first)
