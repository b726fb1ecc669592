"""Mediation: natural direct and indirect effects on the same units, and controlled direct effects.

For treatment values a (treated) and b (baseline), through the nested counterfactual ``Y(a, M(b))``
computed on the SAME units (abduction-action-prediction twice):

* ``NDE = E[Y(a, M(b))] - E[Y(b)]``, ``NIE = E[Y(a)] - E[Y(a, M(b))]``, so ``TE = NDE + NIE``, where
  ``NIE = -NIE_reverse`` (Pearl's ``TE(b->a) = NDE(b->a) - NIE(a->b)``);
* ``CDE(m) = E[Y | do(X=a, M=m)] - E[Y | do(X=b, M=m)]``.

The total effect is also computed from interventional samples, independently, and the difference is
reported as a check.  Needs ground-truth worlds or, for learned models, graphs without hidden
confounders (Markovian).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from core.effects.average_effects import average_effect, contrast_values
from core.effects.bootstrap import Estimate, bootstrap_means, percentile_interval
from core.effects.checks import check_identifiable, check_mediators
from core.effects.readouts import Readout, outcome_values
from core.effects.samplers import Columns, CounterfactualSampler, Sampler, SamplerSource, Value, as_sampler
from core.errors import WorkbenchError


@dataclass
class MediationReport:
    """Total, natural direct/indirect (on the same units) and controlled direct effects."""

    treatment: str
    mediators: list[str]
    outcome: str
    a: Value
    b: Value
    total: Estimate  # from interventional samples (independent of the counterfactual route)
    total_units: Estimate  # E[Y(a)] - E[Y(b)] on the units = NDE + NIE
    nde: Estimate  # E[Y(a, M(b))] - E[Y(b)]
    nie: Estimate  # E[Y(a)] - E[Y(a, M(b))] = -NIE(reverse)
    nie_reverse: Estimate  # E[Y(a, M(b))] - E[Y(a)], Pearl's NIE(a -> b)
    cde: dict[str, Estimate]  # "M=m" -> E[Y | do(X=a, M=m)] - E[Y | do(X=b, M=m)]
    check: float  # |total - (NDE + NIE)|; Monte Carlo error only
    consistent: bool  # the check is within the total's interval half-width (plus NDE+NIE's)
    n: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def lines(self) -> list[str]:
        t, y, ms = self.treatment, self.outcome, ",".join(self.mediators)
        out = [
            f"total effect ({t}: {self.b} -> {self.a} on {y}) = {self.total}",
            f"natural direct effect E[{y}({self.a}, {ms}({self.b}))] - E[{y}({self.b})] = {self.nde}",
            f"natural indirect effect E[{y}({self.a})] - E[{y}({self.a}, {ms}({self.b}))] = {self.nie}",
            f"NDE + NIE = {self.total_units}  (check vs total: |diff| = {self.check:.4f}, "
            f"{'consistent' if self.consistent else 'INCONSISTENT'})",
        ]
        out += [f"controlled direct effect at {k} = {v}" for k, v in self.cde.items()]
        out += [f"note: {m}" for m in self.notes]
        return out


def _counterfactual_sampler(sampler: Sampler) -> CounterfactualSampler:
    """The sampler itself, if it can answer the nested counterfactuals natural effects need."""
    if not getattr(sampler, "ground_truth", False) and not sampler.graph.is_markovian:
        raise WorkbenchError(
            "natural direct/indirect effects from a learned model need a graph without bidirected edges "
            "(ID-GEN answers interventional queries, not the nested counterfactuals they need)"
        )
    if not isinstance(sampler, CounterfactualSampler):
        raise WorkbenchError("natural direct/indirect effects need counterfactuals: use a world or a trained SCM")
    return sampler


def mediation_effects(
    sampler: SamplerSource,
    treatment: str,
    mediator: str | Sequence[str],
    outcome: str,
    *,
    a: Value | None = None,
    b: Value | None = None,
    cde_levels: Sequence[Value] | None = None,
    n: int = 4000,
    seed: int = 0,
    readout: Readout | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
) -> MediationReport:
    """Natural direct and indirect effects via nested counterfactuals on the same units:
    ``M_b = M(b)`` from ``counterfactual(units, do(X=b))``, then ``Y(a, M_b)`` from
    ``counterfactual(units, do(X=a, M=M_b))``.  Needs a counterfactual sampler and, for a learned
    one, a graph without hidden confounders.  ``cde_levels`` are the mediator values for the
    controlled direct effect (default: every level of a discrete mediator, the mean of a
    continuous one; needs a single scalar mediator)."""
    sampler = as_sampler(sampler, outcome)
    g = sampler.graph
    ms = [mediator] if isinstance(mediator, str) else list(mediator)
    if not ms:
        raise WorkbenchError("give at least one mediator")
    check_mediators(g, treatment, ms, outcome)
    sampler = _counterfactual_sampler(sampler)
    units = sampler.units(n, seed)
    factual = sampler.values(units)
    a, b = contrast_values(g, treatment, factual, a, b)
    y_a = outcome_values(sampler.counterfactual(units, {treatment: a}), g, outcome, readout)
    cf_b = sampler.counterfactual(units, {treatment: b})
    y_b = outcome_values(cf_b, g, outcome, readout)
    m_b = {m: np.asarray(cf_b[m]) for m in ms}
    y_a_mb = outcome_values(sampler.counterfactual(units, {treatment: a, **m_b}), g, outcome, readout)
    per_unit = np.stack([y_a_mb - y_b, y_a - y_a_mb, y_a - y_b], axis=1)
    draws = bootstrap_means(per_unit, n_boot, seed + 1)
    point = per_unit.mean(axis=0)
    nde = percentile_interval(point[0], draws[:, 0], level)
    nie = percentile_interval(point[1], draws[:, 1], level)
    nie_rev = percentile_interval(-point[1], -draws[:, 1], level)
    total_units = percentile_interval(point[2], draws[:, 2], level)
    total = average_effect(
        sampler, treatment, outcome, a=a, b=b, n=n, seed=seed + 101, readout=readout, n_boot=n_boot, observational=False
    ).ate
    check = abs(total.value - total_units.value)
    slack = (total.high - total.low) / 2 + (total_units.high - total_units.low) / 2
    cde = controlled_direct_effects(
        sampler, treatment, ms, outcome, a=a, b=b, factual=factual, levels=cde_levels, n=n, seed=seed + 7,
        readout=readout, n_boot=n_boot, level=level,
    )
    notes = [] if cde or len(ms) > 1 or g.node(ms[0]).type != "image" else ["no controlled direct effect for an image mediator"]
    return MediationReport(
        treatment, ms, outcome, a, b, total, total_units, nde, nie, nie_rev, cde, check, bool(check <= slack + 1e-12), n, notes
    )


def controlled_direct_effects(
    sampler: Sampler,
    treatment: str,
    mediators: Sequence[str],
    outcome: str,
    *,
    a: Value,
    b: Value,
    factual: Columns,
    levels: Sequence[Value] | None = None,
    n: int = 4000,
    seed: int = 0,
    readout: Readout | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
) -> dict[str, Estimate]:
    """CDE(m) = E[Y | do(X=a, M=m)] - E[Y | do(X=b, M=m)] for each mediator value m (one scalar
    mediator; none otherwise).  ``levels`` default to every level of a discrete mediator, else the
    mean of its ``factual`` values."""
    if len(mediators) != 1:
        return {}
    m = mediators[0]
    node = sampler.graph.node(m)
    if node.type == "image":
        return {}
    if levels is None:
        levels = list(range(node.levels)) if node.is_discrete else [float(np.mean(factual[m]))]
    check_identifiable(sampler, [treatment, m], [outcome])
    g = sampler.graph
    out: dict[str, Estimate] = {}
    for i, v in enumerate(levels):
        ya = outcome_values(sampler.interventional({treatment: a, m: v}, n, seed + 2 * i), g, outcome, readout)
        yb = outcome_values(sampler.interventional({treatment: b, m: v}, n, seed + 2 * i + 1), g, outcome, readout)
        d = bootstrap_means(ya, n_boot, seed + 3 * i) - bootstrap_means(yb, n_boot, seed + 3 * i + 1)
        out[f"{m}={v:g}" if isinstance(v, float) else f"{m}={v}"] = percentile_interval(ya.mean() - yb.mean(), d, level)
    return out
