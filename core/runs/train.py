"""Training jobs: one conditional model per node, checkpointed, stoppable and resumable.

A node ``V`` with parents ``pa(V)`` is trained on the columns ``(pa(V), V)`` alone, minimising its
mechanism's mini-batch objective ``E_{(pa, v) ~ data}[ loss(pa, v) ]`` (cross-entropy, flow NLL,
DDPM noise-prediction MSE or a negative ELBO) with Adam/AdamW on batches drawn with replacement.
Because the observational joint factorises as ``P(v) = prod_V P(v | pa(V))`` (per c-component with
hidden confounders; ``core.idgen`` trains the extra conditionals it needs), nodes are independent
jobs; they run in topological order so progress reads naturally.

Progress: ``callback(Progress)`` after every optimiser step (and on phase changes); returning
``False`` stops, as does setting a ``threading.Event`` passed as ``stop`` (the UI's stop button
from a background thread).  A stop saves a checkpoint first, so nothing is lost.

Checkpoints (``core.runs.checkpoint``) every ``checkpoint_every`` steps, every ``checkpoint_seconds``
and at the end hold weights, optimiser state, step, loss history and RNG states (batch sampler,
torch CPU and CUDA), so a run killed at any moment restarts from its last checkpoint and, on one
process, continues exactly as if it had never stopped (same batches, same noise, same weights).

Devices: CUDA > MPS > CPU.  Mixed precision, by default for image nodes only (the scalar nodes'
models are tiny and their spline flows want float32): ``torch.autocast`` in bf16 on CUDA (fp16 with a
``GradScaler`` where the GPU lacks bf16), with channels_last weights, and bf16 on CPUs with bf16 matrix
units (AMX / AVX-512 BF16), where a bf16 matmul runs several times faster than fp32.

Public API::

    train(graph, data, out, *, nodes=None, options=TrainOptions(...), callback=None, stop=None) -> TrainResult
        data: a core.data.Dataset or {column: numpy array}; out: a run folder (core.runs.checkpoint);
        rows a Dataset holds out (``Dataset.split``, imported data) are left out of training
    TrainOptions(preset, steps, batch_size, lr, kinds={node: kind}, seed, optimizer="adam"|"adamw",
                 weight_decay, grad_clip, checkpoint_every, checkpoint_seconds, device, mixed_precision)
    Progress(node, step, total_steps, loss, eta_seconds, phase, message)   -- the callback's argument
    TrainResult.nodes[name] -> NodeResult(status "trained"|"stopped"|"skipped", steps_done,
        resumed_from, loss_history, metrics, mechanism)
    train_node(mech, parents, values, total_steps=..., ...)  the loop for one mechanism (no run folder needed)

Several GPUs: launched under ``accelerate launch`` (or ``torchrun``) the loop goes through an
``accelerate.Accelerator``: model and optimiser are ``prepare``d (DDP), ``accelerator.backward``
all-reduces gradients, each process draws its own batches from a generator seeded by
(seed, node, process index) -- the same as a distributed sampler with replacement -- and only the main
process writes checkpoints.  See docs/multi-gpu.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import ADMG
from core.mechanisms.base import Mechanism, node_seed
from core.mechanisms.precision import amp_dtype
from core.mechanisms.schedule import learning_rate, phase_lengths
from core.runs.checkpoint import (
    CheckpointError,
    JSONValue,
    Metrics,
    NodeCheckpoint,
    RNGState,
    Run,
    build_mechanism,
    load_run,
    open_run,
)
from core.runs.manifest import MAX_BATCH_SIZE, MAX_STEPS

if TYPE_CHECKING:
    from accelerate import Accelerator

    from core.data import Dataset

OPTIMIZERS = ("adam", "adamw")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
PREPARE_ROWS = 20_000  # statistics (standardisation) need a sample, not every row
EVAL_ROWS = 512  # rows of the end-of-training evaluation loss
FINAL_LOSS_WINDOW = 50  # steps averaged for the reported final training loss


@dataclass(frozen=True)
class Progress:
    """One report to the progress callback.

    ``phase`` is ``"start"`` (before the first step; ``step`` is where training starts, >0 on
    resume), ``"step"`` (after each optimiser step), ``"checkpoint"`` (a checkpoint was written),
    ``"done"`` (node finished, stopped or skipped; see ``message``).
    """

    node: str
    step: int
    total_steps: int
    loss: float | None
    eta_seconds: float | None
    phase: str = "step"
    message: str = ""


ProgressCallback: TypeAlias = Callable[[Progress], bool | None]
"""Called with each :class:`Progress`; returning ``False`` stops training (after a checkpoint)."""


@dataclass(frozen=True)
class TrainOptions:
    """Knobs of a training job; ``None`` means "the mechanism preset's value"."""

    preset: str | None = None
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    kinds: Mapping[str, str] = field(default_factory=dict)
    # per node, mechanism config keys over the preset's (e.g. {"image": {"scale": "conditional"}});
    # a node that already started keeps the config it was stored with
    overrides: Mapping[str, Mapping[str, JSONValue]] = field(default_factory=dict)
    seed: int = 0
    optimizer: str = "adam"
    weight_decay: float = 0.0
    grad_clip: float | None = None
    checkpoint_every: int = 250
    checkpoint_seconds: float | None = 120.0
    device: str | None = None
    mixed_precision: str = "auto"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise WorkbenchError(f"unknown optimizer {self.optimizer!r} (one of {', '.join(OPTIMIZERS)})")
        if self.mixed_precision not in MIXED_PRECISION:
            raise WorkbenchError(
                f"unknown mixed precision {self.mixed_precision!r} (one of {', '.join(MIXED_PRECISION)})"
            )
        for name, value, top in (("steps", self.steps, MAX_STEPS), ("batch_size", self.batch_size, MAX_BATCH_SIZE),
                                 ("checkpoint_every", self.checkpoint_every, MAX_STEPS)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise WorkbenchError(f"{name} must be a positive integer, got {value!r}")
            if value is not None and value > top:
                raise WorkbenchError(f"{name} is {value:,}, more than the limit of {top:,}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise WorkbenchError(f"learning rate must be a positive number, got {self.lr!r}")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 1:
            raise WorkbenchError(f"checkpoint_every must be a positive integer, got {self.checkpoint_every!r}")


@dataclass
class NodeResult:
    """What training did to one node."""

    node: str
    kind: str
    status: str  # "trained", "stopped" (partial, resumable) or "skipped" (already trained)
    steps_done: int
    total_steps: int
    resumed_from: int = 0
    loss_history: list[float] = field(default_factory=list)
    metrics: Metrics = field(default_factory=dict)
    mechanism: Mechanism | None = None  # the trained module (eval mode); None when skipped


@dataclass
class TrainResult:
    """What a training job did: one :class:`NodeResult` per node it reached, in training order."""

    run_path: Path
    nodes: dict[str, NodeResult]
    stopped: bool = False

    def summary(self) -> str:
        lines = []
        for r in self.nodes.values():
            loss = r.metrics.get("final_loss")
            lines.append(
                f"{r.node}: {r.kind} {r.status} {r.steps_done}/{r.total_steps} steps"
                + (f", loss {loss:.4g}" if isinstance(loss, float) else "")
                + (f" (resumed from step {r.resumed_from})" if r.resumed_from else "")
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Small pure pieces


def eta_seconds(elapsed: float, steps_this_session: int, steps_left: int) -> float | None:
    """Remaining time at the mean step time so far (``None`` before the first step)."""
    if steps_this_session <= 0:
        return None
    return elapsed / steps_this_session * max(0, steps_left)


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def mean_tail(history: Sequence[float], k: int = FINAL_LOSS_WINDOW) -> float | None:
    tail = list(history[-k:])
    return float(sum(tail) / len(tail)) if tail else None


def resolve_device(name: str | None) -> torch.device:
    from core.mechanisms.base import best_device

    if name in (None, "", "auto"):
        return best_device()
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise WorkbenchError(f"unknown device {name!r} (cpu, cuda, cuda:N, mps or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise WorkbenchError("device cuda asked for, but no CUDA GPU is available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise WorkbenchError("device mps asked for, but Apple MPS is not available")
    return dev


def launched_distributed() -> bool:
    """True under ``accelerate launch`` or ``torchrun`` (they set these variables)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or any(k.startswith("ACCELERATE_") for k in os.environ)


