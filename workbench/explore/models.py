"""The models behind the pages' samples: the workspace run's trained node models, cached in a
:class:`ModelHub`, composed into a Neural SCM on the part of the graph a query needs.

Under ``do(X)`` only the ancestors of ``Y`` in ``G_{\\bar X}`` matter (``A = An(Y ∪ Z)`` there), so
the Neural SCM runs on ``G_{\\bar X}[A ∪ X]`` and only the nodes in ``A \\ X`` need trained models
(for a counterfactual, only those that are also descendants of ``X``: the rest keep their factual
values).  ``X``'s own model is never evaluated; a placeholder stands in for it.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, TypeAlias, TypedDict, TypeVar

import numpy as np

from core.data import Dataset
from core.errors import WorkbenchError
from core.graph import ADMG
from core.worlds import Units, World
from workbench.explore.question import DoQuery

if TYPE_CHECKING:
    from core.idgen import ConditionalModel, IDGen
    from core.mechanisms import Mechanism
    from core.runs.checkpoint import Run
    from core.scm import NeuralSCM

CacheKey: TypeAlias = tuple[Hashable, ...]
GENERATED_CACHE_SIZE = 16  # sets of generated picker images kept per hub
RESULTS_CACHE_SIZE = 64  # computed galleries and read-outs kept per hub (the oldest go first)
T = TypeVar("T")


class IDGenSettings(TypedDict, total=False):
    """What ID-GEN's neural models depend on: the Train page's mechanism kind per node, the
    training steps of each model, and the mechanisms' preset (default ``"quick"``)."""

    nodes: dict[str, dict[str, str | None]]
    idgen_steps: int
    preset: str


class GeneratedImages(NamedTuple):
    """New images of a node from its trained model (``(k, C, H, W)`` uint8) and how they were drawn."""

    images: np.ndarray
    note: str


class MissingModels(WorkbenchError):
    """The query needs models of nodes that are not trained (yet)."""

    def __init__(self, nodes: Sequence[str], why: str = "") -> None:
        self.nodes = list(nodes)
        super().__init__(
            f"no trained model for {', '.join(self.nodes)}{why}: train "
            + ("it" if len(self.nodes) == 1 else "them")
            + " on the Train page"
        )


