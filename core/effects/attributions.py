"""Causal attributions of a predictor: ACE curves of each input (total, direct, indirect), AHCE-style
ante-hoc training, and scores against ground truth.

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

Scores: RMSE and discrete Frechet distance between an estimated and a true curve after min-max
scaling by the TRUE curves' range (shared by the three curves of one input, so a flat true curve,
e.g. a zero direct effect, is not blown up into noise).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import ADMG, Node

KINDS = ("total", "direct", "indirect")

# --------------------------------------------------------------------------------------------------
# Networks


_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "elu": nn.ELU}


class MLP(nn.Module):
    """``d_in -> hidden... -> d_out`` with one activation; output squeezed to (n,) when d_out == 1."""

    def __init__(self, d_in: int, hidden: Sequence[int] = (64, 64), d_out: int = 1, activation: str = "silu") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise WorkbenchError(f"unknown activation {activation!r} (one of {', '.join(_ACTIVATIONS)})")
        layers: list[nn.Module] = []
        d = d_in
        for h in hidden:
            layers += [nn.Linear(d, int(h)), _ACTIVATIONS[activation]()]
            d = int(h)
        layers.append(nn.Linear(d, d_out))
        self.net = nn.Sequential(*layers)
        self.d_out = d_out

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return out.squeeze(-1) if self.d_out == 1 else out


class InputSCM(nn.Module):
    """Additive-noise structural equations among a predictor's inputs: ``x_v = g_v(pa_v) + u_v``.

    ``graph`` is a DAG over (at least) the inputs; edges from other nodes are ignored.  Roots have
    ``g_v = 0`` (their noise is their value).  Abduction is exact for additive noise: ``u = x - g(pa)``.
    """

    def __init__(
        self,
        inputs: Sequence[str],
        graph: ADMG,
        hidden: Sequence[int] = (32, 32),
        x_mean: Sequence[float] | None = None,
        x_std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.inputs = list(inputs)
        graph.check_nodes(self.inputs, "input SCM")
        sub = graph.subgraph(self.inputs)
        if sub.bidirected:
            a, b = sub.bidirected[0]
            raise WorkbenchError(f"the inputs' graph has a hidden confounder ({a} <-> {b}): the input SCM needs a DAG")
        self.graph = sub
        self.col = {v: i for i, v in enumerate(self.inputs)}
        self.order = list(sub.topological_order())
        self.parents = {v: [p for p in self.inputs if p in sub.parents(v)] for v in self.inputs}
        self.eq = nn.ModuleDict({v: MLP(len(self.parents[v]), hidden, 1) for v in self.inputs if self.parents[v]})
        # The equations work on standardised columns (well-conditioned training); callers see raw units.
        d = len(self.inputs)
        self.register_buffer("x_mean", torch.as_tensor(np.zeros(d) if x_mean is None else np.asarray(x_mean), dtype=torch.float32))
        self.register_buffer("x_std", torch.as_tensor(np.ones(d) if x_std is None else np.asarray(x_std), dtype=torch.float32))

    def mean(self, v: str, x: Tensor) -> Tensor:
        """g_v(pa_v) evaluated on the (raw) columns of ``x``; 0 for a root."""
        if v not in self.eq:
            return torch.zeros(x.shape[:-1], dtype=x.dtype)
        k = self.col[v]
        cols = [self.col[p] for p in self.parents[v]]
        z = (x[..., cols] - self.x_mean[cols]) / self.x_std[cols]
        return self.eq[v](z) * self.x_std[k] + self.x_mean[k]

    def loss(self, x: Tensor) -> Tensor:
        """Sum over equations of the mean squared standardised residual."""
        out = x.new_zeros(())
        for v in self.eq:
            k = self.col[v]
            out = out + (((x[:, k] - self.mean(v, x)) / self.x_std[k]) ** 2).mean()
        return out

    def abduct(self, x: Tensor) -> Tensor:
        return torch.stack([x[..., self.col[v]] - self.mean(v, x) for v in self.inputs], dim=-1)

    def intervene(self, x: Tensor, target: str, values: Tensor) -> Tensor:
        """Counterfactual inputs under do(target = values) (values broadcast over leading dims):
        descendants regenerated with each unit's abducted noise, everything else kept."""
        u = self.abduct(x)
        out = [x[..., k] for k in range(x.shape[-1])]
        out[self.col[target]] = values.expand(x.shape[:-1]).to(x.dtype)
        below = self.graph.descendants([target]) - {target}
        for v in self.order:
            if v in below:
                cur = torch.stack(out, dim=-1)
                out[self.col[v]] = self.mean(v, cur) + u[..., self.col[v]]
        return torch.stack(out, dim=-1)


