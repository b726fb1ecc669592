"""A causal query P(outcome | do(treatment), given) on a graph, validated once, with one set of messages.

Every caller builds a :class:`Query` (the CLI, the pages, the effect checks, ID/IDC and ID-GEN), so a
malformed query is refused in one place: an unknown node, an empty outcome, or a node in two roles
raises a :class:`~core.graph.GraphError` whose one line names the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import TypeAlias

from core.graph import ADMG, GraphError

NameArg: TypeAlias = str | Iterable[str] | None
"""One node name, several, or none (``None`` and ``""`` mean none)."""

ROLE_WORDS = {"treatment": "treatment", "outcome": "outcome", "given": "conditioning set"}
"""Each role of a query (checked in this order) and the words messages use for it."""


def as_names(value: NameArg) -> tuple[str, ...]:
    """``value`` as a tuple of names in the order given, repeats dropped; a string is one name."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(dict.fromkeys(value))


def query_text(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> str:
    """``P(Y | do(X), Z)`` in plain text (``P(Y)`` when there is neither treatment nor given)."""
    y, x, z = list(outcome), list(treatment), list(given)
    conditions = ([f"do({', '.join(x)})"] if x else []) + z
    return f"P({', '.join(y)} | {', '.join(conditions)})" if conditions else f"P({', '.join(y)})"


@dataclass(frozen=True)
class Query:
    """``P(outcome | do(treatment), given)`` on ``graph``, checked when made.

    Each role is a tuple of node names in the caller's order (repeats dropped; lists and single
    names are accepted and stored as tuples).  Construction raises a ``GraphError`` for an unknown
    node (``unknown node 'Q' in treatment (graph has X, Y)``), an empty outcome, or a node in two
    roles (``X cannot be in both the treatment and the outcome``)."""

    graph: ADMG
    _: KW_ONLY
    outcome: tuple[str, ...]
    treatment: tuple[str, ...] = ()
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        sets = {}
        for role, words in ROLE_WORDS.items():
            names = getattr(self, role)
            if type(names) is not tuple or len(set(names)) < len(names):
                names = as_names(names)
                object.__setattr__(self, role, names)
            sets[role] = self.graph.check_nodes(names, words)
        if not self.outcome:
            raise GraphError("the outcome is empty: choose at least one outcome node")
        for first, second in (("treatment", "outcome"), ("treatment", "given"), ("outcome", "given")):
            if sets[first] & sets[second]:
                both = [v for v in getattr(self, first) if v in sets[second]]
                raise GraphError(
                    f"{', '.join(both)} cannot be in both the {ROLE_WORDS[first]} and the {ROLE_WORDS[second]}"
                )

    @classmethod
    def of(cls, graph: ADMG, treatment: NameArg, outcome: NameArg, given: NameArg = ()) -> Query:
        """The query from names given as a string, an iterable or None, in ``identify``'s order."""
        return cls(graph, outcome=as_names(outcome), treatment=as_names(treatment), given=as_names(given))

    @property
    def outcome_set(self) -> frozenset[str]:
        return frozenset(self.outcome)

    @property
    def treatment_set(self) -> frozenset[str]:
        return frozenset(self.treatment)

    @property
    def given_set(self) -> frozenset[str]:
        return frozenset(self.given)

    def text(self) -> str:
        """``P(Y | do(X), Z)`` (:func:`query_text`)."""
        return query_text(self.treatment, self.outcome, self.given)
