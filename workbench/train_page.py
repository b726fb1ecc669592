"""Logic behind the Train page: per-node settings, background training jobs and their progress.

Training runs in a background thread (``core.runs.train.train`` with a ``threading.Event`` to stop),
so the page stays usable.  A :class:`JobRegistry` (one per server process: the page keeps it in
``st.cache_resource``) maps a workspace to its job, so a browser refresh finds the running job and
its progress again.  A job trains the chosen nodes one preset group after another (``TrainOptions``
has one preset per call; kinds are per node); stopping saves a checkpoint, and training the same
nodes again resumes from it (``core.runs.train`` resumes any partial node).

Nothing here imports Streamlit.
"""

from __future__ import annotations

import atexit
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypedDict

import torch

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.mechanisms import KINDS_FOR_TYPE
from core.mechanisms.base import PRESETS, default_preset
from core.runs.speed import PhaseEstimate, expected_training
from core.runs.train import FINAL_LOSS_WINDOW, Progress, TrainOptions, mean_tail, train
from core.runs.workspace import NodeStatus, Workspace, node_status, status_line
from workbench.graph_state import Session
from workbench.keys import TrainPage

if TYPE_CHECKING:
    from core.data import Dataset

LOSS_POINTS = 400  # live loss points kept per node (older ones are averaged pairwise)
LONG_TRAINING_S = 600.0  # expected training longer than this gets a warning with ways to shorten it


# --------------------------------------------------------------------------------------------------
# Per-node settings


class NodeSettings(TypedDict):
    """How one node is trained: its mechanism kind and its preset."""

    kind: str
    preset: str


Settings: TypeAlias = Mapping[str, NodeSettings]
"""Every node's :class:`NodeSettings`, by node name."""


def kind_options(node: Node) -> list[str]:
    """Mechanism kinds that can model ``node`` (the default first)."""
    return list(KINDS_FOR_TYPE[node.type])


def preset_options() -> list[str]:
    """The training presets, in the order the page offers them."""
    return list(PRESETS)


def default_settings(graph: ADMG, saved: Mapping[str, Mapping[str, str]] | None = None,
                     device: str | None = None) -> dict[str, NodeSettings]:
    """``{node: {"kind", "preset"}}``: saved choices where still valid, else the defaults (the
    node type's default kind; the device's default preset)."""
    saved = dict(saved or {})
    preset = default_preset(device)
    out: dict[str, NodeSettings] = {}
    for n in graph.nodes:
        s = saved.get(n.name) or {}
        kinds = kind_options(n)
        out[n.name] = {
            "kind": s.get("kind") if s.get("kind") in kinds else kinds[0],
            "preset": s.get("preset") if s.get("preset") in preset_options() else preset,
        }
    return out


def preset_groups(nodes: Sequence[str], settings: Settings, graph: ADMG) -> list[tuple[str, list[str]]]:
    """Nodes grouped by preset, each group in topological order, groups in order of first node."""
    groups: dict[str, list[str]] = {}
    for v in graph.sort(nodes):
        groups.setdefault(settings[v]["preset"], []).append(v)
    return list(groups.items())


# --------------------------------------------------------------------------------------------------
# Progress of one job


@dataclass
class NodeProgress:
    """How far one node's training is: steps, its loss, an ETA and a bounded loss curve.

    ``loss`` is the mean of the last ``FINAL_LOSS_WINDOW`` mini-batch losses, the figure the run
    manifest keeps as the node's final loss, so a node shows one loss number while it trains and
    after (the last mini-batch alone jumps around it)."""

    node: str
    step: int = 0
    total: int = 0
    loss: float | None = None
    eta: float | None = None
    phase: str = "waiting"  # waiting, start, step, checkpoint, done
    message: str = ""
    started_at: int = 0  # the step this job started from (>0 on resume)
    losses: list[tuple[int, float]] = field(default_factory=list)
    recent: list[float] = field(default_factory=list)  # the last FINAL_LOSS_WINDOW mini-batch losses
    _stride: int = field(default=1, init=False, repr=False)  # losses averaged into one point
    _pending: list[float] = field(default_factory=list, init=False, repr=False)  # losses not averaged yet

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0

    def add_loss(self, step: int, loss: float) -> None:
        """Keep at most ``LOSS_POINTS`` points: when full, average neighbours and double the stride."""
        self._pending.append(loss)
        if len(self._pending) < self._stride:
            return
        self.losses.append((step, sum(self._pending) / len(self._pending)))
        self._pending = []
        if len(self.losses) >= LOSS_POINTS:
            merged = []
            for i in range(0, len(self.losses) - 1, 2):
                (_, a), (s2, b) = self.losses[i], self.losses[i + 1]
                merged.append((s2, (a + b) / 2))
            if len(self.losses) % 2:
                merged.append(self.losses[-1])
            self.losses = merged
            self._stride *= 2