class SCMInputs:
    """Any SCM with ``counterfactual_samples(units, do)`` (a trained ``core.scm.NeuralSCM``, a world)
    as the inputs' SCM of :func:`ace_curves`: under do(x_i = a) each data unit is re-run with its own
    abducted noise, so descendants of x_i are regenerated through every node of the SCM, inputs or
    not.  ``columns`` holds every node of the SCM, row-aligned with the data passed to ace_curves."""

    def __init__(self, scm: Any, columns: Mapping[str, np.ndarray], inputs: Sequence[str]) -> None:
        self.scm = scm
        self.columns = {k: np.asarray(v) for k, v in columns.items()}
        self.inputs = list(inputs)
        missing = [v for v in self.inputs if v not in self.columns]
        if missing:
            raise WorkbenchError(f"the SCM's columns lack input {missing[0]}")

    def intervene_rows(self, rows: np.ndarray, target: str, grid: np.ndarray) -> Tensor:
        """Inputs of data rows ``rows`` under do(target = a) for each a in the grid: (G, n, d)."""
        units = {k: v[rows] for k, v in self.columns.items()}
        out = []
        for a in np.asarray(grid):
            cf = self.scm.counterfactual_samples(units, {target: a.item()})
            out.append(np.stack([np.asarray(cf[v] if v in cf else units[v], np.float32) for v in self.inputs], -1))
        return torch.from_numpy(np.stack(out))


# --------------------------------------------------------------------------------------------------
# ACE curves


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

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def centred(curve: np.ndarray) -> np.ndarray:
    """ACE: the curve minus its baseline (its mean over the grid)."""
    return np.asarray(curve, dtype=np.float64) - float(np.mean(curve))


def default_grid(x: np.ndarray, points: int = 40, lo_q: float = 0.025, hi_q: float = 0.975) -> np.ndarray:
    """``points`` values spanning the central 95% of an input's observed values."""
    lo, hi = np.quantile(np.asarray(x, dtype=np.float64), [lo_q, hi_q])
    return np.linspace(lo, hi, points)


def _batched_mean(f: Callable[[Tensor], Tensor], x: Tensor, chunk: int = 65536) -> Tensor:
    """Mean of f over the second-to-last dim for inputs shaped (G, n, d), in chunks of rows."""
    g, n, d = x.shape
    flat = x.reshape(-1, d)
    outs = [f(flat[s : s + chunk]).reshape(-1) for s in range(0, len(flat), chunk)]
    return torch.cat(outs).reshape(g, n).mean(dim=1)


