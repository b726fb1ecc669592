"""ID-GEN: sample any identifiable P(y | do(x)) or P(y | do(x), z) with conditional generative models.

Rahman, Jordan & Kocaoglu (NeurIPS 2024) run Shpitser & Pearl's ID recursion over *data sets and
trained conditional models* instead of probability expressions.  We compile (graph, query) into a
:class:`Plan` without touching data (so a non-identifiable query fails before any training and the
UI can show which models are needed), then :meth:`IDGen.fit` trains the plan's models and
:meth:`IDGen.sample` pushes intervention values through the resulting sampling network.

The recursion state is ``(Y, X, data, G, context)``: ``context`` are intervention variables that a
line-7 step turned into conditioning columns of a synthetic data set; every model trained on that
data set conditions on them too, so one trained network serves every value of x.

Lines, as in the paper (``_line1`` ... ``_line7`` below):

1. ``X = {}``: one model per V_i given its predecessors in the topological order (and the context).
2. drop the non-ancestors of Y (columns and nodes), recurse.
3. ``W = (V \\ X) \\ An(Y)_{G_{\\bar X}}``: add W to the intervention, recurse (graph bookkeeping).
4. several districts S_i of G \\ X: recurse for each ``P_{v \\ s_i}(s_i)`` and MERGE the networks:
   every variable is produced by exactly one sub-network; the others read it as an input.
5. G \\ X is a single district and so is G: a hedge (raised at compile time by ``core.identify``).
6. S is a district of G: one model per V_i in S given its predecessors.
7. S within a larger district S' of G: train models of S' given predecessors on the current data,
   SAMPLE a synthetic data set D' (the intervened variables X \\ S' drawn independently of S', as
   conditioning columns), recurse on D' and G[S'].

Inputs left free by rule 3 (the napkin's W2 in P_{w2}(y | x)) could take any value; ``sample`` draws
them from one more trained model each, P(free | fixed do / given values) on the data, because a
trained model is only reliable on input combinations its training data held.

Conditional queries follow IDC: rule-2 moves conditioning variables into the intervention where
``Y _||_ Z_i | X, Z \\ Z_i`` holds in ``G_{\\bar X, \\underline{Z_i}}``; for what remains we sample
P_x(y, z) from the network above and train a conditional model of y given (z, x) on those samples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG, Node

Columns = dict[str, np.ndarray]


# --------------------------------------------------------------------------------------------------
# The plan: data sets and models, described before anything is trained


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

    def plan_graph(self) -> dict[str, Any]:
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


# --------------------------------------------------------------------------------------------------
# Compilation: the ID recursion over (graph, data references)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Compiler:
    """Follows ID's lines, collecting ModelSpecs; shares specs with equal keys (the model cache)."""

    def __init__(self, graph: ADMG) -> None:
        self.order = {v: i for i, v in enumerate(graph.topological_order())}
        self.specs: dict[str, ModelSpec] = {}

    def spec(self, target: str, inputs: Iterable[str], data: DataRef) -> ModelSpec:
        s = ModelSpec(target, tuple(sorted(set(inputs), key=self.order.__getitem__)), data)
        return self.specs.setdefault(s.key, s)

    def id(self, y: frozenset[str], x: frozenset[str], data: DataRef, g: ADMG, ctx: frozenset[str]) -> Network:
        v = frozenset(g.names)
        if not x:
            return self._line1(y, data, g, ctx)
        anc = g.ancestors(y)
        if anc != v:
            return self.id(y, x & anc, data, g.subgraph(anc), ctx)  # line 2
        w = (v - x) - g.do(x).ancestors(y)
        if w:
            return self.id(y, x | w, data, g, ctx)  # line 3
        districts = g.subgraph(v - x).districts()
        if len(districts) > 1:
            return self._line4(y, x, data, g, ctx, districts)
        s = districts[0]
        g_districts = g.districts()
        if len(g_districts) == 1:
            raise AssertionError("hedge reached in ID-GEN: identify() should have refused this query")  # line 5
        if s in g_districts:
            return self._line6(y, s, data, g, ctx)
        s_prime = next(d for d in g_districts if s <= d)
        return self._line7(y, x, s_prime, data, g, ctx)

    def _predecessors(self, g: ADMG, vi: str) -> list[str]:
        topo = g.topological_order()
        return list(topo[: topo.index(vi)])

    def _line1(self, y: frozenset[str], data: DataRef, g: ADMG, ctx: frozenset[str]) -> Network:
        models = {vi: self.spec(vi, [*self._predecessors(g, vi), *ctx], data) for vi in g.topological_order()}
        return Network(models, frozenset(ctx)).restrict(y)

    def _line4(self, y, x, data, g, ctx, districts) -> Network:
        v = frozenset(g.names)
        net = Network({}, frozenset())
        for s in districts:
            net = net.merge(self.id(s, v - s, data, g, ctx))
        net = Network(net.models, frozenset((net.inputs | x | ctx) - set(net.models)))
        return net.restrict(y)

    def _line6(self, y, s, data, g, ctx) -> Network:
        models = {vi: self.spec(vi, [*self._predecessors(g, vi), *ctx], data) for vi in g.sort(s)}
        inputs = {u for m in models.values() for u in m.inputs} - set(models)
        return Network(models, frozenset(inputs)).restrict(y)

    def _line7(self, y, x, s_prime, data, g, ctx) -> Network:
        generators = tuple(self.spec(vi, [*self._predecessors(g, vi), *ctx], data) for vi in g.sort(s_prime))
        new_ctx = ctx | (x - s_prime)
        ordered_ctx = tuple(sorted(new_ctx, key=self.order.__getitem__))
        key = _digest("line7", data.key, [m.key for m in generators], ordered_ctx)
        label = f"synthetic P({', '.join(g.sort(s_prime))} | do({', '.join(ordered_ctx)}))"
        synthetic = DataRef(key, data, generators, ordered_ctx, label)
        return self.id(y, x & s_prime, synthetic, g.subgraph(s_prime), new_ctx)


