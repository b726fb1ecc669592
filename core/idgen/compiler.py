"""ID-GEN's compiler: the ID recursion's plan algebra, where Q is a data set and the models trained on it.

Rahman, Jordan & Kocaoglu (NeurIPS 2024) run Shpitser & Pearl's ID recursion over *data sets and
trained conditional models* instead of probability expressions.  :func:`compile_query` walks the
recursion of ``core.identify.recursion`` with :class:`PlanCompiler` and returns a
:class:`~core.idgen.plan.Plan` without touching data, so a non-identifiable query fails before any
training and the pages can show which models are needed.

The compiler's state is ``(data, G, context)``: ``context`` are intervention variables that a line-7
step turned into conditioning columns of a synthetic data set; every model trained on that data set
conditions on them too, so one trained network serves every value of x.  What each line does:

1. ``X = {}``: one model per V_i given its predecessors in G's topological order (and the context).
2. drop the non-ancestors of Y (columns and nodes).
4. several districts S_i of G \\ X: the networks of ``P_{v \\ s_i}(s_i)`` MERGED: every variable is
   produced by exactly one sub-network; the others read it as an input.
6. S is a district of G: one model per V_i in S given its predecessors.
7. S within a larger district S' of G: models of S' given predecessors on the current data, which
   SAMPLE a synthetic data set D' (the intervened variables X \\ S' drawn independently of S', as
   conditioning columns); the recursion goes on with D' and G[S'].

Inputs left free by rule 3 (the napkin's W2 in P_{w2}(y | x)) could take any value; the plan draws
them from one more model each, P(free | fixed do / given values) on the data, because a trained
model is only reliable on input combinations its training data held.

Conditional queries follow IDC (``core.identify.idc``): rule 2 moves conditioning variables into the
intervention; for what remains the plan samples P_x(y, z) from the network above and trains a
conditional model of y given (z, x) on those samples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.graph import ADMG
from core.identify import NameArg, Query, idc_reduce
from core.identify.recursion import Call, GraphTables, Names, solve, start
from core.idgen.plan import DataRef, ModelSpec, ModelSpecs, Network, Plan, training_order


def _digest(*parts: str | list[str] | tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Stage:
    """Q for the compiler: models are trained on ``data``; ``graph`` is the current induced
    subgraph (its own topological order picks each model's predecessors); ``context`` are the
    intervened variables that earlier line-7 steps made conditioning columns of ``data``."""

    data: DataRef
    graph: ADMG
    context: Names


class PlanCompiler:
    """The :class:`~core.identify.recursion.IDAlgebra` whose results are sampling networks."""

    def __init__(self, graph: ADMG) -> None:
        self.specs = ModelSpecs(graph)

    def _models(self, stage: Stage, targets: Iterable[str]) -> dict[str, ModelSpec]:
        """One model per target given its predecessors in the stage's graph and the context."""
        topo = stage.graph.topological_order()
        return {v: self.specs.spec(v, [*topo[: topo.index(v)], *stage.context], stage.data) for v in targets}

    def marginal(self, call: Call[Stage]) -> Network:
        stage = call.state
        models = self._models(stage, stage.graph.topological_order())
        return Network(models, frozenset(stage.context)).restrict(call.outcome)

    def drop_non_ancestors(self, call: Call[Stage], ancestors: Names) -> Stage:
        stage = call.state
        return Stage(stage.data, stage.graph.subgraph(ancestors), stage.context)

    def factorise(self, call: Call[Stage], districts: Sequence[Names], factors: Sequence[Network]) -> Network:
        stage = call.state
        by_district = dict(zip(districts, factors, strict=True))
        # Merged in the order of the districts in the stage graph's own topological order.
        net = Network({}, frozenset())
        for s in stage.graph.subgraph(call.vertices - call.treatment).districts():
            net = net.merge(by_district[s])
        net = Network(net.models, frozenset((net.inputs | call.treatment | stage.context) - set(net.models)))
        return net.restrict(call.outcome)

    def district(self, call: Call[Stage], district: Names) -> Network:
        models = self._models(call.state, call.state.graph.sort(district))
        inputs = {u for m in models.values() for u in m.inputs} - set(models)
        return Network(models, frozenset(inputs)).restrict(call.outcome)

    def restrict_to_district(self, call: Call[Stage], district: Names) -> Stage:
        stage = call.state
        generators = tuple(self._models(stage, stage.graph.sort(district)).values())
        context = stage.context | (call.treatment - district)
        ordered_context = tuple(sorted(context, key=self.specs.order.__getitem__))
        key = _digest("line7", stage.data.key, [m.key for m in generators], ordered_context)
        label = f"synthetic P({', '.join(stage.graph.sort(district))} | do({', '.join(ordered_context)}))"
        synthetic = DataRef(key, stage.data, generators, ordered_context, label)
        return Stage(synthetic, stage.graph.subgraph(district), context)


def compile_query(
    graph: ADMG,
    outcome: NameArg,
    treatment: NameArg = (),
    given: NameArg = (),
    data_key: str = "observed",
) -> Plan:
    """Compile P(outcome | do(treatment), given) into a Plan.  Raises ``NotIdentifiable`` (with the
    hedge) for a query no method can answer from this graph, before any training."""
    return compile_plan(Query.of(graph, treatment, outcome, given), data_key)


def compile_plan(query: Query, data_key: str = "observed") -> Plan:
    """:func:`compile_query` for a query already made."""
    graph = query.graph
    y, x, z = query.outcome_set, query.treatment_set, query.given_set
    x2, z2 = idc_reduce(graph, y, x, z)
    compiler = PlanCompiler(graph)
    observed = DataRef(data_key)
    tables = GraphTables.of(graph)
    net = solve(compiler, tables, query, start(tables, y | z2, x2, Stage(observed, graph, frozenset())))
    if z2:
        # P_x(y | z): sample P_x(y, z) with x drawn independently, then model y given (z, x).
        ordered_x = tuple(graph.sort(x2))
        # Rule-3 inputs of the network are drawn with x, independently of the generated rows.
        context = tuple(graph.sort(net.inputs))
        generators = tuple(net.models[v] for v in graph.sort(net.models))
        key = _digest("idc", observed.key, [m.key for m in generators], context)
        label = f"synthetic P({', '.join(graph.sort(y | z2))} | do({', '.join(ordered_x)}))"
        synthetic = DataRef(key, observed, generators, context, label)
        models: dict[str, ModelSpec] = {}
        for yi in graph.sort(y):
            models[yi] = compiler.specs.spec(yi, [*graph.sort(z2), *ordered_x, *models], synthetic)
        net = Network(models, frozenset(x2 | z2))
    net = net.restrict(y)
    free = tuple(graph.sort(net.inputs - x - z))
    free_models = _free_input_models(compiler.specs, free, graph.sort(x | z), observed)
    needed = training_order(net) + list(free_models.values())
    return Plan(graph, tuple(graph.sort(y)), tuple(graph.sort(x)), tuple(graph.sort(z)), net, free, needed,
                free_models)


def _free_input_models(specs: ModelSpecs, free: Sequence[str], fixed: Sequence[str], data: DataRef) -> dict[str, ModelSpec]:
    """One model per free (rule-3) input, given the fixed values and the free inputs before it.

    Rule 3 makes a free input's value irrelevant to the answer, but a trained model is only reliable
    on input combinations its training data held, so each is drawn from P(free | fixed) on the
    data.  The napkin's last stage p(Y | W2, X) learned Y's digit from W2 (X's digit is W2's in all
    its training rows); W2 drawn from the data rows with the nearest X pixels gave a thin 2 the W2 of
    a thin 7 in 74% of draws, and the sampled Y read as 2 in 0% of them."""
    models: dict[str, ModelSpec] = {}
    for v in free:
        models[v] = specs.spec(v, [*fixed, *models], data)
    return models
