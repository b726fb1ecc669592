"""Front-door sets (Pearl 1995): Z identifies P(y | do(x)) = sum_z P(z | x) sum_x' P(y | x', z) P(x')
when

(i)   Z meets every directed path from X to Y,
(ii)  no back-door path from X to Z is open (given nothing): X and z are m-separated in G with the
      edges out of X cut, for every z in Z, and
(iii) X blocks every back-door path from Z to Y: z and Y are m-separated given X in G with the
      edges out of z cut, for every z in Z.

(ii) and (iii) hold node by node and (i) only gets easier for a larger Z, so a front-door set exists
iff the set of all nodes passing (ii) and (iii) meets every directed path; dropping nodes while (i)
still holds gives a minimal one (Jeong, Tian & Bareinboim 2022 list them all).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.graph.admg import ADMG
from core.graph.node import GraphError
from core.graph.separation import BitGraph, bits, closure, m_separated


@dataclass(frozen=True)
class FrontDoor:
    """A minimal front-door set, and the largest one (every node that may be in such a set)."""

    minimal: tuple[str, ...]
    largest: tuple[str, ...]


def _masks(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str]) -> tuple[BitGraph, int, int]:
    t, y = list(treatment), list(outcome)
    if not t or not y:
        raise GraphError("name at least one treatment and one outcome")
    graph.check_nodes(t, "the treatment")
    graph.check_nodes(y, "the outcome")
    g = BitGraph.of(graph)
    xs, ys = g.mask(t), g.mask(y)
    if xs & ys:
        raise GraphError(f"{', '.join(g.names_of(xs & ys))} cannot be both a treatment and an outcome")
    return g, xs, ys


def _eligible(g: BitGraph, xs: int, ys: int, z: int) -> bool:
    """Conditions (ii) and (iii) for the single node ``z``."""
    return (m_separated(g.without_edges_out_of(xs), xs, z, 0)
            and m_separated(g.without_edges_out_of(z), z, ys, xs))


def _intercepts(g: BitGraph, xs: int, ys: int, zs: int) -> bool:
    """Condition (i): no directed path from X to Y avoids Z."""
    return not (closure(g.children_of(xs) & ~zs, g.ch, ~zs) & ys)


def is_front_door_set(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str], mediators: Iterable[str]) -> bool:
    """Whether ``mediators`` satisfies the front-door criterion for the effect of ``treatment`` on ``outcome``."""
    g, xs, ys = _masks(graph, treatment, outcome)
    zs = g.mask(graph.check_nodes(mediators, "the front-door set"))
    if zs & (xs | ys):
        return False
    return _intercepts(g, xs, ys, zs) and all(_eligible(g, xs, ys, 1 << i) for i in bits(zs))


def front_door(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str]) -> FrontDoor | None:
    """A minimal and the largest front-door set for the effect, or None when there is none.  A
    treatment with no directed path to the outcome needs none (both sets empty)."""
    g, xs, ys = _masks(graph, treatment, outcome)
    largest = 0
    for i in bits(g.full & ~(xs | ys)):
        if _eligible(g, xs, ys, 1 << i):
            largest |= 1 << i
    if not _intercepts(g, xs, ys, largest):
        return None
    minimal = largest
    for i in reversed(list(bits(largest))):
        if _intercepts(g, xs, ys, minimal & ~(1 << i)):
            minimal &= ~(1 << i)
    return FrontDoor(g.names_of(minimal), g.names_of(largest))
