"""Average, conditional, direct and indirect effects from any sampler, with bootstrap intervals.

What users compare, per outcome Y (a scalar node, or an image node read through a probe or a
user-chosen predictor ``readout: images -> values``):

* interventional means ``mu(a) = E[Y | do(X = a)]`` (optionally ``E[Y | do(X = a), Z = z]``) and
  their contrasts: ``ATE = mu(a) - mu(b)``; for binary Y also the risk difference (= ATE) and the
  risk ratio ``mu(a) / mu(b)``;
* the observational counterpart ``nu(a) = E[Y | X = a]`` and the gap
  ``spurious = (nu(a) - nu(b)) - (mu(a) - mu(b))``: the part of the association that is not causal;
* mediation (Markovian graphs, or ground-truth worlds) through the nested counterfactual
  ``Y(a, M(b))`` computed on the SAME units (abduction-action-prediction twice):
  ``NDE = E[Y(a, M(b))] - E[Y(b)]``, ``NIE = E[Y(a)] - E[Y(a, M(b))]``, so
  ``TE = NDE + NIE`` where ``NIE = -NIE_reverse`` (Pearl's ``TE(b->a) = NDE(b->a) - NIE(a->b)``);
  ``CDE(m) = E[Y | do(X=a, M=m)] - E[Y | do(X=b, M=m)]``.  The total effect is also computed from
  interventional samples, independently, and the difference is reported as a check;
* the attribute-shift table: under ``do(T = t)`` applied counterfactually to units, the % whose each
  read attribute changes, for the model, the naive conditional and the truth.

Intervals are percentile bootstrap intervals, vectorised over resamples and seeded.  Samplers are
anything satisfying :class:`Sampler` (thin wrappers adapt worlds, trained SCMs and ID-GEN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from core.errors import WorkbenchError
from core.graph import ADMG

Columns = dict[str, np.ndarray]
Readout = Callable[[np.ndarray], np.ndarray]

# --------------------------------------------------------------------------------------------------
# Samplers


@runtime_checkable
class Sampler(Protocol):
    """Draws rows of the graph's variables: observational and interventional.

    ``ground_truth`` is True for a world with known mechanisms (no identification question arises);
    ``supports_given`` is True when ``interventional(..., given=...)`` conditions natively
    (otherwise conditioning is done here, by rejection on discrete values).
    """

    graph: ADMG
    ground_truth: bool
    supports_given: bool

    def observational(self, n: int, seed: int = 0) -> Columns: ...

    def interventional(
        self, do: Mapping[str, Any], n: int, seed: int = 0, given: Mapping[str, Any] | None = None
    ) -> Columns: ...


@runtime_checkable
class CounterfactualSampler(Sampler, Protocol):
    """A sampler that can also answer "what would THIS unit have been": ``units`` draws a batch (an
    opaque object that ``values`` reads and ``counterfactual`` re-runs on the same exogenous noise)."""

    def units(self, n: int, seed: int = 0) -> Any: ...

    def values(self, units: Any) -> Columns: ...

    def counterfactual(self, units: Any, do: Mapping[str, Any]) -> Columns: ...


def _columns(batch: Any) -> Columns:
    """Units (``.values``) or a plain mapping of columns -> dict of numpy arrays."""
    values = getattr(batch, "values", batch)
    if callable(values):  # a Mapping's .values() method, not Units.values
        values = batch
    return {k: np.asarray(v) for k, v in dict(values).items()}


class WorldSampler:
    """A ground-truth :class:`core.worlds.base.World` as a counterfactual sampler."""

    ground_truth = True
    supports_given = False

    def __init__(self, world: Any) -> None:
        self.world = world
        self.graph = world.graph

    def observational(self, n: int, seed: int = 0) -> Columns:
        return _columns(self.world.sample(n, seed))

    def interventional(self, do, n, seed=0, given=None) -> Columns:
        return _columns(self.world.interventional_samples(dict(do), n, seed))

    def units(self, n: int, seed: int = 0) -> Any:
        return self.world.sample(n, seed)

    def values(self, units: Any) -> Columns:
        return _columns(units)

    def counterfactual(self, units: Any, do: Mapping[str, Any]) -> Columns:
        return _columns(self.world.counterfactual_samples(units, dict(do)))


class SCMSampler(WorldSampler):
    """A trained Markovian SCM (``core.scm.NeuralSCM``): the same API as a world, but learned, and
    ``draw_samples`` instead of ``sample``.  Counterfactuals abduct noise from the units' values, so
    units sampled from a ground-truth world can be handed to it directly."""

    ground_truth = False

    def observational(self, n: int, seed: int = 0) -> Columns:
        return _columns(self.world.draw_samples(n, seed))

    def units(self, n: int, seed: int = 0) -> Any:
        return self.world.draw_samples(n, seed)


class IDGenSampler:
    """A fitted :class:`core.idgen.IDGen` for one outcome: refits (cheaply; trained models are
    cached) when asked for another treatment or conditioning set.  Observational rows are
    resampled from its data."""

    ground_truth = False
    supports_given = True

    def __init__(self, gen: Any, outcome: str | Sequence[str],
                 progress: Callable[[int, int, Any], None] | None = None) -> None:
        self.gen = gen
        self.graph = gen.graph
        self.outcome = [outcome] if isinstance(outcome, str) else list(outcome)
        self.progress = progress  # IDGen.fit's callback: (index, total, model spec) before each model

    def observational(self, n: int, seed: int = 0) -> Columns:
        data = self.gen.data
        rows = np.random.default_rng(seed).integers(0, len(next(iter(data.values()))), size=n)
        return {k: np.asarray(v)[rows] for k, v in data.items()}

    def interventional(self, do, n, seed=0, given=None) -> Columns:
        given = dict(given or {})
        plan = self.gen.plan
        if plan is None or set(plan.treatment) != set(do) or set(plan.given) != set(given) or not set(
            self.outcome
        ) <= set(plan.outcome):
            self.gen.fit(outcome=self.outcome, treatment=list(do), given=list(given), progress=self.progress)
        return _columns(self.gen.sample(do=dict(do), n=n, given=given, seed=seed))


def as_sampler(obj: Any, outcome: str | None = None) -> Sampler:
    """Wrap a world, a trained SCM or an ID-GEN (needs ``outcome``) as a :class:`Sampler`."""
    if hasattr(obj, "observational") and hasattr(obj, "interventional"):
        return obj
    if hasattr(obj, "plan_query"):
        if outcome is None:
            raise WorkbenchError("an ID-GEN sampler needs the outcome it is fitted for")
        return IDGenSampler(obj, outcome)
    if hasattr(obj, "draw_samples"):
        return SCMSampler(obj)
    if hasattr(obj, "interventional_samples") and hasattr(obj, "counterfactual_samples"):
        return WorldSampler(obj)
    raise WorkbenchError(f"cannot draw samples from a {type(obj).__name__}: expected a world, an SCM or an ID-GEN")


# --------------------------------------------------------------------------------------------------
# Estimates and the bootstrap


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval (``low == high == value`` when exact)."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"

    def covers(self, x: float) -> bool:
        return self.low <= x <= self.high


def exact(value: float) -> Estimate:
    return Estimate(float(value), float(value), float(value))


def bootstrap_means(samples: np.ndarray, n_boot: int = 1000, seed: int = 0, chunk: int = 200_000) -> np.ndarray:
    """Means of ``n_boot`` resamples of the rows of ``samples`` ((n,) or (n, k) for paired columns that
    must be resampled together): returns (n_boot,) or (n_boot, k).  Vectorised, in chunks of about
    ``chunk`` drawn indices so memory stays bounded."""
    x = np.asarray(samples, dtype=np.float64)
    squeeze = x.ndim == 1
    x = x.reshape(len(x), -1)
    n = len(x)
    if n == 0:
        raise WorkbenchError("no samples to average (the conditioning event never happened)")
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, x.shape[1]))
    step = max(1, chunk // n)
    for start in range(0, n_boot, step):
        stop = min(n_boot, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].mean(axis=1)
    return out[:, 0] if squeeze else out


def percentile_interval(point: float, draws: np.ndarray, level: float = 0.95) -> Estimate:
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return Estimate(float(point), float("nan"), float("nan"))
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(float(point), float(lo), float(hi))


# --------------------------------------------------------------------------------------------------
# Outcomes (scalars, or images read out)


def probe_readout(probe: Any, attribute: str) -> Readout:
    """A read-out from a world's probe: images -> the values of one attribute."""

    def read(images: np.ndarray) -> np.ndarray:
        out = probe.read(images)
        if attribute not in out:
            raise WorkbenchError(f"the probe reads {', '.join(out)}; not {attribute!r}")
        return np.asarray(out[attribute], dtype=np.float64)

    return read


