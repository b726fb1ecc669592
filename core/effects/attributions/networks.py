"""The small networks of the attributions: an MLP, and a wrapper that standardises its inputs and
outputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import WorkbenchError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "elu": nn.ELU}


class MLP(nn.Module):
    """``d_in -> hidden... -> d_out`` with one activation; output squeezed to (n,) when d_out == 1."""

    def __init__(self, d_in: int, hidden: Sequence[int] = (64, 64), d_out: int = 1, activation: str = "silu") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise WorkbenchError(f"unknown activation {activation!r} (one of {', '.join(ACTIVATIONS)})")
        layers: list[nn.Module] = []
        d = d_in
        for h in hidden:
            layers += [nn.Linear(d, int(h)), ACTIVATIONS[activation]()]
            d = int(h)
        layers.append(nn.Linear(d, d_out))
        self.net = nn.Sequential(*layers)
        self.d_out = d_out

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return out.squeeze(-1) if self.d_out == 1 else out


def column_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation (plus 1e-8, so constant columns divide safely)."""
    return x.mean(0), x.std(0) + 1e-8


class Standardised(nn.Module):
    """``f(x) = net((x - mean) / std) * y_std + y_mean``: training is well conditioned, the module
    still takes raw inputs and gives raw outputs (so effects are in the data's units)."""

    def __init__(
        self, net: nn.Module, x_mean: np.ndarray, x_std: np.ndarray, y_mean: float, y_std: float
    ) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("x_mean", torch.as_tensor(np.asarray(x_mean), dtype=torch.float32))
        self.register_buffer("x_std", torch.as_tensor(np.asarray(x_std), dtype=torch.float32))
        self.register_buffer("y_mean", torch.tensor(float(y_mean)))
        self.register_buffer("y_std", torch.tensor(float(y_std)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean
