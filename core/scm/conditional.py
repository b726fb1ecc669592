"""Conditioning an interventional sampler on ``Z = z`` by rejection: ``P(V | do(x), Z = z)``.

A unit drawn from ``P(v | do(x))`` and kept iff ``Z = z`` is a draw from

    P(v | do(x), z) = P(v, z | do(x)) / P(z | do(x)),

exactly, for a discrete ``Z``.  A continuous or image ``Z`` is never hit exactly: among the draws
whose discrete conditions hold, the ``1 / NEAREST_SHARE`` nearest to ``z`` are kept (distance
:func:`condition_distance`, in units of the column's spread).

* :func:`keep_given` conditions any draw function ``draw(m, seed) -> columns`` (a world's sampler, a
  trained model's), within a bounded number of draws (:func:`draw_budget`);
* :func:`scm_conditional` conditions a Markovian :class:`core.scm.NeuralSCM`, drawing the ancestors
  of ``Z`` first and the rest for the kept units only;
* :func:`matching_mask` and :func:`nearest_rows` are the matching both use, and what picks the data
  rows that stand for ``X = x, Z = z``.

The rejection helpers need numpy only; :func:`scm_conditional` loads torch when it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG, Node

if TYPE_CHECKING:
    from core.scm.neural import NeuralSCM

Columns: TypeAlias = dict[str, np.ndarray]
# a node's value: a level, a number, or an image (C, H, W) uint8
NodeValue: TypeAlias = int | float | np.number | np.ndarray
# draw(m, seed) -> m units of P(V | do(x)), one array per node
DrawFunction: TypeAlias = Callable[[int, int], Mapping[str, np.ndarray]]

NEAREST_SHARE = 50  # continuous and image conditions keep the nearest 1/50 of the candidates (at least n)
DRAWS_PER_UNIT = 100  # rejection budget: at most max(MIN_DRAWS, 100 n) draws under do(x)
MIN_DRAWS = 2000
SECOND_STAGE_SEED = 7919  # seed offset of the draws for the kept units (a prime: no clash with batch seeds)


class TooFewMatches(WorkbenchError):
    """Rejection sampling found fewer than n units with Z = z within its budget."""


# --------------------------------------------------------------------------------------------------
# Words


def value_text(value: NodeValue, node: Node) -> str:
    """How a value of ``node`` reads in a formula or a message: ``"an image"``, ``"0.5"``, ``"1"``."""
    if node.type == "image":
        return "an image"
    if node.type == "continuous":
        return f"{float(value):.3g}"
    return str(int(value))


def conditions_text(conditions: Mapping[str, NodeValue] | None, graph: ADMG) -> str:
    """``"Z = 1, W = 0.5"`` (empty for no conditions)."""
    return ", ".join(f"{k} = {value_text(v, graph.node(k))}" for k, v in (conditions or {}).items())


# --------------------------------------------------------------------------------------------------
# Matching


def condition_distance(column: np.ndarray, value: NodeValue, node: Node) -> np.ndarray:
    """How far each row is from ``value``, on a scale shared by every node.

    Continuous: ``|v - x| / sd(v)``; images: ``mean((v - x)^2)`` over the pixels, divided by its mean
    over the rows."""
    if node.type == "image":
        target = np.asarray(value, dtype=np.float32)
        d = ((np.asarray(column).astype(np.float32) - target[None]) ** 2).reshape(len(column), -1).mean(axis=1)
    else:
        d = np.abs(np.asarray(column, dtype=np.float64) - float(value))
    scale = float(np.std(np.asarray(column, dtype=np.float64))) if node.type != "image" else float(np.mean(d))
    return d / scale if scale > 0 else d


def is_ranked(graph: ADMG, name: str) -> bool:
    """A condition on ``name`` is met by the nearest rows, not exactly (continuous and image nodes)."""
    return not graph.node(name).is_discrete


def matching_mask(columns: Mapping[str, np.ndarray], graph: ADMG, conditions: Mapping[str, NodeValue]) -> np.ndarray:
    """Rows whose DISCRETE conditions hold exactly (continuous and image conditions are ranked by
    :func:`nearest_rows` instead)."""
    n = len(next(iter(columns.values())))
    mask = np.ones(n, dtype=bool)
    for k, v in conditions.items():
        if not is_ranked(graph, k):
            mask &= np.asarray(columns[k]) == int(v)
    return mask


def nearest_rows(columns: Mapping[str, np.ndarray], graph: ADMG, conditions: Mapping[str, NodeValue],
                 candidates: np.ndarray, *, keep: int) -> np.ndarray:
    """The ``keep`` candidates nearest to the continuous and image conditions (the sum of their
    :func:`condition_distance`, ties in candidate order); all candidates when every condition is
    discrete."""
    ranked = [k for k in conditions if is_ranked(graph, k)]
    if not ranked or len(candidates) == 0:
        return candidates
    dist = sum(condition_distance(np.asarray(columns[k])[candidates], conditions[k], graph.node(k)) for k in ranked)
    return candidates[np.argsort(dist, kind="stable")[:keep]]


# --------------------------------------------------------------------------------------------------
# Rejection from any sampler


def draw_budget(n: int) -> int:
    """At most ``max(MIN_DRAWS, DRAWS_PER_UNIT n)`` draws for ``n`` kept units."""
    return max(MIN_DRAWS, DRAWS_PER_UNIT * int(n))


def match_target(graph: ADMG, given: Mapping[str, NodeValue], n: int) -> int:
    """How many discrete matches to collect: ``n``, or ``NEAREST_SHARE n`` to rank when some
    condition is continuous or an image (the same share the observational rows keep)."""
    return n * (NEAREST_SHARE if any(is_ranked(graph, k) for k in given) else 1)


def draw_matches(draw: DrawFunction, graph: ADMG, given: Mapping[str, NodeValue], *, target: int, budget: int,
                 seed: int) -> tuple[Columns, int]:
    """(the drawn units whose discrete conditions hold, how many units were drawn).

    Batches with seeds ``seed, seed + 1, ...`` and sizes doubling from ``min(budget, 4 target)``
    until ``target`` units match or ``budget`` units are drawn."""
    kept: list[Columns] = []
    drawn = matched = 0
    size = min(budget, 4 * target)
    batch_seed = seed
    while matched < target and drawn < budget:
        m = min(size, budget - drawn)
        batch = {k: np.asarray(v) for k, v in draw(m, batch_seed).items()}
        rows = np.flatnonzero(matching_mask(batch, graph, given))
        kept.append({k: v[rows] for k, v in batch.items()})
        drawn, matched, size, batch_seed = drawn + m, matched + len(rows), size * 2, batch_seed + 1
    return {k: np.concatenate([b[k] for b in kept]) for k in kept[0]}, drawn


def too_few_matches(graph: ADMG, given: Mapping[str, NodeValue], *, matched: int, drawn: int, n: int,
                    what: str) -> TooFewMatches:
    """The error naming the observed rate ``P(z | do(x))`` and what to do about it."""
    cond = conditions_text(given, graph)
    return TooFewMatches(f"only {matched} of {drawn} units drawn under {what} have {cond} (need {n}): "
                         f"P({cond} | {what}) is about {matched / max(1, drawn):.2g}; choose a more common value")


def keep_given(draw: DrawFunction, graph: ADMG, given: Mapping[str, NodeValue], n: int, *, seed: int = 0,
               budget: int | None = None, what: str = "do(x)") -> Columns:
    """``n`` units of ``P(V | do(x), Z = z)`` from a sampler ``draw(m, seed)`` of ``P(V | do(x))``.

    Rejection (:func:`draw_matches`): the units with ``Z = z`` among at most ``budget`` draws
    (:func:`draw_budget`); fewer than ``n`` matches raise :class:`TooFewMatches` with the observed
    rate (``what`` names the intervention in it).  A continuous or image ``Z``: ``NEAREST_SHARE n``
    discrete matches (or what the budget gives), of which the ``n`` nearest to ``z`` are kept."""
    budget = draw_budget(n) if budget is None else int(budget)
    matches, drawn = draw_matches(draw, graph, given, target=match_target(graph, given, n), budget=budget,
                                  seed=seed)
    matched = len(next(iter(matches.values())))
    if matched < n:
        raise too_few_matches(graph, given, matched=matched, drawn=drawn, n=n, what=what)
    rows = nearest_rows(matches, graph, given, np.arange(matched), keep=n)[:n]
    return {k: v[rows] for k, v in matches.items()}


# --------------------------------------------------------------------------------------------------
# Rejection from a Neural SCM


def first_stage_nodes(graph: ADMG, treatment: str, given: Mapping[str, NodeValue]) -> set[str]:
    """``An(Z) ∪ {X}``: closed under parents, so its marginal is the ancestral sampling of it alone."""
    return set(graph.ancestors(list(given))) | {treatment}


def scm_conditional(scm: NeuralSCM, treatment: str, value: NodeValue, given: Mapping[str, NodeValue], n: int, *,
                    seed: int = 0, budget: int | None = None) -> Columns:
    """``n`` units of ``P(V | do(X = x), Z = z)`` from a Markovian NeuralSCM, by rejection (not IDC).

    The trained per-node models are the fitted causal model, ``P_x(v) = prod_{v not in X} p(v | pa(v))``,
    so keeping the draws of ``do(x)`` with ``Z = z`` returns that model's exact ``P_x(v | z)`` with no
    new training (IDC would fit fresh conditional models on synthetic data to answer the same
    question).  The price is wasted draws when ``P_x(z)`` is small: bounded, with a clear message
    (:func:`keep_given`).

    Cheap first: ``A = An(Z) ∪ {X}`` (:func:`first_stage_nodes`) is drawn and filtered on ``Z = z``;
    the other nodes (the outcome's image, typically) are then sampled for the ``n`` kept units only,
    with ``A`` forced to their kept values: with independent noises, ancestral sampling of the rest
    given ``A`` is exactly the conditional given ``A``."""
    from core.scm.neural import NeuralSCM  # torch: loaded when an SCM is conditioned, not with the helpers

    graph = scm.graph
    first = first_stage_nodes(graph, treatment, given)
    stage1 = NeuralSCM(graph.subgraph(first), {v: scm.mechanisms[v] for v in first})
    kept = keep_given(lambda m, s: stage1.interventional_samples({treatment: value}, m, s), graph, given, n,
                      seed=seed, budget=budget, what=f"do({treatment} = {value_text(value, graph.node(treatment))})")
    if first == set(graph.names):
        return kept
    rest = NeuralSCM(graph, scm.mechanisms, batch_size=max(n, 1))  # one batch: forced arrays have n rows
    return rest.interventional_samples({**{v: kept[v] for v in first}, treatment: value}, n, seed + SECOND_STAGE_SEED)
