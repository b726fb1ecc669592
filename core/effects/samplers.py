"""Samplers: one interface over ground-truth worlds, trained SCMs and ID-GEN.

Every effect estimate reads samples through :class:`Sampler` (observational rows and rows under
``do(X = a)``, optionally given ``Z = z``); the natural direct and indirect effects and the
attribute-shift table also need :class:`CounterfactualSampler` (the same units re-run under another
``do``).  Thin wrappers adapt each source: :class:`WorldSampler`, :class:`SCMSampler`,
:class:`IDGenSampler`; :func:`as_sampler` picks the right one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG

if TYPE_CHECKING:
    from core.idgen import IDGen, ModelSpec
    from core.scm import NeuralSCM
    from core.worlds import Units, World

Columns: TypeAlias = dict[str, np.ndarray]
"""Sampled rows as columns: node name -> (n,) scalars or (n, C, H, W) uint8 images."""

Value: TypeAlias = int | float | np.generic
"""One value of a node: a level of a discrete node or a number."""

DoValues: TypeAlias = Mapping[str, Value | np.ndarray]
"""``do(...)`` and ``given`` values by node: one value, or one value per unit (nested counterfactuals)."""

FitProgress: TypeAlias = Callable[[int, int, "ModelSpec"], None]
"""``IDGen.fit``'s callback: (index, total, model spec) before each conditional model is fitted."""


@runtime_checkable
class Sampler(Protocol):
    """Draws rows of the graph's variables: observational and interventional.

    ``ground_truth`` is True for a world with known mechanisms (no identification question arises);
    ``supports_given`` is True when ``interventional(..., given=...)`` conditions natively
    (otherwise conditioning is done by rejection, see :func:`core.effects.draws.interventional_draws`).
    """

    graph: ADMG
    ground_truth: bool
    supports_given: bool

    def observational(self, n: int, seed: int = 0) -> Columns: ...

    def interventional(self, do: DoValues, n: int, seed: int = 0, given: DoValues | None = None) -> Columns: ...


@runtime_checkable
class CounterfactualSampler(Sampler, Protocol):
    """A sampler that can also answer "what would THIS unit have been": ``units`` draws a batch (an
    opaque object that ``values`` reads and ``counterfactual`` re-runs on the same exogenous noise)."""

    def units(self, n: int, seed: int = 0) -> object: ...

    def values(self, units: object) -> Columns: ...

    def counterfactual(self, units: object, do: DoValues) -> Columns: ...


SamplerSource: TypeAlias = "Sampler | World | NeuralSCM | IDGen"
"""What :func:`as_sampler` accepts: a sampler, or a world, a trained SCM or an ID-GEN to wrap."""


def columns_of(batch: Units | Mapping[str, np.ndarray]) -> Columns:
    """Units (``.values``) or a plain mapping of columns -> dict of numpy arrays."""
    values = getattr(batch, "values", batch)
    if callable(values):  # a Mapping's .values() method, not Units.values
        values = batch
    return {k: np.asarray(v) for k, v in dict(values).items()}


class StructuralModel(Protocol):
    """What the counterfactual samplers call: a :class:`core.worlds.World` or a
    :class:`core.scm.NeuralSCM` (rungs 2 and 3; each draws rung 1 its own way)."""

    graph: ADMG

    def interventional_samples(self, do: DoValues, n: int, seed: int = 0) -> Units | Columns: ...

    def counterfactual_samples(self, observed_units: Units | Columns, do: DoValues) -> Units | Columns: ...


class _StructuralSampler:
    """The rungs a world and a trained SCM answer alike: interventions and counterfactuals."""

    supports_given = False

    def __init__(self, model: StructuralModel) -> None:
        self.model = model
        self.graph = model.graph

    def interventional(self, do: DoValues, n: int, seed: int = 0, given: DoValues | None = None) -> Columns:
        return columns_of(self.model.interventional_samples(dict(do), n, seed))

    def values(self, units: Units | Columns) -> Columns:
        return columns_of(units)

    def counterfactual(self, units: Units | Columns, do: DoValues) -> Columns:
        return columns_of(self.model.counterfactual_samples(units, dict(do)))


class WorldSampler(_StructuralSampler):
    """A ground-truth :class:`core.worlds.World` as a counterfactual sampler; its units are
    :class:`core.worlds.Units` (values plus the exogenous noise that produced them)."""

    ground_truth = True

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.world = world

    def observational(self, n: int, seed: int = 0) -> Columns:
        return columns_of(self.world.sample(n, seed))

    def units(self, n: int, seed: int = 0) -> Units:
        return self.world.sample(n, seed)


class SCMSampler(_StructuralSampler):
    """A trained Markovian :class:`core.scm.NeuralSCM` as a counterfactual sampler.  Its units are
    plain columns, and counterfactuals abduct the noise from a unit's values, so units sampled from
    a ground-truth world can be handed to it directly."""

    ground_truth = False

    def __init__(self, scm: NeuralSCM) -> None:
        super().__init__(scm)
        self.scm = scm

    def observational(self, n: int, seed: int = 0) -> Columns:
        return columns_of(self.scm.draw_samples(n, seed))

    def units(self, n: int, seed: int = 0) -> Columns:
        return self.scm.draw_samples(n, seed)


class IDGenSampler:
    """A fitted :class:`core.idgen.IDGen` for one outcome: refits (cheaply; trained models are
    cached) when asked for another treatment or conditioning set.  Observational rows are
    resampled from its data."""

    ground_truth = False
    supports_given = True

    def __init__(self, gen: IDGen, outcome: str | Sequence[str], progress: FitProgress | None = None) -> None:
        self.gen = gen
        self.graph = gen.graph
        self.outcome = [outcome] if isinstance(outcome, str) else list(outcome)
        self.progress = progress

    def observational(self, n: int, seed: int = 0) -> Columns:
        data = self.gen.data
        rows = np.random.default_rng(seed).integers(0, len(next(iter(data.values()))), size=n)
        return {k: np.asarray(v)[rows] for k, v in data.items()}

    def interventional(self, do: DoValues, n: int, seed: int = 0, given: DoValues | None = None) -> Columns:
        given = dict(given or {})
        if not self._fitted_for(do, given):
            self.gen.fit(outcome=self.outcome, treatment=list(do), given=list(given), progress=self.progress)
        return columns_of(self.gen.sample(do=dict(do), n=n, given=given, seed=seed))

    def _fitted_for(self, do: DoValues, given: DoValues) -> bool:
        """The current plan answers this treatment and conditioning set for (at least) our outcome."""
        plan = self.gen.plan
        return (
            plan is not None
            and set(plan.treatment) == set(do)
            and set(plan.given) == set(given)
            and set(self.outcome) <= set(plan.outcome)
        )


def as_sampler(source: SamplerSource, outcome: str | None = None) -> Sampler:
    """Wrap a world, a trained SCM or an ID-GEN (needs ``outcome``) as a :class:`Sampler`; a sampler
    is returned as it is."""
    if hasattr(source, "observational") and hasattr(source, "interventional"):
        return source
    if hasattr(source, "plan_query"):
        if outcome is None:
            raise WorkbenchError("an ID-GEN sampler needs the outcome it is fitted for")
        return IDGenSampler(source, outcome)
    if hasattr(source, "draw_samples"):
        return SCMSampler(source)
    if hasattr(source, "interventional_samples") and hasattr(source, "counterfactual_samples"):
        return WorldSampler(source)
    raise WorkbenchError(f"cannot draw samples from a {type(source).__name__}: expected a world, an SCM or an ID-GEN")
