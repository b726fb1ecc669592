"""workbench.query: roles, query checks, the formula (broken into lines when long) and the hedge."""

from __future__ import annotations

import json
import re

import pytest

from core.graph import ADMG, GraphError
from tests.workbench.examples import napkin
from workbench import graph_files, query


def test_roles_prefill_the_query():
    assert query.roles_from_graph(napkin()) == {"treatment": ["X"], "outcome": ["Y"], "given": []}
    g = ADMG.from_dagitty("dag { A [exposure] ; B [outcome] ; C [adjusted] ; A -> B ; C -> B }")
    assert query.roles_from_graph(g) == {"treatment": ["A"], "outcome": ["B"], "given": ["C"]}


@pytest.mark.parametrize(
    "t, y, z, words",
    [
        (["X"], [], [], "the outcome is empty"),
        (["X"], ["X"], [], "X cannot be in both the treatment and the outcome"),
        (["Q"], ["Y"], [], "unknown node 'Q' in treatment"),
    ],
)
def test_bad_queries_are_one_line(t, y, z, words):
    # core.identify.Query checks the query (each message: tests/core/identify/test_query.py)
    with pytest.raises(GraphError, match=re.escape(words)):
        query.answer_query(napkin(), t, y, z)


def test_query_latex():
    assert query.query_latex(["W1"], ["Y"], ["thick_ness"]) == r"P(Y \mid \mathrm{do}(W_{1}), \mathrm{thick\_ness})"


def test_answer_query_napkin_formula_and_bow_hedge():
    a = query.answer_query(napkin(), ["X"], ["Y"])
    assert a.identifiable and a.query == "P(Y | do(X))"
    assert r"\frac" in a.latex and "W_{1}" in a.latex and a.hedge is None
    assert json.dumps(a.estimand_json)  # JSON-serialisable for the "as JSON" expander
    b = query.answer_query(graph_files.load_example("bow"), ["X"], ["Y"])
    assert not b.identifiable and b.hedge == (frozenset("XY"), frozenset("Y"))
    assert "not identifiable" in b.reason
    words = query.hedge_words(b)
    assert "F = {X, Y}" in words and "F' = {Y}" in words
    assert query.hedge_words(a) == ""
    # Back-door and front-door are identifiable; conditional queries go through IDC.
    assert query.answer_query(graph_files.load_example("backdoor"), ["X"], ["Y"]).identifiable
    assert query.answer_query(graph_files.load_example("frontdoor"), ["X"], ["Y"]).identifiable
    assert query.answer_query(graph_files.load_example("faces"), ["Male"], ["Young"]).identifiable


def test_long_formulas_are_typeset_smaller_and_broken_into_lines():
    short = query.formula_latex(["X"], ["Y"], [], "P(Y)")
    assert short == r"P(Y \mid \mathrm{do}(X)) = P(Y)"
    faces = query.answer_query(graph_files.load_example("faces"), ["Male"], ["Face"])
    long = query.formula_latex(["Male"], ["Face"], [], faces.latex)
    assert long.startswith(r"\small \begin{aligned}P(\mathrm{Face} \mid \mathrm{do}(\mathrm{Male})) &= ")
    assert long.endswith(r"\end{aligned}")
    body = long[long.index("&= ") + 3 : long.rindex(r"\end{aligned}")].strip()
    lines = body.split(" \\\\\n&\\quad ")
    assert len(lines) >= 2
    # nothing lost or reordered: the lines joined back are the estimand, and each fits the width
    assert r" \, ".join(lines) == faces.latex
    assert all(query.visible_width(line) <= query.LINE_WIDTH for line in lines[1:])


def test_formulas_break_only_outside_groups_and_left_right_pairs():
    latex = r"\frac{P\left(a\right) \, P\left(b\right)}{P\left(c\right)} \, \left[\sum_{w} P\left(w\right) \, P\left(x \mid w\right)\right] \, P\left(y\right)"
    assert query.top_level_factors(latex) == [
        r"\frac{P\left(a\right) \, P\left(b\right)}{P\left(c\right)}",
        r"\left[\sum_{w} P\left(w\right) \, P\left(x \mid w\right)\right]",
        r"P\left(y\right)",
    ]
    broken = query.formula_latex(["X"], ["Y"], [], latex, line_width=20)
    assert broken.count(r"\\") == 2 and r"\small" not in broken
