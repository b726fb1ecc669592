"""The inputs' SCM: how intervening on one input of a predictor moves the others.

Either :class:`InputSCM`, additive-noise equations among the inputs learned from their data, or
:class:`SCMInputs`, any SCM over the data's units (a trained :class:`core.scm.NeuralSCM`) that
regenerates descendants through every node, inputs or not.  :func:`ace_curves` takes either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeAlias

import numpy as np
import torch
from torch import Tensor, nn

from core.effects.attributions.networks import MLP, column_stats
from core.errors import WorkbenchError
from core.graph import ADMG


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
        """Each unit's noise ``u_v = x_v - g_v(pa_v)``, in the order of ``inputs``."""
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


def fit_input_scm(x: np.ndarray, inputs: Sequence[str], graph: ADMG, *, steps: int = 1500, seed: int = 0) -> InputSCM:
    """Fit the input SCM alone (post-hoc attributions of an existing predictor): Adam on the
    equations' :meth:`InputSCM.loss` over batches of 256 rows drawn with replacement."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float32)
    m, s = column_stats(x)
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


class UnitCounterfactuals(Protocol):
    """An SCM that re-runs observed units under ``do`` with their own abducted noise
    (``core.scm.NeuralSCM.counterfactual_samples``)."""

    def counterfactual_samples(
        self, observed_units: Mapping[str, np.ndarray], do: Mapping[str, float]
    ) -> Mapping[str, np.ndarray]: ...


class SCMInputs:
    """An SCM over the data's units as the inputs' SCM of :func:`ace_curves`: under do(x_i = a) each
    data unit is re-run with its own abducted noise, so descendants of x_i are regenerated through
    every node of the SCM, inputs or not.  ``columns`` holds every node of the SCM, row-aligned with
    the data passed to ace_curves."""

    def __init__(self, scm: UnitCounterfactuals, columns: Mapping[str, np.ndarray], inputs: Sequence[str]) -> None:
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


InputsSCM: TypeAlias = InputSCM | SCMInputs | None
"""The inputs' SCM :func:`ace_curves` regenerates descendants with; None: the inputs are independent."""
