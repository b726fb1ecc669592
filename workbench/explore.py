"""Logic behind the Explore and Effects pages: the three rungs side by side, and effect curves.

For an intervention ``do(X = x)`` and an outcome ``Y`` (same ``n`` and seed everywhere):

* **Observational** ``P(Y | X = x)``: data rows with ``X = x`` (discrete), the rows nearest to ``x``
  (continuous: ``|X - x|``; images: pixel distance), ``n`` of them drawn with the seed;
* **Interventional** ``P(Y | do(X = x))``: a :class:`core.scm.NeuralSCM` of the trained run on a
  Markovian graph, or an :class:`core.idgen.IDGen` network (fitted once, cached) on a graph with
  bidirected edges; a non-identifiable query returns the hedge and its reason instead;
* **Counterfactual** ``Y_{X=x}(u)`` for a chosen data unit ``u`` (abduction, action, prediction);
* **Truth** (built-in worlds): ``world.interventional_samples`` / ``counterfactual_samples``.  A
  world's data set remembers its sampling seed, so re-sampling it reproduces every unit WITH its
  exogenous noise: the true counterfactual of data row ``i``.

Conditional queries ``P(Y | do(X = x), Z = z)`` (``given``: scalar nodes other than X and Y): the
observational column keeps rows with ``X = x`` AND ``Z = z``; the model column uses ID-GEN's IDC
path on confounded graphs and rejection from the Neural SCM on Markovian ones (see
:func:`scm_conditional`); the truth column keeps the world's ``do(x)`` units with ``Z = z``
(:func:`keep_given`); counterfactuals are unchanged (a unit's own Z is factual).

Models are built on the part of the graph the query needs: under ``do(X)`` only the ancestors of
``Y`` in ``G_{\\bar X}`` matter (``A = An(Y)`` there), so ``NeuralSCM`` runs on ``G_{\\bar X}[A ∪ X]``
and only the nodes in ``A \\ X`` need trained models (for a counterfactual, only those that are also
descendants of ``X``: the rest keep their factual values).  ``X``'s own model is never evaluated.

Nothing here imports Streamlit; :class:`ModelHub` is the object the pages keep in
``st.cache_resource`` (loaded mechanisms, fitted ID-GEN networks, re-sampled world units).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import WorkbenchError
from core.graph import ADMG, Node

Columns = dict[str, np.ndarray]
MAX_RADIO_LEVELS = 6
PICKER_IMAGES = 8


class MissingModels(WorkbenchError):
    """The query needs models of nodes that are not trained (yet)."""

    def __init__(self, nodes: Sequence[str], why: str = "") -> None:
        self.nodes = list(nodes)
        super().__init__(
            f"no trained model for {', '.join(self.nodes)}{why}: train "
            + ("it" if len(self.nodes) == 1 else "them")
            + " on the Train page"
        )


# --------------------------------------------------------------------------------------------------
# Intervention controls


@dataclass(frozen=True)
class Control:
    """The widget that sets a node's value: ``slider`` (continuous), ``radio`` / ``select``
    (binary, categorical) or ``image`` (pick a data image)."""

    node: str
    kind: str
    options: tuple[Any, ...] = ()
    labels: tuple[str, ...] = ()
    lo: float = 0.0
    hi: float = 1.0
    default: Any = None
    step: float = 0.01
    rows: tuple[int, ...] = ()  # candidate data rows for an image picker (empty for generated images)
    images: np.ndarray | None = field(default=None, compare=False)  # the picker's candidates (k, C, H, W)
    note: str = ""  # where the candidates come from


def intervention_control(node: Node, dataset: Any, seed: int = 0, k: int = PICKER_IMAGES,
                         generated: tuple[np.ndarray, str] | None = None) -> Control:
    """The control that fits ``node``; ranges, levels and candidate images come from the data, or,
    for an image node with ``generated = (images, note)`` (see :func:`generated_images`), the
    candidates are new images from the trained model of the node."""
    if node.type == "continuous":
        x = np.asarray(dataset.column(node.name), dtype=np.float64)
        lo, hi = (float(v) for v in np.quantile(x, [0.01, 0.99]))
        if not hi > lo:
            lo, hi = lo - 1.0, hi + 1.0
        step = float(f"{(hi - lo) / 100:.2g}")
        return Control(node.name, "slider", lo=round(lo, 6), hi=round(hi, 6),
                       default=round(float(np.median(x)), 6), step=step)
    if node.is_discrete:
        levels = tuple(range(node.levels))
        names = (getattr(dataset, "categories", {}) or {}).get(node.name)
        labels = tuple(f"{v}: {names[v]}" if names else str(v) for v in levels)
        seen = np.bincount(np.asarray(dataset.column(node.name)), minlength=node.levels)
        default = int(seen.argmax())
        return Control(node.name, "radio" if node.levels <= MAX_RADIO_LEVELS else "select", levels, labels,
                       default=default)
    if generated is not None:
        images, note = generated
        return Control(node.name, "image", labels=tuple(f"generated {i + 1}" for i in range(len(images))),
                       default=0, images=np.asarray(images), note=note)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(dataset.n, size=min(k, dataset.n), replace=False))
    return Control(node.name, "image", labels=tuple(f"row {int(r)}" for r in rows), rows=tuple(int(r) for r in rows),
                   default=int(rows[0]), images=np.asarray(dataset.column(node.name))[rows], note="data images")


GENERATED_CACHE: dict[tuple, tuple[np.ndarray, str]] = {}  # (run, weights, node, k, seed, steps) -> images, note
GENERATED_CACHE_SIZE = 16


def generated_images(hub: ModelHub, run: Any, graph: ADMG, dataset: Any, node: str, k: int = PICKER_IMAGES,
                     seed: int = 0, sample_steps: int | None = None) -> tuple[np.ndarray, str]:
    """``k`` NEW images of ``node`` (for ``do(node = image)``) from the workspace's trained model, and
    a note saying how they were drawn.

    ``x ~ p_model(x | pa(x))`` with the parents drawn first: by ancestral sampling of the trained
    models of ``An(x)`` when all are trained and ``G[An(x)]`` has no bidirected edge (then
    ``pa ~ prod_v p(v | pa(v))`` is the model's own ``P(pa)``); otherwise parents are copied from
    ``k`` data rows, which is exact for the marginal ``P(x) = sum_pa P(pa) P(x | pa)`` on any graph,
    hidden confounders included (the mechanism was fitted to the observational ``P(x | pa)``).
    Deterministic in ``seed``; cached per weights file."""
    from core.mechanisms import to_numpy, to_tensor
    from core.scm import NeuralSCM

    if not trained_usable(run, graph, node):
        raise MissingModels([node], f" (needed to generate a new image of {node})")
    anc = graph.ancestors([node])
    sub = graph.subgraph(anc)
    ancestral = sub.is_markovian and all(trained_usable(run, graph, v) for v in anc)
    used = sorted(anc) if ancestral else [node]
    key = (str(run.path), tuple((v, run.entry(v).get("weights")) for v in used), node, int(k), int(seed), sample_steps)
    if key in GENERATED_CACHE:
        return GENERATED_CACHE[key]
    if ancestral:
        scm = NeuralSCM(sub, {v: hub.mechanism(run, v, sample_steps) for v in anc})
        images = scm.draw_samples(k, seed)[node]
        parents = ", ".join(graph.sort(graph.parents(node)))
        note = (f"from the trained model of {node}" + (f", its parents {parents} drawn by their models first"
                                                         if parents else ""))
    else:
        import torch

        rows = np.random.default_rng(seed).choice(dataset.n, size=k, replace=dataset.n < k)
        mech = hub.mechanism(run, node, sample_steps)
        pa = {p: to_tensor(graph.node(p), np.asarray(dataset.column(p))[rows]) for p in graph.parents(node)}
        with torch.no_grad():
            images = to_numpy(graph.node(node), mech.sample(pa, torch.Generator().manual_seed(int(seed)), n=k))
        note = f"from the trained model of {node}, its parents copied from data rows"
    if len(GENERATED_CACHE) >= GENERATED_CACHE_SIZE:
        GENERATED_CACHE.pop(next(iter(GENERATED_CACHE)))
    GENERATED_CACHE[key] = (np.asarray(images), note)
    return GENERATED_CACHE[key]


def given_choices(graph: ADMG, treatment: str, outcome: str) -> list[str]:
    """The nodes a query may condition on: scalar (non-image) nodes other than X and Y."""
    return [v for v in graph.names if v not in (treatment, outcome) and graph.node(v).type != "image"]


def given_text(given: Mapping[str, Any] | None, graph: ADMG) -> str:
    """``"Z = 1, W = 0.5"`` (empty for no conditioning)."""
    return ", ".join(f"{k} = {value_text(v, graph.node(k))}" for k, v in (given or {}).items())


def display_image(img: np.ndarray) -> np.ndarray:
    """(C, H, W) uint8 -> (H, W) or (H, W, 3) for ``st.image``."""
    x = np.asarray(img)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)


def value_text(value: Any, node: Node) -> str:
    if node.type == "image":
        return "an image"
    if node.type == "continuous":
        return f"{float(value):.3g}"
    return str(int(value))


# --------------------------------------------------------------------------------------------------
# Galleries


@dataclass
class Gallery:
    """One column of the comparison: outcome samples, or why there are none."""

    title: str
    formula: str
    outcome: str = ""
    values: np.ndarray | None = None  # (n,) scalars or (n, C, H, W) uint8 images
    captions: list[str] = field(default_factory=list)
    message: str = ""  # shown instead of samples
    hedge: tuple[frozenset[str], frozenset[str]] | None = None
    factual: np.ndarray | None = None  # counterfactual columns: the factual outcomes
    seconds: float = 0.0
    level: str = "info"  # how to show ``message``: info, warning or error

    @property
    def ok(self) -> bool:
        return self.values is not None and not self.message


def failed(title: str, formula: str, e: Exception, level: str = "warning") -> Gallery:
    hedge = getattr(e, "hedge", None)
    if hedge is not None:
        hedge = (frozenset(hedge[0]), frozenset(hedge[1]))
    return Gallery(title, formula, message=str(e), hedge=hedge, level=level)


NEAREST_SHARE = 50  # continuous conditions keep the nearest 1/50 of the candidates (at least n)


def condition_distance(column: np.ndarray, value: Any, node: Node) -> np.ndarray:
    """How far each row is from ``value``, on a scale shared by every node: ``|v - x| / sd(v)``
    (continuous), mean squared pixel difference over its mean (images)."""
    if node.type == "image":
        target = np.asarray(value, dtype=np.float32)
        d = ((np.asarray(column).astype(np.float32) - target[None]) ** 2).reshape(len(column), -1).mean(axis=1)
    else:
        d = np.abs(np.asarray(column, dtype=np.float64) - float(value))
    scale = float(np.std(np.asarray(column, dtype=np.float64))) if node.type != "image" else float(np.mean(d))
    return d / scale if scale > 0 else d


def matching_mask(columns: Mapping[str, np.ndarray], graph: ADMG, conditions: Mapping[str, Any]) -> np.ndarray:
    """Rows whose DISCRETE conditions hold exactly (continuous and image conditions are ranked by
    :func:`nearest_rows` instead)."""
    n = len(next(iter(columns.values())))
    mask = np.ones(n, dtype=bool)
    for k, v in conditions.items():
        if graph.node(k).is_discrete:
            mask &= np.asarray(columns[k]) == int(v)
    return mask


def nearest_rows(columns: Mapping[str, np.ndarray], graph: ADMG, conditions: Mapping[str, Any],
                 candidates: np.ndarray, keep: int) -> np.ndarray:
    """The ``keep`` candidates nearest to the continuous/image conditions (sum of
    :func:`condition_distance`); all candidates when every condition is discrete."""
    ranked = [k for k in conditions if not graph.node(k).is_discrete]
    if not ranked or len(candidates) == 0:
        return candidates
    dist = sum(condition_distance(np.asarray(columns[k])[candidates], conditions[k], graph.node(k)) for k in ranked)
    return candidates[np.argsort(dist, kind="stable")[:keep]]


def matching_rows(dataset: Any, graph: ADMG, treatment: str, value: Any, n: int,
                  given: Mapping[str, Any] | None = None) -> np.ndarray:
    """Data rows standing for ``X = x`` (and ``Z = z``): discrete conditions hold exactly; among
    those rows, when some condition is continuous or an image, the ``max(n, M // 50)`` nearest
    (``M`` rows left; continuous by ``|X - x| / sd``, images by mean squared pixel difference)."""
    conditions = {treatment: value, **(given or {})}
    columns = {k: dataset.column(k) for k in conditions}
    rows = np.flatnonzero(matching_mask(columns, graph, conditions))
    keep = min(len(rows), max(n, len(rows) // NEAREST_SHARE))
    return nearest_rows(columns, graph, conditions, rows, keep)


def observational_gallery(dataset: Any, graph: ADMG, treatment: str, value: Any, outcome: str,
                          n: int, seed: int = 0, given: Mapping[str, Any] | None = None) -> Gallery:
    """``P(Y | X = x, Z = z)`` read off the data (no model): n rows where X = x and Z = z (or
    nearest), seeded."""
    node = graph.node(treatment)
    cond = ", ".join(filter(None, [f"{treatment} = {value_text(value, node)}", given_text(given, graph)]))
    formula = f"P({outcome} | {cond})"
    title = "Observational"
    rows = matching_rows(dataset, graph, treatment, value, n, given)
    if len(rows) == 0:
        return Gallery(title, formula, message=f"{cond} never occurs in the data")
    rng = np.random.default_rng(seed)
    pick = rng.choice(rows, size=n, replace=len(rows) < n)
    exact = all(graph.node(k).is_discrete for k in [treatment, *(given or {})])
    caption_note = "" if exact else f" ({len(rows)} nearest rows)"
    return Gallery(title, formula + caption_note, outcome, np.asarray(dataset.column(outcome))[pick],
                   [f"#{int(i)}" for i in pick])


def interventional_formula(treatment: str, value: Any, node: Node, outcome: str, given: str = "") -> str:
    """``P(Y | do(X = x))``, or ``P(Y | do(X = x), Z = z)`` with ``given`` text (:func:`given_text`)."""
    return f"P({outcome} | do({treatment} = {value_text(value, node)}){', ' + given if given else ''})"


# --------------------------------------------------------------------------------------------------
# Models: trained run (Markovian) and ID-GEN (confounded), cached


def query_nodes(graph: ADMG, treatment: str, outcome: str, counterfactual: bool = False,
                given: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(nodes of the sub-model, nodes that need trained models) for ``Y`` under ``do(X)``.

    Sub-model: ``A ∪ {X}`` with ``A = An(Y ∪ Z)`` in ``G_{\\bar X}`` (Z: the conditioning nodes, if
    any).  Needed: ``A \\ {X}`` for sampling; for a counterfactual only ``(A ∩ De(X)) \\ {X}``
    (every other node keeps its factual value)."""
    cut = graph.do([treatment])
    keep = set(cut.ancestors([outcome, *given])) | {treatment}
    need = keep - {treatment}
    if counterfactual:
        need &= set(graph.descendants([treatment]))
    return cut.sort(keep), cut.sort(need)


class ModelHub:
    """What the pages keep between reruns (``st.cache_resource``): loaded node mechanisms keyed by
    their weight files (a new checkpoint is a new file name, so retrained models reload), untrained
    placeholders, fitted ID-GEN networks and re-sampled world units."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.mechanisms: dict[tuple, Any] = {}
        self.idgens: dict[tuple, Any] = {}
        self.idgen_models: dict[tuple, dict] = {}
        self.world_units: dict[tuple, Any] = {}

    def mechanism(self, run: Any, name: str, sample_steps: int | None = None) -> Any:
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
                import copy

                view = copy.copy(mech)  # shares parameters and buffers; only the config differs
                view.config = {**mech.config, "sample_steps": int(sample_steps), "inversion_steps": int(sample_steps)}
                self.mechanisms[fast_key] = view
            return self.mechanisms[fast_key]

    def placeholder(self, graph: ADMG, name: str) -> Any:
        """A fresh model for a node whose model the query never evaluates (see ``query_nodes``)."""
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


def trained_usable(run: Any, graph: ADMG, name: str) -> bool:
    """``name`` has a trained model in ``run`` made for this graph's version of the node."""
    from core.runs.checkpoint import node_signature

    if run is None or name not in run.manifest.get("nodes", {}) or run.status(name) != "trained":
        return False
    return name in run.graph and node_signature(run.graph, name) == node_signature(graph, name)


def neural_scm(hub: ModelHub, run: Any, graph: ADMG, treatment: str, outcome: str, counterfactual: bool = False,
               sample_steps: int | None = None, given: Sequence[str] = ()):
    """A NeuralSCM on the sub-graph the query needs, with the run's trained models where needed
    (diffusion models sampling with ``sample_steps`` DDIM steps when given)."""
    from core.scm import NeuralSCM

    keep, need = query_nodes(graph, treatment, outcome, counterfactual, given)
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


# ModelProgress(target, inputs, model) -> the model's per-step callback(step, loss), or None
ModelProgress = Callable[[Node, list[Node], Any], "Callable[[int, float], Any] | None"]


def idgen_factory(settings: Mapping[str, Any] | None = None, model_progress: ModelProgress | None = None):
    """ID-GEN's conditional models: exact tables where every variable is discrete, else mechanisms
    (kinds and preset from the Train page's settings; ``idgen_steps`` training steps each).
    ``model_progress`` gives each neural model its per-step callback (a background job's progress)."""
    from core.idgen import MechanismModel, mechanism_factory

    settings = dict(settings or {})
    kinds = {v: s.get("kind") for v, s in (settings.get("nodes") or {}).items() if s.get("kind")}
    options = {"preset": settings.get("preset") or "quick", "device": "cpu"}
    if settings.get("idgen_steps"):
        options["steps"] = int(settings["idgen_steps"])
    factory = mechanism_factory(kinds=kinds, **options)
    if model_progress is None:
        return factory

    def reporting(target: Node, inputs: list[Node]) -> Any:
        model = factory(target, inputs)
        if isinstance(model, MechanismModel):
            model.progress = model_progress(target, inputs, model)
        return model

    return reporting


def idgen_for(hub: ModelHub, dataset: Any, graph: ADMG, treatment: str, outcome: str,
              settings: Mapping[str, Any] | None = None, fit: bool = True,
              progress: Callable[[int, int, Any], None] | None = None, given: Sequence[str] = (),
              run: Any = None, model_progress: ModelProgress | None = None):
    """The ID-GEN network for ``P(Y | do(X))``, fitted once per (data, graph, query, settings, run)
    and cached; conditional models are shared between queries on the same data and graph, and the
    workspace ``run``'s trained node models are used wherever the plan needs the same conditional
    (see :func:`run_model_lookup`).  With ``fit=False`` returns None when it is not fitted yet (the
    page asks before training).  The fit runs outside the hub's lock, so a background fit
    (:func:`idgen_fit_work`) never stalls the page's own use of the hub."""
    from core.idgen import IDGen

    base = (dataset.fingerprint, graph.dumps(), repr(sorted((settings or {}).items())))
    key = (*base, treatment, outcome) + ((tuple(given),) if given else ()) + run_signature(run, graph)
    with hub._lock:
        gen = hub.idgens.get(key)
        if gen is not None or not fit:
            return gen
        cache = hub.idgen_models.setdefault(base, {})
    gen = IDGen(graph, dataset.values, model_factory=idgen_factory(settings, model_progress), cache=cache,
                data_key=dataset.fingerprint[:16], pretrained=run_model_lookup(hub, run, graph, dataset))
    gen.fit(outcome=[outcome], treatment=[treatment], given=list(given), progress=progress)
    with hub._lock:
        return hub.idgens.setdefault(key, gen)  # a fit that finished first wins: one network per key


def model_label(target: str, inputs: Sequence[str]) -> str:
    """``"p(Face | Young, Beard)"``: how the page names one conditional model."""
    return f"p({target} | {', '.join(inputs)})" if inputs else f"p({target})"


def idgen_fit_work(hub: ModelHub, dataset: Any, graph: ADMG, treatment: str, outcome: str,
                   settings: Mapping[str, Any] | None = None, given: Sequence[str] = (), run: Any = None,
                   threads: int | None = 1) -> tuple[list[str], Callable[[Any], str]]:
    """A background job for ``core.ui_train.JobRegistry`` that fits the ID-GEN network of the query:
    (the labels of the neural models it trains, one progress bar each; the job body).

    The body reports every optimiser step as a ``core.train.Progress`` to the job (the Train page's
    progress rows: step, loss, ETA), and stops when the job is asked to: a stop raises inside the
    model's training, so a half-trained model never enters the shared cache and the network is not
    stored -- the page offers the fit again.  Exact tables and the run's trained models cost nothing
    and get no bar."""
    from core.runs.train import Progress

    status = idgen_status(hub, run, dataset, graph, treatment, outcome, settings, given)
    labels = [model_label(s.target, s.inputs) for s in status.to_fit]

    def work(job: Any) -> str:
        import torch

        if threads:
            torch.set_num_threads(int(threads))  # the machine is shared with the page's own work
        t0 = time.perf_counter()

        def model_progress(target: Node, inputs: list[Node], model: Any):
            label = model_label(target.name, [n.name for n in inputs])
            total = int(model.steps or model.mechanism.config.get("train", {}).get("steps", 1000))
            started = time.perf_counter()
            job.callback(Progress(label, 0, total, None, None, "start"))

            def step(i: int, loss: float) -> None:
                done = i + 1
                eta = (time.perf_counter() - started) / done * (total - done)
                phase = "done" if done >= total else "step"
                if not job.callback(Progress(label, done, total, float(loss), eta, phase)):
                    raise WorkbenchError(f"ID-GEN fitting stopped at {label}, step {done} of {total}: nothing was kept")

            return step

        idgen_for(hub, dataset, graph, treatment, outcome, settings, fit=True, given=given, run=run,
                  model_progress=model_progress)
        return (f"ID-GEN for P({outcome} | do({treatment})"
                + (f", {', '.join(given)}" if given else "")
                + f"): {len(labels)} model{'s' if len(labels) != 1 else ''} trained in {time.perf_counter() - t0:.0f} s")

    return labels, work


def run_signature(run: Any, graph: ADMG) -> tuple:
    """What of ``run`` an ID-GEN network may have used: its trained nodes' weight files (a retrained
    node is a new file, so the network is rebuilt with the new model)."""
    if run is None:
        return ()
    return (str(run.path), tuple((v, run.entry(v).get("weights")) for v in graph.names if trained_usable(run, graph, v)))


def run_model_lookup(hub: ModelHub, run: Any, graph: ADMG, dataset: Any):
    """ID-GEN's ``pretrained`` hook: for a plan model ``p(V | inputs)`` on the observed data, the
    run's trained model of ``V`` when it is the same conditional -- ``inputs`` are exactly ``pa(V)``,
    the node and its parents have the same types as when it was trained, and the run was trained on
    this data (same fingerprint).  Conditionals the factory fits at no cost (exact-count tables, draws
    from the data for a variable without inputs) are left to it: they are exact and instant, a
    neural model is what costs minutes."""
    if run is None or not run.fingerprint or run.fingerprint != dataset.fingerprint:
        return None

    def lookup(spec: Any) -> Any:
        from core.idgen import MechanismModel

        v = spec.target
        if v not in graph or not trained_usable(run, graph, v) or instant_spec(spec, graph):
            return None
        if set(spec.inputs) != set(graph.parents(v)):
            return None
        return MechanismModel.trained(hub.mechanism(run, v), graph.node(v), [graph.node(u) for u in spec.inputs])

    return lookup


def idgen_status(hub: ModelHub, run: Any, dataset: Any, graph: ADMG, treatment: str, outcome: str,
                 settings: Mapping[str, Any] | None = None, given: Sequence[str] = ()) -> Any:
    """Before fitting: which models ``P(Y | do(X))`` needs and which are already trained
    (``core.idgen.PlanStatus``; ``.summary()`` reads "k of m models already trained, ..."); the
    exact-count tables and data draws still to fit are ``instant``, not ``to_fit``: they take no time."""
    from core.idgen import IDGen, PlanStatus

    base = (dataset.fingerprint, graph.dumps(), repr(sorted((settings or {}).items())))
    plan = idgen_plan(dataset, graph, treatment, outcome, given)
    gen = IDGen(graph, dataset.values, cache=hub.idgen_models.get(base, {}), data_key=dataset.fingerprint[:16],
                pretrained=run_model_lookup(hub, run, graph, dataset))
    status = gen.status(plan)
    instant = tuple(s for s in status.to_fit if instant_spec(s, graph))
    return PlanStatus(status.reused, status.cached, tuple(s for s in status.to_fit if s not in instant), instant)


def instant_spec(spec: Any, graph: ADMG) -> bool:
    """This plan model costs no training with ``idgen_factory``: the factory's own rule
    (``core.idgen.exact_model``: an exact-count table, or draws from the data for a variable
    without inputs)."""
    return instant_label(spec, graph) is not None


def instant_label(spec: Any, graph: ADMG) -> str | None:
    """How an instant plan model is made, for the plan list: ``"exact table"`` (counts) or
    ``"draws from the data"`` (a continuous or image variable without inputs); None when it must
    be trained."""
    from core.idgen import EmpiricalModel, exact_model

    model = exact_model(graph.node(spec.target), [graph.node(u) for u in spec.inputs])
    if model is None:
        return None
    return "draws from the data" if isinstance(model, EmpiricalModel) else "exact table"


def idgen_plan(dataset: Any, graph: ADMG, treatment: str, outcome: str, given: Sequence[str] = ()) -> Any:
    """The ID-GEN plan (raises NotIdentifiable with the hedge before anything is trained)."""
    from core.idgen import compile_query

    return compile_query(graph, [outcome], [treatment], list(given), data_key=dataset.fingerprint[:16])


def check_identifiable(graph: ADMG, treatment: str, outcome: str, given: Sequence[str] = ()) -> None:
    """Raises ``core.identify.NotIdentifiable`` (with ``.hedge``) for a confounded, non-identifiable
    query (IDC when ``given`` is non-empty; on a Markovian graph every query is identifiable)."""
    if graph.is_markovian:
        return
    from core.identify import identify

    identify(graph, [treatment], [outcome], list(given))


# ---- conditioning on Z = z by keeping the draws where it holds

DRAWS_PER_UNIT = 100  # rejection budget: at most max(MIN_DRAWS, 100 n) draws under do(x)
MIN_DRAWS = 2000


class TooFewMatches(WorkbenchError):
    """Rejection sampling found fewer than n units with Z = z within its budget."""


def draw_budget(n: int) -> int:
    return max(MIN_DRAWS, DRAWS_PER_UNIT * int(n))


def keep_given(draw: Callable[[int, int], Mapping[str, np.ndarray]], graph: ADMG, given: Mapping[str, Any],
               n: int, seed: int = 0, budget: int | None = None, what: str = "do(x)") -> Columns:
    """``n`` units of ``P(V | do(x), Z = z)`` from a sampler ``draw(m, seed)`` of ``P(V | do(x))``.

    Rejection: a unit drawn from ``P(v | do(x))`` and kept iff ``Z = z`` is a draw from
    ``P(v | do(x), z) = P(v, z | do(x)) / P(z | do(x))``, exactly, for discrete Z.  Batches (seeds
    ``seed, seed + 1, ...``, sizes doubling from ``4 n``) are drawn until ``n`` units match, at most
    ``budget`` draws (:func:`draw_budget`); fewer matches raise :class:`TooFewMatches` with the
    observed rate.  A continuous Z is never hit exactly: we collect ``50 n`` discrete matches (or
    what the budget gives) and keep the ``n`` nearest in ``|Z - z| / sd`` (the same 2% window the
    observational column uses on the data)."""
    budget = draw_budget(n) if budget is None else int(budget)
    continuous = any(not graph.node(k).is_discrete for k in given)
    target = n * (NEAREST_SHARE if continuous else 1)
    kept: list[dict[str, np.ndarray]] = []
    drawn = matched = 0
    size = min(budget, 4 * target)
    i = 0
    while matched < target and drawn < budget:
        m = min(size, budget - drawn)
        batch = {k: np.asarray(v) for k, v in draw(m, seed + i).items()}
        rows = np.flatnonzero(matching_mask(batch, graph, given))
        kept.append({k: v[rows] for k, v in batch.items()})
        drawn, matched, size, i = drawn + m, matched + len(rows), size * 2, i + 1
    if matched < n:
        cond = given_text(given, graph)
        raise TooFewMatches(f"only {matched} of {drawn} units drawn under {what} have {cond} (need {n}): "
                            f"P({cond} | {what}) is about {matched / max(1, drawn):.2g}; choose a more common value")
    columns = {k: np.concatenate([b[k] for b in kept]) for k in kept[0]}
    rows = nearest_rows(columns, graph, given, np.arange(matched), n)[:n]
    return {k: v[rows] for k, v in columns.items()}


def scm_conditional(scm: Any, treatment: str, value: Any, given: Mapping[str, Any], n: int, seed: int = 0,
                    budget: int | None = None) -> Columns:
    """``n`` units of ``P(V | do(X = x), Z = z)`` from a Markovian NeuralSCM, by rejection (not IDC).

    Why rejection and not ID-GEN's IDC path on a Markovian graph: the trained per-node models ARE the
    fitted causal model there, ``P_x(v) = prod_{v not in X} p(v | pa(v))``, so keeping the draws of
    ``do(x)`` with ``Z = z`` returns that model's exact ``P_x(v | z)`` with no new training; IDC
    would fit fresh conditional models on synthetic data (new approximation error, minutes of
    training for image outcomes) to answer the same question.  The price is wasted draws when
    ``P_x(z)`` is small: bounded, with a clear message (:func:`keep_given`).

    Cheap first: ``A = An(Z)`` in the sub-model (closed under parents, so its marginal is the
    ancestral sampling of ``A`` alone) is drawn and filtered on ``Z = z`` first; the other nodes
    (the outcome's image, typically) are then sampled for the ``n`` kept units only, with ``A``
    forced to their kept values: with independent noises, ancestral sampling of the rest given
    ``A`` is exactly the conditional given ``A``."""
    from core.scm import NeuralSCM

    graph = scm.graph
    first = set(graph.ancestors(list(given))) | {treatment}
    stage1 = NeuralSCM(graph.subgraph(first), {v: scm.mechanisms[v] for v in first})
    kept = keep_given(lambda m, s: stage1.interventional_samples({treatment: value}, m, s), graph, given, n,
                      seed, budget, what=f"do({treatment} = {value_text(value, graph.node(treatment))})")
    if first == set(graph.names):
        return kept
    rest = NeuralSCM(graph, scm.mechanisms, batch_size=max(n, 1))  # one batch: forced arrays have n rows
    return rest.interventional_samples({**{v: kept[v] for v in first}, treatment: value}, n, seed + 7919)


def model_interventional(hub: ModelHub, run: Any, dataset: Any, graph: ADMG, treatment: str, value: Any,
                         outcome: str, n: int, seed: int = 0, settings: Mapping[str, Any] | None = None,
                         fit_idgen: bool = True, sample_steps: int | None = None,
                         given: Mapping[str, Any] | None = None) -> Gallery:
    """``P(Y | do(X = x))`` (or ``P(Y | do(X = x), Z = z)``) from the trained models (NeuralSCM,
    conditional by :func:`scm_conditional`) or ID-GEN (IDC for a conditional query); reasons instead
    of samples for a non-identifiable query, untrained nodes, too rare a ``z``, or an ID-GEN network
    not fitted yet."""
    node = graph.node(treatment)
    given = dict(given or {})
    title = "Interventional (model)"
    formula = interventional_formula(treatment, value, node, outcome, given_text(given, graph))
    t0 = time.perf_counter()
    try:
        check_identifiable(graph, treatment, outcome, list(given))
        if graph.is_markovian:
            scm = neural_scm(hub, run, graph, treatment, outcome, sample_steps=sample_steps, given=list(given))
            if given:
                values = scm_conditional(scm, treatment, value, given, n, seed)[outcome]
            else:
                values = scm.interventional_samples({treatment: value}, n, seed)[outcome]
        else:
            gen = idgen_for(hub, dataset, graph, treatment, outcome, settings, run=run, fit=fit_idgen, given=list(given))
            if gen is None:
                return Gallery(title + " · ID-GEN", formula, message="the ID-GEN network for this query is not fitted yet")
            values = gen.sample(do={treatment: value}, n=n, given=given, seed=seed)[outcome]
            title += " · ID-GEN"
    except MissingModels as e:
        return failed(title, formula, e, "info")
    except WorkbenchError as e:
        return failed(title, formula, e)
    return Gallery(title, formula, outcome, np.asarray(values), [], seconds=time.perf_counter() - t0)


def truth_interventional(world: Any, graph: ADMG, treatment: str, value: Any, outcome: str, n: int,
                         seed: int = 0, given: Mapping[str, Any] | None = None) -> Gallery:
    """The world's own ``P(Y | do(X = x))``; with ``given``, its ``do(x)`` units with ``Z = z`` kept
    (:func:`keep_given` on the world's sampler: exact for any graph, hidden confounders included)."""
    given = dict(given or {})
    formula = interventional_formula(treatment, value, graph.node(treatment), outcome, given_text(given, graph))
    try:
        if given:
            values = keep_given(lambda m, s: world.interventional_samples({treatment: value}, m, s).values, graph,
                                given, n, seed, what=f"do({treatment} = {value_text(value, graph.node(treatment))})")
        else:
            values = world.interventional_samples({treatment: value}, n, seed).values
    except WorkbenchError as e:
        return failed("Truth (world)", formula, e)
    return Gallery("Truth (world)", formula, outcome, np.asarray(values[outcome]), [])


# ---- counterfactuals


def counterfactual_units(n: int, unit: int, n_rows: int, seed: int = 0) -> np.ndarray:
    """The chosen unit first, then ``n - 1`` other data rows drawn with the seed."""
    if not 0 <= unit < n_rows:
        raise WorkbenchError(f"unit {unit} is not a data row (0..{n_rows - 1})")
    rng = np.random.default_rng(seed)
    others = rng.permutation(np.setdiff1d(np.arange(n_rows), [unit]))[: max(0, n - 1)]
    return np.concatenate([[unit], others]).astype(np.int64)


def counterfactual_formula(outcome: str, treatment: str, value: str) -> str:
    """``Y_{X = x}(unit)`` as inline Markdown math (``$...$``, which ``st.caption`` typesets), so the
    subscript reads as one and names with underscores or values with spaces survive."""
    from core.identify.estimand import latex_name

    text = value.replace("\\", "").replace("{", "").replace("}", "").replace("$", "").replace("^", "").replace("~", "")
    for special in "#%&_":  # text-mode specials KaTeX refuses unescaped
        text = text.replace(special, "\\" + special)
    return f"${latex_name(outcome)}_{{{latex_name(treatment)} = \\text{{{text}}}}}(\\text{{unit}})$"


def model_counterfactual(hub: ModelHub, run: Any, dataset: Any, graph: ADMG, treatment: str, value: Any,
                         outcome: str, rows: np.ndarray, seed: int = 0, sample_steps: int | None = None) -> Gallery:
    """What units ``rows`` of the data would have been under ``do(X = x)`` (abduction-action-prediction
    with the trained models).  On a graph with hidden confounders this is exact when no node that is
    recomputed (see :func:`counterfactual_confounders`) has a bidirected edge; otherwise the reason."""
    node = graph.node(treatment)
    title = "Counterfactual (model)"
    formula = counterfactual_formula(outcome, treatment, value_text(value, node))
    blocking = counterfactual_confounders(graph, treatment, outcome)
    if blocking:
        a, b = blocking[0]
        return Gallery(title, formula, level="info", message=(
            f"counterfactuals need every unit's noise, which a graph with hidden confounders ({a} <-> {b}) "
            "does not let the models recover: ID-GEN answers interventional queries only"))
    t0 = time.perf_counter()
    try:
        scm = neural_scm(hub, run, graph, treatment, outcome, counterfactual=True, sample_steps=sample_steps)
        factual = {v: np.asarray(dataset.column(v))[rows] for v in scm.graph.names}
        cf = scm.counterfactual_samples(factual, {treatment: value}, seed)
    except MissingModels as e:
        return failed(title, formula, e, "info")
    except WorkbenchError as e:
        return failed(title, formula, e)
    return Gallery(title, formula, outcome, np.asarray(cf[outcome]), [f"#{int(r)}" for r in rows],
                   factual=np.asarray(dataset.column(outcome))[rows], seconds=time.perf_counter() - t0)


def counterfactual_confounders(graph: ADMG, treatment: str, outcome: str) -> list[tuple[str, str]]:
    """Bidirected edges that make ``Y_{X=x}(unit)`` unanswerable by abduction node by node.

    A counterfactual recomputes the nodes ``(An(Y)_{G_bar X} ∩ De(X)) \\ {X}`` (:func:`query_nodes`);
    every other node keeps its factual value.  Abducting ``U_V`` from ``(v, pa(v))`` alone is the
    exact posterior ``p(u_V | all observed values)`` when ``U_V`` is independent of every other
    exogenous variable, i.e. when ``V`` has no bidirected edge (its district is ``{V}``).  So the
    answer is exact iff no recomputed node has one; the edges returned are those that spoil it
    (cartoon faces under do(Male): ``Male <-> Young`` touches neither Beard, Lipstick nor Face)."""
    _, need = query_nodes(graph, treatment, outcome, counterfactual=True)
    need_set = set(need)
    return [(a, b) for a, b in graph.bidirected if a in need_set or b in need_set]


def world_units_for(hub: ModelHub, world: Any, dataset: Any) -> Any:
    """The world's units behind the data set, WITH their noise: re-sampled from the record's seed and
    checked against the data (so the truth counterfactual of row i is about the same unit)."""
    record = dataset.world or {}
    if world is None or "seed" not in record:
        raise WorkbenchError("the data does not come from a built-in world: there is no ground truth")
    key = (dataset.fingerprint,)
    with hub._lock:
        if key not in hub.world_units:
            units = world.sample(dataset.n, seed=int(record["seed"]))
            for v in dataset.columns:
                if v in units.values and not np.array_equal(np.asarray(units.values[v]), np.asarray(dataset.column(v))):
                    raise WorkbenchError("re-sampling the world does not reproduce the data: no ground-truth counterfactuals")
            hub.world_units[key] = units
        return hub.world_units[key]


def truth_counterfactual(hub: ModelHub, world: Any, dataset: Any, graph: ADMG, treatment: str, value: Any,
                         outcome: str, rows: np.ndarray) -> Gallery:
    formula = counterfactual_formula(outcome, treatment, value_text(value, graph.node(treatment)))
    try:
        units = world_units_for(hub, world, dataset).subset(rows)
        cf = world.counterfactual_samples(units, {treatment: value})
    except WorkbenchError as e:
        return failed("Truth (world)", formula, e)
    return Gallery("Truth (world)", formula, outcome, np.asarray(cf.values[outcome]), [f"#{int(r)}" for r in rows],
                   factual=np.asarray(dataset.column(outcome))[rows])


# --------------------------------------------------------------------------------------------------
# Read-outs under each gallery


def world_probe(world: Any, graph: ADMG, node: str) -> Any:
    """The world's probe for image node ``node``, or None (no world, no probe, not an image)."""
    if world is None or node not in graph or graph.node(node).type != "image" or not hasattr(world, "probe"):
        return None
    try:
        return world.probe(node)
    except WorkbenchError:
        return None


ATTRIBUTE_PANELS_PER_ROW = 3  # probe-read attribute panels per row under a gallery


def attribute_shares(probe: Any, images: np.ndarray) -> tuple[pd.DataFrame, dict[str, float]]:
    """Probe read-outs of a gallery: (long table attribute/value/share for categorical attributes,
    {attribute: mean} for continuous ones)."""
    read = probe.read(np.asarray(images, dtype=np.uint8))
    rows, means = [], {}
    for name, attr in probe.attributes.items():
        vals = np.asarray(read[name])
        if attr.kind == "categorical":
            labels = attr.labels or tuple(str(i) for i in range(int(vals.max(initial=0)) + 1))
            counts = np.bincount(vals.astype(np.int64), minlength=len(labels))[: len(labels)]
            for label, c in zip(labels, counts, strict=True):
                rows.append({"attribute": name, "value": str(label), "share": float(c) / max(1, len(vals))})
        else:
            means[name] = float(np.mean(vals)) if len(vals) else float("nan")
    return pd.DataFrame(rows, columns=["attribute", "value", "share"]), means


def attribute_figure(shares: pd.DataFrame, panels_per_row: int = ATTRIBUTE_PANELS_PER_ROW) -> Any:
    """Bars of each probe-read attribute's value shares, one small panel per attribute, at most
    ``panels_per_row`` a row (five names side by side overlap in a gallery column).  Built with
    graph_objects, not plotly.express: a refresh draws five of these, and express's faceting costs
    ~0.1 s each where this costs ~0.03 s."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    attrs = list(dict.fromkeys(shares["attribute"]))
    rows = -(-len(attrs) // panels_per_row)
    cols = min(panels_per_row, len(attrs))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=attrs, horizontal_spacing=0.06, shared_yaxes=True,
                        vertical_spacing=0.4 / rows if rows > 1 else 0.0)
    for k, name in enumerate(attrs):
        part = shares[shares["attribute"] == name]
        fig.add_trace(go.Bar(x=list(part["value"]), y=list(part["share"]), marker_color="#0068c9", showlegend=False,
                             hovertemplate="%{x}: %{y:.2f}<extra>" + name + "</extra>"),
                      row=k // panels_per_row + 1, col=k % panels_per_row + 1)
    fig.update_xaxes(type="category", tickangle=0)
    fig.update_yaxes(range=[0, 1], nticks=3)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=30 + 150 * rows, margin=dict(l=0, r=0, t=22, b=0), bargap=0.2)
    return fig


def value_shares(node: Node, values: np.ndarray) -> pd.DataFrame:
    """A scalar outcome's distribution in a gallery: share per level (discrete) or a 10-bin histogram."""
    v = np.asarray(values)
    if node.is_discrete:
        counts = np.bincount(v.astype(np.int64), minlength=node.levels)
        return pd.DataFrame({"value": [str(i) for i in range(node.levels)], "share": counts / max(1, len(v))})
    counts, edges = np.histogram(v.astype(np.float64), bins=10)
    mids = (edges[:-1] + edges[1:]) / 2
    return pd.DataFrame({"value": [f"{m:.3g}" for m in mids], "share": counts / max(1, len(v))})


# --------------------------------------------------------------------------------------------------
# Effects page


def treatment_values(node: Node, dataset: Any, k: int = 7) -> list[Any]:
    """The treatment values the effect curves visit: every level (discrete) or ``k`` quantiles
    from 5% to 95% of the data (continuous)."""
    if node.type == "image":
        raise WorkbenchError(f"{node.name} is an image: choose a scalar treatment for effect curves")
    if node.is_discrete:
        return list(range(node.levels))
    x = np.asarray(dataset.column(node.name), dtype=np.float64)
    return [float(f"{q:.4g}") for q in np.quantile(x, np.linspace(0.05, 0.95, k))]


def outcome_choices(graph: ADMG, world: Any) -> list[tuple[str, str | None]]:
    """(node, attribute) pairs an effect can be measured on: scalar nodes (attribute ``None``), and
    what a probe reads off an image node, as numbers whose mean means something: a continuous
    attribute (``"thickness"``), a two-level one (``"Beard"``: the share of its second level), or one
    level of a many-level one (``"digit=3"``: the share of images read as 3).  Continuous read-outs
    come first."""
    scalars: list[tuple[str, str | None]] = [(n.name, None) for n in graph.nodes if n.type != "image"]
    first: list[tuple[str, str | None]] = []
    rest: list[tuple[str, str | None]] = []
    for n in graph.nodes:
        probe = world_probe(world, graph, n.name) if n.type == "image" else None
        for name, attr in (probe.attributes.items() if probe is not None else ()):
            if attr.kind != "categorical":
                first.append((n.name, name))
            elif attr.labels is not None and len(attr.labels) > 2:
                rest += [(n.name, f"{name}={label}") for label in attr.labels]
            else:
                rest.append((n.name, name))
    return scalars + first + rest


def outcome_label(choice: tuple[str, str | None]) -> str:
    if choice[1] is None:
        return choice[0]
    if "=" in choice[1]:
        return f"{choice[0]} · P({choice[1].replace('=', ' = ')}) (probe)"
    return f"{choice[0]} · {choice[1]} (probe)"


def make_readout(world: Any, graph: ADMG, outcome: str, attribute: str | None):
    """None for a scalar outcome; else images -> one number per image (``attr=label``: 1 where the
    probe reads that label, else 0)."""
    if attribute is None:
        return None
    from core.effects.estimates import probe_readout

    probe = world_probe(world, graph, outcome)
    if probe is None:
        raise WorkbenchError(f"no probe reads {outcome}: choose a scalar outcome")
    name, eq, label = attribute.partition("=")
    read = probe_readout(probe, name)
    if not eq:
        return read
    labels = list(probe.attributes[name].labels or ())
    if label not in labels:
        raise WorkbenchError(f"the {name} read-out has no level {label!r} (levels {', '.join(labels)})")
    code = labels.index(label)
    return lambda images: (read(images) == code).astype(np.float64)


def _mean_row(values: np.ndarray, source: str, x: Any, n_boot: int, seed: int) -> dict[str, Any]:
    from core.effects.estimates import bootstrap_means, percentile_interval

    est = percentile_interval(float(np.mean(values)), bootstrap_means(values, n_boot, seed))
    return {"value": x, "source": source, "mean": est.value, "low": est.low, "high": est.high, "n": len(values)}


SOURCES = ("conditioning (data)", "intervention (model)", "intervention (truth)")


def effect_curves(dataset: Any, graph: ADMG, treatment: str, outcome: str, values: Sequence[Any],
                  model: Any = None, truth: Any = None, readout: Any = None, n: int = 2000, seed: int = 0,
                  n_boot: int = 300) -> pd.DataFrame:
    """Mean outcome at each treatment value with 95% bootstrap intervals, by source:

    * ``conditioning (data)``: ``E[Y | X = x]`` over data rows (nearest ``max(50, N // 20)`` rows for
      a continuous X);
    * ``intervention (model)`` / ``(truth)``: ``E[Y | do(X = x)]`` from ``n`` samples of the model's
      (or the world's) sampler (``core.effects`` Sampler).
    """
    from core.effects.estimates import interventional_draws, outcome_values

    rows = []
    data = dataset.values
    node = graph.node(treatment)
    for i, x in enumerate(values):
        if node.is_discrete:
            idx = np.flatnonzero(np.asarray(data[treatment]) == x)
        else:
            dist = np.abs(np.asarray(data[treatment], dtype=np.float64) - float(x))
            idx = np.argsort(dist, kind="stable")[: max(50, dataset.n // 20)]
        if len(idx):
            y = outcome_values({outcome: np.asarray(data[outcome])[idx]}, graph, outcome, readout)
            rows.append(_mean_row(y, SOURCES[0], x, n_boot, seed + 3 * i))
        for source, sampler, off in ((SOURCES[1], model, 1), (SOURCES[2], truth, 2)):
            if sampler is None:
                continue
            draws = interventional_draws(sampler, {treatment: x}, n, seed + 101 * i)
            y = outcome_values(draws, graph, outcome, readout)
            rows.append(_mean_row(y, source, x, n_boot, seed + 3 * i + off))
    return pd.DataFrame(rows, columns=["value", "source", "mean", "low", "high", "n"])


def spurious_gap(curves: pd.DataFrame, causal: str = SOURCES[1]) -> pd.DataFrame:
    """Per treatment value: conditioning mean minus interventional mean (the spurious part)."""
    obs = curves[curves.source == SOURCES[0]].set_index("value")["mean"]
    do = curves[curves.source == causal].set_index("value")["mean"]
    both = obs.index.intersection(do.index)
    return pd.DataFrame({"value": list(both), "conditioning": obs[both].to_numpy(), "intervention": do[both].to_numpy(),
                         "spurious": (obs[both] - do[both]).to_numpy()})


def effect_sizes(dataset: Any, graph: ADMG, treatment: str, outcome: str, a: Any, b: Any, model: Any = None,
                 truth: Any = None, readout: Any = None, n: int = 2000, seed: int = 0, n_boot: int = 500) -> pd.DataFrame:
    """Contrasts of ``a`` vs ``b`` with 95% bootstrap intervals: the observational difference from the
    data, the ATE ``E[Y | do(a)] - E[Y | do(b)]`` of the model and of the truth, and the spurious part
    (observational difference minus the ATE) for each."""
    from core.effects.estimates import (
        bootstrap_means,
        interventional_draws,
        outcome_values,
        percentile_interval,
    )

    data = dataset.values
    node = graph.node(treatment)

    def obs(x: Any) -> np.ndarray:
        if node.is_discrete:
            idx = np.flatnonzero(np.asarray(data[treatment]) == x)
        else:
            idx = np.argsort(np.abs(np.asarray(data[treatment], dtype=np.float64) - float(x)), kind="stable")[
                : max(50, dataset.n // 20)]
        if len(idx) == 0:
            raise WorkbenchError(f"{treatment} = {x} never occurs in the data")
        return outcome_values({outcome: np.asarray(data[outcome])[idx]}, graph, outcome, readout)

    rows = []
    oa, ob = obs(a), obs(b)
    boa, bob = bootstrap_means(oa, n_boot, seed), bootstrap_means(ob, n_boot, seed + 1)
    obs_diff = percentile_interval(oa.mean() - ob.mean(), boa - bob)
    label = f"{treatment}: {b} -> {a}"
    rows.append({"quantity": "observational difference", "source": "data", "contrast": label,
                 "estimate": obs_diff.value, "low": obs_diff.low, "high": obs_diff.high})
    for source, sampler, off in (("model", model, 10), ("truth", truth, 20)):
        if sampler is None:
            continue
        ya = outcome_values(interventional_draws(sampler, {treatment: a}, n, seed + off), graph, outcome, readout)
        yb = outcome_values(interventional_draws(sampler, {treatment: b}, n, seed + off + 1), graph, outcome, readout)
        ma, mb = bootstrap_means(ya, n_boot, seed + off + 2), bootstrap_means(yb, n_boot, seed + off + 3)
        ate = percentile_interval(ya.mean() - yb.mean(), ma - mb)
        spur = percentile_interval(obs_diff.value - ate.value, (boa - bob) - (ma - mb))
        rows.append({"quantity": "ATE", "source": source, "contrast": label, "estimate": ate.value, "low": ate.low,
                     "high": ate.high})
        rows.append({"quantity": "spurious part", "source": f"data - {source}", "contrast": label,
                     "estimate": spur.value, "low": spur.low, "high": spur.high})
    return pd.DataFrame(rows, columns=["quantity", "source", "contrast", "estimate", "low", "high"])


def model_sampler(hub: ModelHub, run: Any, dataset: Any, graph: ADMG, treatment: str, outcome: str,
                  settings: Mapping[str, Any] | None = None, fit_idgen: bool = True) -> Any:
    """A ``core.effects`` sampler for ``Y`` under ``do(X)``: the trained NeuralSCM (Markovian) or the
    cached ID-GEN network (confounded; None when not fitted and ``fit_idgen`` is False)."""
    from core.effects.estimates import IDGenSampler, SCMSampler

    check_identifiable(graph, treatment, outcome)
    if graph.is_markovian:
        return SCMSampler(neural_scm(hub, run, graph, treatment, outcome))
    gen = idgen_for(hub, dataset, graph, treatment, outcome, settings, run=run, fit=fit_idgen)
    return None if gen is None else IDGenSampler(gen, outcome)


def shift_reader(world: Any, graph: ADMG) -> Callable[[Columns], dict[str, np.ndarray]]:
    """``columns -> {attribute: values}`` for the attribute-shift table: every probe attribute of
    every image node (``node.attribute``) and every scalar node."""
    probes = {n.name: world_probe(world, graph, n.name) for n in graph.nodes if n.type == "image"}

    def read(columns: Columns) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for n in graph.nodes:
            if n.type == "image":
                if probes.get(n.name) is not None:
                    for k, v in probes[n.name].read(np.asarray(columns[n.name])).items():
                        out[f"{n.name}.{k}"] = v
            else:
                out[n.name] = np.asarray(columns[n.name])
        return out

    return read


def full_scm(hub: ModelHub, run: Any, graph: ADMG) -> Any:
    """The whole graph's NeuralSCM (every node trained), for counterfactuals of world units."""
    from core.scm import NeuralSCM

    missing = [v for v in graph.names if not trained_usable(run, graph, v)]
    if missing:
        raise MissingModels(missing)
    return NeuralSCM(graph, {v: hub.mechanism(run, v) for v in graph.names})


def curves_csv(curves: pd.DataFrame, sizes: pd.DataFrame, shifts: pd.DataFrame | None = None) -> str:
    """One CSV with every number the Effects page shows (a ``table`` column says which)."""
    parts = [curves.assign(table="curve"), sizes.assign(table="effect size")]
    if shifts is not None and len(shifts):
        parts.append(shifts.assign(table="attribute shift"))
    return pd.concat(parts, ignore_index=True, sort=False).to_csv(index=False)


def new_hub() -> ModelHub:
    """A fresh hub; the pages wrap this in ``st.cache_resource`` so one lives per server."""
    return ModelHub()


def default_query(graph: ADMG) -> tuple[str, str]:
    """(treatment, outcome) to start from: the graph's exposure/outcome roles when set, else X and Y
    when X causes Y, else the last node with parents as outcome (an image node when there is one) and its first scalar
    ancestor as treatment."""
    from workbench.query import roles_from_graph

    roles = roles_from_graph(graph)
    if roles["treatment"] and roles["outcome"] and roles["treatment"][0] != roles["outcome"][0]:
        return roles["treatment"][0], roles["outcome"][0]
    if "X" in graph and "Y" in graph and "X" in graph.ancestors(["Y"]):
        return "X", "Y"
    order = list(graph.topological_order())
    with_parents = [v for v in order if graph.parents(v)] or order[1:] or order
    images = [v for v in with_parents if graph.node(v).type == "image"]
    y = (images or with_parents)[-1]
    ancestors = [v for v in order if v in graph.ancestors([y]) and v != y]
    scalars = [v for v in ancestors if graph.node(v).type != "image"]
    x = (scalars or ancestors or [v for v in order if v != y])[0]
    return x, y


def hedge_markdown(hedge: tuple[frozenset[str], frozenset[str]], treatment: str, outcome: str,
                   given: Sequence[str] = ()) -> str:
    """The Graph page's explanation of a hedge, for a gallery that cannot be drawn."""
    from workbench.query import QueryAnswer, hedge_words, query_text

    return hedge_words(QueryAnswer(query_text([treatment], [outcome], list(given)), False, hedge=hedge))


def uses_diffusion(run: Any, graph: ADMG) -> bool:
    """Some trained model of this graph is a diffusion model (its sampling steps can be lowered)."""
    return any(trained_usable(run, graph, v) and run.entry(v).get("kind") == "diffusion" for v in graph.names)


IDGEN_STEPS = 200  # default training steps of each neural ID-GEN model (tables need none)


def idgen_settings(saved: Mapping[str, Any]) -> dict[str, Any]:
    """What ID-GEN's neural models depend on, from the workspace settings: the Train page's
    mechanism kinds and ID-GEN's own step count.  Only these enter the cache key, so changing
    other training settings does not refit the network."""
    return {"nodes": {v: {"kind": s.get("kind")} for v, s in (saved.get("nodes") or {}).items()},
            "idgen_steps": int(saved.get("idgen_steps") or IDGEN_STEPS)}


def run_data_note(run: Any, dataset: Any) -> str:
    """A warning when the trained models were fitted to other data than the current data set ('' if not)."""
    if run is None or not run.trained_nodes():
        return ""
    fp = run.fingerprint
    if fp and fp != dataset.fingerprint:
        return (f"The trained models were fitted to other data (fingerprint {fp[:12]}, the current data "
                f"{dataset.fingerprint[:12]}): retrain them on the Train page to compare like with like.")
    return ""