# --------------------------------------------------------------------------------------------------
# Data


def as_dataset(data: Dataset | Mapping[str, np.ndarray], graph: ADMG, names: Iterable[str]) -> Dataset:
    """The training data as a :class:`core.data.Dataset` checked for the nodes to train and their parents.

    Accepts a Dataset or a mapping of numpy columns (Units conventions).  Raises a one-line
    WorkbenchError for a missing column, a wrong image shape, NaNs or an empty table.
    """
    from core.data import DataError, Dataset

    needed = set()
    for v in names:
        needed |= {v} | set(graph.parents(v))
    sub = graph.subgraph(needed)
    if isinstance(data, Dataset):
        ds = data
    elif isinstance(data, Mapping):
        missing = [v for v in graph.sort(needed) if v not in data]
        if missing:
            raise DataError(f"missing column for graph node {missing[0]!r} (data has {', '.join(data) or 'no columns'})")
        # every graph column given (not only the needed ones), so the fingerprint names the data, not the job
        present = [v for v in graph.names if v in data]
        ds = Dataset.from_values({v: data[v] for v in present}, graph.subgraph(present))
    else:
        raise WorkbenchError(f"training data must be a Dataset or a dict of columns, got {type(data).__name__}")
    ds.check(sub)
    if ds.n == 0:
        raise DataError("the data set is empty (0 rows)")
    return ds