def outcome_values(columns: Mapping[str, np.ndarray], graph: ADMG, outcome: str, readout: Readout | None = None) -> np.ndarray:
    """One number per row: the outcome itself, or ``readout(outcome)`` (required for image outcomes)."""
    if outcome not in columns:
        raise WorkbenchError(f"the samples have no column {outcome!r}")
    values = columns[outcome]
    if readout is not None:
        out = np.asarray(readout(values), dtype=np.float64).reshape(len(values), -1)
        if out.shape[1] != 1:
            raise WorkbenchError(f"the read-out of {outcome} must give one number per row, got shape {out.shape}")
        return out[:, 0]
    if graph.node(outcome).type == "image":
        raise WorkbenchError(f"{outcome} is an image: give a read-out (a probe attribute or a predictor) to average")
    return np.asarray(values, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# Checks


def _check_names(graph: ADMG, treatment: str, outcome: str, given: Mapping[str, Any]) -> None:
    graph.check_nodes([treatment, outcome, *given], "effect query")
    if treatment == outcome:
        raise WorkbenchError(f"treatment and outcome are the same node {treatment!r}")
    for z in given:
        if z in (treatment, outcome):
            raise WorkbenchError(f"cannot condition on {z}: it is the treatment or the outcome")


def check_identifiable(sampler: Sampler, treatment: Sequence[str], outcome: Sequence[str], given: Sequence[str] = ()) -> None:
    """Learned samplers answer only identifiable queries; raises ``core.identify.NotIdentifiable``
    (with the hedge) otherwise.  Ground-truth worlds and Markovian graphs need no check."""
    if getattr(sampler, "ground_truth", False) or sampler.graph.is_markovian:
        return
    from core.identify import identify  # raises NotIdentifiable

    identify(sampler.graph, frozenset(treatment), frozenset(outcome), frozenset(given))


def _is_discrete(graph: ADMG, name: str) -> bool:
    return graph.node(name).is_discrete


# --------------------------------------------------------------------------------------------------
# Drawing (conditional) samples


def interventional_draws(
    sampler: Sampler,
    do: Mapping[str, Any],
    n: int,
    seed: int = 0,
    given: Mapping[str, Any] | None = None,
    max_rounds: int = 50,
) -> Columns:
    """n rows of P(V | do(...), Z = z).  Without native conditioning, discrete ``given`` values are
    conditioned on by rejection (draw, keep the rows with Z = z, repeat)."""
    given = dict(given or {})
    if not given or sampler.supports_given:
        return sampler.interventional(do, n, seed, given) if given else sampler.interventional(do, n, seed)
    for z in given:
        if not _is_discrete(sampler.graph, z):
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


def _select(columns: Columns, graph: ADMG, name: str, value: Any, k: int) -> np.ndarray:
    """Rows with ``name == value`` (discrete) or the k nearest to ``value`` (continuous)."""
    x = np.asarray(columns[name])
    if _is_discrete(graph, name):
        return np.flatnonzero(x == value)
    if graph.node(name).type == "image":
        raise WorkbenchError(f"cannot condition observationally on image {name} = a value")
    order = np.argsort(np.abs(x.astype(np.float64) - float(value)), kind="stable")
    return order[: min(k, len(order))]


def observational_outcomes(
    sampler: Sampler,
    treatment: str,
    value: Any,
    outcome: str,
    n: int,
    seed: int = 0,
    given: Mapping[str, Any] | None = None,
    readout: Readout | None = None,
    rows: Columns | None = None,
) -> np.ndarray:
    """Outcome values of observational rows with X = a (and Z = z): the sample behind E[Y | X = a, z].
    A continuous X uses the ``max(50, n // 20)`` rows nearest to ``a`` (a nearest-neighbour window)."""
    g = sampler.graph
    rows = rows if rows is not None else sampler.observational(n, seed)
    keep = np.ones(len(rows[treatment]), bool)
    for z, v in (given or {}).items():
        keep &= np.asarray(rows[z]) == v
    sub = {k: np.asarray(c)[keep] for k, c in rows.items()}
    idx = _select(sub, g, treatment, value, max(50, n // 20))
    return outcome_values({k: c[idx] for k, c in sub.items()}, g, outcome, readout)


# --------------------------------------------------------------------------------------------------
# Average effects


@dataclass
class EffectReport:
    """``E[Y | do(X=a)]`` vs ``E[Y | do(X=b)]`` (optionally given Z = z), their contrasts, and the
    observational counterparts.  ``spurious = observational difference - ATE``."""

    treatment: str
    outcome: str
    a: Any
    b: Any
    given: dict[str, Any]
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

    def to_dict(self) -> dict[str, Any]:
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


def default_contrast(graph: ADMG, treatment: str, rows: Columns | None = None) -> tuple[Any, Any]:
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


def average_effect(
    sampler: Any,
    treatment: str,
    outcome: str,
    a: Any = None,
    b: Any = None,
    given: Mapping[str, Any] | None = None,
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
    _check_names(g, treatment, outcome, given)
    obs_rows = sampler.observational(n, seed + 17) if observational else None
    if a is None or b is None:
        da, db = default_contrast(g, treatment, obs_rows)
        a, b = (da if a is None else a), (db if b is None else b)
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
    obs_a = obs_b = obs_diff = spurious = None
    if observational:
        oa = observational_outcomes(sampler, treatment, a, outcome, n, given=given, readout=readout, rows=obs_rows)
        ob = observational_outcomes(sampler, treatment, b, outcome, n, given=given, readout=readout, rows=obs_rows)
        if len(oa) == 0 or len(ob) == 0:
            notes.append(f"{treatment}={a if len(oa) == 0 else b} never occurs in the observational rows")
        else:
            boa, bob = bootstrap_means(oa, n_boot, seed + 4), bootstrap_means(ob, n_boot, seed + 5)
            obs_a = percentile_interval(oa.mean(), boa, level)
            obs_b = percentile_interval(ob.mean(), bob, level)
            obs_diff = percentile_interval(oa.mean() - ob.mean(), boa - bob, level)
            causal = 0.0 if unaffected else ya.mean() - yb.mean()
            causal_draws = 0.0 if unaffected else ma - mb
            spurious = percentile_interval(obs_diff.value - causal, (boa - bob) - causal_draws, level)
    return EffectReport(treatment, outcome, a, b, given, do_a, do_b, ate, rr, obs_a, obs_b, obs_diff, spurious, n, notes)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den != 0 else float("nan")


def conditional_effects(sampler: Any, treatment: str, outcome: str, given: str, **kwargs: Any) -> dict[Any, EffectReport]:
    """The effect within each level of a discrete Z: {z: report for E[Y | do(X), Z=z]}."""
    sampler = as_sampler(sampler, outcome)
    node = sampler.graph.node(given) if given in sampler.graph else None
    if node is None:
        sampler.graph.check_nodes([given], "given")
    if not node.is_discrete:
        raise WorkbenchError(f"stratifying needs a discrete {given}; give a value with --given {given}=v instead")
    return {z: average_effect(sampler, treatment, outcome, given={given: z}, **kwargs) for z in range(node.levels)}


# --------------------------------------------------------------------------------------------------
# Mediation


def check_mediators(graph: ADMG, treatment: str, mediators: Sequence[str], outcome: str) -> None:
    """Each mediator must lie on a directed path treatment ~> mediator ~> outcome."""
    graph.check_nodes([treatment, outcome, *mediators], "mediation query")
    on_path = (graph.descendants([treatment]) & graph.ancestors([outcome])) - {treatment, outcome}
    for m in mediators:
        if m not in on_path:
            raise WorkbenchError(f"mediator {m} is not on a directed path from {treatment} to {outcome}")


@dataclass
class MediationReport:
    """Total, natural direct/indirect (on the same units) and controlled direct effects."""

    treatment: str
    mediators: list[str]
    outcome: str
    a: Any
    b: Any
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

    def to_dict(self) -> dict[str, Any]:
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


def mediation_effects(
    sampler: Any,
    treatment: str,
    mediator: str | Sequence[str],
    outcome: str,
    a: Any = None,
    b: Any = None,
    cde_levels: Sequence[Any] | None = None,
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
    if not getattr(sampler, "ground_truth", False) and not g.is_markovian:
        raise WorkbenchError(
            "natural direct/indirect effects from a learned model need a graph without bidirected edges "
            "(ID-GEN answers interventional queries, not the nested counterfactuals they need)"
        )
    if not isinstance(sampler, CounterfactualSampler):
        raise WorkbenchError("natural direct/indirect effects need counterfactuals: use a world or a trained SCM")
    units = sampler.units(n, seed)
    factual = sampler.values(units)
    if a is None or b is None:
        da, db = default_contrast(g, treatment, factual)
        a, b = (da if a is None else a), (db if b is None else b)
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
    total_report = average_effect(
        sampler, treatment, outcome, a, b, n=n, seed=seed + 101, readout=readout, n_boot=n_boot, observational=False
    )
    total = total_report.ate
    check = abs(total.value - total_units.value)
    slack = (total.high - total.low) / 2 + (total_units.high - total_units.low) / 2
    cde = controlled_direct_effects(sampler, treatment, ms, outcome, a, b, factual, cde_levels, n, seed + 7, readout, n_boot, level)
    notes = [] if cde or len(ms) > 1 or g.node(ms[0]).type != "image" else ["no controlled direct effect for an image mediator"]
    return MediationReport(
        treatment, ms, outcome, a, b, total, total_units, nde, nie, nie_rev, cde, check, bool(check <= slack + 1e-12), n, notes
    )


def controlled_direct_effects(
    sampler: Sampler,
    treatment: str,
    mediators: Sequence[str],
    outcome: str,
    a: Any,
    b: Any,
    factual: Columns,
    levels: Sequence[Any] | None,
    n: int,
    seed: int,
    readout: Readout | None,
    n_boot: int,
    level: float,
) -> dict[str, Estimate]:
    """CDE(m) = E[Y | do(X=a, M=m)] - E[Y | do(X=b, M=m)] for each mediator value m (one scalar mediator)."""
    if len(mediators) != 1:
        return {}
    m = mediators[0]
    node = sampler.graph.node(m)
    if node.type == "image":
        return {}
    if levels is None:
        levels = list(range(node.levels)) if node.is_discrete else [float(np.mean(factual[m]))]
    check_identifiable(sampler, [treatment, m], [outcome])
    out: dict[str, Estimate] = {}
    for i, v in enumerate(levels):
        g = sampler.graph
        ya = outcome_values(sampler.interventional({treatment: a, m: v}, n, seed + 2 * i), g, outcome, readout)
        yb = outcome_values(sampler.interventional({treatment: b, m: v}, n, seed + 2 * i + 1), g, outcome, readout)
        d = bootstrap_means(ya, n_boot, seed + 3 * i) - bootstrap_means(yb, n_boot, seed + 3 * i + 1)
        out[f"{m}={v:g}" if isinstance(v, float) else f"{m}={v}"] = percentile_interval(ya.mean() - yb.mean(), d, level)
    return out


# --------------------------------------------------------------------------------------------------
# Attribute shifts


def _changed(before: np.ndarray, after: np.ndarray, tolerance: float | None) -> np.ndarray:
    """Per unit: did the attribute change?  Integers: any difference; floats: more than ``tolerance``
    (default: a quarter of the factual standard deviation, so read-out jitter does not count)."""
    before, after = np.asarray(before), np.asarray(after)
    if np.issubdtype(before.dtype, np.integer) and np.issubdtype(after.dtype, np.integer):
        return before != after
    tol = tolerance if tolerance is not None else 0.25 * float(np.std(before.astype(np.float64)))
    return np.abs(after.astype(np.float64) - before.astype(np.float64)) > tol


def attribute_shift_table(
    truth: Any,
    treatment: str,
    value: Any,
    read: Callable[[Columns], Mapping[str, np.ndarray]],
    model: Any = None,
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
    discrete = g.node(treatment).is_discrete
    keep = np.flatnonzero(t != value) if discrete else np.arange(len(t))
    if len(keep) == 0:
        raise WorkbenchError(f"every sampled unit already has {treatment}={value}")
    units = pool_units.subset(keep) if hasattr(pool_units, "subset") else pool_units
    factual = truth.values(units)
    before = dict(read(factual))
    results: dict[str, Mapping[str, np.ndarray]] = {"truth": read(truth.counterfactual(units, {treatment: value}))}
    if model is not None:
        model = as_sampler(model)
        if not isinstance(model, CounterfactualSampler):
            raise WorkbenchError("the model must answer counterfactuals (a trained SCM)")
        results["model"] = read(model.counterfactual(units, {treatment: value}))
    donors = _select(pool, g, treatment, value, max(20, n // 20))
    if len(donors):
        rng = np.random.default_rng(seed + 1)
        pick = donors[rng.integers(0, len(donors), size=len(keep))]
        results["naive conditional"] = read({k: np.asarray(c)[pick] for k, c in pool.items()})
    descendants = g.descendants([treatment]) - {treatment}
    rows = []
    for attr, b4 in before.items():
        tol = tolerance.get(attr) if isinstance(tolerance, Mapping) else tolerance
        for method in ("model", "naive conditional", "truth"):
            if method in results:
                changed = _changed(b4, results[method][attr], tol)
                rows.append(
                    {
                        "attribute": attr,
                        "method": method,
                        "changed_pct": 100.0 * float(np.mean(changed)),
                        "n": len(keep),
                        "descendant": (attr in descendants) if attr in g else None,
                    }
                )
    return pd.DataFrame(rows, columns=["attribute", "method", "changed_pct", "n", "descendant"])