def _check_query(graph: ADMG, outcome, treatment, given) -> tuple[frozenset, frozenset, frozenset]:
    y = graph.check_nodes(outcome, "outcome")
    x = graph.check_nodes(treatment, "treatment")
    z = graph.check_nodes(given, "conditioning set")
    if not y:
        raise WorkbenchError("the outcome is empty: name at least one outcome variable")
    if x & y:
        raise WorkbenchError(f"{', '.join(sorted(x & y))} cannot be both treatment and outcome")
    if z & (x | y):
        raise WorkbenchError(f"{', '.join(sorted(z & (x | y)))} cannot be conditioned on and also be treatment or outcome")
    return y, x, z


def idc_reduce(graph: ADMG, y: frozenset[str], x: frozenset[str], z: frozenset[str]) -> tuple[frozenset, frozenset]:
    """IDC's rule-2 step: move each z with (Y _||_ z | X, Z \\ z) in G_{bar X, underline z} into X."""
    x, z = set(x), set(z)
    moved = True
    while moved:
        moved = False
        for zi in graph.sort(z):
            rest = z - {zi}
            if graph.do(x).remove_outgoing([zi]).m_separated(y, {zi}, x | rest):
                x.add(zi)
                z.discard(zi)
                moved = True
                break
    return frozenset(x), frozenset(z)


def compile_query(
    graph: ADMG,
    outcome: Iterable[str],
    treatment: Iterable[str] = (),
    given: Iterable[str] = (),
    data_key: str = "observed",
) -> Plan:
    """Compile P(outcome | do(treatment), given) into a Plan.  Raises ``NotIdentifiable`` (with the
    hedge) for a query no method can answer from this graph, before any training."""
    from core.identify import identify  # verdict and hedge; raises NotIdentifiable

    y, x, z = _check_query(graph, outcome, treatment, given)
    identify(graph, x, y, z)
    x2, z2 = idc_reduce(graph, y, x, z)
    comp = _Compiler(graph)
    observed = DataRef(data_key)
    net = comp.id(y | z2, x2, observed, graph, frozenset())
    if z2:
        # P_x(y | z): sample P_x(y, z) with x drawn independently, then model y given (z, x).
        ordered_x = tuple(graph.sort(x2))
        # Rule-3 inputs of the network are drawn with x, independently of the generated rows.
        context = tuple(graph.sort(net.inputs))
        generators = tuple(net.models[v] for v in graph.sort(net.models))
        key = _digest("idc", observed.key, [m.key for m in generators], context)
        label = f"synthetic P({', '.join(graph.sort(y | z2))} | do({', '.join(ordered_x)}))"
        synthetic = DataRef(key, observed, generators, context, label)
        models = {}
        for yi in graph.sort(y):
            models[yi] = comp.spec(yi, [*graph.sort(z2), *ordered_x, *(m for m in models)], synthetic)
        net = Network(models, frozenset(x2 | z2))
    net = net.restrict(y)
    free = tuple(graph.sort(net.inputs - x - z))
    free_models = _free_input_models(comp, free, graph.sort(x | z), observed)
    needed = _training_order(net) + list(free_models.values())
    return Plan(graph, tuple(graph.sort(y)), tuple(graph.sort(x)), tuple(graph.sort(z)), net, free, needed,
                free_models)


