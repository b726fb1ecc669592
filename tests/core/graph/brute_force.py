"""Reference answers by exhaustive enumeration, sharing no code with core.graph's algorithms.

Everything is decided on the canonical DAG of an ADMG (one explicit latent parent per bidirected
edge) by listing every simple path of its skeleton and applying the textbook definitions:

* a path is blocked by Z when one of its non-colliders is in Z or one of its colliders has no
  descendant in Z; d-separation means every path between the two sets is blocked;
* the adjustment criterion (Shpitser, VanderWeele & Robins 2010; Perkovic et al. 2018), sound and
  complete for DAGs with latent variables: no node of Z is a descendant, in G with the edges into
  X cut, of a node outside X on a proper causal path, and every proper non-causal path from X to
  Y is blocked by Z;
* the conditional instrument (Brito & Pearl 2002; van der Zander, Textor & Liskiewicz 2015) and the
  front-door criterion (Pearl 1995), written out path by path.

Only for small graphs: the number of paths grows exponentially.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.graph import ADMG

Step = tuple[str, str, str]  # (from, to, mark): mark "->" (from causes to) or "<-" (to causes from)


@dataclass(frozen=True, eq=False)
class Dag:
    """A DAG as parent sets; ``latent`` nodes are the explicit confounders of bidirected edges."""

    parents: dict[str, frozenset[str]]
    latent: frozenset[str]

    @functools.cached_property
    def _children(self) -> dict[str, frozenset[str]]:
        return {v: frozenset(c for c, ps in self.parents.items() if v in ps) for v in self.parents}

    @functools.cached_property
    def _below(self) -> dict[str, frozenset[str]]:
        return {v: frozenset(self.descendants([v])) for v in self.parents}

    @staticmethod
    def canonical(g: ADMG) -> Dag:
        parents = {v: set(g.parents(v)) for v in g.names}
        latent = set()
        for a, b in g.bidirected:
            u = f"U[{a},{b}]"
            latent.add(u)
            parents[u] = set()
            parents[a].add(u)
            parents[b].add(u)
        return Dag({v: frozenset(p) for v, p in parents.items()}, frozenset(latent))

    def children(self, v: str) -> frozenset[str]:
        return self._children[v]

    def descendants(self, vs: Iterable[str], cut_into: frozenset[str] = frozenset()) -> set[str]:
        """``vs`` and everything below them (edges into ``cut_into`` removed)."""
        out, stack = set(vs), list(vs)
        while stack:
            v = stack.pop()
            for c in self.children(v):
                if c not in out and c not in cut_into:
                    out.add(c)
                    stack.append(c)
        return out

    def ancestors(self, vs: Iterable[str]) -> set[str]:
        out, stack = set(vs), list(vs)
        while stack:
            v = stack.pop()
            for p in self.parents[v]:
                if p not in out:
                    out.add(p)
                    stack.append(p)
        return out

    def paths(self, a: str, b: str) -> Iterator[list[Step]]:
        """Every simple path from a to b in the skeleton, as steps with their edge marks."""

        def extend(path: list[Step], seen: set[str]) -> Iterator[list[Step]]:
            here = path[-1][1] if path else a
            if here == b:
                yield list(path)
                return
            for nxt in sorted(self.children(here) | self.parents[here]):
                if nxt in seen:
                    continue
                mark = "->" if nxt in self.children(here) else "<-"
                path.append((here, nxt, mark))
                seen.add(nxt)
                yield from extend(path, seen)
                seen.discard(nxt)
                path.pop()

        yield from extend([], {a})

    def blocked(self, path: list[Step], z: set[str]) -> bool:
        """Whether ``z`` blocks ``path`` (textbook rule, descendants by enumeration)."""
        for (_, mid, first), (_, _, second) in zip(path, path[1:], strict=False):
            collider = first == "->" and second == "<-"
            if collider:
                if not (self._below[mid] & z):
                    return True
            elif mid in z:
                return True
        return False

    def d_separated(self, xs: Iterable[str], ys: Iterable[str], z: Iterable[str]) -> bool:
        zs = set(z)
        return all(self.blocked(p, zs) for x in xs for y in ys for p in self.paths(x, y))


def adjustment_valid(g: ADMG, x: list[str], y: list[str], z: Iterable[str]) -> bool:
    """The adjustment criterion for Z (observed nodes, disjoint from x and y) on the canonical DAG."""
    dag = Dag.canonical(g)
    zs, xs = set(z), set(x)
    on_causal_paths: set[str] = set()
    for a in x:
        for b in y:
            for p in dag.paths(a, b):
                nodes = [s[1] for s in p]
                if any(v in xs for v in nodes):
                    continue  # not proper
                if all(s[2] == "->" for s in p):
                    on_causal_paths |= set(nodes)
                elif not dag.blocked(p, zs):
                    return False
    forbidden = dag.descendants(on_causal_paths, cut_into=frozenset(xs))
    return not (zs & forbidden)


def all_adjustment_sets(g: ADMG, x: list[str], y: list[str]) -> list[frozenset[str]]:
    """Every valid adjustment set, by trying every subset of the other observed nodes."""
    rest = [v for v in g.names if v not in x and v not in y]
    return [frozenset(c) for k in range(len(rest) + 1) for c in itertools.combinations(rest, k)
            if adjustment_valid(g, x, y, c)]


def inclusion_minimal(sets: list[frozenset[str]]) -> set[frozenset[str]]:
    return {s for s in sets if not any(t < s for t in sets)}


def conditional_instrument(g: ADMG, x: str, y: str, z: str, w: Iterable[str], ancestral: bool = False) -> bool:
    """Z is an instrument for x -> y given W (the definition DAGitty implements): W holds no
    descendant of y and no node on a proper causal path from x to y; Z is d-connected to x given W;
    and Z is d-separated from y given W once the first edge of every proper causal path is removed.
    With ``ancestral``, W must also lie among the ancestors of y and Z in that graph (an ancestral
    instrument, the kind DAGitty lists)."""
    dag = Dag.canonical(g)
    ws = set(w)
    if z in ws or x in ws or y in ws:
        return False
    on_causal: set[str] = set()
    for p in dag.paths(x, y):
        if all(s[2] == "->" for s in p):
            on_causal |= {s[1] for s in p}
    if ws & (dag.descendants([y]) | on_causal):
        return False
    first_edges = {(x, p[0][1]) for p in dag.paths(x, y) if all(s[2] == "->" for s in p)}
    cut = Dag({v: frozenset(q for q in ps if (q, v) not in first_edges) for v, ps in dag.parents.items()}, dag.latent)
    if ancestral and not ws <= cut.ancestors([y, z]):
        return False
    if dag.d_separated([z], [x], ws):
        return False
    return cut.d_separated([z], [y], ws)


def front_door(g: ADMG, x: list[str], y: list[str], z: Iterable[str]) -> bool:
    """Pearl's front-door criterion for Z, path by path: (i) every directed path from X to Y meets
    Z; (ii) no back-door path from X to Z that meets X only at its start is open (given nothing);
    (iii) every back-door path from Z to Y is blocked by X."""
    dag = Dag.canonical(g)
    zs, xs = set(z), set(x)
    if not zs or zs & (xs | set(y)):
        return False
    for a in x:
        for b in y:
            for p in dag.paths(a, b):
                if all(s[2] == "->" for s in p) and not ({s[1] for s in p} & zs):
                    return False
    for a in x:
        for c in zs:
            for p in dag.paths(a, c):
                proper = not any(s[1] in xs for s in p)
                if proper and p[0][2] == "<-" and not dag.blocked(p, set()):
                    return False
    for c in zs:
        for b in y:
            for p in dag.paths(c, b):
                if p[0][2] == "<-" and not dag.blocked(p, xs):
                    return False
    return True