class ModelHub:
    """What the pages keep between reruns (``st.cache_resource``): loaded node mechanisms keyed by
    their weight files (a new checkpoint is a new file name, so retrained models reload), untrained
    placeholders, fitted ID-GEN networks and the conditional models they share, re-sampled world
    units and generated picker images.

    It also keeps what the page computed (:meth:`remember`: galleries, so coming back to the page
    or to a value shows them at once) and runs what is slow in one background thread
    (:meth:`in_background`: the large-sample read-outs).

    Every read and write goes through these methods, under one lock: the page, a background
    ID-GEN fit and the background read-outs use the hub from different threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.mechanisms: dict[CacheKey, Mechanism] = {}
        self.idgens: dict[CacheKey, IDGen] = {}
        self.idgen_models: dict[CacheKey, dict[str, ConditionalModel]] = {}
        self.world_units: dict[CacheKey, Units] = {}
        self.generated: dict[CacheKey, GeneratedImages] = {}
        self.results: OrderedDict[CacheKey, object] = OrderedDict()
        self.pending: dict[CacheKey, Future[object]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def remember(self, key: CacheKey, make: Callable[[], T]) -> T:
        """``make()``'s result, computed once per key (the ``RESULTS_CACHE_SIZE`` latest kept).  It
        runs outside the lock: two threads asking at once may both compute, the first stored wins."""
        with self._lock:
            if key in self.results:
                self.results.move_to_end(key)
                return self.results[key]  # type: ignore[return-value]
        made = make()
        return self._keep(key, made)

    def _keep(self, key: CacheKey, made: T) -> T:
        with self._lock:
            self.results.setdefault(key, made)
            self.results.move_to_end(key)
            while len(self.results) > RESULTS_CACHE_SIZE:
                self.results.popitem(last=False)
            return self.results[key]  # type: ignore[return-value]

    def in_background(self, key: CacheKey, make: Callable[[], T]) -> T | None:
        """``make()``'s result once computed (in the hub's one background thread, queued behind
        earlier requests), None until then.  A ``WorkbenchError`` it raised is raised here."""
        with self._lock:
            if key in self.results:
                self.results.move_to_end(key)
                return self.results[key]  # type: ignore[return-value]
            future = self.pending.get(key)
            if future is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explore-readouts",
                                                    initializer=yield_the_cpu)
                future = self._pool.submit(make)
                self.pending[key] = future
        if not future.done():
            return None
        with self._lock:
            self.pending.pop(key, None)
        made = future.result()  # re-raises the job's error
        return self._keep(key, made)

    def mechanism(self, run: Run, name: str, sample_steps: int | None = None) -> Mechanism:
        """The trained model of ``name``; a diffusion model with ``sample_steps`` gets a view that
        samples (and inverts) with that many DDIM steps, sharing the weights (a faster preview)."""
        entry = run.entry(name)
        key = (str(run.path), name, entry.get("weights"))
        with self._lock:
            if key not in self.mechanisms:
                self.mechanisms[key] = run.load_mechanism(name, "cpu")
            mech = self.mechanisms[key]
            if not sample_steps or mech.kind != "diffusion":
                return mech
            fast_key = (*key, int(sample_steps))
            if fast_key not in self.mechanisms:
                view = copy.copy(mech)  # shares parameters and buffers; only the config differs
                view.config = {**mech.config, "sample_steps": int(sample_steps), "inversion_steps": int(sample_steps)}
                self.mechanisms[fast_key] = view
            return self.mechanisms[fast_key]

    def placeholder(self, graph: ADMG, name: str) -> Mechanism:
        """A fresh model for a node whose model the query never evaluates (see :func:`query_nodes`)."""
        from core.mechanisms import make_mechanism

        node = graph.node(name)
        parents = tuple(graph.sort(graph.parents(name)))
        key = ("placeholder", node.to_json().__repr__(), parents)
        with self._lock:
            if key not in self.mechanisms:
                kind = "vae" if node.type == "image" else None  # the cheapest to build
                self.mechanisms[key] = make_mechanism(node, [graph.node(p) for p in parents], kind=kind,
                                                      preset="quick", device="cpu").eval()
            return self.mechanisms[key]

    def idgen(self, key: CacheKey) -> IDGen | None:
        """The ID-GEN network fitted for ``key``, if any."""
        with self._lock:
            return self.idgens.get(key)

    def keep_idgen(self, key: CacheKey, gen: IDGen) -> IDGen:
        """Store a fitted network; a fit that finished first wins (one network per key)."""
        with self._lock:
            return self.idgens.setdefault(key, gen)

    def conditional_models(self, key: CacheKey, *, create: bool = True) -> dict[str, ConditionalModel]:
        """The conditional models that ID-GEN networks on the same data and graph share (the
        cache they fill as they fit); without ``create``, an empty dict when there are none yet."""
        with self._lock:
            if create:
                return self.idgen_models.setdefault(key, {})
            return self.idgen_models.get(key, {})

    def units(self, key: CacheKey, sample: Callable[[], Units]) -> Units:
        """World units cached under ``key``, drawn by ``sample`` the first time."""
        with self._lock:
            if key not in self.world_units:
                self.world_units[key] = sample()
            return self.world_units[key]

    def generated_images(self, key: CacheKey) -> GeneratedImages | None:
        with self._lock:
            return self.generated.get(key)

    def keep_generated_images(self, key: CacheKey, made: GeneratedImages) -> GeneratedImages:
        """Store generated images, dropping the oldest set beyond ``GENERATED_CACHE_SIZE``."""
        with self._lock:
            if key not in self.generated and len(self.generated) >= GENERATED_CACHE_SIZE:
                self.generated.pop(next(iter(self.generated)))
            return self.generated.setdefault(key, made)


def yield_the_cpu() -> None:
    """Run the calling thread at the lowest CPU priority (Linux: a thread is a task with its own
    nice value), so background read-outs never slow the page a user is looking at; elsewhere a no-op."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def new_hub() -> ModelHub:
    """A fresh hub; the pages wrap this in ``st.cache_resource`` so one lives per server."""
    return ModelHub()


@dataclass(frozen=True)
class Sources:
    """What the pages sample from: the data, the world it came from (ground truth, if any), the
    workspace run's trained node models, ID-GEN's settings, and the hub that caches what is loaded,
    fitted or re-sampled."""

    hub: ModelHub
    dataset: Dataset
    run: Run | None = None
    world: World | None = None
    settings: IDGenSettings = field(default_factory=IDGenSettings)


# --------------------------------------------------------------------------------------------------
# Trained models


def trained_usable(run: Run | None, graph: ADMG, name: str) -> bool:
    """``name`` has a trained model in ``run`` made for this graph's version of the node."""
    from core.runs.checkpoint import node_signature

    if run is None or name not in run.manifest.get("nodes", {}) or run.status(name) != "trained":
        return False
    return name in run.graph and node_signature(run.graph, name) == node_signature(graph, name)