def _free_input_models(comp: _Compiler, free: Sequence[str], fixed: Sequence[str], data: DataRef) -> dict[str, ModelSpec]:
    """One model per free (rule-3) input, given the fixed values and the free inputs before it.

    Rule 3 makes a free input's value irrelevant to the answer, but a trained model is only reliable
    on input combinations its training data held, so each is drawn from P(free | fixed) on the
    data.  The napkin's last stage p(Y | W2, X) learned Y's digit from W2 (X's digit is W2's in all
    its training rows); W2 drawn from the data rows with the nearest X pixels gave a thin 2 the W2 of
    a thin 7 in 74% of draws, and the sampled Y read as 2 in 0% of them."""
    models: dict[str, ModelSpec] = {}
    for v in free:
        models[v] = comp.spec(v, [*fixed, *models], data)
    return models


def _training_order(net: Network) -> list[ModelSpec]:
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


# --------------------------------------------------------------------------------------------------
# Trained conditional models


class ConditionalModel(Protocol):
    def fit(self, inputs: Columns, target: np.ndarray) -> Any: ...
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
                 steps: int | None = None, batch_size: int | None = None, device: Any = None,
                 progress: Callable[[int, float], Any] | None = None, seed: int = 0, **overrides: Any) -> None:
        from core.mechanisms import make_mechanism
        from core.mechanisms.base import node_seed

        self.target, self.inputs = target, list(inputs)
        # One seed per conditional, for the weights and the training batches: a run is reproducible
        # whatever drew from torch's global generator before (probes, other models, the UI).
        self.seed = node_seed(seed, f"{target.name}|{','.join(n.name for n in self.inputs)}")
        self.mechanism = make_mechanism(target, inputs, kind=kind, preset=preset, device=device, seed=self.seed,
                                        **overrides)
        self.steps, self.batch_size, self.progress = steps, batch_size, progress
        self.history: list[float] = []

    def _parents(self, inputs: Columns):
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
    def trained(cls, mechanism: Any, target: Node, inputs: list[Node]) -> MechanismModel:
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
                      empirical_marginals: bool = True, **options: Any) -> ModelFactory:
    """Models for any node type: exact-count tables where target and inputs are all discrete (when
    ``tabular_when_possible``), draws from the data for a continuous or image target without inputs
    (when ``empirical_marginals``; see ``EmpiricalModel``), else a mechanism (``kinds`` maps node
    name -> mechanism kind; ``options`` go to every mechanism: preset, steps, batch_size, device, seed,
    ...; each model's weights and batches come from ``seed`` and its target and inputs)."""
    kinds = dict(kinds or {})

    def factory(target: Node, inputs: list[Node]) -> ConditionalModel:
        model = exact_model(target, inputs, tables=tabular_when_possible, empirical=empirical_marginals)
        if model is not None:
            return model
        return MechanismModel(target, inputs, kind=kinds.get(target.name), **options)

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


# --------------------------------------------------------------------------------------------------
# Fitting and sampling


def _n_rows(columns: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(columns.values())))


