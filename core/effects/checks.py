"""Checks an effect query passes before anything is sampled: its names, its mediators, and (for
learned samplers) identifiability."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.effects.samplers import Sampler
from core.errors import WorkbenchError
from core.graph import ADMG


def check_effect_names(graph: ADMG, treatment: str, outcome: str, given: Iterable[str]) -> None:
    """Treatment, outcome and conditioning nodes exist, and none of ``given`` is the treatment or the outcome."""
    given = list(given)
    graph.check_nodes([treatment, outcome, *given], "effect query")
    if treatment == outcome:
        raise WorkbenchError(f"treatment and outcome are the same node {treatment!r}")
    for z in given:
        if z in (treatment, outcome):
            raise WorkbenchError(f"cannot condition on {z}: it is the treatment or the outcome")


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
    from core.identify import identify  # raises NotIdentifiable

    identify(sampler.graph, frozenset(treatment), frozenset(outcome), frozenset(given))
