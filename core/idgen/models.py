"""The conditional models an ID-GEN plan trains: exact-count tables, draws from the data, or node mechanisms."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.errors import WorkbenchError
from core.graph import Node

if TYPE_CHECKING:
    import torch

    from core.idgen.plan import ModelSpec
    from core.mechanisms.base import Mechanism

Columns = dict[str, np.ndarray]


class ConditionalModel(Protocol):
    """A model of ``target | inputs``: fitted once on columns, then sampled given input columns."""

    def fit(self, inputs: Columns, target: np.ndarray) -> ConditionalModel: ...
    def sample(self, inputs: Columns, n: int, rng: np.random.Generator) -> np.ndarray: ...


class TabularModel:
    """A conditional probability table for a discrete target given discrete inputs, estimated by
    counting (with a small Dirichlet prior).  Input configurations never seen in the data fall back
    to the target's marginal."""

    def __init__(self, levels: int, input_levels: Mapping[str, int], prior: float = 0.5) -> None:
        self.levels = int(levels)
        self.input_names = tuple(input_levels)
        self.input_levels = tuple(int(input_levels[k]) for k in self.input_names)
        self.prior = prior
        self.cdf: np.ndarray | None = None

    def _config(self, inputs: Columns) -> np.ndarray:
        idx = np.zeros(len(next(iter(inputs.values()))) if inputs else 0, dtype=np.int64)
        for name, k in zip(self.input_names, self.input_levels, strict=True):
            col = np.asarray(inputs[name], dtype=np.int64)
            if col.size and (col.min() < 0 or col.max() >= k):
                raise WorkbenchError(f"value of {name} outside 0..{k - 1}: the model never saw it")
            idx = idx * k + col
        return idx

    def fit(self, inputs: Columns, target: np.ndarray) -> TabularModel:
        n_configs = int(np.prod(self.input_levels)) if self.input_levels else 1
        if n_configs > 5_000_000:
            raise WorkbenchError("too many input configurations for a table: use a neural mechanism")
        t = np.asarray(target, dtype=np.int64)
        cfg = self._config(inputs) if self.input_names else np.zeros(len(t), dtype=np.int64)
        counts = np.zeros((n_configs, self.levels))
        np.add.at(counts, (cfg, t), 1.0)
        marginal = counts.sum(0) + self.prior
        marginal /= marginal.sum()
        seen = counts.sum(1, keepdims=True)
        probs = np.where(seen > 0, (counts + self.prior) / (seen + self.prior * self.levels), marginal)
        self.probs = probs
        self.cdf = np.cumsum(probs, axis=1)
        self.cdf[:, -1] = 1.0
        return self

    def sample(self, inputs: Columns, n: int, rng: np.random.Generator) -> np.ndarray:
        cfg = self._config(inputs) if self.input_names else np.zeros(n, dtype=np.int64)
        u = rng.random(n)
        return (u[:, None] > self.cdf[cfg]).sum(1).astype(np.int64)


