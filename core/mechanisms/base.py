"""The one interface every node mechanism implements, and the pieces they share.

A mechanism models one node ``V`` given its parents ``pa(V)`` as a deterministic function of the
parents and an exogenous noise ``U``:  ``V = f(pa(V), U)``, ``U ~ p(U)``.  Four operations follow:

- ``sample(pa)``            draw ``U ~ p(U)`` and return ``f(pa, U)``       (rungs 1 and 2)
- ``abduct(pa, v)``         a draw of ``U ~ p(U | pa, V = v)``              (rung 3, step 1)
- ``predict(pa, u)``        ``f(pa, u)``                                    (rung 3, step 3)
- ``log_prob(pa, v)``       ``log p(v | pa)`` (or a bound), where the model has one

Tensor conventions inside a mechanism (``core.mechanisms.convert`` maps to and from the numpy
conventions of ``core.data.units.Units``): binary/categorical values are int64 ``(B,)``; continuous
values float ``(B,)``; images float ``(B, C, H, W)`` in ``[-1, 1]``.  Noise is always ONE tensor per
node with the batch first, so an SCM can store it next to the values.

Training: ``loss(pa, v)`` is one mini-batch objective; the trainer owns the loop and the optimiser.
Before the first step call ``prepare(pa, v)`` once on (a sample of) the training data: it fixes the
standardisation statistics, which live in buffers so they travel with the state dict.  ``fit`` is a
small convenience loop over both.

Every mechanism is rebuilt from ``config`` (plain JSON) plus a state dict, so checkpoints need no
pickle: ``mechanism_from_config(m.config).load_state_dict(m.state_dict())`` is the same module.
"""

from __future__ import annotations

import contextlib
import copy
import math
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.schedule import learning_rate, phase_lengths

Parents = Mapping[str, Tensor]
# callback(step, loss) -> False stops training early (a stop button); anything else continues.
FitCallback = Callable[[int, float], Any]

PRESETS = ("quick", "full")


def node_seed(seed: int, name: str) -> int:
    """A per-node seed: the same node gets the same stream whichever other nodes train with it."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % (2**63 - 1)


def best_device() -> torch.device:
    """CUDA if present, else Apple MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def default_preset(device: torch.device | str | None = None) -> str:
    """``full`` on a CUDA GPU, ``quick`` elsewhere (CPU minutes; MPS is treated like a small GPU)."""
    dev = torch.device(device) if device is not None else best_device()
    return "full" if dev.type == "cuda" else "quick"


def check_preset(preset: str | None, device: torch.device | str | None = None) -> str:
    preset = preset or default_preset(device)
    if preset not in PRESETS:
        raise WorkbenchError(f"unknown preset {preset!r} (one of {', '.join(PRESETS)})")
    return preset


