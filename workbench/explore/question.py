"""The question the Explore page asks, validated once, and how it reads.

* :class:`DoQuery` is ``P(Y | do(X), Z)`` before values are chosen: what a model must be able to
  sample (the sub-model, the ID-GEN plan, identifiability);
* :class:`ExploreQuery` is ``P(Y | do(X = x), Z = z)`` with ``n`` samples per gallery and a seed:
  what each gallery draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from core.graph import ADMG
from core.identify import Query, query_text, require_identifiable
from core.identify.estimand import latex_name
from core.scm.conditional import NodeValue, conditions_text, value_text
from workbench.query import QueryAnswer, hedge_words, roles_from_graph

# (F, F'): the two districts of a hedge (core.identify.NotIdentifiable.hedge)
Hedge: TypeAlias = tuple[frozenset[str], frozenset[str]]


@dataclass(frozen=True)
class DoQuery:
    """``P(outcome | do(treatment), given)`` on ``graph``, before any value is chosen; checked when
    made (``core.identify.Query``: known nodes, no node in two roles)."""

    graph: ADMG
    treatment: str
    outcome: str
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "given", tuple(self.given))
        Query.of(self.graph, [self.treatment], [self.outcome], self.given)

    def unconditional(self) -> DoQuery:
        """The same query without ``given`` (a counterfactual keeps each unit's own Z)."""
        return DoQuery(self.graph, self.treatment, self.outcome)


@dataclass(frozen=True, eq=False)  # eq=False: an image value is an array, which has no single truth value
class ExploreQuery:
    """``P(outcome | do(treatment = value), given)``: ``n`` samples per gallery, drawn with ``seed``.

    ``given`` maps conditioning nodes to their values ``z`` (empty: the unconditional query).
    Checked when made, as :class:`DoQuery` is."""

    graph: ADMG
    treatment: str
    value: NodeValue
    outcome: str
    given: Mapping[str, NodeValue] = field(default_factory=dict)
    n: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "given", dict(self.given))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "seed", int(self.seed))
        Query.of(self.graph, [self.treatment], [self.outcome], list(self.given))

    @property
    def do_query(self) -> DoQuery:
        return DoQuery(self.graph, self.treatment, self.outcome, tuple(self.given))

    @property
    def conditions(self) -> dict[str, NodeValue]:
        """``{X: x, Z: z}``: what an observed row must show to stand for the query."""
        return {self.treatment: self.value, **self.given}

    @property
    def value_label(self) -> str:
        return value_text(self.value, self.graph.node(self.treatment))

    @property
    def intervention(self) -> str:
        """``"do(X = x)"``."""
        return f"do({self.treatment} = {self.value_label})"

    def condition_text(self) -> str:
        """``"X = x, Z = z"``: what an observed row shows."""
        return ", ".join(filter(None, [f"{self.treatment} = {self.value_label}", conditions_text(self.given, self.graph)]))

    def observational_formula(self) -> str:
        """``P(Y | X = x, Z = z)``."""
        return f"P({self.outcome} | {self.condition_text()})"

    def interventional_formula(self) -> str:
        """``P(Y | do(X = x))``, or ``P(Y | do(X = x), Z = z)``."""
        given = conditions_text(self.given, self.graph)
        return f"P({self.outcome} | {self.intervention}{', ' + given if given else ''})"

    def counterfactual_formula(self) -> str:
        """``Y_{X = x}(unit)`` as inline math (:func:`counterfactual_formula`)."""
        return counterfactual_formula(self.outcome, self.treatment, self.value_label)


def counterfactual_formula(outcome: str, treatment: str, value: str) -> str:
    """``Y_{X = x}(unit)`` as inline Markdown math (``$...$``, which ``st.caption`` typesets), so the
    subscript reads as one and names with underscores or values with spaces survive."""
    text = value.replace("\\", "").replace("{", "").replace("}", "").replace("$", "").replace("^", "").replace("~", "")
    for special in "#%&_":  # text-mode specials KaTeX refuses unescaped
        text = text.replace(special, "\\" + special)
    return f"${latex_name(outcome)}_{{{latex_name(treatment)} = \\text{{{text}}}}}(\\text{{unit}})$"


def check_identifiable(query: DoQuery) -> None:
    """Raises ``core.identify.NotIdentifiable`` (with ``.hedge``) for a confounded, non-identifiable
    query (IDC when ``given`` is non-empty; on a Markovian graph every query is identifiable)."""
    if query.graph.is_markovian:
        return
    require_identifiable(Query.of(query.graph, [query.treatment], [query.outcome], list(query.given)))


def given_choices(graph: ADMG, treatment: str, outcome: str) -> list[str]:
    """The nodes a query may condition on: scalar (non-image) nodes other than X and Y."""
    return [v for v in graph.names if v not in (treatment, outcome) and graph.node(v).type != "image"]


def default_query(graph: ADMG) -> tuple[str, str]:
    """(treatment, outcome) to start from: the graph's exposure/outcome roles when set, else X and Y
    when X causes Y, else the last node with parents as outcome (an image node when there is one)
    and its first scalar ancestor as treatment."""
    roles = roles_from_graph(graph)
    if roles["treatment"] and roles["outcome"] and roles["treatment"][0] != roles["outcome"][0]:
        return roles["treatment"][0], roles["outcome"][0]
    if "X" in graph and "Y" in graph and "X" in graph.ancestors(["Y"]):
        return "X", "Y"
    order = list(graph.topological_order())
    with_parents = [v for v in order if graph.parents(v)] or order[1:] or order
    images = [v for v in with_parents if graph.node(v).type == "image"]
    y = (images or with_parents)[-1]
    ancestors = [v for v in order if v in graph.ancestors([y]) and v != y]
    scalars = [v for v in ancestors if graph.node(v).type != "image"]
    x = (scalars or ancestors or [v for v in order if v != y])[0]
    return x, y


def hedge_markdown(hedge: Hedge, query: DoQuery) -> str:
    """The Graph page's explanation of a hedge, for a gallery that cannot be drawn."""
    text = query_text([query.treatment], [query.outcome], list(query.given))
    return hedge_words(QueryAnswer(text, False, hedge=hedge))