def node_tensors(ds: Dataset, graph: ADMG, name: str) -> tuple[dict[str, Tensor], Tensor]:
    """CPU tensors of a node's parents and of the node itself.

    Scalars are in mechanism conventions already; images stay uint8 (a quarter of the memory of
    float32) and become floats in [-1, 1] one batch at a time, on the device (:func:`to_model`).
    """
    cols = {}
    for v in [*graph.sort(graph.parents(name)), name]:
        if graph.node(v).type == "image":
            cols[v] = torch.from_numpy(np.ascontiguousarray(ds.column(v), dtype=np.uint8))
        else:
            cols.update(ds.to_tensors([v]))
    values = cols.pop(name)
    return cols, values


def to_model(t: Tensor, device: torch.device) -> Tensor:
    """A batch on the device in mechanism conventions: uint8 images map by ``x / 127.5 - 1``."""
    t = t.to(device, non_blocking=True)
    return t.to(torch.float32).div_(127.5).sub_(1.0) if t.dtype == torch.uint8 else t


# --------------------------------------------------------------------------------------------------
# One node


class LossOf(nn.Module):
    """``forward`` = the mechanism's loss, so DDP (which hooks ``forward``) syncs its gradients."""

    def __init__(self, mechanism: nn.Module) -> None:
        super().__init__()
        self.mechanism = mechanism

    def forward(self, parents: dict[str, Tensor], values: Tensor) -> Tensor:
        return self.mechanism.loss(parents, values)


def make_optimizer(params: Iterable[nn.Parameter], options: TrainOptions, lr: float) -> torch.optim.Optimizer:
    """Adam or AdamW (``options.optimizer``) with the options' weight decay."""
    if options.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=options.weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=options.weight_decay)


