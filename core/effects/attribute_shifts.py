"""The attribute-shift table: under ``do(T = t)`` applied counterfactually to units, the % whose each
read attribute changes, for the model, the naive conditional and the truth."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from core.effects.draws import rows_at
from core.effects.samplers import Columns, CounterfactualSampler, SamplerSource, Value, as_sampler
from core.errors import WorkbenchError

ReadAttributes = Callable[[Columns], Mapping[str, np.ndarray]]
"""``read(columns) -> {attribute: values}``: what the table compares (probe attributes, scalar columns)."""

METHODS = ("model", "naive conditional", "truth")
COLUMNS = ["attribute", "method", "changed_pct", "n", "descendant"]


def changed(before: np.ndarray, after: np.ndarray, tolerance: float | None) -> np.ndarray:
    """Per unit: did the attribute change?  Integers: any difference; floats: more than ``tolerance``
    (default: a quarter of the factual standard deviation, so read-out jitter does not count)."""
    before, after = np.asarray(before), np.asarray(after)
    if np.issubdtype(before.dtype, np.integer) and np.issubdtype(after.dtype, np.integer):
        return before != after
    tol = tolerance if tolerance is not None else 0.25 * float(np.std(before.astype(np.float64)))
    return np.abs(after.astype(np.float64) - before.astype(np.float64)) > tol


def attribute_shift_table(
    truth: SamplerSource,
    treatment: str,
    value: Value,
    read: ReadAttributes,
    *,
    model: SamplerSource | None = None,
    n: int = 500,
    seed: int = 0,
    tolerance: float | Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Under ``do(treatment = value)`` applied to each unit (units whose treatment already equals
    ``value`` are left out), the % whose each read attribute changes:

    * ``truth``: the ground-truth world's counterfactual of the unit;
    * ``model``: the model's counterfactual of the same observed unit (abducted from its values);
    * ``naive conditional``: the unit swapped for a random observed unit that HAS ``treatment = value``
      (conditioning mistaken for intervening: attributes that merely correlate with the treatment change).

    ``read(columns) -> {attribute: values}`` (e.g. a probe on the image column, plus scalar columns).
    Returns a long table (attribute, method, changed_pct, n, descendant) ready for a grouped bar chart;
    ``descendant`` says whether the attribute is a node downstream of the treatment (None if not a node)."""
    truth = as_sampler(truth)
    if not isinstance(truth, CounterfactualSampler):
        raise WorkbenchError("the attribute-shift table needs a ground truth with counterfactuals (a world)")
    g = truth.graph
    g.check_nodes([treatment], "attribute shift")
    pool_units = truth.units(n, seed)
    pool = truth.values(pool_units)
    t = np.asarray(pool[treatment])
    keep = np.flatnonzero(t != value) if g.node(treatment).is_discrete else np.arange(len(t))
    if len(keep) == 0:
        raise WorkbenchError(f"every sampled unit already has {treatment}={value}")
    units = pool_units.subset(keep) if hasattr(pool_units, "subset") else pool_units
    before = dict(read(truth.values(units)))
    results: dict[str, Mapping[str, np.ndarray]] = {"truth": read(truth.counterfactual(units, {treatment: value}))}
    if model is not None:
        model = as_sampler(model)
        if not isinstance(model, CounterfactualSampler):
            raise WorkbenchError("the model must answer counterfactuals (a trained SCM)")
        results["model"] = read(model.counterfactual(units, {treatment: value}))
    donors = rows_at(pool, g, treatment, value, max(20, n // 20))
    if len(donors):
        rng = np.random.default_rng(seed + 1)
        pick = donors[rng.integers(0, len(donors), size=len(keep))]
        results["naive conditional"] = read({k: np.asarray(c)[pick] for k, c in pool.items()})
    descendants = g.descendants([treatment]) - {treatment}
    rows = []
    for attr, b4 in before.items():
        tol = tolerance.get(attr) if isinstance(tolerance, Mapping) else tolerance
        for method in METHODS:
            if method in results:
                rows.append(
                    {
                        "attribute": attr,
                        "method": method,
                        "changed_pct": 100.0 * float(np.mean(changed(b4, results[method][attr], tol))),
                        "n": len(keep),
                        "descendant": (attr in descendants) if attr in g else None,
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)
