"""ID-GEN for the pages: the network that samples ``P(Y | do(X), Z)`` on a graph with hidden
confounders, fitted once per (data, graph, query, settings, run) and kept in the :class:`ModelHub`.

Its conditional models are exact tables where every variable is discrete, draws from the data for a
variable without inputs, the workspace run's trained node model where the plan needs that very
conditional (:func:`run_model_lookup`), and otherwise neural mechanisms trained here (in a
background job on the Explore page: :func:`idgen_fit_work`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, TypeAlias

from core.data import Dataset
from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.idgen import (
    EmpiricalModel,
    IDGen,
    MechanismModel,
    ModelSpec,
    Plan,
    PlanStatus,
    compile_query,
    exact_model,
)
from workbench.explore.models import CacheKey, IDGenSettings, ModelHub, Sources, trained_usable
from workbench.explore.question import DoQuery

if TYPE_CHECKING:
    from core.idgen import ConditionalModel, ModelFactory, PretrainedLookup
    from core.mechanisms.base import Mechanism
    from core.runs.checkpoint import Run
    from core.runs.train import Progress

IDGEN_STEPS = 200  # default training steps of each neural ID-GEN model (tables need none)
SHORT_FIT = 0.5  # ID-GEN models trained for less than this share of their preset's steps get a warning

# (step, loss) after each optimiser step of one neural model
StepCallback: TypeAlias = Callable[[int, float], None]
# model_progress(target, inputs, model) -> the model's per-step callback, or None
ModelProgress: TypeAlias = Callable[[Node, list[Node], MechanismModel], StepCallback | None]
# IDGen.fit's progress(index, total, spec) before each model
PlanProgress: TypeAlias = Callable[[int, int, ModelSpec], None]


class ProgressSink(Protocol):
    """Where a background fit reports (the Train page's job): False asks the fit to stop."""

    def callback(self, progress: Progress) -> bool: ...


JobBody: TypeAlias = Callable[[ProgressSink], str]


def idgen_settings(saved: Mapping[str, object]) -> IDGenSettings:
    """What ID-GEN's neural models depend on, from the workspace settings: the Train page's
    mechanism kinds and ID-GEN's own step count.  Only these enter the cache key, so changing
    other training settings does not refit the network."""
    nodes = saved.get("nodes") or {}
    return {"nodes": {v: {"kind": s.get("kind")} for v, s in nodes.items()},
            "idgen_steps": int(saved.get("idgen_steps") or IDGEN_STEPS)}


def idgen_factory(settings: IDGenSettings | None = None, model_progress: ModelProgress | None = None,
                  autoencoders: Callable[[str], Mechanism | None] | None = None) -> ModelFactory:
    """ID-GEN's conditional models: exact tables where every variable is discrete, else mechanisms
    (kinds and preset from the Train page's settings; ``idgen_steps`` training steps each).
    ``model_progress`` gives each neural model its per-step callback (a background job's progress);
    ``autoencoders`` names the trained latent image models whose autoencoders image models share."""
    from core.idgen import mechanism_factory

    settings = dict(settings or {})
    kinds = {v: s.get("kind") for v, s in (settings.get("nodes") or {}).items() if s.get("kind")}
    options: dict[str, str | int] = {"preset": settings.get("preset") or "quick", "device": "cpu"}
    if settings.get("idgen_steps"):
        options["steps"] = int(settings["idgen_steps"])
    factory = mechanism_factory(kinds=kinds, autoencoders=autoencoders, **options)
    if model_progress is None:
        return factory

    def reporting(target: Node, inputs: list[Node]) -> ConditionalModel:
        model = factory(target, inputs)
        if isinstance(model, MechanismModel):
            model.progress = model_progress(target, inputs, model)
        return model

    return reporting


# --------------------------------------------------------------------------------------------------
# Cache keys


def shared_models_key(sources: Sources, graph: ADMG) -> CacheKey:
    """Networks on the same data, graph and settings share their conditional models."""
    return (sources.dataset.fingerprint, graph.dumps(), repr(sorted(sources.settings.items())))


def run_signature(run: Run | None, graph: ADMG) -> CacheKey:
    """What of ``run`` an ID-GEN network may have used: its trained nodes' weight files (a retrained
    node is a new file, so the network is rebuilt with the new model)."""
    if run is None:
        return ()
    return (str(run.path), tuple((v, run.entry(v).get("weights")) for v in graph.names if trained_usable(run, graph, v)))


def network_key(sources: Sources, query: DoQuery) -> CacheKey:
    """One network per (data, graph, settings, query, run's trained weights)."""
    given = (query.given,) if query.given else ()
    return (*shared_models_key(sources, query.graph), query.treatment, query.outcome, *given,
            *run_signature(sources.run, query.graph))


# --------------------------------------------------------------------------------------------------
# The plan and its models


def instant_label(spec: ModelSpec, graph: ADMG) -> str | None:
    """How an instant plan model is made, for the plan list: ``"exact table"`` (counts) or
    ``"draws from the data"`` (a continuous or image variable without inputs); None when it must
    be trained."""
    model = exact_model(graph.node(spec.target), [graph.node(u) for u in spec.inputs])
    if model is None:
        return None
    return "draws from the data" if isinstance(model, EmpiricalModel) else "exact table"


def instant_spec(spec: ModelSpec, graph: ADMG) -> bool:
    """This plan model costs no training with :func:`idgen_factory`: the factory's own rule
    (``core.idgen.exact_model``: an exact-count table, or draws from the data for a variable
    without inputs)."""
    return instant_label(spec, graph) is not None


def run_model_lookup(hub: ModelHub, run: Run | None, graph: ADMG, dataset: Dataset) -> PretrainedLookup | None:
    """ID-GEN's ``pretrained`` hook: for a plan model ``p(V | inputs)`` on the observed data, the
    run's trained model of ``V`` when it is the same conditional -- ``inputs`` are exactly ``pa(V)``,
    the node and its parents have the same types as when it was trained, and the run was trained on
    this data (same fingerprint).  Conditionals the factory fits at no cost (exact-count tables, draws
    from the data for a variable without inputs) are left to it: they are exact and instant, a
    neural model is what costs minutes."""
    if run is None or not run.fingerprint or run.fingerprint != dataset.fingerprint:
        return None

    def lookup(spec: ModelSpec) -> ConditionalModel | None:
        v = spec.target
        if v not in graph or not trained_usable(run, graph, v) or instant_spec(spec, graph):
            return None
        if set(spec.inputs) != set(graph.parents(v)):
            return None
        return MechanismModel.trained(hub.mechanism(run, v), graph.node(v), [graph.node(u) for u in spec.inputs])

    return lookup


def run_autoencoders(hub: ModelHub, run: Run | None, graph: ADMG,
                     dataset: Dataset) -> Callable[[str], Mechanism | None] | None:
    """The run's trained latent image model of a node (trained on this data), whose autoencoder an
    ID-GEN model of the same node adopts instead of training its own."""
    if run is None or not run.fingerprint or run.fingerprint != dataset.fingerprint:
        return None

    def lookup(name: str) -> Mechanism | None:
        if name not in graph or not trained_usable(run, graph, name) or run.entry(name).get("kind") != "latent_flow":
            return None
        return hub.mechanism(run, name)

    return lookup


def idgen_plan(dataset: Dataset, query: DoQuery) -> Plan:
    """The ID-GEN plan (raises NotIdentifiable with the hedge before anything is trained)."""
    return compile_query(query.graph, [query.outcome], [query.treatment], list(query.given),
                         data_key=dataset.fingerprint[:16])


def idgen_status(sources: Sources, query: DoQuery) -> PlanStatus:
    """Before fitting: which models the query needs and which are already trained
    (``.summary()`` reads "k of m models already trained, ..."); the exact-count tables and data
    draws still to fit are ``instant``, not ``to_fit``: they take no time."""
    hub, dataset, graph = sources.hub, sources.dataset, query.graph
    plan = idgen_plan(dataset, query)
    gen = IDGen(graph, dataset.values, cache=hub.conditional_models(shared_models_key(sources, graph), create=False),
                data_key=dataset.fingerprint[:16], pretrained=run_model_lookup(hub, sources.run, graph, dataset))
    status = gen.status(plan)
    instant = tuple(s for s in status.to_fit if instant_spec(s, graph))
    return PlanStatus(status.reused, status.cached, tuple(s for s in status.to_fit if s not in instant), instant)


def preset_steps(target: Node, inputs: Sequence[Node], kind: str | None, preset: str = "quick") -> int:
    """The training steps ``preset`` gives the mechanism of ``target`` given ``inputs`` (what the
    Train page would train it for)."""
    return _preset_steps(json.dumps([target.to_json(), [n.to_json() for n in inputs], kind, preset]))


@lru_cache(maxsize=256)
def _preset_steps(key: str) -> int:
    from core.mechanisms import make_mechanism

    target, inputs, kind, preset = json.loads(key)
    mech = make_mechanism(Node.from_json(target), [Node.from_json(n) for n in inputs], kind=kind, preset=preset,
                          device="cpu")
    return int(mech.config.get("train", {}).get("steps", 1000))


def short_fit_note(sources: Sources, query: DoQuery) -> str:
    """'' or a warning (Markdown) when ID-GEN's own neural models for the query -- not the Train
    page's, not exact tables -- train for less than ``SHORT_FIT`` of the steps the quick preset gives
    the same mechanism: such models draw blurry images whose attributes can be far off the truth."""
    status = idgen_status(sources, query)
    steps = int(sources.settings.get("idgen_steps") or IDGEN_STEPS)
    kinds = sources.settings.get("nodes") or {}
    graph = query.graph
    short = []
    for spec in (*status.cached, *status.to_fit):
        if instant_spec(spec, graph):
            continue  # an exact table fitted earlier: no training steps to speak of
        inputs = [graph.node(u) for u in spec.inputs]
        full = preset_steps(graph.node(spec.target), inputs, (kinds.get(spec.target) or {}).get("kind"))
        if steps < SHORT_FIT * full:
            short.append(f"{model_label(spec.target, spec.inputs)} (the quick preset trains it {full:,} steps)")
    if not short:
        return ""
    return (f"ID-GEN trains its own models for **{steps:,} steps** each, too few to trust: " + "; ".join(short)
            + ". Such models draw blurry images and their read-outs can be far off the truth: raise **Training "
            "steps per model** and fit again, and check the models with the model check on the Train page.")


# --------------------------------------------------------------------------------------------------
# Fitting


def idgen_for(sources: Sources, query: DoQuery, *, fit: bool = True, progress: PlanProgress | None = None,
              model_progress: ModelProgress | None = None) -> IDGen | None:
    """The ID-GEN network for the query, fitted once and cached (:func:`network_key`); conditional
    models are shared between queries on the same data and graph, and the run's trained node models
    are used wherever the plan needs the same conditional (:func:`run_model_lookup`).  With
    ``fit=False`` returns None when it is not fitted yet (the page asks before training).  The fit
    runs outside the hub's lock, so a background fit (:func:`idgen_fit_work`) never stalls the
    page's own use of the hub."""
    hub, dataset, graph = sources.hub, sources.dataset, query.graph
    key = network_key(sources, query)
    gen = hub.idgen(key)
    if gen is not None or not fit:
        return gen
    cache = hub.conditional_models(shared_models_key(sources, graph))
    factory = idgen_factory(sources.settings, model_progress, run_autoencoders(hub, sources.run, graph, dataset))
    gen = IDGen(graph, dataset.values, model_factory=factory, cache=cache,
                data_key=dataset.fingerprint[:16], pretrained=run_model_lookup(hub, sources.run, graph, dataset))
    gen.fit(outcome=[query.outcome], treatment=[query.treatment], given=list(query.given), progress=progress)
    return hub.keep_idgen(key, gen)


def model_label(target: str, inputs: Sequence[str]) -> str:
    """``"p(Face | Young, Beard)"``: how the page names one conditional model."""
    return f"p({target} | {', '.join(inputs)})" if inputs else f"p({target})"


def step_reporter(job: ProgressSink, model: MechanismModel, label: str) -> StepCallback:
    """One neural model's per-step callback: step, loss and ETA to the job; a stop request raises
    inside the model's training, so a half-trained model never enters the shared cache."""
    from core.runs.train import Progress

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


def idgen_fit_work(sources: Sources, query: DoQuery, *, threads: int | None = 1) -> tuple[list[str], JobBody]:
    """A background job for ``workbench.train_page.JobRegistry`` that fits the query's ID-GEN network:
    (the labels of the neural models it trains, one progress bar each; the job body).

    The body reports every optimiser step to the job (:func:`step_reporter`: the Train page's
    progress rows) and stops when the job asks it to; the network is then not stored, and the page
    offers the fit again.  Exact tables and the run's trained models cost nothing and get no bar."""
    status = idgen_status(sources, query)
    labels = [model_label(s.target, s.inputs) for s in status.to_fit]

    def work(job: ProgressSink) -> str:
        import torch

        if threads:
            torch.set_num_threads(int(threads))  # the machine is shared with the page's own work
        t0 = time.perf_counter()

        def model_progress(target: Node, inputs: list[Node], model: MechanismModel) -> StepCallback:
            return step_reporter(job, model, model_label(target.name, [n.name for n in inputs]))

        idgen_for(sources, query, fit=True, model_progress=model_progress)
        given = f", {', '.join(query.given)}" if query.given else ""
        return (f"ID-GEN for P({query.outcome} | do({query.treatment}){given}): {len(labels)} "
                f"model{'s' if len(labels) != 1 else ''} trained in {time.perf_counter() - t0:.0f} s")

    return labels, work