def rng_state(gen: torch.Generator, device: torch.device) -> RNGState:
    """Every random state a resumed run needs to continue exactly: torch's CPU (and CUDA) RNG and
    the batch sampler's generator."""
    state: RNGState = {"torch": torch.get_rng_state(), "batch": gen.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, torch.Tensor | list[torch.Tensor]], gen: torch.Generator, device: torch.device) -> None:
    """Restore :func:`rng_state` (a CUDA state only onto as many GPUs as it was saved from)."""
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "batch" in state:
        gen.set_state(state["batch"])
    if "cuda" in state and device.type == "cuda" and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def optimiser_step(
    loss: Tensor,
    opt: torch.optim.Optimizer,
    mech: nn.Module,
    *,
    grad_clip: float | None,
    scaler: torch.amp.GradScaler | None,
    accelerator: Accelerator | None,
) -> None:
    """One update from ``loss``: gradients (all-reduced under an accelerator, scaled for fp16),
    clipped to norm ``grad_clip`` when given, then the optimiser's step."""
    opt.zero_grad(set_to_none=True)
    if accelerator is not None:
        accelerator.backward(loss)
        if grad_clip:
            accelerator.clip_grad_norm_(mech.parameters(), grad_clip)
        opt.step()
    elif scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        if grad_clip:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(mech.parameters(), grad_clip)
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(mech.parameters(), grad_clip)
        opt.step()


@torch.no_grad()
def evaluation_loss(mech: Mechanism, parents: Mapping[str, Tensor], values: Tensor, batch_size: int, seed: int) -> float:
    """Mean loss on a fixed sample of rows, in eval mode, without disturbing the training RNG."""
    n = len(values)
    device = mech.device
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[: min(n, EVAL_ROWS)]
        mech.eval()
        total, count = 0.0, 0
        for chunk in idx.split(batch_size):
            loss = mech.loss({k: to_model(v[chunk], device) for k, v in parents.items()}, to_model(values[chunk], device))
            total += float(loss) * len(chunk)
            count += len(chunk)
        mech.train()
    return total / max(count, 1)