def merged_config(base: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy of ``base`` with ``overrides`` applied one level deep into nested dicts."""
    out = copy.deepcopy(dict(base))
    for k, v in (overrides or {}).items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        else:
            out[k] = copy.deepcopy(v)
    return out


def batch_size_of(parents: Parents, n: int | None) -> int:
    """The batch size: ``n`` for root nodes, else the parents' common first dimension."""
    sizes = {int(t.shape[0]) for t in parents.values()}
    if n is not None:
        sizes.add(int(n))
    if len(sizes) != 1:
        raise WorkbenchError(
            "a mechanism needs parents with one common batch size (or n for a node without parents), "
            f"got sizes {sorted(sizes)}"
        )
    return sizes.pop()


class Mechanism(nn.Module):
    """Base class.  Subclasses set ``kind`` and implement the abstract-by-convention methods."""

    kind: str = "mechanism"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config: dict[str, Any] = copy.deepcopy(dict(config))
        self.node = Node.from_json(self.config["node"])
        self.parent_nodes = [Node.from_json(p) for p in self.config["parents"]]

    # ---- construction

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Mechanism:
        """Rebuild the (untrained) module; load a state dict to restore its weights."""
        return cls(config)

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")

    def check_parents(self, parents: Parents) -> None:
        want = {p.name for p in self.parent_nodes}
        got = set(parents)
        if want != got:
            missing, extra = sorted(want - got), sorted(got - want)
            raise WorkbenchError(
                f"mechanism for {self.node.name}: parents must be exactly {sorted(want)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unexpected {extra}" if extra else "")
            )

    # ---- the interface

    def prepare(self, parents: Parents, values: Tensor) -> None:
        """Fix data statistics (standardisation) from training data; call once before training."""

    def loss(self, parents: Parents, values: Tensor) -> Tensor:
        raise NotImplementedError

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws of the exogenous noise from its prior ``p(U)``."""
        raise NotImplementedError

    def predict(self, parents: Parents, noise: Tensor) -> Tensor:
        """``f(pa, u)``: the value the node takes for these parents and this noise."""
        raise NotImplementedError

    def abduct(self, parents: Parents, values: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A draw of ``U ~ p(U | pa, v)`` (deterministic for invertible mechanisms)."""
        raise NotImplementedError

    def counterfactual(self, parents: Parents, values: Tensor, new_parents: Parents,
                       generator: torch.Generator | None = None) -> Tensor:
        """``f(pa*, u)`` with ``u`` abducted from ``(pa, v)``: the value under new parents.  A mechanism
        may do both in fewer passes than ``predict(pa*, abduct(pa, v))``, whose result it must equal."""
        return self.predict(new_parents, self.abduct(parents, values, generator))

    def log_prob(self, parents: Parents, values: Tensor) -> Tensor:
        raise WorkbenchError(f"a {self.kind} mechanism has no tractable log-likelihood")

    def phases(self) -> list[tuple[str, int]]:
        """(phase, steps) of training in order; one phase unless a mechanism trains in stages."""
        return [("train", int(self.config.get("train", {}).get("steps", 1000)))]

    def set_phase(self, phase: str) -> None:
        """Make the next training steps train ``phase`` (used to time a phase on its own)."""
        if phase != "train":
            raise WorkbenchError(f"a {self.kind} mechanism trains in one phase, not {phase!r}")

    @torch.no_grad()
    def sample(self, parents: Parents, generator: torch.Generator | None = None, n: int | None = None) -> Tensor:
        """Ancestral sampling of this node: ``f(pa, U)`` with ``U ~ p(U)``."""
        self.check_parents(parents)
        return self.predict(parents, self.draw_noise(batch_size_of(parents, n), generator))

    # ---- a small training loop (core.runs.train owns the real one, with checkpoints)

    def fit(
        self,
        parents: Parents,
        values: Tensor,
        steps: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        callback: FitCallback | None = None,
        seed: int = 0,
        mixed_precision: str = "auto",
    ) -> list[float]:
        """Adam on mini-batches drawn with replacement, the learning rate annealed by a cosine from
        ``lr`` to ``lr / 20`` in each training phase (``core.mechanisms.schedule``: the end of a phase
        averages out mini-batch noise); returns every step's loss.

        Defaults come from ``config["train"]`` (set by the preset).  ``mixed_precision`` as in
        ``core.mechanisms.precision.amp_dtype`` ("auto": image nodes in bf16 where the device has bf16
        units, as the workspace trainer does); fp16, which needs a gradient scaler, falls back to fp32.
        """
        from core.mechanisms.precision import amp_dtype

        self.check_parents(parents)
        train = self.config.get("train", {})
        steps = int(steps if steps is not None else train.get("steps", 1000))
        batch_size = int(batch_size if batch_size is not None else train.get("batch_size", 128))
        lr = float(lr if lr is not None else train.get("lr", 1e-3))
        n = batch_size_of(parents, len(values))
        dev = self.device
        parents = {k: v.to(dev) for k, v in parents.items()}
        values = values.to(dev)
        self.prepare(parents, values)
        dtype = amp_dtype(dev, mixed_precision, self.node.type == "image")
        precision = (torch.autocast(dev.type, dtype=dtype) if dtype is torch.bfloat16
                     else contextlib.nullcontext())
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        phases = phase_lengths(self.phases(), steps)
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # dropout / timesteps inside loss() draw from the global generator
        history: list[float] = []
        self.train()
        for step in range(steps):
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, lr, "cosine", phases)
            idx = torch.randint(0, n, (min(batch_size, n),), generator=gen).to(dev)
            with precision:
                loss = self.loss({k: v[idx] for k, v in parents.items()}, values[idx]).float()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
            if not math.isfinite(history[-1]):
                raise WorkbenchError(f"training {self.node.name} diverged (loss {history[-1]}): lower the learning rate")
            if callback is not None and callback(step, history[-1]) is False:
                break
        self.eval()
        return history


def randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Standard normal noise drawn on the CPU (so a seed gives the same draw on every device)."""
    return torch.randn(shape, generator=generator).to(device)


def rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64).to(device)
