"""Average and conditional effects, with their observational counterparts.

Per outcome Y (a scalar node, or an image node through a read-out):

* interventional means ``mu(a) = E[Y | do(X = a), Z = z]`` (``Z = z`` optional) and their contrast
  ``ATE = mu(a) - mu(b)``; for binary Y also the risk difference (= ATE) and the risk ratio
  ``mu(a) / mu(b)``;
* the observational ``nu(a) = E[Y | X = a, Z = z]`` and the gap
  ``spurious = (nu(a) - nu(b)) - (mu(a) - mu(b))``: the part of the association that is not causal.

Intervals are percentile bootstrap intervals (:mod:`core.effects.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from core.effects.bootstrap import Estimate, bootstrap_means, exact, percentile_interval
from core.effects.checks import check_effect_names, check_identifiable
from core.effects.draws import interventional_draws, observational_outcomes
from core.effects.readouts import Readout, outcome_values
from core.effects.samplers import Columns, Sampler, SamplerSource, Value, as_sampler
from core.errors import WorkbenchError
from core.graph import ADMG


@dataclass
class EffectReport:
    """``E[Y | do(X=a)]`` vs ``E[Y | do(X=b)]`` (optionally given Z = z), their contrasts, and the
    observational counterparts.  ``spurious = observational difference - ATE``."""

    treatment: str
    outcome: str
    a: Value
    b: Value
    given: dict[str, Value]
    do_a: Estimate
    do_b: Estimate
    ate: Estimate
    risk_ratio: Estimate | None
    obs_a: Estimate | None
    obs_b: Estimate | None
    obs_difference: Estimate | None
    spurious: Estimate | None
    n: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, np.generic):
                d[k] = v.item()
        d["given"] = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.given.items()}
        return d

    def lines(self) -> list[str]:
        cond = "".join(f", {z}={v}" for z, v in self.given.items())
        t, y = self.treatment, self.outcome
        out = [
            f"E[{y} | do({t}={self.a}){cond}] = {self.do_a}",
            f"E[{y} | do({t}={self.b}){cond}] = {self.do_b}",
            f"ATE ({t}: {self.b} -> {self.a}) = {self.ate}",
        ]
        if self.risk_ratio is not None:
            out.append(f"risk ratio = {self.risk_ratio}")
        if self.obs_difference is not None:
            out += [
                f"E[{y} | {t}={self.a}{cond}] = {self.obs_a}",
                f"E[{y} | {t}={self.b}{cond}] = {self.obs_b}",
                f"observational difference = {self.obs_difference}",
                f"spurious part (observational - causal) = {self.spurious}",
            ]
        out += [f"note: {m}" for m in self.notes]
        return out


def default_contrast(graph: ADMG, treatment: str, rows: Columns | None = None) -> tuple[Value, Value]:
    """(a, b) when the user gives none: 1 vs 0 for discrete treatments; mean +- one standard
    deviation of the observational values for continuous ones."""
    node = graph.node(treatment)
    if node.is_discrete:
        return 1, 0
    if node.type == "image":
        raise WorkbenchError(f"treatment {treatment} is an image: give the two images to compare")
    if rows is None:
        return 1.0, 0.0
    x = np.asarray(rows[treatment], dtype=np.float64)
    return float(x.mean() + x.std()), float(x.mean() - x.std())


def contrast_values(
    graph: ADMG, treatment: str, rows: Columns | None, a: Value | None, b: Value | None
) -> tuple[Value, Value]:
    """The two treatment values to compare: the given ones, the :func:`default_contrast` for those missing."""
    if a is not None and b is not None:
        return a, b
    da, db = default_contrast(graph, treatment, rows)
    return (da if a is None else a), (db if b is None else b)


@dataclass(frozen=True)
class _Arm:
    """One arm's outcome values and the bootstrap means of their resamples."""

    values: np.ndarray
    draws: np.ndarray


@dataclass(frozen=True)
class _ObservationalSide:
    """E[Y | X=a, z], E[Y | X=b, z], their difference and its spurious part (None when X=a or
    X=b never occurs in the rows, with a note saying which)."""

    obs_a: Estimate | None = None
    obs_b: Estimate | None = None
    difference: Estimate | None = None
    spurious: Estimate | None = None
    note: str | None = None