def train_node(
    mech: Mechanism,
    parents: Mapping[str, Tensor],
    values: Tensor,
    *,
    total_steps: int,
    batch_size: int,
    lr: float,
    options: TrainOptions,
    seed: int,
    run: Run | None = None,
    resume: NodeCheckpoint | None = None,
    callback: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    accelerator: Accelerator | None = None,
    device: torch.device | None = None,
) -> NodeResult:
    """Train one mechanism for ``total_steps`` optimiser steps (fewer if stopped), checkpointing into ``run``.

    ``mech`` is freshly built (seeded) or, with ``resume``, gets the checkpoint's weights,
    optimiser state, loss history and RNG states and continues from ``resume.step``.  On a fresh
    start ``mech.prepare`` fixes the data statistics from (a sample of) the data first.
    """
    name = mech.node.name
    kind = mech.kind
    n = len(values)
    is_main = accelerator is None or accelerator.is_main_process
    rank = 0 if accelerator is None else int(accelerator.process_index)
    dev = accelerator.device if accelerator is not None else (device or resolve_device(options.device))
    mech.to(dev)
    if dev.type == "cuda" and mech.node.type == "image":
        # NHWC convolutions run on the GPU's tensor cores; on a CPU they measured no faster in bf16
        mech.to(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(seed + rank)
    history: list[float] = []
    start = 0
    seconds_before = 0.0
    if resume is None:
        rows = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:PREPARE_ROWS] if n > PREPARE_ROWS else None
        pa = {k: to_model(v if rows is None else v[rows], dev) for k, v in parents.items()}
        mech.prepare(pa, to_model(values if rows is None else values[rows], dev))
        torch.manual_seed(seed + rank)  # timesteps / noise / dropout inside loss() use the global RNG
    else:
        try:
            mech.load_state_dict(resume.weights, strict=True)
        except RuntimeError as e:
            raise CheckpointError(f"checkpoint of node {name} does not fit its model ({str(e).splitlines()[0]})") from None
        start = resume.step
        history = list(resume.loss_history)
        if rank == 0:
            set_rng_state(resume.rng, gen, dev)
        else:  # other processes saved no RNG state: a fresh stream per (seed, rank, step)
            gen.manual_seed(seed + rank + 7919 * start)
            torch.manual_seed(seed + rank + 7919 * start)
        if run is not None:
            seconds_before = float(run.entry(name).get("metrics", {}).get("seconds", 0.0))
    opt = make_optimizer(mech.parameters(), options, lr)
    if resume is not None:
        try:
            opt.load_state_dict(resume.optimizer)
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"optimiser state of node {name} does not fit its model ({e})") from None
        for group in opt.param_groups:  # a new --lr applies from here on
            group["lr"] = lr

    schedule = str(mech.config.get("train", {}).get("schedule", "constant"))
    phase_steps = phase_lengths(mech.phases(), total_steps)
    learning_rate(start, lr, schedule, phase_steps)  # an unknown schedule fails before the first step

    dtype = None if accelerator is not None else amp_dtype(dev, options.mixed_precision, mech.node.type == "image")
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16) if dev.type == "cuda" else None
    if scaler is not None and resume is not None and resume.scaler:
        scaler.load_state_dict(resume.scaler)
    if accelerator is not None:
        model, opt = accelerator.prepare(LossOf(mech), opt)
        autocast = accelerator.autocast
    else:
        model = LossOf(mech)
        autocast = (lambda: torch.autocast(dev.type, dtype=dtype)) if dtype is not None else contextlib.nullcontext

    def report(step: int, loss: float | None, eta: float | None, phase: str = "step", message: str = "") -> bool:
        if callback is None or not is_main:
            return True
        return callback(Progress(name, step, total_steps, loss, eta, phase, message)) is not False

    def metrics(done: int, seconds: float, finished: bool) -> Metrics:
        m: Metrics = {
            "final_loss": mean_tail(history),
            "seconds": round(seconds_before + seconds, 3),
            "steps_per_second": round((done - start) / seconds, 3) if seconds > 0 and done > start else None,
            "device": str(dev),
            "processes": 1 if accelerator is None else int(accelerator.num_processes),
            "mixed_precision": str(dtype).replace("torch.", "") if dtype is not None else (
                accelerator.mixed_precision if accelerator is not None else "no"),
            "rows": n,
            "batch_size": batch_size,
            "lr": lr,
            "parameters": sum(p.numel() for p in mech.parameters()),
            "peak_rss_mib": round(peak_rss_bytes() / 2**20, 1),
        }
        if finished:
            m["eval_loss"] = evaluation_loss(mech, parents, values, batch_size, seed)
        return m

    def save(done: int, seconds: float, status: str) -> None:
        if run is None or not is_main:
            return
        run.save_node(
            name,
            kind=kind,
            config=mech.config,
            weights=mech.state_dict(),
            optimizer=opt.state_dict(),
            step=done,
            total_steps=total_steps,
            loss_history=history,
            rng=rng_state(gen, dev),
            scaler=scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
            status=status,
            metrics=metrics(done, seconds, status == "trained"),
        )

    if run is not None and is_main:
        run.update_node(name, status="training", kind=kind, config=mech.config, total_steps=total_steps)
    proceed = report(start, history[-1] if history else None, None, "start",
                     f"resuming at step {start}" if start else "")
    mech.train()
    t0 = time.monotonic()
    last_save = t0
    done = start
    b = min(batch_size, n)
    stopped = not proceed
    while done < total_steps and not stopped:
        if stop is not None and stop.is_set():
            stopped = True
            break
        idx = torch.randint(0, n, (b,), generator=gen)
        pa = {k: to_model(v[idx], dev) for k, v in parents.items()}
        y = to_model(values[idx], dev)
        if schedule != "constant":
            for group in opt.param_groups:
                group["lr"] = learning_rate(done, lr, schedule, phase_steps)
        with autocast():
            loss = model(pa, y)
        optimiser_step(loss, opt, mech, grad_clip=options.grad_clip, scaler=scaler, accelerator=accelerator)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise WorkbenchError(
                f"training {name} diverged at step {done + 1} (loss {value}); the last checkpoint is kept: "
                "lower the learning rate (--lr) and rerun"
            )
        history.append(value)
        done += 1
        now = time.monotonic()
        if not report(done, value, eta_seconds(now - t0, done - start, total_steps - done)):
            stopped = True
        if done < total_steps and not stopped and (
            done % options.checkpoint_every == 0
            or (options.checkpoint_seconds is not None and now - last_save >= options.checkpoint_seconds)
        ):
            save(done, now - t0, "training")
            last_save = time.monotonic()
            report(done, value, None, "checkpoint", f"checkpoint at step {done}")
    seconds = time.monotonic() - t0
    finished = done >= total_steps
    if done > start or finished:
        save(done, seconds, "trained" if finished else "training")
    elif done == 0 and run is not None and is_main:
        run.update_node(name, status="untrained")  # stopped before the first step: nothing to resume
    mech.eval()
    if accelerator is not None:
        accelerator.wait_for_everyone()
    result = NodeResult(
        name, kind, "trained" if finished else "stopped", done, total_steps, start, history,
        metrics(done, seconds, False) if run is None else dict(run.entry(name).get("metrics", {})),
        mech,
    )
    report(done, history[-1] if history else None, 0.0 if finished else None, "done",
           "trained" if finished else f"stopped at step {done}")
    return result


