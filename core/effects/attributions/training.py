"""Training a predictor: plain (mean squared error), or AHCE-style ante-hoc, jointly with the inputs'
SCM and a regulariser that enforces the graph's missing direct effects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from core.effects.attributions.input_scm import InputSCM
from core.effects.attributions.networks import MLP, Standardised, column_stats
from core.errors import WorkbenchError
from core.graph import ADMG

TrainingProgress = Callable[[int, float], object]
"""Called every 100 steps with (step, loss)."""


@dataclass
class TrainConfig:
    steps: int = 3000
    batch_size: int = 256
    lr: float = 3e-3
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "silu"
    scm_hidden: tuple[int, ...] = (32, 32)
    causal_weight: float = 1.0  # weight of the causal regulariser (AHCE only)
    reg_batch: int = 128
    seed: int = 0


def train_predictor(
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig | None = None,
    inputs: Sequence[str] | None = None,
    graph: ADMG | None = None,
    outcome: str | None = None,
    *,
    progress: TrainingProgress | None = None,
) -> tuple[Standardised, InputSCM | None, list[float]]:
    """Train a predictor of y from x.  Plain (``graph is None``): mean squared error only.

    AHCE-style (``graph`` over the inputs and the outcome): jointly with the input SCM
    (``x_v = g_v(pa_v) + u_v``, one small MLP per input with parents), minimise
    ``MSE(f) + sum_v MSE(g_v) + lambda R`` where the causal regulariser

        R = sum_{i not in pa(outcome)} E[(f(x_{-i}, x_i') - f(x))^2],   x_i' ~ P(x_i) independent of the unit,

    says what the graph says: an input that is not a parent of the outcome has NO direct effect.  It
    acts off the data manifold (x_i' is drawn independently of the unit's other inputs), exactly where
    a plain predictor is free to use correlated inputs as proxies for each other, which distorts its
    direct effects and hence the direct/indirect split.  The learned SCM then gives the total effects.
    (The published AHCE trains lateral input connections in two phases; this is a single-phase
    variant with the regulariser above.)

    Returns (predictor on raw inputs, the learned input SCM or None, loss history)."""
    cfg = config or TrainConfig()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32).reshape(-1)
    if len(x) != len(y) or x.ndim != 2:
        raise WorkbenchError(f"inputs {x.shape} and outputs {y.shape} do not match")
    xm, xs = column_stats(x)
    ym, ys = float(y.mean()), float(y.std() + 1e-8)
    f = Standardised(MLP(x.shape[1], cfg.hidden, 1, cfg.activation), xm, xs, ym, ys)
    scm: InputSCM | None = None
    non_parents: list[int] = []
    if graph is not None:
        names = list(inputs or [])
        if len(names) != x.shape[1]:
            raise WorkbenchError(f"give the names of the {x.shape[1]} inputs")
        scm = InputSCM(names, graph, cfg.scm_hidden, xm, xs)
        if outcome is not None:
            graph.check_nodes([outcome], "outcome")
            non_parents = [k for k, v in enumerate(names) if v not in graph.parents(outcome)]
    params = list(f.parameters()) + (list(scm.parameters()) if scm is not None else [])
    opt = torch.optim.Adam(params, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    history: list[float] = []
    for step in range(cfg.steps):
        idx = torch.from_numpy(rng.integers(0, len(x), cfg.batch_size))
        xb, yb = xt[idx], yt[idx]
        loss = (((f(xb) - yb) / ys) ** 2).mean()
        if scm is not None:
            loss = loss + scm.loss(xb)
            if cfg.causal_weight > 0 and non_parents:
                loss = loss + cfg.causal_weight * no_direct_effect_penalty(
                    f, xt, non_parents, batch=cfg.reg_batch, rng=rng, y_std=ys
                )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(loss.detach()))
        if progress is not None and step % 100 == 0:
            progress(step, history[-1])
    f.eval()
    return f, scm, history


def no_direct_effect_penalty(
    f: nn.Module, x: Tensor, columns: Sequence[int], *, batch: int, rng: np.random.Generator, y_std: float
) -> Tensor:
    """``sum_i E[((f(x_{-i}, x_i') - f(x)) / y_std)^2]`` over the non-parent ``columns`` i, with x_i'
    a draw of column i from an independent row: the mean squared change of f when a non-parent
    input is replaced."""
    idx = torch.from_numpy(rng.integers(0, len(x), batch))
    base = x[idx]
    out = base.new_zeros(())
    for k in columns:
        moved = base.clone()
        moved[:, k] = x[torch.from_numpy(rng.integers(0, len(x), batch)), k]
        out = out + (((f(moved) - f(base)) / y_std) ** 2).mean()
    return out
