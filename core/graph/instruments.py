"""Instrumental variables, conditional ones included, for the effect of one node on another: the
list DAGitty's ``instrumentalVariables`` gives (van der Zander, Textor & Liskiewicz 2015).

Z is an instrument for x -> y given a set W when

1. W holds no descendant of y and no node on a proper causal path from x to y,
2. Z and x are m-connected given W, and
3. Z and y are m-separated given W in the proper back-door graph G_pbd (G without the first edge
   of every proper causal path from x to y; :mod:`core.graph.adjustment`).

Z is an instrument given some W among the ancestors of y and Z in G_pbd (an "ancestral
instrument") exactly when it is one given the minimal separator of y and Z in G_pbd nearest to y,
among the nodes allowed by 1; so one W is tried per candidate.  Like DAGitty, the list leaves out
instruments that only a W outside those ancestors makes (conditioning on a common effect to tie Z
to x).  Instruments identify the effect under extra assumptions (linearity, or bounds), not
non-parametrically; the list says where to look.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.graph.adjustment import adjustment_problem
from core.graph.admg import ADMG
from core.graph.separation import find_minimal_separator, m_separated


@dataclass(frozen=True)
class Instrument:
    """``instrument`` is an instrumental variable for the effect, given the nodes ``given``."""

    instrument: str
    given: tuple[str, ...]

    def __str__(self) -> str:
        return self.instrument + (f" | {', '.join(self.given)}" if self.given else "")


def conditional_instruments(graph: ADMG, treatment: str, outcome: str) -> list[Instrument]:
    """Every node that is an instrument for ``treatment`` -> ``outcome`` given some set, each with
    such a set (in graph order)."""
    problem = adjustment_problem(graph, [treatment], [outcome])
    g, pbd = problem.graph, problem.back_door
    x, y = problem.treatment, problem.outcome
    barred = pbd.descendants(y) | problem.causal | x | y
    out = []
    for i, name in enumerate(g.names):
        z = 1 << i
        if z & (x | y):
            continue
        w = find_minimal_separator(pbd, y, z, 0, g.full & ~(barred | z))
        if w is None or w & barred:
            continue
        if not m_separated(pbd, x, z, w):
            out.append(Instrument(name, g.names_of(w)))
    return out


def is_instrument(graph: ADMG, treatment: str, outcome: str, instrument: str, given: tuple[str, ...] = ()) -> bool:
    """Whether ``instrument`` is an instrument for ``treatment`` -> ``outcome`` given ``given``."""
    problem = adjustment_problem(graph, [treatment], [outcome])
    g, pbd = problem.graph, problem.back_door
    graph.check_nodes([instrument], "the instrument")
    w, z = g.mask(graph.check_nodes(given, "the conditioning set")), g.mask([instrument])
    barred = pbd.descendants(problem.outcome) | problem.causal | problem.treatment | z
    if w & barred:
        return False
    return not m_separated(pbd, problem.treatment, z, w) and m_separated(pbd, problem.outcome, z, w)
