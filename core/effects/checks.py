"""Checks an effect query passes before anything is sampled: its names, its mediators, and (for
learned samplers) identifiability."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.effects.samplers import Sampler
from core.errors import WorkbenchError
from core.graph import ADMG
from core.identify import Query, require_identifiable


def check_effect_names(graph: ADMG, treatment: str, outcome: str, given: Iterable[str]) -> Query:
    """The query P(outcome | do(treatment), given): its nodes exist and none is in two roles
    (``core.identify.Query`` checks it and names the problem)."""
    return Query.of(graph, [treatment], [outcome], given)


def check_mediators(graph: ADMG, treatment: str, mediators: Sequence[str], outcome: str) -> None:
    """Each mediator must lie on a directed path treatment ~> mediator ~> outcome."""
    graph.check_nodes([treatment, outcome, *mediators], "mediation query")
    on_path = (graph.descendants([treatment]) & graph.ancestors([outcome])) - {treatment, outcome}
    for m in mediators:
        if m not in on_path:
            raise WorkbenchError(f"mediator {m} is not on a directed path from {treatment} to {outcome}")


def check_identifiable(
    sampler: Sampler, treatment: Sequence[str], outcome: Sequence[str], given: Sequence[str] = ()
) -> None:
    """Learned samplers answer only identifiable queries; raises ``core.identify.NotIdentifiable``
    (with the hedge) otherwise.  Ground-truth worlds and Markovian graphs need no check."""
    if getattr(sampler, "ground_truth", False) or sampler.graph.is_markovian:
        return
    require_identifiable(Query.of(sampler.graph, treatment, outcome, given))
