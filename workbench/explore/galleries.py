"""The Explore page's galleries: outcome samples of one query on each rung of the ladder.

For an intervention ``do(X = x)`` and an outcome ``Y`` (same ``n`` and seed everywhere):

* **Observational** ``P(Y | X = x, Z = z)``: data rows where the discrete conditions hold, the
  nearest among them for continuous and image conditions (:func:`matching_rows`), ``n`` of them
  drawn with the seed;
* **Interventional** ``P(Y | do(X = x), Z = z)``: the trained Neural SCM on a Markovian graph
  (conditioned by rejection: ``core.scm.conditional``), or the ID-GEN network (IDC for a
  conditional query) on a graph with bidirected edges; a non-identifiable query returns the hedge
  and its reason instead;
* **Counterfactual** ``Y_{X=x}(u)`` for chosen data units ``u`` (abduction, action, prediction; a
  unit's own Z is factual, so ``given`` plays no part).

The ground-truth columns of a built-in world are in ``workbench.explore.truth``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

from core.data import Dataset
from core.errors import WorkbenchError
from core.graph import ADMG
from core.scm.conditional import NEAREST_SHARE, NodeValue, matching_mask, nearest_rows, scm_conditional
from workbench.explore.idgen_fit import idgen_for
from workbench.explore.models import MissingModels, Sources, counterfactual_confounders, neural_scm
from workbench.explore.question import ExploreQuery, Hedge, check_identifiable

Level: TypeAlias = Literal["info", "warning", "error"]


@dataclass(frozen=True, eq=False)  # eq=False: values are arrays
class Gallery:
    """One column of the comparison: outcome samples, or why there are none."""

    title: str
    formula: str
    outcome: str = ""
    values: np.ndarray | None = None  # (n,) scalars or (n, C, H, W) uint8 images
    captions: list[str] = field(default_factory=list)
    message: str = ""  # shown instead of samples
    hedge: Hedge | None = None
    factual: np.ndarray | None = None  # counterfactual columns: the factual outcomes
    seconds: float = 0.0
    level: Level = "info"  # how to show ``message``

    @property
    def ok(self) -> bool:
        return self.values is not None and not self.message


def failed(title: str, formula: str, error: Exception, level: Level = "warning") -> Gallery:
    """A gallery that shows ``error`` (and its hedge, for a non-identifiable query)."""
    hedge = getattr(error, "hedge", None)
    if hedge is not None:
        hedge = (frozenset(hedge[0]), frozenset(hedge[1]))
    return Gallery(title, formula, message=str(error), hedge=hedge, level=level)


# --------------------------------------------------------------------------------------------------
# Observational


def matching_rows(dataset: Dataset, graph: ADMG, conditions: dict[str, NodeValue], *, n: int) -> np.ndarray:
    """Data rows standing for the conditions (``X = x``, ``Z = z``): discrete conditions hold
    exactly; among those ``M`` rows, when some condition is continuous or an image, the
    ``max(n, M // NEAREST_SHARE)`` nearest (``core.scm.conditional.nearest_rows``)."""
    columns = {k: dataset.column(k) for k in conditions}
    rows = np.flatnonzero(matching_mask(columns, graph, conditions))
    keep = min(len(rows), max(n, len(rows) // NEAREST_SHARE))
    return nearest_rows(columns, graph, conditions, rows, keep=keep)


def observational_gallery(dataset: Dataset, query: ExploreQuery) -> Gallery:
    """``P(Y | X = x, Z = z)`` read off the data (no model): ``n`` of the matching rows, seeded."""
    graph, n = query.graph, query.n
    formula = query.observational_formula()
    title = "Observational"
    rows = matching_rows(dataset, graph, query.conditions, n=n)
    if len(rows) == 0:
        return Gallery(title, formula, message=f"{query.condition_text()} never occurs in the data")
    pick = np.random.default_rng(query.seed).choice(rows, size=n, replace=len(rows) < n)
    exact = all(graph.node(k).is_discrete for k in query.conditions)
    caption_note = "" if exact else f" ({len(rows)} nearest rows)"
    return Gallery(title, formula + caption_note, query.outcome, np.asarray(dataset.column(query.outcome))[pick],
                   [f"#{int(i)}" for i in pick])


# --------------------------------------------------------------------------------------------------
# Interventional


def scm_interventional(sources: Sources, query: ExploreQuery, *, sample_steps: int | None) -> np.ndarray:
    """Outcome samples from the trained Neural SCM (Markovian graph), conditioned by rejection."""
    scm = neural_scm(sources.hub, sources.run, query.do_query, sample_steps=sample_steps)
    if query.given:
        return scm_conditional(scm, query.treatment, query.value, query.given, query.n, seed=query.seed)[query.outcome]
    return scm.interventional_samples({query.treatment: query.value}, query.n, query.seed)[query.outcome]


def model_interventional(sources: Sources, query: ExploreQuery, *, fit_idgen: bool = True,
                         sample_steps: int | None = None) -> Gallery:
    """``P(Y | do(X = x), Z = z)`` from the trained models (:func:`scm_interventional`) or ID-GEN
    (IDC for a conditional query); reasons instead of samples for a non-identifiable query,
    untrained nodes, too rare a ``z``, or an ID-GEN network not fitted yet (``fit_idgen=False``)."""
    title = "Interventional (model)"
    formula = query.interventional_formula()
    t0 = time.perf_counter()
    try:
        check_identifiable(query.do_query)
        if query.graph.is_markovian:
            values = scm_interventional(sources, query, sample_steps=sample_steps)
        else:
            gen = idgen_for(sources, query.do_query, fit=fit_idgen)
            if gen is None:
                return Gallery(title + " · ID-GEN", formula, message="the ID-GEN network for this query is not fitted yet")
            values = gen.sample(do={query.treatment: query.value}, n=query.n, given=query.given,
                                seed=query.seed)[query.outcome]
            title += " · ID-GEN"
    except MissingModels as e:
        return failed(title, formula, e, "info")
    except WorkbenchError as e:
        return failed(title, formula, e)
    return Gallery(title, formula, query.outcome, np.asarray(values), [], seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------------
# Counterfactual


def default_unit(dataset: Dataset, query: ExploreQuery) -> int:
    """The data row the counterfactual starts from unless the user picks one: the first row the
    intervention changes, i.e. whose own ``X`` is not ``x`` (a unit that already has ``X = x`` would
    show the same face twice).  A continuous ``X``: the first row at least a quarter of the data's
    range away from ``x``, else the farthest.  An image ``X``: the first row whose image differs."""
    column = np.asarray(dataset.column(query.treatment))
    node = query.graph.node(query.treatment)
    if node.type == "image":
        differs = np.any(column.reshape(len(column), -1) != np.asarray(query.value).reshape(1, -1), axis=1)
    elif node.is_discrete:
        differs = column != int(query.value)
    else:
        gap = np.abs(column.astype(np.float64) - float(query.value))
        span = float(np.ptp(column)) if len(column) else 0.0
        differs = gap >= 0.25 * span if span > 0 else gap > 0
        if not differs.any():
            return int(np.argmax(gap)) if len(gap) else 0
    found = np.flatnonzero(differs)
    return int(found[0]) if len(found) else 0


def counterfactual_units(n: int, unit: int, n_rows: int, *, seed: int = 0) -> np.ndarray:
    """The chosen unit first, then ``n - 1`` other data rows drawn with the seed."""
    if not 0 <= unit < n_rows:
        raise WorkbenchError(f"unit {unit} is not a data row (0..{n_rows - 1})")
    rng = np.random.default_rng(seed)
    others = rng.permutation(np.setdiff1d(np.arange(n_rows), [unit]))[: max(0, n - 1)]
    return np.concatenate([[unit], others]).astype(np.int64)


def model_counterfactual(sources: Sources, query: ExploreQuery, rows: np.ndarray, *,
                         sample_steps: int | None = None) -> Gallery:
    """What data units ``rows`` would have been under ``do(X = x)`` (abduction, action, prediction
    with the trained models).  On a graph with hidden confounders this is exact when no node that
    is recomputed has a bidirected edge (``counterfactual_confounders``); otherwise the reason."""
    title = "Counterfactual (model)"
    formula = query.counterfactual_formula()
    unconditional = query.do_query.unconditional()
    blocking = counterfactual_confounders(unconditional)
    if blocking:
        a, b = blocking[0]
        return Gallery(title, formula, level="info", message=(
            f"counterfactuals need every unit's noise, which a graph with hidden confounders ({a} <-> {b}) "
            "does not let the models recover: ID-GEN answers interventional queries only"))
    t0 = time.perf_counter()
    dataset = sources.dataset
    try:
        scm = neural_scm(sources.hub, sources.run, unconditional, counterfactual=True, sample_steps=sample_steps)
        factual = {v: np.asarray(dataset.column(v))[rows] for v in scm.graph.names}
        cf = scm.counterfactual_samples(factual, {query.treatment: query.value}, query.seed)
    except MissingModels as e:
        return failed(title, formula, e, "info")
    except WorkbenchError as e:
        return failed(title, formula, e)
    return Gallery(title, formula, query.outcome, np.asarray(cf[query.outcome]), [f"#{int(r)}" for r in rows],
                   factual=np.asarray(dataset.column(query.outcome))[rows], seconds=time.perf_counter() - t0)

