"""Covariate adjustment in ADMGs: is Z a valid adjustment set for the effect of X on Y, and every
minimal one (van der Zander, Liskiewicz & Textor 2019, the criterion DAGitty implements).

Z is an adjustment set for (X, Y) when P(y | do(x)) = sum_z P(y | x, z) P(z) in every model with
this graph.  The generalized adjustment criterion says when, with

* PCP(X, Y) = (De(X) in G with the edges into X cut, minus X) n (An(Y) in G with the edges out of
  X cut): the nodes other than X on proper causal paths (directed paths from X to Y that meet X
  only at their start);
* Forb(X, Y) = X u the descendants of PCP(X, Y) (in G with the edges into X cut);
* the proper back-door graph G_pbd: G without the first edge x -> w of every proper causal path
  (w in PCP(X, Y));

Z is valid iff Z n Forb(X, Y) is empty and Z m-separates X and Y in G_pbd.  The minimal valid sets
are therefore the minimal m-separators of X and Y in G_pbd among the nodes outside Forb(X, Y) and
Y (:func:`core.graph.separation.list_minimal_separators`); ``include`` asks for sets holding given
nodes (DAGitty's ``adjusted`` variables), minimal among those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.graph.admg import ADMG
from core.graph.node import GraphError
from core.graph.separation import BitGraph, bits, find_minimal_separator, list_minimal_separators, m_separated


@dataclass(frozen=True)
class AdjustmentProblem:
    """The sets the criterion needs for (X, Y), as bitmasks of :attr:`graph`'s nodes."""

    graph: BitGraph
    treatment: int
    outcome: int
    causal: int  # PCP(X, Y)
    forbidden: int  # Forb(X, Y): X and the descendants of PCP(X, Y)
    back_door: BitGraph  # G_pbd


def adjustment_problem(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str]) -> AdjustmentProblem:
    """PCP, Forb and the proper back-door graph for the effect of ``treatment`` on ``outcome``
    (both non-empty, disjoint and known, or a one-line GraphError)."""
    t, y = list(treatment), list(outcome)
    if not t:
        raise GraphError("name at least one treatment")
    if not y:
        raise GraphError("name at least one outcome")
    graph.check_nodes(t, "the treatment")
    graph.check_nodes(y, "the outcome")
    both = [v for v in t if v in set(y)]
    if both:
        raise GraphError(f"{', '.join(both)} cannot be both a treatment and an outcome")
    g = BitGraph.of(graph)
    xs, ys = g.mask(t), g.mask(y)
    cut_in = g.without_edges_into(xs)
    from_x = cut_in.descendants(g.children_of(xs) & ~xs, ~xs)  # De(X) \ X in G with edges into X cut
    to_y = g.ancestors(ys, ~xs)  # An(Y) in G with edges out of X cut: ancestry may not pass X
    causal = from_x & to_y
    forbidden = cut_in.descendants(causal) | xs
    return AdjustmentProblem(g, xs, ys, causal, forbidden, g.without_edges_out_of(xs, causal))


def is_adjustment_set(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str], adjust: Iterable[str]) -> bool:
    """Whether ``adjust`` is a valid adjustment set for the effect of ``treatment`` on ``outcome``.
    A set naming an unknown node, a treatment or an outcome is a one-line GraphError."""
    problem = adjustment_problem(graph, treatment, outcome)
    zs = _adjustment_mask(problem, adjust)
    return not (zs & problem.forbidden) and m_separated(problem.back_door, problem.treatment, problem.outcome, zs)


def why_not_adjustment_set(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str],
                           adjust: Iterable[str]) -> str:
    """'' for a valid adjustment set; otherwise the reason in words."""
    problem = adjustment_problem(graph, treatment, outcome)
    zs = _adjustment_mask(problem, adjust)
    g = problem.graph
    bad = zs & problem.forbidden
    if bad:
        return (f"{', '.join(g.names_of(bad))} {'is' if bad & (bad - 1) == 0 else 'are'} on or after a causal path "
                "from the treatment to the outcome (adjusting for it biases the effect)")
    if not m_separated(problem.back_door, problem.treatment, problem.outcome, zs):
        return "a non-causal path from the treatment to the outcome stays open"
    return ""


def _adjustment_mask(problem: AdjustmentProblem, adjust: Iterable[str]) -> int:
    g = problem.graph
    z = list(adjust)
    g.graph.check_nodes(z, "the adjustment set")
    zs = g.mask(z)
    for what, mask in (("treatment", problem.treatment), ("outcome", problem.outcome)):
        clash = zs & mask
        if clash:
            raise GraphError(f"{', '.join(g.names_of(clash))} is the {what}, so it cannot be in the adjustment set")
    return zs


def minimal_adjustment_sets(
    graph: ADMG,
    treatment: Iterable[str],
    outcome: Iterable[str],
    *,
    include: Iterable[str] = (),
    allowed: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[tuple[str, ...]]:
    """Every minimal adjustment set for the effect of ``treatment`` on ``outcome`` (at most ``limit``
    of them; smaller sets first, each in graph order): minimal among the valid sets that hold
    ``include`` and lie in ``allowed`` (default: every node).  [] when no set is valid; [()] when
    none is needed."""
    problem = adjustment_problem(graph, treatment, outcome)
    g = problem.graph
    inc = _adjustment_mask(problem, include)
    if inc & problem.forbidden:
        return []
    permitted = g.full if allowed is None else g.mask(graph.check_nodes(allowed, "the allowed set"))
    permitted &= ~(problem.forbidden | problem.outcome)
    found = list_minimal_separators(problem.back_door, problem.treatment, problem.outcome, inc, permitted, limit)
    found.sort(key=lambda z: (z.bit_count(), list(bits(z))))
    return [g.names_of(z) for z in found]


def find_adjustment_set(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str]) -> tuple[str, ...] | None:
    """One minimal adjustment set (the one nearest the outcome), or None when there is none."""
    problem = adjustment_problem(graph, treatment, outcome)
    permitted = problem.graph.full & ~(problem.forbidden | problem.outcome)
    z = find_minimal_separator(problem.back_door, problem.outcome, problem.treatment, 0, permitted)
    return None if z is None else problem.graph.names_of(z)
