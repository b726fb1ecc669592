"""Held-out likelihood of a node's trained model against a parent-blind baseline.

For a node V with trained model p(v | pa), on evaluation rows (rows the run never trained on when
the data records a held-out split; otherwise a sample of the training rows, marked in-sample):

    model   mean over rows of  -log p(v | pa)          (negative log-likelihood, nats per row)
    blind   the same for a model of the same kind and architecture trained for a few steps on the
            training rows with the parents shuffled across rows: it can only learn p(v)
    aware   the same short training with the parents in place (scalar nodes): what that budget
            learns from the parents, a yardstick for what the data's parents offer

    gain       = blind - model     what the model's use of its parents buys on unseen rows
    reference  = blind - aware     what the parents offer at the short budget

The VAE's score is its negative ELBO (an upper bound on the NLL).  Kinds without a likelihood
(diffusion, latent_flow) are scored by their own training objective (the denoising loss) under
fixed noise and timesteps, the same for all three models; lower is better throughout.  Standard
errors come from the paired per-row differences (per chunk of ``CHUNK`` rows for objective
scores, whose mechanisms only return batch means).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from core.data import Dataset
from core.errors import WorkbenchError
from core.graph import ADMG
from core.mechanisms import Mechanism, mechanism_from_config
from core.runs.train import node_tensors, to_model

CHUNK = 8  # rows per score where a mechanism only returns a batch-mean objective
BATCH = 256  # rows per forward pass when scoring


class CheckStopped(WorkbenchError):
    """The model check was stopped on request."""


@dataclass(frozen=True)
class NodeLikelihood:
    """The scores of one node (see the module docstring); ``measure`` says what was scored,
    ``units`` how many per-row (or per-chunk) scores the means average, ``heldout`` whether the
    evaluation rows were unseen by the run."""

    node: str
    kind: str
    measure: str  # "NLL", "negative ELBO" or "denoising loss"
    rows: int
    units: int
    heldout: bool
    model: float
    blind: float
    gain: float
    gain_se: float
    aware: float | None = None
    reference: float | None = None
    reference_se: float | None = None
    steps: int = 0  # the short budget of the blind (and aware) models
    per_dimension: int = 1  # values per row (pixels x channels for images): scores / this = per value

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> NodeLikelihood:
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})  # type: ignore[arg-type]


def has_likelihood(mech: Mechanism) -> bool:
    """True when the mechanism implements ``log_prob`` (an NLL or an ELBO)."""
    return type(mech).log_prob is not Mechanism.log_prob


def measure_of(mech: Mechanism) -> str:
    if not has_likelihood(mech):
        return "denoising loss"
    return "negative ELBO" if mech.kind == "vae" else "NLL"


def to_device(parents: Mapping[str, Tensor], values: Tensor, device: torch.device) -> tuple[dict[str, Tensor], Tensor]:
    """Tensors in mechanism conventions on ``device`` (uint8 images become floats in [-1, 1])."""
    return {k: to_model(v, device) for k, v in parents.items()}, to_model(values, device)


@torch.no_grad()
def scores(mech: Mechanism, parents: Mapping[str, Tensor], values: Tensor, *, seed: int = 0) -> np.ndarray:
    """Per-row ``-log p(v | pa)`` (or negative ELBO); for mechanisms without a likelihood, the mean
    training objective of each chunk of ``CHUNK`` rows.  Random draws inside (the ELBO's z, the
    denoising noise and timesteps) come from ``seed``, so two models scored alike see the same."""
    dev = mech.device
    n = len(values)
    out = []
    likelihood = has_likelihood(mech)
    step = BATCH if likelihood else CHUNK
    devices = [dev] if dev.type == "cuda" else []
    was_training = mech.training
    mech.eval()
    try:
        for k, start in enumerate(range(0, n, step)):
            idx = slice(start, min(n, start + step))
            p, v = to_device({a: t[idx] for a, t in parents.items()}, values[idx], dev)
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed * 1_000_003 + k)
                if likelihood:
                    out.append(-mech.log_prob(p, v).double().cpu().numpy())
                else:
                    out.append(np.array([float(mech.loss(p, v))]))
    finally:
        mech.train(was_training)
    return np.concatenate(out) if out else np.zeros(0)


def train_short(mech: Mechanism, parents: Mapping[str, Tensor], values: Tensor, *, steps: int, seed: int,
                shuffle_parents: bool, stop: threading.Event | None = None) -> Mechanism:
    """A fresh model of ``mech``'s kind and architecture, trained ``steps`` steps on these rows
    (its parents shuffled across rows when ``shuffle_parents``: the parent-blind baseline)."""
    config = copy.deepcopy(mech.config)
    config.setdefault("train", {})["steps"] = int(steps)  # stage shares (latent_flow) follow the budget
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = mechanism_from_config(config).to(mech.device)
    p, v = to_device(parents, values, mech.device)
    if shuffle_parents and p:
        perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(v))).to(mech.device)
        p = {k: t[perm] for k, t in p.items()}

    def keep_going(step: int, loss: float) -> bool:
        return not (stop is not None and stop.is_set())

    train = config.get("train", {})
    fresh.fit(p, v, steps=int(steps), batch_size=int(train.get("batch_size", 128)), lr=float(train.get("lr", 1e-3)),
              callback=keep_going, seed=seed)
    if stop is not None and stop.is_set():
        raise CheckStopped("the model check was stopped")
    return fresh.eval()


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """mean(a - b) and its standard error."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(d) < 2:
        return float(d.mean()) if len(d) else float("nan"), float("nan")
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def node_likelihood(
    mech: Mechanism,
    dataset: Dataset,
    graph: ADMG,
    node: str,
    *,
    train_rows: np.ndarray,
    eval_rows: np.ndarray,
    heldout: bool,
    steps: int,
    aware: bool = True,
    seed: int = 0,
    stop: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
) -> NodeLikelihood:
    """The scores of ``node``'s trained model ``mech`` (see the module docstring): the blind (and,
    with ``aware`` and parents, the aware) model trained ``steps`` steps on ``train_rows``, all three
    scored on ``eval_rows``."""
    if len(eval_rows) < 2:
        raise WorkbenchError(f"{node}: {len(eval_rows)} evaluation rows are too few to score a model")
    fit_parents, fit_values = node_tensors(dataset.subset(train_rows), graph, node)
    ev_parents, ev_values = node_tensors(dataset.subset(eval_rows), graph, node)
    say = progress or (lambda text: None)
    say(f"{node}: scoring the trained model")
    model_scores = scores(mech, ev_parents, ev_values, seed=seed)
    say(f"{node}: training a parent-blind baseline ({steps} steps)")
    blind_mech = train_short(mech, fit_parents, fit_values, steps=steps, seed=seed + 1, shuffle_parents=True, stop=stop)
    blind_scores = scores(blind_mech, ev_parents, ev_values, seed=seed)
    gain, gain_se = paired(blind_scores, model_scores)
    aware_mean = reference = reference_se = None
    if aware and mech.parent_nodes:
        say(f"{node}: training a reference with the parents ({steps} steps)")
        aware_mech = train_short(mech, fit_parents, fit_values, steps=steps, seed=seed + 1, shuffle_parents=False,
                                 stop=stop)
        aware_scores = scores(aware_mech, ev_parents, ev_values, seed=seed)
        aware_mean = float(aware_scores.mean())
        reference, reference_se = paired(blind_scores, aware_scores)
    node_type = graph.node(node)
    per_dim = int(np.prod(node_type.shape)) if node_type.type == "image" else 1
    return NodeLikelihood(
        node=node, kind=mech.kind, measure=measure_of(mech), rows=int(len(eval_rows)), units=int(len(model_scores)),
        heldout=heldout, model=float(model_scores.mean()), blind=float(blind_scores.mean()), gain=gain,
        gain_se=gain_se, aware=aware_mean, reference=reference, reference_se=reference_se, steps=int(steps),
        per_dimension=per_dim,
    )
