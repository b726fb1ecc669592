"""core.identify.Query: every validation message, the normalised roles, the text, and one message for every caller."""

from __future__ import annotations

import dataclasses
import re

import pytest

from core.effects.checks import check_effect_names
from core.errors import WorkbenchError
from core.graph import GraphError
from core.identify import NotIdentifiable, Query, identify, query_text
from core.idgen import compile_query, naive_conditional_plan
from tests.core.identify.catalogue import graph

NAPKIN = graph("W1->W2->X->Y; W1<->X; W1<->Y")


@pytest.mark.parametrize(
    ("treatment", "outcome", "given", "message"),
    [
        (["Q"], ["Y"], [], "unknown node 'Q' in treatment (graph has W1, W2, X, Y)"),
        (["X"], ["Q"], [], "unknown node 'Q' in outcome (graph has W1, W2, X, Y)"),
        (["X"], ["Y"], ["Q"], "unknown node 'Q' in conditioning set (graph has W1, W2, X, Y)"),
        (["X"], [], [], "the outcome is empty: choose at least one outcome node"),
        (["X"], None, [], "the outcome is empty: choose at least one outcome node"),
        (["X"], "", [], "the outcome is empty: choose at least one outcome node"),
        (["X"], ["X"], [], "X cannot be in both the treatment and the outcome"),
        (["X", "W2"], ["W2", "Y", "X"], [], "X, W2 cannot be in both the treatment and the outcome"),
        (["X"], ["Y"], ["X"], "X cannot be in both the treatment and the conditioning set"),
        (["X"], ["Y", "W1"], ["W1", "Y"], "Y, W1 cannot be in both the outcome and the conditioning set"),
    ],
)
def test_each_bad_query_has_its_one_line_message(treatment, outcome, given, message) -> None:
    with pytest.raises(GraphError) as info:
        Query.of(NAPKIN, treatment, outcome, given)
    assert str(info.value) == message
    assert isinstance(info.value, WorkbenchError) and "\n" not in str(info.value)


def test_unknown_nodes_are_reported_before_overlaps_and_treatment_before_outcome() -> None:
    with pytest.raises(GraphError, match="in treatment"):
        Query.of(NAPKIN, ["Q"], ["R"], [])
    with pytest.raises(GraphError, match="unknown node 'Q' in outcome"):
        Query.of(NAPKIN, ["X"], ["Q", "X"], [])


def test_roles_keep_the_order_given_and_drop_repeats() -> None:
    q = Query.of(NAPKIN, ["X", "W1", "X"], "Y", ("W2",))
    assert (q.treatment, q.outcome, q.given) == (("X", "W1"), ("Y",), ("W2",))
    assert q.treatment_set == {"X", "W1"} and q.outcome_set == {"Y"} and q.given_set == {"W2"}
    # the dataclass itself normalises lists too, so both ways of making a query agree
    assert Query(NAPKIN, outcome=["Y"], treatment=["X", "W1"], given=["W2"]) == q
    assert Query.of(NAPKIN, None, ["Y"]).treatment == ()


def test_a_query_is_frozen() -> None:
    q = Query.of(NAPKIN, ["X"], ["Y"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.outcome = ("X",)  # type: ignore[misc]


def test_text() -> None:
    assert Query.of(NAPKIN, ["X"], ["Y"]).text() == "P(Y | do(X))"
    assert Query.of(NAPKIN, [], ["Y"], ["W2"]).text() == "P(Y | W2)"
    assert Query.of(NAPKIN, ["X", "W1"], ["Y"], ["W2"]).text() == "P(Y | do(X, W1), W2)"
    assert Query.of(NAPKIN, [], ["Y", "X"]).text() == "P(Y, X)"
    assert query_text(["X"], ["Y"], ["Z1", "Z2"]) == "P(Y | do(X), Z1, Z2)"
    assert query_text([], ["Y"]) == "P(Y)"


@pytest.mark.parametrize(
    "check",
    [
        lambda: identify(NAPKIN, "X", "X"),
        lambda: compile_query(NAPKIN, ["X"], ["X"]),
        lambda: naive_conditional_plan(NAPKIN, ["X"], ["X"]),
        lambda: check_effect_names(NAPKIN, "X", "X", []),
    ],
    ids=["identify", "compile_query", "naive_conditional_plan", "check_effect_names"],
)
def test_every_caller_refuses_with_the_same_message(check) -> None:
    with pytest.raises(GraphError, match=re.escape("X cannot be in both the treatment and the outcome")):
        check()


def test_identify_and_idgen_name_a_hedge_with_the_query_as_given() -> None:
    # The names come in the caller's order, whichever algorithm finds the hedge.
    g = graph("X1->Y; X2->Y; X1<->X2; X2<->Y")
    with pytest.raises(NotIdentifiable) as by_identify:
        identify(g, ["X2", "X1"], ["Y"])
    with pytest.raises(NotIdentifiable) as by_idgen:
        compile_query(g, ["Y"], ["X2", "X1"])
    assert by_identify.value.reason == by_idgen.value.reason
    assert by_identify.value.reason.startswith("P(Y | do(X2, X1)) is not identifiable")
    assert by_identify.value.reason.endswith("separates the effect of X2, X1 from confounding")
    assert by_identify.value.hedge == by_idgen.value.hedge