def format_eta(seconds: float | None) -> str:
    """``"1:05"``, ``"1:02:03"``; ``"…"`` when unknown."""
    if seconds is None:
        return "…"
    s = int(round(max(0.0, seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_duration(seconds: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"1 h 05 min"``: an expected time, rounded as estimates deserve."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def progress_text(p: NodeProgress) -> str:
    """The label of a node's progress bar: steps and time (its loss is in its status line)."""
    if p.phase == "waiting":
        return f"{p.node}: waiting"
    head = f"{p.node}: {p.step}/{p.total} steps"
    if p.phase == "done":
        return f"{head} · {p.message or 'done'}"
    return f"{head} · ETA {format_eta(p.eta)}"


class TrainJob:
    """One background training job: its thread, stop event and per-node progress (thread-safe)."""

    def __init__(self, key: str, nodes: Sequence[str]) -> None:
        self.key = key
        self.nodes = list(nodes)
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.progress: dict[str, NodeProgress] = {v: NodeProgress(v) for v in nodes}
        self.error: str | None = None
        self.current: str | None = None
        self.started = time.time()
        self.finished: float | None = None
        self.summary = ""
        self.thread: threading.Thread | None = None

    # called from the training thread
    def callback(self, p: Progress) -> bool:
        """``core.runs.train``'s progress callback: record ``p``; False asks training to stop."""
        with self.lock:
            np_ = self.progress.setdefault(p.node, NodeProgress(p.node))
            np_.total, np_.phase, np_.message, np_.eta = p.total_steps, p.phase, p.message, p.eta_seconds
            if p.phase == "start":
                np_.started_at = np_.step = p.step
                self.current = p.node
            elif p.phase == "step":
                np_.step = p.step
                if p.loss is not None:
                    np_.recent = [*np_.recent[-(FINAL_LOSS_WINDOW - 1):], float(p.loss)]
                    np_.loss = mean_tail(np_.recent)
                    np_.add_loss(p.step, p.loss)
            elif p.phase == "done":
                np_.step = p.step
                if self.current == p.node:
                    self.current = None
        return not self.stop_event.is_set()

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set() and self.alive

    def request_stop(self) -> None:
        self.stop_event.set()

    def snapshot(self) -> dict[str, NodeProgress]:
        """Copies of the per-node progress, safe to read while the thread runs."""
        with self.lock:
            return {v: replace(p, losses=list(p.losses), recent=list(p.recent)) for v, p in self.progress.items()}

    def wait(self, timeout: float | None = None) -> bool:
        """Join the thread; True when it has finished."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.alive


_REGISTRIES: weakref.WeakSet[JobRegistry] = weakref.WeakSet()


class JobRegistry:
    """Background jobs by workspace key: at most one live job per workspace."""

    def __init__(self) -> None:
        self._jobs: dict[str, TrainJob] = {}
        self._lock = threading.Lock()
        _REGISTRIES.add(self)

    def jobs(self) -> list[TrainJob]:
        with self._lock:
            return list(self._jobs.values())

    def get(self, key: str) -> TrainJob | None:
        with self._lock:
            return self._jobs.get(key)

    def start(self, key: str, nodes: Sequence[str], work: Callable[[TrainJob], str]) -> TrainJob:
        """Run ``work(job)`` in a daemon thread; its return value becomes ``job.summary``, a raised
        error becomes ``job.error`` (one line).  Refused while the workspace's job is still running."""
        with self._lock:
            old = self._jobs.get(key)
            if old is not None and old.alive:
                raise WorkbenchError("a training job is already running in this workspace: stop it first")
            job = TrainJob(key, nodes)

            def target() -> None:
                try:
                    job.summary = work(job) or ""
                except WorkbenchError as e:
                    job.error = str(e)
                except Exception as e:  # noqa: BLE001 - a crash in the thread must reach the page as one line
                    last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
                    where = f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})" if last else ""
                    job.error = f"training failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"
                finally:
                    job.finished = time.time()

            job.thread = threading.Thread(target=target, name=f"train-{key[-40:]}", daemon=True)
            self._jobs[key] = job
        job.thread.start()
        return job


def training_work(
    graph: ADMG,
    dataset: Dataset,
    *,
    run_path: Path,
    nodes: Sequence[str],
    settings: Settings,
    steps: int | None = None,
    device: str | None = None,
    seed: int = 0,
    threads: int | None = 1,
) -> Callable[[TrainJob], str]:
    """The job body: ``core.runs.train.train`` once per preset group, with the job's callback and
    stop event.  ``steps`` overrides every preset's step count (None keeps them); ``threads`` caps
    torch's threads (None leaves them)."""
    if not nodes:
        raise WorkbenchError("choose at least one node to train")
    graph.check_nodes(nodes, "train")
    groups = preset_groups(nodes, settings, graph)

    def work(job: TrainJob) -> str:
        if threads:
            torch.set_num_threads(int(threads))  # the machine is shared with the page's own work
        lines = []
        for preset, group in groups:
            if job.stop_event.is_set():
                break
            options = TrainOptions(preset=preset, steps=steps, kinds={v: settings[v]["kind"] for v in group},
                                   device=device, seed=seed)
            result = train(graph, dataset, run_path, nodes=group, options=options, callback=job.callback,
                           stop=job.stop_event, accelerator=None)
            lines.append(result.summary())
            if result.stopped:
                break
        return "\n".join(line for line in lines if line)

    return work


# --------------------------------------------------------------------------------------------------
# Expected training time, measured in the background (core.runs.speed)


@dataclass(frozen=True)
class Expected:
    """How long training a node will take here: its steps still to go and the measured seconds."""

    node: str
    steps: int
    seconds: float
    seconds_per_step: float

    @property
    def text(self) -> str:
        return f"≈ {format_duration(self.seconds)} ({self.steps:,} steps × {self.seconds_per_step:.3g} s)"


class Estimates:
    """Expected training times per configuration (node and parents' types, kind, preset, steps,
    device), measured one at a time in a background thread so the page never waits on them.  One
    lives per server (the page keeps it in ``st.cache_resource``); ``core.runs.speed`` caches the
    measurements themselves."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="train-estimate")
        self._futures: dict[tuple[str, ...], Future[list[PhaseEstimate]]] = {}
        self._lock = threading.Lock()

    def phases(self, graph: ADMG, node: str, *, kind: str, preset: str, steps: int | None,
               device: str | None) -> list[PhaseEstimate] | None:
        """The measured phases of training ``node``, or None while they are being measured (a
        measurement that failed raises its error, one line)."""
        key = (graph.dumps(), node, kind, preset, str(steps), str(device))
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = self._pool.submit(self._measure, graph, node, kind, preset, steps, device)
                self._futures[key] = future
        if not future.done():
            return None
        try:
            return future.result()
        except WorkbenchError:
            raise
        except Exception as e:  # noqa: BLE001 - a failed measurement reaches the page as one line
            raise WorkbenchError(f"cannot time {node}'s training: {type(e).__name__}: {e}") from None

    @staticmethod
    def _measure(graph: ADMG, node: str, kind: str, preset: str, steps: int | None,
                 device: str | None) -> list[PhaseEstimate]:
        torch.set_num_threads(1)  # as the training job runs (training_work's threads)
        return expected_training(graph, node, kind=kind, preset=preset, steps=steps, device=device)


def expected_time(estimates: Estimates, graph: ADMG, row: NodeStatus, settings: NodeSettings, *,
                  steps: int | None, device: str | None) -> Expected | None:
    """What training ``row``'s node from where it stands would take (its remaining steps times the
    measured step time); None while measuring.  A trained node has nothing left to train."""
    v = row["node"]
    phases = estimates.phases(graph, v, kind=settings["kind"], preset=settings["preset"], steps=steps, device=device)
    if phases is None:
        return None
    total = sum(p.steps for p in phases)
    seconds = sum(p.seconds for p in phases)
    left = total - row["steps_done"] if row["status"] == "training" and row["total_steps"] == total else total
    per_step = seconds / total if total else 0.0
    return Expected(v, left, left * per_step, per_step)


def long_training_advice(expected: Sequence[Expected], settings: Settings, *, steps: int | None,
                         device: str | None, gpu_here: bool) -> str:
    """Markdown: a warning when training ``expected`` takes longer than ``LONG_TRAINING_S``, with
    what would shorten it (a smaller preset, fewer steps, the GPU); '' when it does not."""
    total = sum(e.seconds for e in expected)
    if total <= LONG_TRAINING_S:
        return ""
    slowest = max(expected, key=lambda e: e.seconds)
    ways = []
    if settings[slowest.node]["preset"] != "quick":
        ways.append(f"the **quick** preset for {slowest.node}")
    fits = int(LONG_TRAINING_S * 0.8 / slowest.seconds_per_step) // 100 * 100 if slowest.seconds_per_step else 0
    if fits >= 100:
        ways.append(f"fewer steps (**Steps per node** {fits:,} fits in about "
                    f"{format_duration(fits * slowest.seconds_per_step)}; fewer steps give rougher models)")
    if gpu_here and device != "cuda":
        ways.append("the **cuda** device (this machine has a GPU)")
    elif not gpu_here:
        ways.append("a machine with a GPU (the command line below does the same training there)")
    return (f"Training takes about **{format_duration(total)}** here, {format_duration(slowest.seconds)} of it "
            f"for {slowest.node} ({slowest.steps:,} steps at {slowest.seconds_per_step:.3g} s each). "
            "To make it shorter: " + "; ".join(ways) + ".")


# --------------------------------------------------------------------------------------------------
# What the page shows


class ManifestEntry(TypedDict, total=False):
    """The part of a node's entry in a run manifest that the page reads."""

    loss_history: list[tuple[int, float]]  # (step, loss), downsampled; JSON gives [step, loss] pairs


class Manifest(TypedDict, total=False):
    """The part of a run manifest (``Workspace.manifest``) that the page reads."""

    nodes: dict[str, ManifestEntry]


class LossRow(TypedDict):
    """One point of the loss chart."""

    node: str
    step: int
    loss: float


def loss_rows(job_progress: Mapping[str, NodeProgress] | None, manifest: Manifest | None,
              nodes: Iterable[str]) -> list[LossRow]:
    """Long rows (node, step, loss) for the loss chart: the live curve of a node this job is
    training, else the (downsampled) history saved in the run manifest."""
    rows: list[LossRow] = []
    entries = (manifest or {}).get("nodes", {})
    for v in nodes:
        live = (job_progress or {}).get(v)
        saved = entries.get(v, {}).get("loss_history") or []
        if live is not None and live.losses and (not saved or live.losses[-1][0] >= saved[-1][0]):
            # the saved history covers earlier jobs; the live points continue it
            before = [(int(s), float(x)) for s, x in saved if s <= live.started_at]
            points = before + list(live.losses)
        else:
            points = [(int(s), float(x)) for s, x in saved]
        rows += [{"node": v, "step": s, "loss": x} for s, x in points]
    return rows


def job_state(job: TrainJob | None) -> str:
    """``idle``, ``running``, ``stopping``, ``stopped``, ``failed`` or ``finished``."""
    if job is None:
        return "idle"
    if job.alive:
        return "stopping" if job.stop_event.is_set() else "running"
    if job.error:
        return "failed"
    if job.stop_event.is_set():
        return "stopped"
    return "finished"


def training_now(job: TrainJob | None) -> str | None:
    """The node the job is training at this moment (for the sidebar), or None."""
    if job is None or not job.alive:
        return None
    with job.lock:
        return job.current


def new_registry() -> JobRegistry:
    """A fresh registry; the app wraps this in ``st.cache_resource`` so one lives per server."""
    return JobRegistry()


def new_estimates() -> Estimates:
    """A fresh board of training-time estimates (``st.cache_resource``: one per server)."""
    return Estimates()


def node_status_lines(graph: ADMG, manifest: Mapping[str, object] | None, job: TrainJob | None) -> list[tuple[str, str]]:
    """(node, status text): one line per node, the same on the Train page and in the sidebar, right
    at every moment of a job: ``training · 36/2000 steps · loss 0.69 · ETA 1:05`` for the node
    being trained (the manifest may still say untrained: no checkpoint yet), ``queued`` for the
    job's nodes still to come, ``stopping`` while a stop is saving a checkpoint, ``paused at
    36/2000 steps`` for a node stopped part way (training it again resumes), else the manifest's
    ``trained`` or ``untrained`` (:func:`core.runs.workspace.status_line`)."""
    alive = job is not None and job.alive
    now = training_now(job)
    snap = job.snapshot() if alive else {}
    out = []
    for row in node_status(graph, manifest):
        v = row["node"]
        p = snap.get(v)
        if p is not None and v == now:
            loss = f" · loss {p.loss:.4g}" if p.loss is not None else ""
            text = (f"stopping at {p.step}/{p.total} steps · saving a checkpoint" if job.stopping
                    else f"training · {p.step}/{p.total} steps{loss} · ETA {format_eta(p.eta)}")
        elif p is not None and p.phase == "waiting" and row["status"] != "trained":
            text = "not reached (stopping)" if job.stopping else "queued"
        elif row["status"] == "training":
            text = paused_line(row)
        else:
            text = status_line(row)
        out.append((v, text))
    return out


def paused_line(row: NodeStatus) -> str:
    """A node stopped part way: ``paused at 36/2000 steps · loss 0.69 · Train resumes it``."""
    loss = f" · loss {row['loss']:.4g}" if row.get("loss") is not None else ""
    return f"paused at {row['steps_done']}/{row['total_steps']} steps{loss} · Train resumes it"


def model_status_markdown(graph: ADMG | None, ws: Workspace, job: TrainJob | None) -> str:
    """The sidebar's "Models" block: one line per node (Markdown)."""
    if not isinstance(graph, ADMG):
        return ""
    try:
        manifest = ws.manifest()
    except WorkbenchError as e:
        return f"**Models** &nbsp; run folder unreadable: {e}"
    lines = [f"`{v}` {text}" for v, text in node_status_lines(graph, manifest, job)]
    return "**Models**  \n" + "  \n".join(lines)


def stop_all(timeout: float = 30.0) -> int:
    """Ask every live job of every registry to stop and wait for them (a checkpoint is saved);
    returns how many are still running after ``timeout`` seconds."""
    jobs = [j for reg in list(_REGISTRIES) for j in reg.jobs() if j.alive]
    for j in jobs:
        j.request_stop()
    deadline = time.time() + timeout
    for j in jobs:
        j.wait(max(0.0, deadline - time.time()))
    return sum(j.alive for j in jobs)


def cli_commands(graph: ADMG, settings: Settings, *, graph_file: str, data_file: str, run_dir: str,
                 steps: int | None = None) -> list[str]:
    """``python -m core train ...`` lines doing what the page does (one per preset group)."""
    out = []
    for preset, group in preset_groups(graph.names, settings, graph):
        kinds = [f" --kind {v}={settings[v]['kind']}" for v in group
                 if settings[v]["kind"] != kind_options(graph.node(v))[0]]
        nodes = "" if len(group) == len(graph) else f" --nodes {','.join(group)}"
        out.append(f"python -m core train --graph {graph_file} --data {data_file} --out {run_dir} --preset {preset}"
                   + nodes + "".join(kinds) + (f" --steps {steps}" if steps else ""))
    return out


# --------------------------------------------------------------------------------------------------
# The page's widgets (values by ``workbench.keys.TrainPage`` key)


def chosen_settings(state: Session, graph: ADMG, shown: Settings) -> dict[str, NodeSettings]:
    """Each node's mechanism and preset as picked in its row of the table; ``shown`` (what the rows
    were drawn with) for a row whose widgets hold no value yet."""
    return {v: {"kind": state.get(TrainPage.kind(v), shown[v]["kind"]),
                "preset": state.get(TrainPage.preset(v), shown[v]["preset"])} for v in graph.names}


def picked_nodes(state: Session, graph: ADMG) -> list[str]:
    """The nodes ticked in the table's Pick column, in graph order."""
    return [v for v in graph.names if state.get(TrainPage.pick(v))]


def job_ended(state: Session, phase: str) -> bool:
    """True once, on the first look at a job's :func:`job_state` ``phase`` after it was seen running
    and has ended: the page then reruns whole, so statuses, buttons and the sidebar follow."""
    if phase in ("running", "stopping"):
        state[TrainPage.WAS_BUSY] = True
        return False
    return bool(state.pop(TrainPage.WAS_BUSY, False))


# A server shutting down stops its jobs first: each saves a checkpoint, so a restart resumes.
atexit.register(stop_all, 20.0)
