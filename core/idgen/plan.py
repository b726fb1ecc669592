"""What an ID-GEN query needs, described before anything is trained: data sets, conditional models, the sampling network.

A :class:`Plan` is data only: :class:`ModelSpec` s (one conditional model ``target | inputs`` on one
:class:`DataRef`, the observed data or a synthetic data set the recursion samples), the
:class:`Network` that pushes intervention values through them, and the order to train them in.
``core.idgen.compiler`` makes plans; ``core.idgen.sampler`` trains and samples them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.graph import ADMG
from core.graph.node import JSONValue


@dataclass(frozen=True)
class DataRef:
    """A data set of the recursion: the observed data (``parent is None``), or a synthetic data set
    sampled from ``generators`` with ``context`` columns drawn independently of the rest."""

    key: str
    parent: DataRef | None = None
    generators: tuple[ModelSpec, ...] = ()
    context: tuple[str, ...] = ()
    label: str = "observed data"


@dataclass(frozen=True)
class ModelSpec:
    """One conditional model ``target | inputs`` trained on ``data``.  Two specs with the same key
    are the same model: trained once, shared by every query that needs it."""

    target: str
    inputs: tuple[str, ...]
    data: DataRef

    @property
    def key(self) -> str:
        return f"{self.target}|{','.join(self.inputs)}@{self.data.key}"

    def describe(self) -> str:
        given = f" | {', '.join(self.inputs)}" if self.inputs else ""
        return f"p({self.target}{given}) on {self.data.label}"


@dataclass(frozen=True)
class Network:
    """A sampling network: ``models[v]`` produces v from its inputs; ``inputs`` are fixed from outside
    (intervention values, or variables whose value is free by do-calculus rule 3)."""

    models: Mapping[str, ModelSpec]
    inputs: frozenset[str]

    def merge(self, other: Network) -> Network:
        models = dict(self.models)
        for v, spec in other.models.items():
            if v in models and models[v].key != spec.key:
                raise AssertionError(f"ID-GEN merge: {v} produced by two different models")
            models[v] = spec
        inputs = (self.inputs | other.inputs) - set(models)
        return Network(models, frozenset(inputs))

    def restrict(self, keep: Iterable[str]) -> Network:
        """Only the models needed to produce ``keep`` (summing the other variables out)."""
        needed: set[str] = set()
        stack = [v for v in keep if v in self.models]
        while stack:
            v = stack.pop()
            if v in needed:
                continue
            needed.add(v)
            stack += [u for u in self.models[v].inputs if u in self.models and u not in needed]
        models = {v: s for v, s in self.models.items() if v in needed}
        used = {u for s in models.values() for u in s.inputs} | set(keep)
        return Network(models, frozenset(u for u in used if u not in models))


@dataclass
class Plan:
    """What a query needs: the network and every model (in an order where each model's training
    data only depends on models listed before it)."""

    graph: ADMG
    outcome: tuple[str, ...]
    treatment: tuple[str, ...]
    given: tuple[str, ...]
    network: Network
    free_inputs: tuple[str, ...]  # intervened by rule 3 only: any value will do; see free_models
    models: list[ModelSpec] = field(default_factory=list)
    # p(free input | fixed values, earlier free inputs) on the observed data, one per free input
    free_models: Mapping[str, ModelSpec] = field(default_factory=dict)

    def describe(self) -> list[str]:
        free = {s.key for s in self.free_models.values()}
        return [s.describe() + (" (draws the free input)" if s.key in free else "") for s in self.models]

    def plan_graph(self) -> dict[str, JSONValue]:
        """The sampling network as a graph for the UI: which model feeds which."""
        nodes = [{"id": v, "kind": "input"} for v in sorted(self.network.inputs - set(self.free_models))]
        edges = []
        for v, spec in self.free_models.items():
            nodes.append({"id": v, "kind": "free input", "model": spec.describe()})
            edges += [[u, v] for u in spec.inputs]
        for v, spec in self.network.models.items():
            nodes.append({"id": v, "kind": "model", "model": spec.describe()})
            edges += [[u, v] for u in spec.inputs]
        synthetic = sorted({s.data.key: s.data.label for s in self.models if s.data.parent is not None}.items())
        return {"nodes": nodes, "edges": edges, "synthetic_datasets": [lab for _, lab in synthetic]}


@dataclass(frozen=True)
class PlanStatus:
    """Where each model of a plan comes from, known before any training: ``reused`` were trained
    elsewhere for the same conditional on the same data (a workspace run's node models), ``cached``
    were fitted earlier by this cache (another query on the same data), ``instant`` are left to fit
    but cost nothing (exact-count tables, draws from the data; the caller sorts them out of
    ``to_fit``), ``to_fit`` remain."""

    reused: tuple[ModelSpec, ...] = ()
    cached: tuple[ModelSpec, ...] = ()
    to_fit: tuple[ModelSpec, ...] = ()
    instant: tuple[ModelSpec, ...] = ()

    @property
    def total(self) -> int:
        return len(self.reused) + len(self.cached) + len(self.to_fit) + len(self.instant)

    @property
    def trained(self) -> int:
        return len(self.reused) + len(self.cached)

    def summary(self) -> str:
        """``"1 of 5 models already trained, 4 exact (instant), 0 to train"``."""
        text = f"{self.trained} of {self.total} model{'s' if self.total != 1 else ''} already trained"
        if self.instant:
            text += f", {len(self.instant)} exact (instant)"
        return text + f", {len(self.to_fit)} to train"


class ModelSpecs:
    """The specs of one compilation, by key: inputs in the input graph's topological order, and one
    object per key (two recursion branches that need the same conditional share its model)."""

    def __init__(self, graph: ADMG) -> None:
        self.order = {v: i for i, v in enumerate(graph.topological_order())}
        self.by_key: dict[str, ModelSpec] = {}

    def spec(self, target: str, inputs: Iterable[str], data: DataRef) -> ModelSpec:
        s = ModelSpec(target, tuple(sorted(set(inputs), key=self.order.__getitem__)), data)
        return self.by_key.setdefault(s.key, s)


def training_order(net: Network) -> list[ModelSpec]:
    """Every model the network needs, including those that generate its synthetic data sets, with
    the generators of a data set listed before the models trained on it."""
    out: dict[str, ModelSpec] = {}

    def visit(spec: ModelSpec) -> None:
        if spec.key in out:
            return
        data = spec.data
        while data.parent is not None:
            for g in data.generators:
                visit(g)
            data = data.parent
        out[spec.key] = spec

    for spec in net.models.values():
        visit(spec)
    return list(out.values())