def _observational_side(
    sampler: Sampler,
    treatment: str,
    outcome: str,
    *,
    values: tuple[Value, Value],
    rows: Columns,
    causal: tuple[_Arm, _Arm] | None,
    given: Mapping[str, Value],
    readout: Readout | None,
    n: int,
    seed: int,
    n_boot: int,
    level: float,
) -> _ObservationalSide:
    """The observational contrast of ``values`` on ``rows``, and its gap to the causal contrast
    ``causal`` (its arms for do(X=a) and do(X=b); None when the effect is exactly 0)."""
    a, b = values
    oa = observational_outcomes(sampler, treatment, a, outcome, n=n, given=given, readout=readout, rows=rows)
    ob = observational_outcomes(sampler, treatment, b, outcome, n=n, given=given, readout=readout, rows=rows)
    if len(oa) == 0 or len(ob) == 0:
        return _ObservationalSide(note=f"{treatment}={a if len(oa) == 0 else b} never occurs in the observational rows")
    boa, bob = bootstrap_means(oa, n_boot, seed + 4), bootstrap_means(ob, n_boot, seed + 5)
    difference = percentile_interval(oa.mean() - ob.mean(), boa - bob, level)
    if causal is None:
        causal_value, causal_draws = 0.0, 0.0
    else:
        arm_a, arm_b = causal
        causal_value, causal_draws = arm_a.values.mean() - arm_b.values.mean(), arm_a.draws - arm_b.draws
    return _ObservationalSide(
        obs_a=percentile_interval(oa.mean(), boa, level),
        obs_b=percentile_interval(ob.mean(), bob, level),
        difference=difference,
        spurious=percentile_interval(difference.value - causal_value, (boa - bob) - causal_draws, level),
    )


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den != 0 else float("nan")


def average_effect(
    sampler: SamplerSource,
    treatment: str,
    outcome: str,
    *,
    a: Value | None = None,
    b: Value | None = None,
    given: Mapping[str, Value] | None = None,
    n: int = 4000,
    seed: int = 0,
    readout: Readout | None = None,
    n_boot: int = 1000,
    observational: bool = True,
    level: float = 0.95,
) -> EffectReport:
    """E[Y | do(X=a), z], E[Y | do(X=b), z], ATE = difference (risk difference for binary Y), risk
    ratio for binary Y, and the observational E[Y | X=a, z] with the spurious gap.

    If X is not an ancestor of Y (nor of Z), do(X) cannot move Y: the interventional contrast is
    exactly 0 and is reported as such, with a note; the observational side is still estimated."""
    sampler = as_sampler(sampler, outcome)
    g = sampler.graph
    given = dict(given or {})
    check_effect_names(g, treatment, outcome, given)
    obs_rows = sampler.observational(n, seed + 17) if observational else None
    a, b = contrast_values(g, treatment, obs_rows, a, b)
    binary_y = readout is None and g.node(outcome).type == "binary"
    notes: list[str] = []
    unaffected = treatment not in g.ancestors([outcome, *given])
    if not unaffected:
        check_identifiable(sampler, [treatment], [outcome], list(given))
    ya = outcome_values(interventional_draws(sampler, {treatment: a}, n, seed, given), g, outcome, readout)
    if unaffected:
        notes.append(f"{treatment} is not an ancestor of {outcome}: do({treatment}) cannot change it, the effect is 0")
        yb = ya
    else:
        yb = outcome_values(interventional_draws(sampler, {treatment: b}, n, seed + 1, given), g, outcome, readout)
    ma = bootstrap_means(ya, n_boot, seed + 2)
    mb = ma if unaffected else bootstrap_means(yb, n_boot, seed + 3)
    do_a = percentile_interval(ya.mean(), ma, level)
    do_b = percentile_interval(yb.mean(), mb, level)
    ate = exact(0.0) if unaffected else percentile_interval(ya.mean() - yb.mean(), ma - mb, level)
    rr = None
    if binary_y:
        with np.errstate(divide="ignore", invalid="ignore"):
            rr = exact(1.0) if unaffected else percentile_interval(_ratio(ya.mean(), yb.mean()), ma / mb, level)
    obs = _ObservationalSide()
    if observational:
        obs = _observational_side(
            sampler, treatment, outcome, values=(a, b), rows=obs_rows,
            causal=None if unaffected else (_Arm(ya, ma), _Arm(yb, mb)),
            given=given, readout=readout, n=n, seed=seed, n_boot=n_boot, level=level,
        )
        if obs.note:
            notes.append(obs.note)
    return EffectReport(
        treatment, outcome, a, b, given, do_a, do_b, ate, rr, obs.obs_a, obs.obs_b, obs.difference, obs.spurious, n, notes
    )


def conditional_effects(
    sampler: SamplerSource, treatment: str, outcome: str, given: str, **options: object
) -> dict[Value, EffectReport]:
    """The effect within each level of a discrete Z: {z: report for E[Y | do(X), Z=z]}; ``options``
    are :func:`average_effect`'s keyword arguments (``a``, ``b``, ``n``, ...)."""
    sampler = as_sampler(sampler, outcome)
    node = sampler.graph.node(given) if given in sampler.graph else None
    if node is None:
        sampler.graph.check_nodes([given], "given")
    if not node.is_discrete:
        raise WorkbenchError(f"stratifying needs a discrete {given}; give a value with --given {given}=v instead")
    return {z: average_effect(sampler, treatment, outcome, given={given: z}, **options) for z in range(node.levels)}
