"""The samples behind each mean: rows of ``P(V | do(X = a), Z = z)`` and observational rows with
``X = a`` (and ``Z = z``)."""

from __future__ import annotations

import numpy as np

from core.effects.readouts import Readout, outcome_values
from core.effects.samplers import Columns, DoValues, Sampler, Value
from core.errors import WorkbenchError
from core.graph import ADMG


def interventional_draws(
    sampler: Sampler, do: DoValues, n: int, seed: int = 0, given: DoValues | None = None, *, max_rounds: int = 50
) -> Columns:
    """n rows of P(V | do(...), Z = z).  Without native conditioning, discrete ``given`` values are
    conditioned on by rejection (draw, keep the rows with Z = z, repeat)."""
    given = dict(given or {})
    if not given or sampler.supports_given:
        return sampler.interventional(do, n, seed, given) if given else sampler.interventional(do, n, seed)
    for z in given:
        if not sampler.graph.node(z).is_discrete:
            raise WorkbenchError(f"conditioning on continuous {z} needs a sampler that conditions natively (ID-GEN)")
    kept: list[Columns] = []
    have = 0
    batch = max(n, 2048)
    for r in range(max_rounds):
        rows = sampler.interventional(do, batch, seed * 1_000_003 + r)
        mask = np.ones(batch, bool)
        for z, v in given.items():
            mask &= np.asarray(rows[z]) == v
        if mask.any():
            kept.append({k: np.asarray(c)[mask] for k, c in rows.items()})
            have += int(mask.sum())
        if have >= n:
            break
    if have < n:
        cond = ", ".join(f"{z}={v}" for z, v in given.items())
        raise WorkbenchError(f"{cond} is too rare under do({', '.join(do)}) to condition on by sampling ({have} of {n} rows)")
    return {k: np.concatenate([c[k] for c in kept])[:n] for k in kept[0]}


def rows_at(columns: Columns, graph: ADMG, name: str, value: Value, k: int) -> np.ndarray:
    """Indices of the rows with ``name == value`` (discrete) or of the k nearest to ``value`` (continuous)."""
    x = np.asarray(columns[name])
    if graph.node(name).is_discrete:
        return np.flatnonzero(x == value)
    if graph.node(name).type == "image":
        raise WorkbenchError(f"cannot condition observationally on image {name} = a value")
    order = np.argsort(np.abs(x.astype(np.float64) - float(value)), kind="stable")
    return order[: min(k, len(order))]


def observational_outcomes(
    sampler: Sampler,
    treatment: str,
    value: Value,
    outcome: str,
    *,
    n: int,
    seed: int = 0,
    given: DoValues | None = None,
    readout: Readout | None = None,
    rows: Columns | None = None,
) -> np.ndarray:
    """Outcome values of observational rows with X = a (and Z = z): the sample behind E[Y | X = a, z].
    ``rows`` are the observational rows to select from (default: ``n`` fresh ones).  A continuous X
    uses the ``max(50, n // 20)`` rows nearest to ``a`` (a nearest-neighbour window)."""
    g = sampler.graph
    rows = rows if rows is not None else sampler.observational(n, seed)
    keep = np.ones(len(rows[treatment]), bool)
    for z, v in (given or {}).items():
        keep &= np.asarray(rows[z]) == v
    sub = {k: np.asarray(c)[keep] for k, c in rows.items()}
    idx = rows_at(sub, g, treatment, value, max(50, n // 20))
    return outcome_values({k: c[idx] for k, c in sub.items()}, g, outcome, readout)
