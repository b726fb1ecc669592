"""Continuous nodes: a conditional normalising flow (zuko neural spline flow, one feature).

With ``y`` standardised, ``y_s = (y - m) / s``, the flow is an invertible map ``T_c`` conditioned on
the parent vector ``c`` with ``T_c(y_s) ~ N(0, 1)``.  The structural equation is its inverse:

    V = m + s * T_c^{-1}(U),   U ~ N(0, 1)

so abduction is exact and deterministic, ``U = T_c((v - m) / s)``, and the likelihood is
``log p(v | pa) = log N(T_c(y_s); 0, 1) + log |dT_c/dy_s| - log s``.  The noise tensor has shape (B,).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import zuko
from torch import Tensor

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.base import Mechanism, Parents, batch_size_of, check_preset, merged_config, randn
from core.mechanisms.encoders import scalar_mechanism_encoder

PRESET_CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {
        "transforms": 3, "hidden": [64, 64], "bins": 8, "image_features": 16, "image_layout": "spatial",
        "train": {"steps": 2000, "batch_size": 256, "lr": 3e-3},
    },
    "full": {
        "transforms": 5, "hidden": [128, 128], "bins": 16, "image_features": 32, "image_layout": "spatial",
        "train": {"steps": 8000, "batch_size": 512, "lr": 1e-3},
    },
}


class ContinuousMechanism(Mechanism):
    kind = "continuous"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        if self.node.type != "continuous":
            raise WorkbenchError(f"a continuous mechanism models a continuous node, not {self.node.type} {self.node.name}")
        c = self.config
        self.encoder = scalar_mechanism_encoder(self.parent_nodes, c)
        self.flow = zuko.flows.NSF(
            features=1,
            context=self.encoder.vector_dim,
            transforms=int(c["transforms"]),
            hidden_features=tuple(int(h) for h in c["hidden"]),
            bins=int(c["bins"]),
        )
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))

    @classmethod
    def build(
        cls, node: Node, parents: Sequence[Node], preset: str | None = None, **overrides: Any
    ) -> ContinuousMechanism:
        preset = check_preset(preset)
        base = {"kind": cls.kind, "node": node.to_json(), "parents": [p.to_json() for p in parents], "preset": preset}
        return cls(merged_config({**base, **PRESET_CONFIGS[preset]}, overrides))

    @torch.no_grad()
    def prepare(self, parents: Parents, values: Tensor) -> None:
        self.encoder.prepare(dict(parents))
        v = values.double()
        self.y_mean.fill_(float(v.mean()))
        std = float(v.std()) if len(v) > 1 else 1.0
        self.y_std.fill_(std if std > 1e-8 else 1.0)

    def _transform(self, parents: Parents, n: int):
        """The conditional map T_c (standardised value -> noise) for a batch of parents."""
        self.check_parents(parents)
        if self.encoder.vector_dim == 0:
            return self.flow().transform
        return self.flow(self.encoder.vector(dict(parents), batch_size_of(parents, n))).transform

    def _standardise(self, values: Tensor) -> Tensor:
        return ((values.to(self.device).float() - self.y_mean) / self.y_std)[:, None]

    def log_prob(self, parents: Parents, values: Tensor) -> Tensor:
        t = self._transform(parents, len(values))
        u, ladj = t.call_and_ladj(self._standardise(values))
        base = -0.5 * u[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)
        return base + ladj.reshape(len(values)) - torch.log(self.y_std)

    def loss(self, parents: Parents, values: Tensor) -> Tensor:
        # negative log-likelihood of the standardised value (the constant log s does not train)
        return -(self.log_prob(parents, values) + torch.log(self.y_std)).mean()

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return randn((n,), generator, self.device)

    def predict(self, parents: Parents, noise: Tensor) -> Tensor:
        t = self._transform(parents, len(noise))
        ys = t.inv(noise.to(self.device).float()[:, None])[:, 0]
        return ys * self.y_std + self.y_mean

    @torch.no_grad()
    def abduct(self, parents: Parents, values: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self._transform(parents, len(values))(self._standardise(values))[:, 0]
