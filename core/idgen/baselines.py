"""Baselines a correct ID-GEN sampler must beat (benchmarks and tests show they are wrong)."""

from __future__ import annotations

from core.graph import ADMG
from core.identify import NameArg, Query
from core.idgen.plan import DataRef, ModelSpec, ModelSpecs, Network, Plan, training_order


def naive_conditional_plan(graph: ADMG, outcome: NameArg, treatment: NameArg, given: NameArg = ()) -> Plan:
    """P(y | x, z) read straight off the data: conditioning mistaken for intervening."""
    query = Query.of(graph, treatment, outcome, given)
    y, x, z = query.outcome_set, query.treatment_set, query.given_set
    specs = ModelSpecs(graph)
    data = DataRef("observed")
    models: dict[str, ModelSpec] = {}
    for yi in graph.sort(y):
        models[yi] = specs.spec(yi, [*x, *z, *models], data)
    net = Network(models, frozenset(x | z))
    return Plan(graph, tuple(graph.sort(y)), tuple(graph.sort(x)), tuple(graph.sort(z)), net, (), list(models.values()))


def ignore_confounders_plan(graph: ADMG, outcome: NameArg, treatment: NameArg) -> Plan:
    """Ancestral sampling in the mutilated graph with the bidirected edges dropped: what a Markovian
    SCM fitted to confounded data would answer."""
    query = Query.of(graph, treatment, outcome)
    y, x = query.outcome_set, query.treatment_set
    specs = ModelSpecs(graph)
    data = DataRef("observed")
    keep = graph.do(x).ancestors(y)
    models = {v: specs.spec(v, graph.parents(v), data) for v in graph.sort(keep - x)}
    net = Network(models, frozenset(x)).restrict(y)
    # every ancestor of y outside x has a model, so the network's only inputs are x: nothing is free
    return Plan(graph, tuple(graph.sort(y)), tuple(graph.sort(x)), (), net, (), training_order(net))