def uses_diffusion(run: Run | None, graph: ADMG) -> bool:
    """Some trained model of this graph is a diffusion model (its sampling steps can be lowered)."""
    return any(trained_usable(run, graph, v) and run.entry(v).get("kind") == "diffusion" for v in graph.names)


def run_data_note(run: Run | None, dataset: Dataset) -> str:
    """A warning when the trained models were fitted to other data than the current data set ('' if not)."""
    if run is None or not run.trained_nodes():
        return ""
    fp = run.fingerprint
    if fp and fp != dataset.fingerprint:
        return (f"The trained models were fitted to other data (fingerprint {fp[:12]}, the current data "
                f"{dataset.fingerprint[:12]}): retrain them on the Train page to compare like with like.")
    return ""


# --------------------------------------------------------------------------------------------------
# The sub-model a query needs


def query_nodes(query: DoQuery, *, counterfactual: bool = False) -> tuple[list[str], list[str]]:
    """(nodes of the sub-model, nodes that need trained models) for ``Y`` under ``do(X)``.

    Sub-model: ``A ∪ {X}`` with ``A = An(Y ∪ Z)`` in ``G_{\\bar X}`` (Z: the conditioning nodes, if
    any).  Needed: ``A \\ {X}`` for sampling; for a counterfactual only ``(A ∩ De(X)) \\ {X}``
    (every other node keeps its factual value)."""
    graph, treatment = query.graph, query.treatment
    cut = graph.do([treatment])
    keep = set(cut.ancestors([query.outcome, *query.given])) | {treatment}
    need = keep - {treatment}
    if counterfactual:
        need &= set(graph.descendants([treatment]))
    return cut.sort(keep), cut.sort(need)


def counterfactual_confounders(query: DoQuery) -> list[tuple[str, str]]:
    """Bidirected edges that make ``Y_{X=x}(unit)`` unanswerable by abduction node by node.

    A counterfactual recomputes the nodes ``(An(Y)_{G_bar X} ∩ De(X)) \\ {X}`` (:func:`query_nodes`);
    every other node keeps its factual value.  Abducting ``U_V`` from ``(v, pa(v))`` alone is the
    exact posterior ``p(u_V | all observed values)`` when ``U_V`` is independent of every other
    exogenous variable, i.e. when ``V`` has no bidirected edge (its district is ``{V}``).  So the
    answer is exact iff no recomputed node has one; the edges returned are those that spoil it
    (cartoon faces under do(Male): ``Male <-> Young`` touches neither Beard, Lipstick nor Face)."""
    _, need = query_nodes(query.unconditional(), counterfactual=True)
    need_set = set(need)
    return [(a, b) for a, b in query.graph.bidirected if a in need_set or b in need_set]


def neural_scm(hub: ModelHub, run: Run | None, query: DoQuery, *, counterfactual: bool = False,
               sample_steps: int | None = None) -> NeuralSCM:
    """A NeuralSCM on the sub-graph the query needs (:func:`query_nodes`), with the run's trained
    models where needed (diffusion models sampling with ``sample_steps`` DDIM steps when given)."""
    from core.scm import NeuralSCM

    graph, treatment, outcome = query.graph, query.treatment, query.outcome
    keep, need = query_nodes(query, counterfactual=counterfactual)
    missing = [v for v in need if not trained_usable(run, graph, v)]
    if missing:
        raise MissingModels(missing, f" (needed for {outcome} under do({treatment}))")
    sub = graph.do([treatment]).subgraph(keep)
    if counterfactual:
        # Nodes outside ``need`` keep their factual values and ``counterfactual_confounders`` has
        # checked that no recomputed node has a bidirected edge: the remaining ones change nothing.
        sub = sub.without_edges(bidirected=sub.bidirected)
    mechs = {v: (hub.mechanism(run, v, sample_steps) if v in need else hub.placeholder(sub, v)) for v in keep}
    return NeuralSCM(sub, mechs)


def full_scm(hub: ModelHub, run: Run | None, graph: ADMG) -> NeuralSCM:
    """The whole graph's NeuralSCM (every node trained), for counterfactuals of world units."""
    from core.scm import NeuralSCM

    missing = [v for v in graph.names if not trained_usable(run, graph, v)]
    if missing:
        raise MissingModels(missing)
    return NeuralSCM(graph, {v: hub.mechanism(run, v) for v in graph.names})