def kernel_regression(x: np.ndarray, y: np.ndarray, grid: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Nadaraya-Watson estimate of E[y | x = a] on the grid, Gaussian kernel, Silverman's bandwidth."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    h = bandwidth or 1.06 * float(np.std(x)) * len(x) ** (-1 / 5)
    out = np.empty(len(grid))
    for k, a in enumerate(grid):
        w = np.exp(-0.5 * ((x - a) / h) ** 2)
        out[k] = float(w @ y / max(w.sum(), 1e-300))
    return out


def as_function(predictor: Any) -> Callable[[Tensor], Tensor]:
    """A torch module or function over an (n, d) float tensor, returning (n,) outputs."""
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


@torch.no_grad()
def ace_curves(
    predictor: Any,
    data: np.ndarray,
    inputs: Sequence[str],
    scm: InputSCM | None,
    grids: Mapping[str, np.ndarray] | None = None,
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


# --------------------------------------------------------------------------------------------------
# Scores


def scale_by_truth(truths: Sequence[np.ndarray]) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A min-max scaler fixed by the true curves' joint range: returns scale(estimate, truth)."""
    lo = min(float(np.min(t)) for t in truths)
    hi = max(float(np.max(t)) for t in truths)
    span = hi - lo if hi > lo else 1.0

    def scale(est: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(est) - lo) / span, (np.asarray(truth) - lo) / span

    return scale


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def frechet_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Discrete Frechet distance between polylines p (n, k) and q (m, k) (Eiter & Mannila 1994):
    ``c(i, j) = max(d(p_i, q_j), min(c(i-1, j), c(i-1, j-1), c(i, j-1)))``, answer ``c(n-1, m-1)``.
    1-D inputs are treated as curves over an evenly spaced abscissa in [0, 1]."""
    p, q = _as_polyline(p), _as_polyline(q)
    d = np.sqrt(((p[:, None, :] - q[None, :, :]) ** 2).sum(-1))
    n, m = d.shape
    c = np.empty((n, m))
    c[0, 0] = d[0, 0]
    for i in range(1, n):
        c[i, 0] = max(c[i - 1, 0], d[i, 0])
    for j in range(1, m):
        c[0, j] = max(c[0, j - 1], d[0, j])
    for i in range(1, n):
        for j in range(1, m):
            c[i, j] = max(d[i, j], min(c[i - 1, j], c[i - 1, j - 1], c[i, j - 1]))
    return float(c[-1, -1])


def _as_polyline(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        return np.stack([np.linspace(0, 1, len(p)), p], axis=1)
    return p


def score_curves(estimated: Mapping[str, Curves], truth: Mapping[str, Curves]) -> dict[str, dict[str, dict[str, float]]]:
    """{input: {kind: {"rmse": .., "frechet": ..}}} after scaling by the true curves' range."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, t in truth.items():
        e = estimated[name]
        scale = scale_by_truth([t.get(k) for k in KINDS])
        out[name] = {}
        for k in KINDS:
            se, st = scale(e.get(k), t.get(k))
            out[name][k] = {"rmse": rmse(se, st), "frechet": frechet_distance(se, st)}
    return out


def mean_scores(scores: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Average each (kind, metric) over inputs."""
    return {
        k: {m: float(np.mean([scores[i][k][m] for i in scores])) for m in ("rmse", "frechet")} for k in KINDS
    }


# --------------------------------------------------------------------------------------------------
# The anchor's synthetic task (AHCE): w -> z -> x, w -> x; z, x -> y


@dataclass
class SyntheticTask:
    """``w = U(-1, 1) + s e_w``, ``z = w / 2 + s e_z``, ``x = -z - w + s e_x``,
    ``y = x^3 + log(z^2 + 1e-5) + s_y e_y`` with standard normal e's.  Inputs (w, z, x); the true
    predictor is ``E[y | w, z, x] = x^3 + log(z^2 + 1e-5)`` and the true input SCM is the equations."""

    noise: float = 0.5
    y_noise: float = 0.1
    inputs: tuple[str, ...] = ("w", "z", "x")

    @property
    def graph(self) -> ADMG:
        return ADMG(
            [Node(v, "continuous") for v in (*self.inputs, "y")],
            directed=[("w", "z"), ("w", "x"), ("z", "x"), ("x", "y"), ("z", "y")],
        )

    def noise_draw(self, n: int, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {
            "w": rng.uniform(-1, 1, n) + self.noise * rng.standard_normal(n),
            "z": self.noise * rng.standard_normal(n),
            "x": self.noise * rng.standard_normal(n),
            "y": self.y_noise * rng.standard_normal(n),
        }

    def run(self, u: Mapping[str, np.ndarray], do: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
        do = dict(do or {})
        w = do.get("w", u["w"])
        z = do.get("z", np.asarray(w) / 2 + u["z"])
        x = do.get("x", -np.asarray(z) - np.asarray(w) + u["x"])
        return {"w": w, "z": z, "x": x, "y": self.true_f(z, x) + u["y"]}

    @staticmethod
    def true_f(z: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.asarray(x) ** 3 + np.log(np.asarray(z) ** 2 + 1e-5)

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (n, 3) in order w, z, x; outputs y (n,))."""
        v = self.run(self.noise_draw(n, seed))
        return np.stack([v[k] for k in self.inputs], axis=1), v["y"]

    def true_curves(self, grids: Mapping[str, np.ndarray], n: int = 100_000, seed: int = 12345) -> dict[str, Curves]:
        """Ground-truth ACE curves from the true equations (Monte Carlo over P(U), common noise)."""
        u = self.noise_draw(n, seed)
        obs = self.run(u)
        out = {}
        for name in self.inputs:
            grid = np.asarray(grids[name], dtype=np.float64)
            total, direct = np.empty(len(grid)), np.empty(len(grid))
            for k, a in enumerate(grid):
                v = self.run(u, {name: np.full(n, a)})
                total[k] = self.true_f(v["z"], v["x"]).mean()
                d = {**obs, name: np.full(n, a)}
                direct[k] = self.true_f(d["z"], d["x"]).mean()
            total, direct = centred(total), centred(direct)
            o = centred(kernel_regression(obs[name][:20000], self.true_f(obs["z"], obs["x"])[:20000], grid))
            out[name] = Curves(name, grid, total, direct, total - direct, o)
        return out


# --------------------------------------------------------------------------------------------------
# One of our worlds: ground truth from the world's own do()


def image_ink(images: np.ndarray) -> np.ndarray:
    """Mean pixel value (0..255) of each uint8 image (n, C, H, W): how much ink it carries."""
    x = np.asarray(images)
    return x.reshape(len(x), -1).astype(np.float64).mean(axis=1)


@dataclass
class WorldTask:
    """A predictor task on a ground-truth world: inputs are some scalar nodes, the target is a known
    function of the world's columns (``target(columns) -> (n,)``).  ``graph`` is the inputs' DAG plus
    a ``target_name`` node whose parents are the inputs that cause the target.

    Ground truth never comes from a model: with units ``u`` drawn once (common random numbers),

    * total:  ``T_i(a) = mean_u target(world under do(x_i = a))`` -- the world regenerates every
      descendant of x_i (inputs and the rest) with the unit's own noise;
    * direct: ``D_i(a) = mean_u target(world under do(x_i = a, x_j = x_j(u) for every other input j))``:
      the other inputs keep their observational (factual) values, non-inputs their noise;
    * observational: kernel regression of the target on x_i over the units.

    Because the target's other causes (noise, non-input nodes) are independent of the inputs, these
    equal the curves of the Bayes predictor ``E[target | inputs]``, which the trained predictors aim at."""

    world: Any
    inputs: tuple[str, ...]
    target: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    graph: ADMG
    target_name: str = "target"
    description: str = ""

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (n, d) in the order of ``inputs``; targets (n,))."""
        v = self.world.sample(n, seed).values
        return np.stack([np.asarray(v[k], np.float64) for k in self.inputs], axis=1), self.target(v)

    def true_curves(self, grids: Mapping[str, np.ndarray], n: int = 10_000, seed: int = 12345) -> dict[str, Curves]:
        return world_true_curves(self.world, self.inputs, self.target, grids, n, seed)


def world_true_curves(
    world: Any,
    inputs: Sequence[str],
    target: Callable[[Mapping[str, np.ndarray]], np.ndarray],
    grids: Mapping[str, np.ndarray],
    n: int = 10_000,
    seed: int = 12345,
) -> dict[str, Curves]:
    """Ground-truth ACE curves from a world's own mechanisms (see :class:`WorldTask`)."""
    units = world.sample(n, seed)
    obs = units.values
    y_obs = np.asarray(target(obs), np.float64)
    out: dict[str, Curves] = {}
    for name in inputs:
        grid = np.asarray(grids[name], dtype=np.float64)
        others = {v: np.asarray(obs[v]) for v in inputs if v != name}
        total, direct = np.empty(len(grid)), np.empty(len(grid))
        for k, a in enumerate(grid):
            total[k] = np.mean(target(world.counterfactual_samples(units, {name: float(a)}).values))
            direct[k] = np.mean(target(world.counterfactual_samples(units, {name: float(a), **others}).values))
        total, direct = centred(total), centred(direct)
        o = centred(kernel_regression(np.asarray(obs[name], np.float64), y_obs, grid))
        out[name] = Curves(name, grid, total, direct, total - direct, o)
    return out


def morpho_ink_task(size: int = 28) -> WorldTask:
    """Morpho digits (``thickness -> intensity``; both, the digit and the hand -> image): predict the
    image's ink (mean pixel value, 0..255) from (thickness, intensity).  Thickness acts directly
    (wider strokes) and through intensity (thicker digits are drawn brighter); intensity only
    directly.  Both inputs cause the target, so the no-direct-effect regulariser has nothing to do
    here: the comparison is about the learned input SCM and the direct-only reading."""
    from core.worlds.morpho_digits import MorphoDigits

    world = MorphoDigits(size=size)
    inputs = ("thickness", "intensity")
    graph = ADMG(
        [Node(v, "continuous") for v in (*inputs, "ink")],
        directed=[("thickness", "intensity"), ("thickness", "ink"), ("intensity", "ink")],
    )
    return WorldTask(world, inputs, lambda v: image_ink(v["image"]), graph, "ink",
                     f"morpho_digits {size}x{size}: ink = mean pixel value of the image, from (thickness, intensity)")


# --------------------------------------------------------------------------------------------------
# Training: a plain predictor, and AHCE-style ante-hoc training


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


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(0), x.std(0) + 1e-8


class Standardised(nn.Module):
    """``f(x) = net((x - mean) / std) * y_std + y_mean``: training is well conditioned, the module
    still takes raw inputs and gives raw outputs (so effects are in the data's units)."""

    def __init__(self, net: nn.Module, x_mean, x_std, y_mean: float, y_std: float) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("x_mean", torch.as_tensor(np.asarray(x_mean), dtype=torch.float32))
        self.register_buffer("x_std", torch.as_tensor(np.asarray(x_std), dtype=torch.float32))
        self.register_buffer("y_mean", torch.tensor(float(y_mean)))
        self.register_buffer("y_std", torch.tensor(float(y_std)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean


def train_predictor(
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig | None = None,
    inputs: Sequence[str] | None = None,
    graph: ADMG | None = None,
    outcome: str | None = None,
    progress: Callable[[int, float], Any] | None = None,
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
    (The published AHCE trains lateral input connections in two phases; this is our single-phase
    variant with the regulariser above.)

    Returns (predictor on raw inputs, the learned input SCM or None, loss history)."""
    cfg = config or TrainConfig()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32).reshape(-1)
    if len(x) != len(y) or x.ndim != 2:
        raise WorkbenchError(f"inputs {x.shape} and outputs {y.shape} do not match")
    xm, xs = _standardise(x)
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
                loss = loss + cfg.causal_weight * _direct_regulariser(f, xt, non_parents, cfg.reg_batch, rng, ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(loss.detach()))
        if progress is not None and step % 100 == 0:
            progress(step, history[-1])
    f.eval()
    return f, scm, history


def _direct_regulariser(f: nn.Module, x: Tensor, columns: Sequence[int], batch: int, rng: np.random.Generator, ys: float) -> Tensor:
    """Mean squared change of f when a non-parent column is replaced by an independent draw."""
    idx = torch.from_numpy(rng.integers(0, len(x), batch))
    base = x[idx]
    out = base.new_zeros(())
    for k in columns:
        moved = base.clone()
        moved[:, k] = x[torch.from_numpy(rng.integers(0, len(x), batch)), k]
        out = out + (((f(moved) - f(base)) / ys) ** 2).mean()
    return out


def fit_input_scm(x: np.ndarray, inputs: Sequence[str], graph: ADMG, steps: int = 1500, seed: int = 0) -> InputSCM:
    """Fit the input SCM alone (post-hoc attributions of an existing predictor)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float32)
    m, s = _standardise(x)
    xt = torch.from_numpy(x)
    scm = InputSCM(inputs, graph, x_mean=m, x_std=s)
    if not scm.eq:
        return scm
    opt = torch.optim.Adam(scm.parameters(), lr=3e-3)
    for _ in range(steps):
        xb = xt[torch.from_numpy(rng.integers(0, len(x), 256))]
        loss = scm.loss(xb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return scm.eval()


def explain_predictor(
    predictor: Any,
    data: Mapping[str, np.ndarray] | np.ndarray,
    inputs: Sequence[str],
    graph: ADMG | None,
    scm: InputSCM | None = None,
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


# --------------------------------------------------------------------------------------------------
# Loading a user's predictor: safetensors weights + a small JSON architecture spec


def predictor_spec(module: MLP | Standardised, inputs: Sequence[str]) -> dict[str, Any]:
    """The JSON spec that :func:`load_predictor` rebuilds the module from."""
    net = module.net if isinstance(module, Standardised) else module
    if not isinstance(net, MLP):
        raise WorkbenchError("only MLP predictors have a spec")
    linears = [m for m in net.net if isinstance(m, nn.Linear)]
    act = next((k for k, c in _ACTIVATIONS.items() for m in net.net if type(m) is c), "silu")
    return {
        "kind": "mlp",
        "inputs": list(inputs),
        "hidden": [m.out_features for m in linears[:-1]],
        "activation": act,
        "standardised": isinstance(module, Standardised),
    }


def save_predictor(module: nn.Module, inputs: Sequence[str], folder: str | Path) -> None:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = predictor_spec(module, inputs)
    tmp = folder / "predictor.safetensors.tmp"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp))
    tmp.replace(folder / "predictor.safetensors")
    (folder / "predictor.json.tmp").write_text(json.dumps(spec, indent=1))
    (folder / "predictor.json.tmp").replace(folder / "predictor.json")


def load_predictor(folder: str | Path) -> tuple[nn.Module, list[str]]:
    """(module, input names) from ``predictor.json`` + ``predictor.safetensors`` (no unpickling)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    spec_path, weights = folder / "predictor.json", folder / "predictor.safetensors"
    for p in (spec_path, weights):
        if not p.is_file():
            raise WorkbenchError(f"predictor file {p} is missing")
    try:
        spec = json.loads(spec_path.read_text())
    except json.JSONDecodeError as e:
        raise WorkbenchError(f"{spec_path} is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(spec, dict) or spec.get("kind") != "mlp":
        raise WorkbenchError(f"{spec_path}: unknown predictor kind {spec.get('kind') if isinstance(spec, dict) else spec!r}")
    inputs = spec.get("inputs")
    hidden = spec.get("hidden", [])
    if not isinstance(inputs, list) or not inputs or not all(isinstance(h, int) and h > 0 for h in hidden):
        raise WorkbenchError(f"{spec_path}: needs 'inputs' (a list of names) and 'hidden' (positive layer widths)")
    net = MLP(len(inputs), hidden, 1, spec.get("activation", "silu"))
    module: nn.Module = (
        Standardised(net, np.zeros(len(inputs)), np.ones(len(inputs)), 0.0, 1.0) if spec.get("standardised") else net
    )
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise WorkbenchError(f"{weights} is not a readable safetensors file ({str(e).splitlines()[0]})") from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise WorkbenchError(f"{weights} does not fit the architecture in {spec_path.name} ({str(e).splitlines()[0]})") from None
    return module.eval(), list(inputs)


def finite_or_nan(x: float) -> float:
    return x if math.isfinite(x) else float("nan")