class EmpiricalModel:
    """A variable with no inputs, sampled by drawing rows of its data column uniformly with
    replacement: the empirical distribution, consistent and exact in every detail the data has.
    ID-GEN only needs *samples* of such a marginal (to build a synthetic data set); a learned
    generator can only add its own errors.  Measured on napkin_digits: a VAE p(W1) drew the
    two-channel colours 9-13% too rarely and some of them dim, and p(Y | W1, W2, X), trained on
    real W1 images, painted 4-15% of those in a primary colour, so the synthetic set's Y colours
    were 0.07-0.10 in TVD from uniform, an error the last stage inherited.  With the data's W1
    images the synthetic set's Y colours are 0.025-0.034 from uniform."""

    def __init__(self) -> None:
        self.values: np.ndarray | None = None

    def fit(self, inputs: Columns, target: np.ndarray) -> EmpiricalModel:
        if inputs:
            raise WorkbenchError(f"an empirical model has no inputs, got {sorted(inputs)}")
        if len(target) == 0:
            raise WorkbenchError("an empirical model needs at least one data row")
        self.values = np.asarray(target)
        return self

    def sample(self, inputs: Columns, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.values is None:
            raise WorkbenchError("the empirical model is not fitted yet")
        return self.values[rng.integers(0, len(self.values), size=n)].copy()


ModelFactory = Callable[[Node, list[Node]], ConditionalModel]
# A model trained elsewhere (a workspace's training run) for exactly this conditional on the
# observed data, or None: ID-GEN uses it as it is instead of fitting its own.
PretrainedLookup = Callable[["ModelSpec"], "ConditionalModel | None"]


class MechanismModel:
    """A node mechanism from ``core.mechanisms`` (categorical, flow, diffusion or VAE) used as an
    ID-GEN conditional model: the inputs play the role of parents."""

    def __init__(self, target: Node, inputs: list[Node], kind: str | None = None, preset: str | None = None,
                 steps: int | None = None, batch_size: int | None = None, device: torch.device | str | None = None,
                 progress: Callable[[int, float], object] | None = None, seed: int = 0,
                 autoencoder_of: Mechanism | None = None, **overrides: Any) -> None:
        from core.mechanisms import make_mechanism
        from core.mechanisms.base import node_seed

        self.target, self.inputs = target, list(inputs)
        # One seed per conditional, for the weights and the training batches: a run is reproducible
        # whatever drew from torch's global generator before (probes, other models, the UI).
        self.seed = node_seed(seed, f"{target.name}|{','.join(n.name for n in self.inputs)}")
        self.mechanism = make_mechanism(target, inputs, kind=kind, preset=preset, device=device, seed=self.seed,
                                        **overrides)
        # A latent image model shares the node's trained autoencoder (the run's model of the same
        # node and data) and trains only its latent flow; one that does not fit trains its own.
        if autoencoder_of is not None and hasattr(self.mechanism, "adopt_autoencoder"):
            with contextlib.suppress(WorkbenchError):
                self.mechanism.adopt_autoencoder(autoencoder_of)
        self.steps, self.batch_size, self.progress = steps, batch_size, progress
        self.history: list[float] = []

    def _parents(self, inputs: Columns) -> dict[str, torch.Tensor]:
        from core.mechanisms import to_tensor

        dev = self.mechanism.device
        return {n.name: to_tensor(n, inputs[n.name], dev) for n in self.inputs}

    def fit(self, inputs: Columns, target: np.ndarray) -> MechanismModel:
        from core.mechanisms import to_tensor

        if getattr(self, "pretrained", False):
            raise WorkbenchError(f"the model of {self.target.name} is already trained: it is not fitted again")
        values = to_tensor(self.target, target, self.mechanism.device)
        self.history = self.mechanism.fit(self._parents(inputs), values, steps=self.steps,
                                          batch_size=self.batch_size, callback=self.progress, seed=self.seed)
        return self

    @classmethod
    def trained(cls, mechanism: Mechanism, target: Node, inputs: list[Node]) -> MechanismModel:
        """Wrap a mechanism that is already fitted to ``target | inputs`` (a workspace run's node
        model): it samples like any other, and refuses to be fitted again."""
        model = cls.__new__(cls)
        model.target, model.inputs, model.mechanism = target, list(inputs), mechanism
        model.steps = model.batch_size = model.progress = None
        model.seed = 0
        model.history = []
        model.pretrained = True
        return model

    def sample(self, inputs: Columns, n: int, rng: np.random.Generator) -> np.ndarray:
        import torch

        from core.mechanisms import to_numpy

        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        out = []
        # Batches keep memory flat when a synthetic data set has tens of thousands of images.
        for start in range(0, n, 512):
            stop = min(n, start + 512)
            part = {k: v[start:stop] for k, v in inputs.items()}
            out.append(to_numpy(self.target, self.mechanism.sample(self._parents(part), generator=gen, n=stop - start)))
        return np.concatenate(out)


def mechanism_factory(kinds: Mapping[str, str] | None = None, tabular_when_possible: bool = True,
                      empirical_marginals: bool = True,
                      autoencoders: Callable[[str], Mechanism | None] | None = None, **options: Any) -> ModelFactory:
    """Models for any node type: exact-count tables where target and inputs are all discrete (when
    ``tabular_when_possible``), draws from the data for a continuous or image target without inputs
    (when ``empirical_marginals``; see ``EmpiricalModel``), else a mechanism (``kinds`` maps node
    name -> mechanism kind; ``options`` go to every mechanism: preset, steps, batch_size, device, seed,
    ...; each model's weights and batches come from ``seed`` and its target and inputs).
    ``autoencoders(name)``: a trained latent image model of node ``name`` whose autoencoder the
    node's ID-GEN models adopt (``LatentFlowImageMechanism.adopt_autoencoder``), or None."""
    kinds = dict(kinds or {})

    def factory(target: Node, inputs: list[Node]) -> ConditionalModel:
        model = exact_model(target, inputs, tables=tabular_when_possible, empirical=empirical_marginals)
        if model is not None:
            return model
        shared = autoencoders(target.name) if autoencoders is not None and target.type == "image" else None
        return MechanismModel(target, inputs, kind=kinds.get(target.name), autoencoder_of=shared, **options)

    return factory


def exact_model(target: Node, inputs: Sequence[Node], tables: bool = True,
                empirical: bool = True) -> ConditionalModel | None:
    """The model that needs no training for ``target | inputs``, or None: an exact-count table where
    every variable is discrete (``tables``), draws from the data for a target without inputs
    (``empirical``).  ``mechanism_factory`` falls back to a trained mechanism on None."""
    if tables and all(n.is_discrete for n in [target, *inputs]):
        return tabular_factory(target, list(inputs))
    if empirical and not inputs:
        return EmpiricalModel()
    return None


def tabular_factory(target: Node, inputs: list[Node]) -> ConditionalModel:
    """Tabular models for discrete worlds; other node types need a neural factory."""
    for n in [target, *inputs]:
        if not n.is_discrete:
            raise WorkbenchError(f"node {n.name} is {n.type}: tabular models need discrete variables")
    return TabularModel(target.levels, {n.name: n.levels for n in inputs})

