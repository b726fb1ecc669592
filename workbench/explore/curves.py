"""The Effects page's first section: the outcome's mean under conditioning and under intervention
across treatment values, the contrasts between two values, and the numbers behind the
attribute-shift table.

At each treatment value ``x``:

* ``conditioning (data)``: ``E[Y | X = x]`` over data rows (a continuous X: the
  ``max(50, N // 20)`` rows nearest to ``x``);
* ``intervention (model)`` / ``(truth)``: ``E[Y | do(X = x)]`` from ``n`` samples of the model's
  (or the world's) sampler (``core.effects.Sampler``);

each with a 95% percentile-bootstrap interval.  Their difference is the spurious part of the
association, due to common causes.  An image outcome is averaged through a read-out (a world's
probe: :func:`make_readout`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from core.data import Dataset
from core.effects import (
    Estimate,
    Readout,
    Sampler,
    bootstrap_means,
    interventional_draws,
    outcome_values,
    percentile_interval,
    probe_readout,
)
from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.scm.conditional import NodeValue
from core.worlds import World
from workbench.explore.idgen_fit import idgen_for
from workbench.explore.models import Sources, neural_scm
from workbench.explore.question import DoQuery, check_identifiable
from workbench.explore.readouts import world_probe

# (node, probe attribute): a scalar node (attribute None), or what a probe reads off an image node
OutcomeChoice: TypeAlias = tuple[str, str | None]
Columns: TypeAlias = dict[str, np.ndarray]

SOURCES = ("conditioning (data)", "intervention (model)", "intervention (truth)")
MIN_NEAREST_ROWS = 50  # a continuous treatment's conditioning mean uses at least this many rows
NEAREST_FRACTION = 20  # ... or 1/20 of the data
CURVE_COLUMNS = ["value", "source", "mean", "low", "high", "n"]
SIZE_COLUMNS = ["quantity", "source", "contrast", "estimate", "low", "high"]


@dataclass(frozen=True)
class EffectQuery:
    """``E[outcome | do(treatment = x)]`` against ``E[outcome | treatment = x]``: the outcome read as
    one number per unit (``readout``, for an image outcome), ``n`` samples per treatment value,
    ``n_boot`` bootstrap resamples, everything drawn from ``seed``."""

    graph: ADMG
    treatment: str
    outcome: str
    readout: Readout | None = None
    n: int = 2000
    seed: int = 0
    n_boot: int = 300

    def outcome_of(self, columns: Columns) -> np.ndarray:
        """One number per row of ``columns``."""
        return outcome_values(columns, self.graph, self.outcome, self.readout)


# --------------------------------------------------------------------------------------------------
# The question's choices


def treatment_values(node: Node, dataset: Dataset, *, k: int = 7) -> list[NodeValue]:
    """The treatment values the effect curves visit: every level (discrete) or ``k`` quantiles
    from 5% to 95% of the data (continuous)."""
    if node.type == "image":
        raise WorkbenchError(f"{node.name} is an image: choose a scalar treatment for effect curves")
    if node.is_discrete:
        return list(range(node.levels))
    x = np.asarray(dataset.column(node.name), dtype=np.float64)
    return [float(f"{q:.4g}") for q in np.quantile(x, np.linspace(0.05, 0.95, k))]


def outcome_choices(graph: ADMG, world: World | None) -> list[OutcomeChoice]:
    """(node, attribute) pairs an effect can be measured on: scalar nodes (attribute ``None``), and
    what a probe reads off an image node, as numbers whose mean means something: a continuous
    attribute (``"thickness"``), a two-level one (``"Beard"``: the share of its second level), or one
    level of a many-level one (``"digit=3"``: the share of images read as 3).  Continuous read-outs
    come first."""
    scalars: list[OutcomeChoice] = [(n.name, None) for n in graph.nodes if n.type != "image"]
    first: list[OutcomeChoice] = []
    rest: list[OutcomeChoice] = []
    for n in graph.nodes:
        probe = world_probe(world, graph, n.name) if n.type == "image" else None
        for name, attr in (probe.attributes.items() if probe is not None else ()):
            if attr.kind != "categorical":
                first.append((n.name, name))
            elif attr.labels is not None and len(attr.labels) > 2:
                rest += [(n.name, f"{name}={label}") for label in attr.labels]
            else:
                rest.append((n.name, name))
    return scalars + first + rest


def outcome_label(choice: OutcomeChoice) -> str:
    """``"Y"``, ``"Face · Beard (probe)"`` or ``"image · P(digit = 3) (probe)"``."""
    node, attribute = choice
    if attribute is None:
        return node
    if "=" in attribute:
        return f"{node} · P({attribute.replace('=', ' = ')}) (probe)"
    return f"{node} · {attribute} (probe)"


def make_readout(world: World | None, graph: ADMG, choice: OutcomeChoice) -> Readout | None:
    """None for a scalar outcome; else images -> one number per image (``attr=label``: 1 where the
    probe reads that label, else 0)."""
    outcome, attribute = choice
    if attribute is None:
        return None
    probe = world_probe(world, graph, outcome)
    if probe is None:
        raise WorkbenchError(f"no probe reads {outcome}: choose a scalar outcome")
    name, eq, label = attribute.partition("=")
    read = probe_readout(probe, name)
    if not eq:
        return read
    labels = list(probe.attributes[name].labels or ())
    if label not in labels:
        raise WorkbenchError(f"the {name} read-out has no level {label!r} (levels {', '.join(labels)})")
    code = labels.index(label)
    return lambda images: (read(images) == code).astype(np.float64)


# --------------------------------------------------------------------------------------------------
# Curves and contrasts


def conditioned_rows(dataset: Dataset, node: Node, x: NodeValue) -> np.ndarray:
    """The data rows behind ``E[Y | X = x]``: ``X = x`` (discrete), else the
    ``max(MIN_NEAREST_ROWS, N // NEAREST_FRACTION)`` rows nearest to ``x``."""
    column = np.asarray(dataset.column(node.name))
    if node.is_discrete:
        return np.flatnonzero(column == x)
    dist = np.abs(column.astype(np.float64) - float(x))
    return np.argsort(dist, kind="stable")[: max(MIN_NEAREST_ROWS, dataset.n // NEAREST_FRACTION)]


def conditioned_outcomes(dataset: Dataset, query: EffectQuery, rows: np.ndarray) -> np.ndarray:
    return query.outcome_of({query.outcome: np.asarray(dataset.column(query.outcome))[rows]})


def intervened_outcomes(sampler: Sampler, query: EffectQuery, x: NodeValue, seed: int) -> np.ndarray:
    """``n`` outcome values under ``do(X = x)``."""
    return query.outcome_of(interventional_draws(sampler, {query.treatment: x}, query.n, seed))


def mean_row(values: np.ndarray, *, source: str, x: NodeValue, n_boot: int, seed: int) -> dict[str, object]:
    """One point of a curve: the mean and its bootstrap interval."""
    est = percentile_interval(float(np.mean(values)), bootstrap_means(values, n_boot, seed))
    return {"value": x, "source": source, "mean": est.value, "low": est.low, "high": est.high, "n": len(values)}


def effect_curves(dataset: Dataset, query: EffectQuery, values: Sequence[NodeValue], *, model: Sampler | None = None,
                  truth: Sampler | None = None) -> pd.DataFrame:
    """Mean outcome at each treatment value with 95% bootstrap intervals, by source (``SOURCES``):
    conditioning on the data, intervening with the ``model`` and the ``truth`` samplers (a source
    without a sampler is left out)."""
    node = query.graph.node(query.treatment)
    seed, n_boot = query.seed, query.n_boot
    rows = []
    for i, x in enumerate(values):
        idx = conditioned_rows(dataset, node, x)
        if len(idx):
            y = conditioned_outcomes(dataset, query, idx)
            rows.append(mean_row(y, source=SOURCES[0], x=x, n_boot=n_boot, seed=seed + 3 * i))
        for source, sampler, off in ((SOURCES[1], model, 1), (SOURCES[2], truth, 2)):
            if sampler is None:
                continue
            y = intervened_outcomes(sampler, query, x, seed + 101 * i)
            rows.append(mean_row(y, source=source, x=x, n_boot=n_boot, seed=seed + 3 * i + off))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def spurious_gap(curves: pd.DataFrame, causal: str = SOURCES[1]) -> pd.DataFrame:
    """Per treatment value: conditioning mean minus interventional mean (the spurious part)."""
    obs = curves[curves.source == SOURCES[0]].set_index("value")["mean"]
    do = curves[curves.source == causal].set_index("value")["mean"]
    both = obs.index.intersection(do.index)
    return pd.DataFrame({"value": list(both), "conditioning": obs[both].to_numpy(), "intervention": do[both].to_numpy(),
                         "spurious": (obs[both] - do[both]).to_numpy()})


def size_row(quantity: str, source: str, contrast: str, estimate: Estimate) -> dict[str, object]:
    """One line of the effect-size table."""
    return {"quantity": quantity, "source": source, "contrast": contrast, "estimate": estimate.value,
            "low": estimate.low, "high": estimate.high}


def effect_sizes(dataset: Dataset, query: EffectQuery, a: NodeValue, b: NodeValue, *, model: Sampler | None = None,
                 truth: Sampler | None = None) -> pd.DataFrame:
    """Contrasts of ``a`` vs ``b`` with 95% bootstrap intervals: the observational difference from the
    data, the ATE ``E[Y | do(a)] - E[Y | do(b)]`` of the model and of the truth, and the spurious part
    (observational difference minus the ATE) for each."""
    node = query.graph.node(query.treatment)
    seed, n_boot = query.seed, query.n_boot

    def observed(x: NodeValue) -> np.ndarray:
        idx = conditioned_rows(dataset, node, x)
        if len(idx) == 0:
            raise WorkbenchError(f"{query.treatment} = {x} never occurs in the data")
        return conditioned_outcomes(dataset, query, idx)

    oa, ob = observed(a), observed(b)
    boa, bob = bootstrap_means(oa, n_boot, seed), bootstrap_means(ob, n_boot, seed + 1)
    obs_diff = percentile_interval(oa.mean() - ob.mean(), boa - bob)
    label = f"{query.treatment}: {b} -> {a}"
    rows = [size_row("observational difference", "data", label, obs_diff)]
    for source, sampler, off in (("model", model, 10), ("truth", truth, 20)):
        if sampler is None:
            continue
        ya = intervened_outcomes(sampler, query, a, seed + off)
        yb = intervened_outcomes(sampler, query, b, seed + off + 1)
        ma, mb = bootstrap_means(ya, n_boot, seed + off + 2), bootstrap_means(yb, n_boot, seed + off + 3)
        ate = percentile_interval(ya.mean() - yb.mean(), ma - mb)
        spur = percentile_interval(obs_diff.value - ate.value, (boa - bob) - (ma - mb))
        rows.append(size_row("ATE", source, label, ate))
        rows.append(size_row("spurious part", f"data - {source}", label, spur))
    return pd.DataFrame(rows, columns=SIZE_COLUMNS)


# --------------------------------------------------------------------------------------------------
# Samplers, attribute shifts, export


def model_sampler(sources: Sources, query: DoQuery, *, fit_idgen: bool = True) -> Sampler | None:
    """A ``core.effects`` sampler for ``Y`` under ``do(X)``: the trained NeuralSCM (Markovian) or the
    cached ID-GEN network (confounded; None when not fitted and ``fit_idgen`` is False)."""
    from core.effects import IDGenSampler, SCMSampler

    check_identifiable(query)
    if query.graph.is_markovian:
        return SCMSampler(neural_scm(sources.hub, sources.run, query))
    gen = idgen_for(sources, query, fit=fit_idgen)
    return None if gen is None else IDGenSampler(gen, query.outcome)


def shift_reader(world: World | None, graph: ADMG) -> Callable[[Columns], Columns]:
    """``columns -> {attribute: values}`` for the attribute-shift table: every probe attribute of
    every image node (``node.attribute``) and every scalar node."""
    probes = {n.name: world_probe(world, graph, n.name) for n in graph.nodes if n.type == "image"}

    def read(columns: Columns) -> Columns:
        out: Columns = {}
        for n in graph.nodes:
            if n.type == "image":
                if probes.get(n.name) is not None:
                    for k, v in probes[n.name].read(np.asarray(columns[n.name])).items():
                        out[f"{n.name}.{k}"] = v
            else:
                out[n.name] = np.asarray(columns[n.name])
        return out

    return read


def curves_csv(curves: pd.DataFrame, sizes: pd.DataFrame, shifts: pd.DataFrame | None = None) -> str:
    """One CSV with every number the Effects page shows (a ``table`` column says which)."""
    parts = [curves.assign(table="curve"), sizes.assign(table="effect size")]
    if shifts is not None and len(shifts):
        parts.append(shifts.assign(table="attribute shift"))
    return pd.concat(parts, ignore_index=True, sort=False).to_csv(index=False)
