"""ID-GEN's sampler: train a plan's models in order, materialise its synthetic data sets, push values through its network.

:meth:`IDGen.fit` compiles the query (``core.idgen.compiler``) and trains each model the plan
lists, reusing cached ones and models a workspace run already trained for the same conditional on
the same data; a synthetic data set is sampled from its generators the first time a model needs
it.  :meth:`IDGen.sample` draws the free (rule-3) inputs from their models, then every network
variable from its model, in topological order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG
from core.identify import NameArg
from core.idgen.compiler import compile_query
from core.idgen.models import Columns, ConditionalModel, ModelFactory, PretrainedLookup, tabular_factory
from core.idgen.plan import DataRef, ModelSpec, Plan, PlanStatus


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

    def plan_query(self, outcome: NameArg, treatment: NameArg = (), given: NameArg = ()) -> Plan:
        """The plan for P(outcome | do(treatment), given) on this generator's data (nothing trained)."""
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
        outcome: NameArg,
        treatment: NameArg = (),
        given: NameArg = (),
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


def fit_plan(gen: IDGen, plan: Plan) -> IDGen:
    """Fit an arbitrary plan (e.g. a baseline) with the generator's data and model factory."""
    for spec in plan.models:
        gen._model(spec)
    gen.plan = plan
    return gen
