"""Small discrete ground-truth worlds with exact observational and interventional tables.

A :class:`DiscreteSCM` is built from an ADMG: every bidirected edge a <-> b becomes an explicit
latent parent U_a_b of a and b (binary by default), and every variable gets a random conditional
probability table P(v | parents) whose rows are drawn from a Dirichlet (seeded).  Then

* ``full_joint()``       the exact joint over latents and observed variables, by enumeration;
* ``observed_joint()``   the exact P(V) (latents summed out) as a :class:`JointTable`;
* ``do_table(x, y, z)``  the exact P(y | do(x), z): x's tables replaced by indicators (the truncated
                         factorisation prod_{v not in x} P(v | pa(v))), latents summed out;
* ``set_table`` replaces one table (hand-made strong mechanisms); ``floor`` mixes every random row
  with the uniform distribution so no stratum is empty;
* it is a :class:`World`: each variable (latents included) draws one uniform noise u and takes
  the level where u falls in the cumulative row of its table (inverse CDF), so a counterfactual
  re-runs the same noise and do(X = own x) returns the factual unit exactly.

Tables are contracted with ``np.einsum`` (an optimised elimination order), so a handful of latents
costs nothing.  Named worlds: :func:`backdoor`, :func:`frontdoor`, :func:`napkin`, :func:`bow`, plus
:func:`random_admg` and :func:`random_world` for property tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.identify.estimand import JointTable
from core.worlds.base import World


class DiscreteSCM(World):
    """A discrete SCM over ``graph`` with explicit latent confounders and random tables."""

    def __init__(
        self,
        graph: ADMG,
        seed: int = 0,
        alpha: float = 1.0,
        latent_levels: int = 2,
        name: str = "discrete",
        floor: float = 0.0,
    ) -> None:
        for node in graph.nodes:
            if not node.is_discrete:
                raise WorkbenchError(f"a discrete world needs binary or categorical nodes; {node.name} is {node.type}")
        if not 0.0 <= floor < 1.0:
            raise WorkbenchError(f"floor must be in [0, 1), got {floor}")
        if alpha <= 0:
            raise WorkbenchError(f"alpha must be positive, got {alpha}")
        self.name = name
        self.graph = graph
        self.observed: tuple[str, ...] = graph.topological_order()
        taken = set(graph.names)
        self.latents: dict[str, tuple[str, str]] = {}
        for a, b in graph.bidirected:
            u = f"U_{a}_{b}"
            while u in taken:
                u = "_" + u
            taken.add(u)
            self.latents[u] = (a, b)
        self.variables: tuple[str, ...] = tuple(self.latents) + self.observed
        self.cards: dict[str, int] = {u: int(latent_levels) for u in self.latents}
        self.cards.update({v: int(graph.node(v).levels or 2) for v in self.observed})
        latent_parents: dict[str, list[str]] = {v: [] for v in self.observed}
        for u, (a, b) in self.latents.items():
            latent_parents[a].append(u)
            latent_parents[b].append(u)
        self.parents: dict[str, tuple[str, ...]] = {u: () for u in self.latents}
        for v in self.observed:
            self.parents[v] = tuple(graph.sort(graph.parents(v))) + tuple(latent_parents[v])
        rng = np.random.default_rng(seed)
        self.tables: dict[str, np.ndarray] = {}
        for v in self.variables:
            shape = tuple(self.cards[q] for q in self.parents[v])
            rows = rng.dirichlet(np.full(self.cards[v], alpha), size=int(np.prod(shape, dtype=np.int64)))
            # ``floor`` mixes in the uniform row so every stratum keeps data (positivity).
            rows = floor / self.cards[v] + (1.0 - floor) * rows
            self.tables[v] = rows.reshape(shape + (self.cards[v],))
        self._cdf = {v: np.cumsum(t.reshape(-1, self.cards[v]), axis=1) for v, t in self.tables.items()}

    def set_table(self, v: str, table: np.ndarray) -> None:
        """Replace P(v | parents): axes are ``self.parents[v]`` in order, then v's levels."""
        if v not in self.tables:
            raise WorkbenchError(f"unknown variable {v!r} in the {self.name} world")
        table = np.asarray(table, dtype=np.float64)
        want = tuple(self.cards[q] for q in self.parents[v]) + (self.cards[v],)
        if table.shape != want:
            raise WorkbenchError(f"table for {v} must have shape {want} (parents {self.parents[v]}), got {table.shape}")
        if (table < 0).any() or not np.allclose(table.sum(-1), 1.0):
            raise WorkbenchError(f"table for {v}: each row must be a probability distribution")
        self.tables[v] = table
        self._cdf[v] = np.cumsum(table.reshape(-1, self.cards[v]), axis=1)

    # ---- exact tables

    def _contract(self, output: Sequence[str], skip: Iterable[str] = ()) -> np.ndarray:
        """sum over the other variables of prod_{v not in skip} P(v | parents(v)), axes = output."""
        skip = set(skip)
        index = {v: i for i, v in enumerate(self.variables)}
        operands: list = []
        mentioned: set[str] = set()
        for v in self.variables:
            if v in skip:
                continue
            operands += [self.tables[v], [index[q] for q in self.parents[v]] + [index[v]]]
            mentioned |= {v, *self.parents[v]}
        # Variables that no remaining table mentions (intervened roots) are free: broadcast them.
        present = [v for v in output if v in mentioned]
        operands.append([index[v] for v in present])
        out = np.einsum(*operands, optimize="greedy") if len(operands) > 1 else np.asarray(1.0)
        shape = [self.cards[v] if v in mentioned else 1 for v in output]
        out = out.reshape(shape)
        return np.broadcast_to(out, tuple(self.cards[v] for v in output)).copy()

    def full_joint(self) -> JointTable:
        """The joint over latents and observed variables (small worlds only)."""
        return JointTable(self.variables, [self.cards[v] for v in self.variables], self._contract(self.variables))

    def observed_joint(self) -> JointTable:
        """P(V) over the observed variables, latents summed out."""
        return JointTable(self.observed, [self.cards[v] for v in self.observed], self._contract(self.observed))

    def do_table(
        self, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()
    ) -> np.ndarray:
        """P(outcome | do(treatment), given) with axes (outcome..., treatment..., given...).

        NaN where P(given | do(treatment)) = 0."""
        x, y, z = tuple(treatment), tuple(outcome), tuple(given)
        for v in x + y + z:
            if v not in self.graph:
                raise WorkbenchError(f"unknown variable {v!r} in the {self.name} world")
        # The truncated factorisation: dropping x's tables leaves, for each x, P(v \ x | do(x)).
        tab = self._contract(y + x + z, skip=x)
        if not z:
            return tab
        den = tab.sum(axis=tuple(range(len(y))), keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, tab / np.where(den > 0, den, 1.0), np.nan)

    # ---- sampling (World)

    def _draw_noise(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {v: rng.random(n) for v in self.variables}

    def _run(self, noise: Mapping[str, np.ndarray], do: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = {}
        for v in self.variables:
            if v in do:
                forced = np.asarray(do[v]).astype(np.int64)
                if forced.size and (forced.min() < 0 or forced.max() >= self.cards[v]):
                    raise WorkbenchError(f"do({v}=...) needs levels 0..{self.cards[v] - 1}, got {int(forced.max())}")
                values[v] = forced
                continue
            row = np.zeros(len(noise[v]), dtype=np.int64)
            for q in self.parents[v]:
                row = row * self.cards[q] + values[q]
            cdf = self._cdf[v][row]
            level = (noise[v][:, None] >= cdf).sum(axis=1)
            values[v] = np.minimum(level, self.cards[v] - 1).astype(np.int64)
        return {v: values[v] for v in self.observed}


# --------------------------------------------------------------------------------------------------
# Named worlds


def _graph(names: Sequence[str], directed: Sequence[tuple[str, str]], bidirected: Sequence[tuple[str, str]] = ()) -> ADMG:
    return ADMG.from_edges(names, directed, bidirected)


def backdoor(seed: int = 0, alpha: float = 1.0) -> DiscreteSCM:
    """Z -> X -> Y, Z -> Y: adjust for Z."""
    return DiscreteSCM(_graph(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")]), seed, alpha, name="backdoor")


def frontdoor(seed: int = 0, alpha: float = 1.0) -> DiscreteSCM:
    """X -> M -> Y, X <-> Y: the front-door formula."""
    return DiscreteSCM(_graph(["X", "M", "Y"], [("X", "M"), ("M", "Y")], [("X", "Y")]), seed, alpha, name="frontdoor")


def napkin(seed: int = 0, alpha: float = 1.0) -> DiscreteSCM:
    """W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y."""
    g = _graph(["W1", "W2", "X", "Y"], [("W1", "W2"), ("W2", "X"), ("X", "Y")], [("W1", "X"), ("W1", "Y")])
    return DiscreteSCM(g, seed, alpha, name="napkin")


def bow(seed: int = 0, alpha: float = 1.0) -> DiscreteSCM:
    """X -> Y, X <-> Y: P(y | do(x)) is not identifiable."""
    return DiscreteSCM(_graph(["X", "Y"], [("X", "Y")], [("X", "Y")]), seed, alpha, name="bow")


NAMED = {"backdoor": backdoor, "frontdoor": frontdoor, "napkin": napkin, "bow": bow}


def random_admg(n_nodes: int, p_directed: float, p_bidirected: float, seed: int = 0, max_levels: int = 2) -> ADMG:
    """A random ADMG on V1..Vn: a random causal order, each forward pair directed with probability
    ``p_directed``, each pair bidirected with probability ``p_bidirected``.  Node names are shuffled
    against the causal order so insertion order is not a topological order.  With ``max_levels`` >
    2 nodes are categorical with 2..max_levels levels."""
    if n_nodes < 1:
        raise WorkbenchError(f"a random graph needs at least one node, got {n_nodes}")
    for what, prob in (("p_directed", p_directed), ("p_bidirected", p_bidirected)):
        if not 0 <= prob <= 1:
            raise WorkbenchError(f"{what} must be in [0, 1], got {prob}")
    rng = np.random.default_rng(seed)
    names = [f"V{i + 1}" for i in range(n_nodes)]
    causal = [names[i] for i in rng.permutation(n_nodes)]  # causal[i] may cause causal[j] for i < j
    directed, bidirected = [], []
    for i in range(n_nodes):
        for j in range(i + 1, n_nodes):
            if rng.random() < p_directed:
                directed.append((causal[i], causal[j]))
            if rng.random() < p_bidirected:
                bidirected.append((causal[i], causal[j]))
    nodes = []
    for v in names:
        levels = int(rng.integers(2, max_levels + 1)) if max_levels > 2 else 2
        nodes.append(Node(v) if levels == 2 else Node(v, "categorical", levels))
    return ADMG(nodes, directed, bidirected)


def random_world(
    n_nodes: int,
    p_directed: float,
    p_bidirected: float,
    seed: int = 0,
    max_levels: int = 2,
    alpha: float = 1.0,
) -> DiscreteSCM:
    """A DiscreteSCM with random tables on :func:`random_admg` (same seed for both)."""
    g = random_admg(n_nodes, p_directed, p_bidirected, seed, max_levels)
    return DiscreteSCM(g, seed=seed + 1, alpha=alpha, name=f"random{n_nodes}_{seed}")
