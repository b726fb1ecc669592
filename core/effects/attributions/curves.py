"""ACE curves of a predictor's inputs: total, direct, indirect and observational.

A predictor ``f`` maps inputs ``x = (x_1, ..., x_d)`` to an output.  The inputs are causally related
(a known DAG over them), so intervening on ``x_i`` also moves its descendants.  For a grid of values a
(Chattopadhyay et al., ICML 2019; Reddy et al., AAAI 2024):

* total:    ``T_i(a) = E[f(X^{do(x_i = a)})]`` -- descendants of x_i among the inputs are regenerated
  by an SCM over the inputs, with each unit's noise abducted (``x_v = g_v(pa_v) + u_v``,
  ``u_v = x_v - g_v(pa_v)``), so the expectation runs over P(U);
* direct:   ``D_i(a) = E[f(X_{-i}, a)]`` -- the other inputs keep their observational distribution;
* indirect: ``I_i(a) = T_i(a) - D_i(a)``;
* observational: ``O_i(a) = E[f(X) | x_i = a]`` (Nadaraya-Watson kernel regression).

Each curve is reported as ACE, i.e. minus its baseline ``mean_a(curve)`` over the grid, so curves
compare by shape.  Monte Carlo over the data's units is the default (exact up to sampling); the
Taylor shortcut ``E f(X) ~= f(mu) + 1/2 tr(H_f(mu) Sigma)`` (Chattopadhyay) is available and is
biased where f is not quadratic (in ReLU nets the Hessian vanishes almost everywhere).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import torch
from torch import Tensor, nn

from core.effects.attributions.input_scm import InputsSCM, fit_input_scm
from core.errors import WorkbenchError
from core.graph import ADMG

KINDS = ("total", "direct", "indirect")

Predictor: TypeAlias = Callable[[Tensor], Tensor]
"""A torch module or function over an (n, d) float tensor of inputs, giving (n,) or (n, 1) outputs."""


@dataclass
class Curves:
    """ACE curves of one input on the grid (each minus its baseline, the mean over the grid)."""

    input: str
    grid: np.ndarray
    total: np.ndarray
    direct: np.ndarray
    indirect: np.ndarray
    observational: np.ndarray

    def get(self, kind: str) -> np.ndarray:
        return getattr(self, kind)

    def to_dict(self) -> dict[str, object]:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def centred(curve: np.ndarray) -> np.ndarray:
    """ACE: the curve minus its baseline (its mean over the grid)."""
    return np.asarray(curve, dtype=np.float64) - float(np.mean(curve))


def default_grid(x: np.ndarray, points: int = 40, lo_q: float = 0.025, hi_q: float = 0.975) -> np.ndarray:
    """``points`` values spanning the central 95% of an input's observed values."""
    lo, hi = np.quantile(np.asarray(x, dtype=np.float64), [lo_q, hi_q])
    return np.linspace(lo, hi, points)