# --------------------------------------------------------------------------------------------------
# A whole run


def default_accelerator(device: str | None = None) -> Accelerator | None:
    """An ``accelerate.Accelerator`` when launched under accelerate/torchrun, else None."""
    if not launched_distributed():
        return None
    from accelerate import Accelerator, DistributedDataParallelKwargs

    # some parameters see no gradient in a step (an unused conditioning branch): DDP must not wait for them;
    # without a GPU, accelerate only goes multi-process (gloo) when told cpu=True
    return Accelerator(
        cpu=resolve_device(device).type == "cpu",
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def check_kinds(graph: ADMG, kinds: Mapping[str, str]) -> None:
    """Each requested kind names a node of the graph and can model that node's type."""
    from core.mechanisms import KINDS, KINDS_FOR_TYPE

    for v, kind in kinds.items():
        if v not in graph:
            raise WorkbenchError(f"--kind names unknown node {v!r} (graph has {', '.join(graph.names)})")
        if kind not in KINDS:
            raise WorkbenchError(f"unknown mechanism kind {kind!r} for node {v} (one of {', '.join(KINDS)})")
        allowed = KINDS_FOR_TYPE[graph.node(v).type]
        if kind not in allowed:
            raise WorkbenchError(f"node {v} is {graph.node(v).type}: use mechanism kind {' or '.join(allowed)}, not {kind}")


def requested_mechanism(graph: ADMG, name: str, options: TrainOptions, seed: int) -> Mechanism:
    """A fresh, seeded mechanism for ``name`` with the requested kind and preset."""
    from core.mechanisms import make_mechanism

    node = graph.node(name)
    parents = [graph.node(p) for p in graph.sort(graph.parents(name))]
    return make_mechanism(node, parents, kind=options.kinds.get(name), preset=options.preset,
                          device=resolve_device(options.device), seed=seed, **options.overrides.get(name, {}))


def train(
    graph: ADMG,
    data: Dataset | Mapping[str, np.ndarray],
    out: str | os.PathLike[str],
    *,
    nodes: Sequence[str] | None = None,
    options: TrainOptions | None = None,
    callback: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    accelerator: Accelerator | Literal["auto"] | None = "auto",
) -> TrainResult:
    """Train (or resume, or skip if done) the model of each node in ``nodes`` (default: all) into run folder ``out``.

    A node already trained with the same kind and preset and at least the requested steps is
    skipped; a node with a partial checkpoint resumes from it; a node whose checkpoint has another
    kind or preset is refused (use a new run folder) -- nothing trained is overwritten.
    ``accelerator="auto"`` uses one when launched under accelerate or torchrun, None trains in
    this process alone.
    """
    options = options or TrainOptions()
    names = graph.sort(graph.check_nodes(nodes, "train")) if nodes else list(graph.topological_order())
    check_kinds(graph, options.kinds)
    ds = as_dataset(data, graph, names)
    resolve_device(options.device)  # an unusable device is refused before the run folder is touched
    if accelerator == "auto":
        accelerator = default_accelerator(options.device)
    is_main = accelerator is None or accelerator.is_main_process
    run = open_run(out, graph, ds.fingerprint, ds.n, ds.preparation) if is_main else None  # holds the folder's lock
    if accelerator is not None:
        accelerator.wait_for_everyone()
    if run is None:
        run = load_run(out, graph, ds.fingerprint, ds.preparation)
    # rows the data holds out (imported data records a split) are never trained on: the model
    # check scores the models on them (core.check.model_check)
    fit_ds = ds.subset(ds.training_rows()) if ds.split else ds
    results: dict[str, NodeResult] = {}
    stopped = False
    try:
        for name in names:
            if stopped or (stop is not None and stop.is_set()):
                stopped = True
                break
            result = train_one(run, fit_ds, graph, name, options=options, callback=callback, stop=stop,
                               accelerator=accelerator)
            results[name] = result
            stopped = result.status == "stopped"
    finally:
        run.close()
    return TrainResult(run.path, results, stopped)


def train_one(
    run: Run,
    ds: Dataset,
    graph: ADMG,
    name: str,
    *,
    options: TrainOptions,
    callback: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    accelerator: Accelerator | None = None,
) -> NodeResult:
    """Train, resume or skip node ``name`` of ``run``: a started node keeps the kind, preset and
    architecture it was stored with; one already trained for at least the requested steps is skipped."""
    seed = node_seed(options.seed, name)
    entry = run.entry(name)
    stored = entry.get("config") if entry["steps_done"] > 0 else None
    resume = None
    if stored:
        # a started node keeps its kind and preset; asking explicitly for others is refused
        for key, wanted in (("kind", options.kinds.get(name)), ("preset", options.preset)):
            if wanted is not None and stored.get(key) != wanted:
                raise CheckpointError(
                    f"node {name} in {run.path} was trained with {key} {stored.get(key)}, not "
                    f"{wanted}: use a new run folder (nothing is overwritten)"
                )
        # the exact architecture of the checkpoint, sized before it is built
        mech = build_mechanism(stored, f"{run.path}: node {name}'s stored model config")
        train_cfg = dict(stored.get("train", {}))
    else:
        mech = requested_mechanism(graph, name, options, seed)
        train_cfg = dict(mech.config.get("train", {}))
    total = int(options.steps or train_cfg.get("steps", 1000))
    batch_size = int(options.batch_size or train_cfg.get("batch_size", 128))
    lr = float(options.lr or train_cfg.get("lr", 1e-3))
    mech.config["train"] = {**train_cfg, "steps": total, "batch_size": batch_size, "lr": lr,
                            "optimizer": options.optimizer, "seed": options.seed}
    if entry["steps_done"] > 0 and entry["steps_done"] >= total:
        msg = f"already trained ({entry['steps_done']} steps)"
        if callback is not None and (accelerator is None or accelerator.is_main_process):
            callback(Progress(name, entry["steps_done"], entry["steps_done"], None, 0.0, "done", msg))
        return NodeResult(name, entry["kind"], "skipped", entry["steps_done"], entry["total_steps"],
                          metrics=dict(entry.get("metrics", {})))
    if entry["steps_done"] > 0:
        resume = run.load_node_checkpoint(name)
    parents, values = node_tensors(ds, graph, name)
    return train_node(
        mech, parents, values, total_steps=total, batch_size=batch_size, lr=lr, options=options, seed=seed,
        run=run, resume=resume, callback=callback, stop=stop, accelerator=accelerator,
    )

