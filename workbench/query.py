"""The causal question asked on the Graph page: roles, the formula and the hedge in words (checked by ``core.identify.Query``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from core.graph import ADMG
from core.identify import NotIdentifiable, Query, identify_query

ROLES = ("treatment", "outcome", "given")  # the parts of P(outcome | do(treatment), given)
DAGITTY_ROLES = {"exposure": "treatment", "outcome": "outcome", "adjusted": "given"}  # dagitty role -> ours

Hedge: TypeAlias = tuple[frozenset[str], frozenset[str]]
"""(F, F'): the two c-forests that witness a query is not identifiable (F' inside F)."""


def roles_from_graph(graph: ADMG) -> dict[str, list[str]]:
    """Query defaults from dagitty roles: exposure -> treatment, outcome -> outcome, adjusted -> given."""
    out: dict[str, list[str]] = {role: [] for role in ROLES}
    for n in graph.nodes:
        role = n.get("role")
        if role in DAGITTY_ROLES:
            out[DAGITTY_ROLES[role]].append(n.name)
    return out


def _tex_names(names: Iterable[str]) -> str:
    """Names in LaTeX: ``W1`` as ``W_{1}``, one letter as it is, longer names upright (``\\mathrm``;
    multi-letter names read better so) with underscores escaped."""
    out = []
    for v in names:
        m = re.fullmatch(r"([A-Za-z])(\d+)", v)
        out.append(f"{m.group(1)}_{{{m.group(2)}}}" if m else (v if len(v) == 1 else
                                                              r"\mathrm{" + v.replace("_", r"\_") + "}"))
    return ", ".join(out)


def query_latex(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> str:
    """``P(Y \\mid \\mathrm{do}(X), Z)`` in LaTeX (``W1`` as ``W_{1}``, longer names upright)."""
    t, y, z = list(treatment), list(outcome), list(given)
    cond = ([rf"\mathrm{{do}}({_tex_names(t)})"] if t else []) + ([_tex_names(z)] if z else [])
    return f"P({_tex_names(y)}" + (rf" \mid {', '.join(cond)})" if cond else ")")


LONG_FORMULA = 200  # characters of LaTeX beyond which the formula is typeset smaller
LINE_WIDTH = 60  # visible characters per line of a broken formula (fits the Graph page's panel)
_FACTOR_JOIN = r" \, "


def top_level_factors(latex: str) -> list[str]:
    """Split an estimand's LaTeX at the product joins (``\\,``) that are outside every ``{...}``
    group and every ``\\left ... \\right`` pair, so each piece can end a line of an ``aligned``
    block (KaTeX refuses a line break between ``\\left`` and its ``\\right``).  A join inside a
    ``\\sum_{...}`` scope is top level: breaking there leaves the sum over the rest of the line, as
    printed formulas do."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(latex):
        if latex.startswith(r"\left", i):
            depth, i = depth + 1, i + 5
        elif latex.startswith(r"\right", i):
            depth, i = depth - 1, i + 6
        elif latex[i] == "{":
            depth, i = depth + 1, i + 1
        elif latex[i] == "}":
            depth, i = depth - 1, i + 1
        elif depth == 0 and latex.startswith(_FACTOR_JOIN, i):
            pieces.append(latex[start:i])
            i = start = i + len(_FACTOR_JOIN)
        else:
            i += 1
    pieces.append(latex[start:])
    return pieces


def visible_width(latex: str) -> int:
    """Rough count of the characters KaTeX shows: control words and braces are not shown."""
    return len(re.sub(r"\\[A-Za-z]+|[{}]", "", latex))


def formula_latex(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str], estimand_latex: str,
                  *, line_width: int = LINE_WIDTH) -> str:
    """``query = estimand``.  An estimand wider than ``line_width`` visible characters is broken
    into lines at its top-level product joins (an ``aligned`` block, ``=`` aligned); a long one is
    set in ``\\small`` as well, so it fits the Graph page's panel instead of running off it."""
    query = query_latex(treatment, outcome, given)
    size = "\\small " if len(estimand_latex) > LONG_FORMULA else ""
    factors = top_level_factors(estimand_latex)
    if visible_width(estimand_latex) <= line_width or len(factors) == 1:
        return f"{size}{query} = {estimand_latex}"
    lines, current = [], factors[0]
    for f in factors[1:]:
        if visible_width(current) + visible_width(f) > line_width:
            lines.append(current)
            current = f
        else:
            current += _FACTOR_JOIN + f
    lines.append(current)
    body = " \\\\\n&\\quad ".join(lines)
    return f"{size}\\begin{{aligned}}{query} &= {body}\n\\end{{aligned}}"


@dataclass(frozen=True)
class QueryAnswer:
    """What the identification panel shows: a formula, or the hedge and why."""

    query: str
    identifiable: bool
    text: str = ""
    latex: str = ""
    hedge: Hedge | None = None
    reason: str = ""
    estimand_json: Mapping[str, object] | None = field(default=None, compare=False)


def answer_query(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> QueryAnswer:
    """Run identification (ID, or IDC when ``given`` is non-empty) for P(outcome | do(treatment), given).

    Bad input raises ``GraphError`` (``core.identify.Query``); a non-identifiable query is a normal
    answer carrying the hedge.
    """
    query = Query.of(graph, treatment, outcome, given)
    try:
        est = identify_query(query)
    except NotIdentifiable as e:
        hedge = (frozenset(e.hedge[0]), frozenset(e.hedge[1]))
        return QueryAnswer(query.text(), False, hedge=hedge, reason=e.reason)
    return QueryAnswer(query.text(), True, text=est.to_text(), latex=est.to_latex(), estimand_json=est.to_json())


def hedge_words(answer: QueryAnswer) -> str:
    """The hedge in words, for the paragraph under the red 'not identifiable' line."""
    if answer.identifiable or answer.hedge is None:
        return ""
    f, f2 = (", ".join(sorted(s)) for s in answer.hedge)
    return (
        f"**Why:** the hedge is F = {{{f}}} (light red) and F' = {{{f2}}} (dark red). Both are c-forests "
        "with the same root among the outcome's ancestors, each held together by hidden confounders; the "
        "treatment lies in F but not in F'. Two causal models that differ only on F give the same "
        "observational distribution but different answers to the query, so no data of this kind can "
        "decide it. Measuring a variable that breaks a red dashed edge, or a mediator, can help."
    )