def kernel_regression(x: np.ndarray, y: np.ndarray, grid: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Nadaraya-Watson estimate of E[y | x = a] on the grid, Gaussian kernel, Silverman's bandwidth."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    h = bandwidth or 1.06 * float(np.std(x)) * len(x) ** (-1 / 5)
    out = np.empty(len(grid))
    for k, a in enumerate(grid):
        w = np.exp(-0.5 * ((x - a) / h) ** 2)
        out[k] = float(w @ y / max(w.sum(), 1e-300))
    return out


def as_function(predictor: Predictor) -> Callable[[Tensor], Tensor]:
    """The predictor as a function giving (n,) outputs (a module is put in eval mode first)."""
    if isinstance(predictor, nn.Module):
        predictor.eval()

    def f(x: Tensor) -> Tensor:
        out = predictor(x)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise WorkbenchError(f"the predictor must give one output per row, got shape {tuple(out.shape)}")
        return out

    return f


def _batched_mean(f: Callable[[Tensor], Tensor], x: Tensor, chunk: int = 65536) -> Tensor:
    """Mean of f over the second-to-last dim for inputs shaped (G, n, d), in chunks of rows."""
    g, n, d = x.shape
    flat = x.reshape(-1, d)
    outs = [f(flat[s : s + chunk]).reshape(-1) for s in range(0, len(flat), chunk)]
    return torch.cat(outs).reshape(g, n).mean(dim=1)


def _taylor_means(f: Callable[[Tensor], Tensor], x: Tensor) -> np.ndarray:
    """E f(X) ~= f(mu) + 1/2 tr(H_f(mu) Sigma) for each grid point's sample X (shape (G, n, d))."""
    out = []
    with torch.enable_grad():
        for xs in x:
            mu = xs.mean(0)
            cov = torch.cov(xs.T, correction=0)  # the sample's own covariance: exact for quadratic f
            h = torch.autograd.functional.hessian(lambda v: f(v[None])[0], mu)
            out.append(float((f(mu[None])[0] + 0.5 * (h * cov).sum()).detach()))
    return np.asarray(out)


@torch.no_grad()
def ace_curves(
    predictor: Predictor,
    data: np.ndarray,
    inputs: Sequence[str],
    scm: InputsSCM,
    grids: Mapping[str, np.ndarray] | None = None,
    *,
    method: str = "mc",
    max_units: int = 2000,
    seed: int = 0,
) -> dict[str, Curves]:
    """ACE curves (total, direct, indirect, observational) of every input.

    ``data`` is (n, d) observational inputs in the order of ``inputs``.  ``scm`` is an
    :class:`InputSCM`, an :class:`SCMInputs` (row-aligned with ``data``), or None, which means the
    inputs are treated as causally independent (Chattopadhyay's assumption): total = direct and
    indirect = 0.  ``method`` is ``"mc"`` (Monte Carlo over up to ``max_units`` units) or ``"taylor"``
    (second-order expansion around the interventional mean)."""
    x_all = np.asarray(data, dtype=np.float32)
    if x_all.ndim != 2 or x_all.shape[1] != len(inputs):
        raise WorkbenchError(f"the data must be (n, {len(inputs)}) for inputs {', '.join(inputs)}, got {x_all.shape}")
    if method not in ("mc", "taylor"):
        raise WorkbenchError(f"unknown method {method!r} (mc or taylor)")
    f = as_function(predictor)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x_all), size=min(max_units, len(x_all)), replace=False)
    x = torch.from_numpy(x_all[rows])
    full_out = np.concatenate([f(torch.from_numpy(x_all[s : s + 65536])).numpy() for s in range(0, len(x_all), 65536)])
    out: dict[str, Curves] = {}
    for i, name in enumerate(inputs):
        grid = np.asarray(grids[name] if grids and name in grids else default_grid(x_all[:, i]), dtype=np.float64)
        a = torch.tensor(grid, dtype=torch.float32)[:, None]  # (G, 1)
        direct_x = x.unsqueeze(0).repeat(len(grid), 1, 1)
        direct_x[..., i] = a
        if scm is None:
            total_x = direct_x
        elif hasattr(scm, "intervene_rows"):  # an SCM over the data's units (SCMInputs)
            total_x = scm.intervene_rows(rows, name, grid)
        else:
            total_x = scm.intervene(x.unsqueeze(0).expand(len(grid), -1, -1), name, a)
        if method == "mc":
            direct = _batched_mean(f, direct_x).numpy()
            total = _batched_mean(f, total_x).numpy() if scm is not None else direct
        else:
            direct = _taylor_means(f, direct_x)
            total = _taylor_means(f, total_x) if scm is not None else direct
        total, direct = centred(total), centred(direct)
        obs = centred(kernel_regression(x_all[:, i], full_out, grid))
        out[name] = Curves(name, grid, total, direct, total - direct, obs)
    return out


def explain_predictor(
    predictor: Predictor,
    data: Mapping[str, np.ndarray] | np.ndarray,
    inputs: Sequence[str],
    graph: ADMG | None,
    *,
    scm: InputsSCM = None,
    method: str = "mc",
    points: int = 40,
    scm_steps: int = 1500,
    seed: int = 0,
) -> dict[str, Curves]:
    """Post-hoc attributions of any predictor: fit an input SCM on the data's inputs (unless one is
    given; ``graph=None`` treats the inputs as causally independent) and return every input's curves.
    ``data`` is (n, d) in the order of ``inputs``, or columns by name."""
    if isinstance(data, Mapping):
        missing = [v for v in inputs if v not in data]
        if missing:
            raise WorkbenchError(f"the data have no column for input {missing[0]}")
        x = np.stack([np.asarray(data[v], dtype=np.float64) for v in inputs], axis=1)
    else:
        x = np.asarray(data, dtype=np.float64)
    if graph is not None and scm is None:
        scm = fit_input_scm(x, inputs, graph, steps=scm_steps, seed=seed)
    grids = {v: default_grid(x[:, i], points) for i, v in enumerate(inputs)}
    return ace_curves(predictor, x, inputs, scm, grids, method=method, seed=seed)
