"""The Graph page's answers beyond identification, as plain data for ``views/graph_answers.py``:
adjustment sets (checked, with formulas), instruments, front-door sets, causal and biasing paths,
the graph's testable implications (checked on the data), and a number for the question.

Every function takes the graph and the question (treatment, outcome, given) and returns frozen
records; bad input is a one-line ``WorkbenchError``.  Nothing here imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.data.dataset import Dataset
from core.errors import WorkbenchError
from core.evidence.formulas import adjustment_estimand, c_factor_estimand, front_door_estimand
from core.evidence.implications import ClaimsOnData, check_claims
from core.evidence.plugin import PlugInEstimate, plug_in_estimate
from core.graph import ADMG
from core.graph.adjustment import minimal_adjustment_sets, why_not_adjustment_set
from core.graph.frontdoor import FrontDoor, front_door
from core.graph.implications import Kind, implied_independencies, verma_constraints
from core.graph.instruments import Instrument, conditional_instruments
from core.graph.paths import PathReport, paths_between
from core.identify.estimand import Estimand, from_json
from workbench.query import query_latex

MAX_SETS = 50  # minimal adjustment sets shown
MAX_PATHS = 200  # paths listed
BOOTSTRAP = 200  # resamples for the interval of a plug-in estimate


class Keys:
    """Widgets and results of the answers panels (session state keys)."""

    CHECK_SET = "ga_check_set"  # the set the user adjusts for (checked, and used for the paths)
    KIND = "ga_kind"  # missing_edge | basis
    ALPHA = "ga_alpha"
    CORRECTION = "ga_correction"
    TEST_DATA = "ga_test_data"  # button
    TESTED = "ga_tested"  # (signature, ClaimsOnData)
    ESTIMATE = "ga_estimate"  # button
    ESTIMATED = "ga_estimated"  # (signature, EstimateAnswer)


# ---- adjustment, instruments, front door


@dataclass(frozen=True)
class AdjustmentAnswer:
    """Minimal adjustment sets with their formulas (LaTeX), instruments and a front-door set."""

    minimal_sets: tuple[tuple[str, ...], ...]
    complete: bool  # False when more than MAX_SETS exist
    formulas: tuple[str, ...]
    instruments: tuple[Instrument, ...]  # only for one treatment and one outcome
    front_door: FrontDoor | None
    front_door_formula: str


def adjustment_answer(graph: ADMG, treatment: Sequence[str], outcome: Sequence[str]) -> AdjustmentAnswer:
    """Everything the adjustment panel lists for P(outcome | do(treatment))."""
    x, y = list(treatment), list(outcome)
    sets = minimal_adjustment_sets(graph, x, y, limit=MAX_SETS + 1)
    shown = tuple(sets[:MAX_SETS])
    formulas = tuple(formula_latex(x, y, adjustment_estimand(x, y, s)) for s in shown)
    ivs = tuple(conditional_instruments(graph, x[0], y[0])) if len(x) == 1 and len(y) == 1 else ()
    fd = front_door(graph, x, y)
    fd_formula = formula_latex(x, y, front_door_estimand(x, y, fd.minimal)) if fd is not None and fd.minimal else ""
    return AdjustmentAnswer(shown, len(sets) <= MAX_SETS, formulas, ivs, fd, fd_formula)


def formula_latex(treatment: Sequence[str], outcome: Sequence[str], estimand: Estimand) -> str:
    """``P(y | do(x)) = estimand`` in LaTeX."""
    return f"{query_latex(treatment, outcome)} = {estimand.to_latex()}"


@dataclass(frozen=True)
class SetCheck:
    """Is ``adjusted`` a valid adjustment set?  If so, its formula."""

    adjusted: tuple[str, ...]
    valid: bool
    reason: str
    formula: str


def check_set(graph: ADMG, treatment: Sequence[str], outcome: Sequence[str], adjusted: Sequence[str]) -> SetCheck:
    """The adjustment criterion for ``adjusted`` (a treatment or outcome in it is a one-line error)."""
    reason = why_not_adjustment_set(graph, treatment, outcome, adjusted)
    formula = formula_latex(treatment, outcome, adjustment_estimand(treatment, outcome, adjusted)) if not reason else ""
    return SetCheck(tuple(adjusted), not reason, reason, formula)


# ---- paths


@dataclass(frozen=True)
class PathRow:
    """One path: its text, ``causal`` / ``biasing`` / ``blocked`` given the adjusted set, and (for a
    non-causal path open given nothing) the minimal adjustment sets that close it (1-based)."""

    text: str
    kind: str
    closed_by: tuple[int, ...]


@dataclass(frozen=True)
class PathsAnswer:
    rows: tuple[PathRow, ...]
    complete: bool
    path_roles: tuple[tuple[tuple[str, str, str], str], ...]  # for graph_view.Marks


def paths_answer(graph: ADMG, treatment: Sequence[str], outcome: Sequence[str], adjusted: Sequence[str],
                 minimal_sets: Sequence[Sequence[str]] = ()) -> PathsAnswer:
    """Every path between treatment and outcome classified given ``adjusted``, with which minimal
    set closes which back-door path, and the edge colours for the drawing."""
    report: PathReport = paths_between(graph, treatment, outcome, adjusted, limit=MAX_PATHS)
    rows = []
    for path, is_open in zip(report.paths, report.open, strict=True):
        kind = "causal" if path.causal else ("biasing" if is_open else "blocked")
        closed_by: tuple[int, ...] = ()
        if not path.causal and path.is_open(graph, ()):
            closed_by = tuple(i + 1 for i, s in enumerate(minimal_sets) if path.blocked_by(graph, s))
        rows.append(PathRow(str(path), kind, closed_by))
    return PathsAnswer(tuple(rows), report.complete, tuple(sorted(report.edge_roles().items())))


# ---- testable implications


@dataclass(frozen=True)
class ImplicationsAnswer:
    """The independences (text) and Verma constraints (text, LaTeX of the c-factor) of a graph."""

    independencies: tuple[str, ...]
    verma: tuple[tuple[str, str], ...]


def implications_answer(graph: ADMG, kind: Kind = "missing_edge") -> ImplicationsAnswer:
    statements = tuple(str(s) for s in implied_independencies(graph, kind))
    verma = tuple((str(c), c_factor_estimand(c).to_latex()) for c in verma_constraints(graph))
    return ImplicationsAnswer(statements, verma)


def data_problem(graph: ADMG, data: Dataset | None) -> str:
    """Why the data cannot be used with this graph ('' when they can)."""
    if data is None:
        return "no data loaded (the Data page samples a world or reads a file)"
    try:
        data.check(graph)
    except WorkbenchError as e:
        return f"the data do not fit the graph: {e}"
    return ""


def check_on_data(graph: ADMG, data: Dataset, kind: Kind = "missing_edge", alpha: float = 0.05,
                correction: str = "holm") -> ClaimsOnData:
    """Each implied independence tested on ``data`` (:func:`core.evidence.implications.check_claims`)."""
    return check_claims(graph, data.with_graph(graph), kind=kind, alpha=alpha, correction=correction)


def claims_rows(result: ClaimsOnData) -> list[dict[str, str | float | None]]:
    """One table row per claim: the claim, the test, its statistic, p-value, adjusted p-value, verdict."""
    rows = []
    for c in result.claims:
        t = c.result
        note = f" (image{'s' if len(c.summarised) > 1 else ''} {', '.join(c.summarised)} via 1st principal component)" \
            if c.summarised else ""
        rows.append({
            "claim": str(c),
            "test": (t.method + note) if t else "not tested",
            "statistic": round(t.statistic, 4) if t else None,
            "p": t.p_value if t else None,
            "adjusted p": c.adjusted_p,
            "verdict": c.skipped if t is None else ("contradicted" if c.rejected else "consistent"),
        })
    return rows


def tests_signature(graph: ADMG, data: Dataset, kind: str, alpha: float, correction: str) -> tuple:
    """What a stored test result depends on: a result with another signature is stale."""
    return (graph.dumps(), data.fingerprint, kind, alpha, correction)


# ---- a number for the question


@dataclass(frozen=True)
class EstimateRow:
    """P(outcome = level | do(treatment = values)) by one formula, with its bootstrap interval."""

    formula: str
    treatment: str
    outcome: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class EstimateAnswer:
    rows: tuple[EstimateRow, ...]
    effects: tuple[tuple[str, float, float, float], ...]  # (formula, P(y=1|do(x=1)) - P(y=1|do(x=0)), low, high)
    failures: tuple[tuple[str, str], ...] = ()  # (formula, why the data cannot evaluate it)


def estimate_problem(graph: ADMG, data: Dataset | None, treatment: Sequence[str], outcome: Sequence[str],
                     given: Sequence[str]) -> str:
    """Why no plug-in number can be given here ('' when it can)."""
    problem = data_problem(graph, data)
    if problem:
        return problem
    if given:
        return "a number is given for P(outcome | do(treatment)) without conditioning; Explore handles the rest"
    kinds = {graph.node(v).type for v in list(treatment) + list(outcome)}
    if kinds - {"binary", "categorical"}:
        return "the treatment or outcome is continuous or an image: Explore and Effects estimate it with trained models"
    return ""


def estimate_formulas(estimand_json: Mapping[str, object] | None, minimal_sets: Sequence[Sequence[str]],
                      treatment: Sequence[str], outcome: Sequence[str]) -> list[tuple[str, Estimand]]:
    """The formulas to estimate, named: identification's (its JSON, when identifiable) and the
    adjustment formula of the first minimal set (when there is one)."""
    out: list[tuple[str, Estimand]] = []
    if estimand_json is not None:
        out.append(("identification formula", from_json(estimand_json)))
    if minimal_sets:
        z = list(minimal_sets[0])
        out.append((f"adjustment for {{{', '.join(z)}}}" if z else "no adjustment", adjustment_estimand(treatment, outcome, z)))
    return out


def estimate_answer(graph: ADMG, data: Dataset, treatment: Sequence[str], outcome: Sequence[str],
                    formulas: Sequence[tuple[str, Estimand]], *, n_boot: int = BOOTSTRAP, seed: int = 0) -> EstimateAnswer:
    """Plug-in estimates of each named formula on ``data`` (discrete columns), with intervals; a
    formula the data cannot evaluate (a conditioning event with no rows) is listed with the reason."""
    x, y = list(treatment), list(outcome)
    typed = data.with_graph(graph)
    rows: list[EstimateRow] = []
    effects = []
    failures = []
    for name, estimand in formulas:
        try:
            est = plug_in_estimate(estimand, typed, x, y, n_boot=n_boot, seed=seed)
        except WorkbenchError as e:
            failures.append((name, str(e)))
            continue
        rows += _rows(name, est)
        if est.effect is not None:
            effects.append((name, *est.effect))
    return EstimateAnswer(tuple(rows), tuple(effects), tuple(failures))


def _rows(name: str, est: PlugInEstimate) -> list[EstimateRow]:
    """One row per treatment value and outcome level (for a binary outcome only its level 1)."""
    out = []
    y_shape, x_shape = est.value.shape[: len(est.outcome)], est.value.shape[len(est.outcome):]
    binary_outcome = y_shape == (2,)
    for xi in np.ndindex(*x_shape):
        for yi in np.ndindex(*y_shape):
            if binary_outcome and yi != (1,):
                continue
            cell = yi + xi
            out.append(EstimateRow(
                name,
                ", ".join(f"{v}={i}" for v, i in zip(est.treatment, xi, strict=True)),
                ", ".join(f"{v}={i}" for v, i in zip(est.outcome, yi, strict=True)),
                float(est.value[cell]), float(est.low[cell]), float(est.high[cell]),
            ))
    return out


def estimate_signature(graph: ADMG, data: Dataset, treatment: Sequence[str], outcome: Sequence[str]) -> tuple:
    return (graph.dumps(), data.fingerprint, tuple(treatment), tuple(outcome))