class IDGen:
    """Sample interventional distributions on graphs with hidden confounders.

    >>> gen = IDGen(graph, data).fit(outcome=["Y"], treatment=["X"])   # doctest: +SKIP
    >>> gen.sample(do={"X": 1}, n=1000)["Y"]                           # doctest: +SKIP
    """

    def __init__(
        self,
        graph: ADMG,
        data: Mapping[str, np.ndarray],
        model_factory: ModelFactory = tabular_factory,
        synthetic_rows: int | None = None,
        seed: int = 0,
        cache: dict[str, ConditionalModel] | None = None,
        data_key: str | None = None,
        pretrained: PretrainedLookup | None = None,
    ) -> None:
        self.graph = graph
        missing = [v for v in graph.names if v not in data]
        if missing:
            raise WorkbenchError(f"the data has no column for node {missing[0]}")
        self.data = {v: np.asarray(data[v]) for v in graph.names}
        n = {len(c) for c in self.data.values()}
        if len(n) != 1 or 0 in n:
            raise WorkbenchError("the data columns must be non-empty and of equal length")
        self.model_factory = model_factory
        self.synthetic_rows = synthetic_rows or _n_rows(self.data)
        self.seed = seed
        self.cache: dict[str, ConditionalModel] = cache if cache is not None else {}
        self.data_key = data_key or _fingerprint(self.data)
        self.pretrained = pretrained
        self.reused: dict[str, ConditionalModel] = {}  # spec key -> a model trained elsewhere
        self._synthetic: dict[str, Columns] = {}
        self.plan: Plan | None = None

    # ---- planning

    def plan_query(self, outcome: Iterable[str], treatment: Iterable[str] = (), given: Iterable[str] = ()) -> Plan:
        return compile_query(self.graph, outcome, treatment, given, data_key=self.data_key)

    def missing_models(self, plan: Plan) -> list[ModelSpec]:
        """The plan's models that are not trained yet (the rest come from the cache or were
        trained elsewhere: see :meth:`status`)."""
        return list(self.status(plan).to_fit)

    def status(self, plan: Plan) -> PlanStatus:
        """Which of the plan's models are already trained, before anything is fitted."""
        reused, cached, to_fit = [], [], []
        for s in plan.models:
            if self._pretrained(s) is not None:
                reused.append(s)
            elif s.key in self.cache:
                cached.append(s)
            else:
                to_fit.append(s)
        return PlanStatus(tuple(reused), tuple(cached), tuple(to_fit))

    def _pretrained(self, spec: ModelSpec) -> ConditionalModel | None:
        """A model trained elsewhere for exactly ``spec`` (same target, inputs and data: only the
        observed data qualifies, never a synthetic data set of the recursion), or None."""
        if spec.key in self.reused:
            return self.reused[spec.key]
        if self.pretrained is None or spec.data.parent is not None or spec.data.key != self.data_key:
            return None
        model = self.pretrained(spec)
        if model is not None:
            self.reused[spec.key] = model
        return model

    # ---- training

    def fit(
        self,
        outcome: Iterable[str],
        treatment: Iterable[str] = (),
        given: Iterable[str] = (),
        progress: Callable[[int, int, ModelSpec], None] | None = None,
    ) -> IDGen:
        """Train every model the query needs (reusing cached ones), in dependency order."""
        plan = self.plan_query(outcome, treatment, given)
        todo = plan.models
        for i, spec in enumerate(todo):
            if progress:
                progress(i, len(todo), spec)
            self._model(spec)
        self.plan = plan
        return self

    def _model(self, spec: ModelSpec) -> ConditionalModel:
        # A model the workspace already trained for this very conditional wins over fitting one
        # (it stays out of the shared cache: a retrained run must not leave a stale copy there).
        reused = self._pretrained(spec)
        if reused is not None:
            return reused
        if spec.key not in self.cache:
            data = self._materialise(spec.data)
            model = self.model_factory(self.graph.node(spec.target), [self.graph.node(u) for u in spec.inputs])
            model.fit({u: data[u] for u in spec.inputs}, data[spec.target])
            self.cache[spec.key] = model
        return self.cache[spec.key]

    def _materialise(self, ref: DataRef) -> Columns:
        if ref.parent is None:
            return self.data
        if ref.key in self._synthetic:
            return self._synthetic[ref.key]
        parent = self._materialise(ref.parent)
        n = self.synthetic_rows
        rng = np.random.default_rng([self.seed, int(ref.key[:8], 16)])
        # The context plays the role of fixed intervention values: draw it independently of the
        # rows the generators produce (a fresh row permutation), else confounding leaks back in.
        rows = rng.integers(0, _n_rows(parent), size=n)
        out: Columns = {c: parent[c][rows] for c in ref.context}
        for spec in ref.generators:
            out[spec.target] = self._model(spec).sample({u: out[u] for u in spec.inputs}, n, rng)
        self._synthetic[ref.key] = out
        return out

    # ---- sampling

    def sample(
        self,
        do: Mapping[str, Any] | None = None,
        n: int = 1000,
        given: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> Columns:
        """n draws of the outcome from P(y | do(x), z) for the fitted query.  Returns every variable
        the network produced (the outcome included) plus the inputs it used."""
        if self.plan is None:
            raise WorkbenchError("call fit(...) before sample(...)")
        plan = self.plan
        do, given = dict(do or {}), dict(given or {})
        for name, what, wanted in (("do", do, plan.treatment), ("given", given, plan.given)):
            if set(what) != set(wanted):
                raise WorkbenchError(
                    f"this network was fitted for {name}={{{', '.join(wanted)}}}; got {{{', '.join(what)}}}"
                )
        rng = np.random.default_rng(seed)
        values: Columns = {}
        for k, v in {**do, **given}.items():
            values[k] = self._broadcast(k, v, n)
        # Rule-3 inputs, drawn where the models have seen them: from P(free | fixed) on the data (a
        # draw from the marginal gave the napkin's last stage (W2, x) pairs its synthetic data never
        # held, and it answered those with a colour bias that depended on x).
        for v, spec in plan.free_models.items():
            values[v] = self._model(spec).sample({u: values[u] for u in spec.inputs}, n, rng)
        for v in self.graph.sort(plan.network.models):
            spec = plan.network.models[v]
            values[v] = self._model(spec).sample({u: values[u] for u in spec.inputs}, n, rng)
        return values

    def _broadcast(self, name: str, value: Any, n: int) -> np.ndarray:
        node = self.graph.node(name)
        arr = np.asarray(value)
        if node.type == "image":
            if arr.shape == tuple(node.shape):
                return np.broadcast_to(arr, (n, *arr.shape)).copy()
            if arr.shape == (n, *node.shape):
                return arr
            raise WorkbenchError(f"do({name}): an image of shape {tuple(node.shape)} is needed, got {arr.shape}")
        if arr.ndim == 0:
            arr = np.full(n, arr.item())
        if arr.shape != (n,):
            raise WorkbenchError(f"{name}: give one value or one per unit ({n}), got shape {arr.shape}")
        if node.is_discrete:
            if not np.all((arr >= 0) & (arr < node.levels) & (arr == np.round(arr))):
                raise WorkbenchError(f"{name} takes values 0..{node.levels - 1}; got {np.unique(arr)[:5].tolist()}")
            seen = set(np.unique(self.data[name]).tolist())
            unseen = sorted(set(np.unique(arr).tolist()) - seen)
            if unseen:
                raise WorkbenchError(f"{name}={unseen[0]} never occurs in the data: the models cannot use it")
            return arr.astype(np.int64)
        return arr.astype(np.float64)


def _fingerprint(columns: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(columns):
        h.update(k.encode())
        h.update(np.ascontiguousarray(columns[k]).tobytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------------------------------
# Baselines that a correct sampler must beat (benchmarks and tests show they are wrong)


def naive_conditional_plan(graph: ADMG, outcome: Iterable[str], treatment: Iterable[str], given: Iterable[str] = ()) -> Plan:
    """P(y | x, z) read straight off the data: conditioning mistaken for intervening."""
    y, x, z = _check_query(graph, outcome, treatment, given)
    comp = _Compiler(graph)
    data = DataRef("observed")
    models: dict[str, ModelSpec] = {}
    for yi in graph.sort(y):
        models[yi] = comp.spec(yi, [*x, *z, *models], data)
    net = Network(models, frozenset(x | z))
    return Plan(graph, tuple(graph.sort(y)), tuple(graph.sort(x)), tuple(graph.sort(z)), net, (), list(models.values()))


def ignore_confounders_plan(graph: ADMG, outcome: Iterable[str], treatment: Iterable[str]) -> Plan:
    """Ancestral sampling in the mutilated graph with the bidirected edges dropped: what a Markovian
    SCM fitted to confounded data would answer."""
    y, x, _ = _check_query(graph, outcome, treatment, ())
    comp = _Compiler(graph)
    data = DataRef("observed")
    keep = graph.do(x).ancestors(y)
    models = {v: comp.spec(v, graph.parents(v), data) for v in graph.sort(keep - x)}
    net = Network(models, frozenset(x)).restrict(y)
    # every ancestor of y outside x has a model, so the network's only inputs are x: nothing is free
    return Plan(graph, tuple(graph.sort(y)), tuple(graph.sort(x)), (), net, (), _training_order(net))


def fit_plan(gen: IDGen, plan: Plan) -> IDGen:
    """Fit an arbitrary plan (e.g. a baseline) with the generator's data and model factory."""
    for spec in plan.models:
        gen._model(spec)
    gen.plan = plan
    return gen
