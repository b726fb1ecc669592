"""The graph's claims tested on data: nominal rejection rates on data that satisfy the graph (discrete
and linear-Gaussian), a planted violation found, images summarised or skipped, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.data import DataError, Dataset
from core.errors import WorkbenchError
from core.evidence.implications import check_claims, pairwise
from core.graph import ADMG, Node, parse_dagitty
from core.graph.implications import implied_independencies
from core.worlds.discrete import DiscreteSCM

GRAPH = parse_dagitty("dag { a -> b -> c ; a -> d ; c -> d ; e -> c ; b <-> e }")


def _null_band(trials, alpha=0.05):
    lo, hi = stats.binom.ppf([0.001, 0.999], trials, alpha)
    return lo / trials, hi / trials


@pytest.mark.parametrize("reps", [20, pytest.param(200, marks=pytest.mark.slow)])
def test_discrete_claims_are_rejected_at_the_nominal_rate(reps):
    world = DiscreteSCM(GRAPH, seed=3, alpha=0.8, floor=0.1)
    rejected = total = families = 0
    for seed in range(reps):
        data = Dataset.from_units(world.sample(800, seed=seed), GRAPH)
        raw = check_claims(GRAPH, data, correction="none")
        rejected += sum(c.rejected for c in raw.claims)
        total += len(raw.tested)
        families += bool(check_claims(GRAPH, data).contradicted)
    lo, hi = _null_band(total)
    assert total == reps * len(pairwise(implied_independencies(GRAPH)))
    assert lo <= rejected / total <= hi
    assert families / reps <= _null_band(reps)[1]  # Holm keeps the family-wise rate at alpha or below


def _linear_gaussian(graph: ADMG, n: int, seed: int, extra: tuple[str, str] | None = None) -> Dataset:
    """Linear-Gaussian data on ``graph`` (a hidden normal for each bidirected edge), plus an optional
    planted edge the graph does not have."""
    rng = np.random.default_rng(seed)
    hidden = {e: rng.normal(size=n) for e in graph.bidirected}
    values: dict[str, np.ndarray] = {}
    for v in graph.topological_order():
        x = rng.normal(size=n)
        for q in graph.parents(v):
            x += 0.7 * values[q]
        for (a, b), u in hidden.items():
            if v in (a, b):
                x += 0.8 * u
        if extra is not None and v == extra[1]:
            x += 0.5 * values[extra[0]]
        values[v] = x
    typed = ADMG([Node(v, "continuous") for v in graph.names], graph.directed, graph.bidirected)
    return Dataset.from_values(values, typed)


@pytest.mark.parametrize("reps", [20, pytest.param(200, marks=pytest.mark.slow)])
def test_continuous_claims_hold_their_level_and_a_planted_edge_is_found(reps):
    typed = ADMG([Node(v, "continuous") for v in GRAPH.names], GRAPH.directed, GRAPH.bidirected)
    rejected = total = 0
    for seed in range(reps):
        result = check_claims(typed, _linear_gaussian(GRAPH, 500, seed), correction="none")
        assert {c.result.method for c in result.tested} == {"Fisher z"}
        rejected += sum(c.rejected for c in result.claims)
        total += len(result.tested)
    lo, hi = _null_band(total)
    assert lo <= rejected / total <= hi
    planted = check_claims(typed, _linear_gaussian(GRAPH, 2000, 0, extra=("a", "c")))
    assert [(c.left, c.right) for c in planted.contradicted] == [("a", "c")]


def test_mixed_columns_and_images():
    rng = np.random.default_rng(0)
    n = 600
    a = rng.integers(0, 2, n)
    b = a + rng.normal(size=n)
    brightness = np.clip(b * 40 + 120 + rng.normal(0, 5, n), 0, 255)
    image = np.broadcast_to(brightness[:, None, None, None], (n, 1, 4, 4)).astype(np.uint8)
    c = (b + rng.normal(size=n) > 0.5).astype(int)
    graph = ADMG([Node("a"), Node("b", "continuous"), Node("I", "image", shape=(1, 4, 4)), Node("c")],
                 [("a", "b"), ("b", "I"), ("b", "c")])
    data = Dataset.from_values({"a": a, "b": b, "I": image, "c": c}, graph)
    result = check_claims(graph, data)
    by_pair = {(x.left, x.right, x.given): x for x in result.claims}
    assert by_pair[("a", "I", ("b",))].summarised == ("I",) and by_pair[("a", "I", ("b",))].result is not None
    assert by_pair[("a", "c", ("b",))].result.method == "logistic LR"
    assert not any(x.skipped for x in result.claims) and not result.contradicted
    graph2 = ADMG(graph.nodes, [("a", "I"), ("I", "c")])  # now the image separates a and c
    claim = check_claims(graph2, Dataset.from_values({"a": a, "b": b, "I": image, "c": c}, graph)).claims
    assert [(x.left, x.right, x.skipped) for x in claim if x.given == ("I",)] == [
        ("a", "c", "conditions on the image I: a summary of an image does not stand in for it")]


def test_bad_input_is_one_line():
    world = DiscreteSCM(parse_dagitty("dag { a -> b }"), seed=1)
    data = Dataset.from_units(world.sample(100), world.graph)
    with pytest.raises(DataError, match="no column for graph node 'c'"):
        check_claims(parse_dagitty("dag { a -> b -> c }"), data)
    with pytest.raises(WorkbenchError, match="alpha must be between 0 and 1"):
        check_claims(world.graph, data, alpha=0)
    with pytest.raises(WorkbenchError, match="unknown correction 'x'"):
        check_claims(world.graph, data, correction="x")
    with pytest.raises(DataError, match="the data set has no rows"):
        check_claims(world.graph, data.subset(slice(0, 0)))
