"""How long training a node will take here: step times measured on this device, per training phase.

``expected_training`` builds the node's mechanism as training would (kind, preset, steps, batch
size), times a few optimiser steps of each phase on random inputs of the right shapes, in the
precision training would use, and multiplies by the phase's steps.  It measures rather than models:
on a busy machine the estimate is longer, as the training will be.  Results are cached per
configuration for the life of the process.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from dataclasses import dataclass
from functools import lru_cache

import torch

from core.graph import ADMG, Node
from core.mechanisms.base import Mechanism, Parents


@dataclass(frozen=True)
class PhaseEstimate:
    """One training phase: its steps and the measured seconds per step."""

    phase: str
    steps: int
    seconds_per_step: float

    @property
    def seconds(self) -> float:
        return self.steps * self.seconds_per_step


def random_inputs(mech: Mechanism, n: int, device: torch.device) -> tuple[Parents, torch.Tensor]:
    """A batch of ``n`` random parent values and node values in mechanism conventions."""
    gen = torch.Generator().manual_seed(0)

    def column(node: Node) -> torch.Tensor:
        if node.type == "image":
            return torch.rand((n, *node.shape), generator=gen) * 2 - 1
        if node.is_discrete:
            return torch.randint(0, node.levels, (n,), generator=gen)
        return torch.randn(n, generator=gen)

    parents = {p.name: column(p).to(device) for p in mech.parent_nodes}
    return parents, column(mech.node).to(device)


def seconds_per_step(mech: Mechanism, parents: Parents, values: torch.Tensor, *, repeats: int = 3,
                     autocast_dtype: torch.dtype | None = None) -> float:
    """Median wall seconds of ``repeats`` optimiser steps (after one warm-up step) of the current phase."""
    dev = values.device
    opt = torch.optim.Adam(mech.parameters(), lr=1e-4)
    autocast = (lambda: torch.autocast(dev.type, dtype=autocast_dtype)) if autocast_dtype else contextlib.nullcontext
    times = []
    for _ in range(repeats + 1):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with autocast():
            loss = mech.loss(parents, values)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def expected_training(graph: ADMG, name: str, *, kind: str | None = None, preset: str | None = None,
                      steps: int | None = None, batch_size: int | None = None, device: str | None = None,
                      mixed_precision: str = "auto") -> list[PhaseEstimate]:
    """The phases of training node ``name`` with their measured step times.  The step times are
    measured once per configuration and cached; a new step count only re-splits the phases."""
    from core.mechanisms import make_mechanism

    parents = graph.sort(graph.parents(name))
    key = json.dumps([graph.node(name).to_json(), [graph.node(p).to_json() for p in parents], kind, preset,
                      batch_size, device, mixed_precision], sort_keys=True)
    per_step = _seconds_per_phase(key)
    mech = make_mechanism(graph.node(name), [graph.node(p) for p in parents], kind=kind, preset=preset,
                          seed=0, device="cpu")
    if steps:
        mech.config["train"]["steps"] = int(steps)
    return [PhaseEstimate(phase, phase_steps, per_step[phase]) for phase, phase_steps in mech.phases()]


@lru_cache(maxsize=64)
def _seconds_per_phase(key: str) -> dict[str, float]:
    """Measured seconds per optimiser step of each training phase of the configuration ``key``."""
    from core.mechanisms import make_mechanism
    from core.mechanisms.precision import amp_dtype
    from core.runs.train import resolve_device

    node_json, parent_json, kind, preset, batch_size, device, mixed_precision = json.loads(key)
    node = Node.from_json(node_json)
    dev = resolve_device(device)
    mech = make_mechanism(node, [Node.from_json(p) for p in parent_json], kind=kind, preset=preset, seed=0, device=dev)
    n = int(batch_size or mech.config.get("train", {}).get("batch_size", 128))
    pa, values = random_inputs(mech, n, dev)
    with torch.random.fork_rng(devices=[]):
        mech.prepare(pa, values)
        mech.train()
        dtype = amp_dtype(dev, mixed_precision, node.type == "image")
        out = {}
        for phase, _ in mech.phases():
            mech.set_phase(phase)
            out[phase] = seconds_per_step(mech, pa, values, autocast_dtype=dtype)
    return out
