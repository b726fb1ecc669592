"""The ground-truth columns of the Explore page, on data sampled from a built-in world.

A world's data set remembers its sampling seed, so re-sampling it reproduces every unit WITH its
exogenous noise (:func:`world_units_for`): ``world.counterfactual_samples`` of those units is the
true counterfactual of data row ``i``.  The interventional truth is the world's own sampler,
conditioned on ``Z = z`` by keeping its ``do(x)`` units that have it (exact for any graph, hidden
confounders included).
"""

from __future__ import annotations

import numpy as np

from core.data import Dataset
from core.errors import WorkbenchError
from core.scm.conditional import keep_given
from core.worlds import Units, World
from workbench.explore.galleries import Gallery, failed
from workbench.explore.models import Sources
from workbench.explore.question import ExploreQuery

TITLE = "Truth (world)"


def truth_interventional(world: World, query: ExploreQuery) -> Gallery:
    """The world's own ``P(Y | do(X = x))``; with ``given``, its ``do(x)`` units with ``Z = z`` kept
    (``core.scm.conditional.keep_given`` on the world's sampler)."""
    formula = query.interventional_formula()
    do = {query.treatment: query.value}
    try:
        if query.given:
            values = keep_given(lambda m, s: world.interventional_samples(do, m, s).values, query.graph, query.given,
                                query.n, seed=query.seed, what=query.intervention)
        else:
            values = world.interventional_samples(do, query.n, query.seed).values
    except WorkbenchError as e:
        return failed(TITLE, formula, e)
    return Gallery(TITLE, formula, query.outcome, np.asarray(values[query.outcome]), [])


def reproduces(units: Units, dataset: Dataset) -> bool:
    """The re-sampled units have the data's values in every column they share."""
    return all(np.array_equal(np.asarray(units.values[v]), np.asarray(dataset.column(v)))
               for v in dataset.columns if v in units.values)


def world_units_for(sources: Sources) -> Units:
    """The world's units behind the data set, WITH their noise: re-sampled from the record's seed and
    checked against the data (so the truth counterfactual of row i is about the same unit); cached
    in the hub."""
    world, dataset = sources.world, sources.dataset
    record = dataset.world or {}
    if world is None or "seed" not in record:
        raise WorkbenchError("the data does not come from a built-in world: there is no ground truth")

    def sample() -> Units:
        units = world.sample(dataset.n, seed=int(record["seed"]))
        if not reproduces(units, dataset):
            raise WorkbenchError("re-sampling the world does not reproduce the data: no ground-truth counterfactuals")
        return units

    return sources.hub.units((dataset.fingerprint,), sample)


def truth_counterfactual(sources: Sources, query: ExploreQuery, rows: np.ndarray) -> Gallery:
    """What the world's data units ``rows`` would have been under ``do(X = x)``."""
    formula = query.counterfactual_formula()
    dataset = sources.dataset
    try:
        units = world_units_for(sources).subset(rows)
        cf = sources.world.counterfactual_samples(units, {query.treatment: query.value})
    except WorkbenchError as e:
        return failed(TITLE, formula, e)
    return Gallery(TITLE, formula, query.outcome, np.asarray(cf.values[query.outcome]), [f"#{int(r)}" for r in rows],
                   factual=np.asarray(dataset.column(query.outcome))[rows])
