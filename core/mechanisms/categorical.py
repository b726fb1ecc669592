"""Binary and categorical nodes: a classifier with Gumbel-max noise.

Model: logits ``l = net(pa)`` (an MLP on the parent vector; image parents through a small CNN), and
the structural equation ``V = argmax_k (l_k + g_k)`` with ``g_k`` i.i.d. standard Gumbel — which makes
``P(V = k | pa) = softmax(l)_k`` exactly.  The noise is the whole Gumbel vector ``g`` (shape (B, K)).

Abduction samples ``g ~ p(g | pa, V = v)`` by the top-down (truncated Gumbel) construction
(Maddison et al. 2014, "A* sampling"; Oberst & Sontag 2019, Gumbel-max SCMs):

    M   = logsumexp(l) + Gumbel(0, 1)          the max of the perturbed logits, at index v
    s_k = -log(exp(-M) + exp(-(l_k + G_k)))    k != v, G_k ~ Gumbel(0, 1): Gumbel(l_k) truncated below M
    g   = s - l,  with s_v = M

so ``argmax(l + g) = v`` and ``predict(pa, abduct(pa, v)) == v`` always.  Scores are kept a hair
(``1e-6 (1 + |M|)``) below ``M`` so float rounding of the logits cannot create a tie; the distortion
of the posterior is of that order.  Counterfactuals then re-use ``g`` under new logits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.base import Mechanism, Parents, batch_size_of, check_preset, merged_config, rand
from core.mechanisms.encoders import scalar_mechanism_encoder

PRESET_CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"hidden": 64, "layers": 2, "image_features": 16, "image_layout": "spatial", "train": {"steps": 1500, "batch_size": 256, "lr": 3e-3}},
    "full": {"hidden": 256, "layers": 3, "image_features": 32, "image_layout": "spatial", "train": {"steps": 5000, "batch_size": 256, "lr": 1e-3}},
}

# keep perturbed scores of the non-observed classes this far below the max, relative to |M|
_TIE_MARGIN = 1e-6


def gumbel(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Standard Gumbel draws, float64: ``-log(-log(U))``."""
    u = rand(shape, generator, device).clamp(1e-300, 1.0 - 1e-16)
    return -torch.log(-torch.log(u))


def truncated_gumbel_posterior(
    logits: Tensor, observed: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Gumbel noise ``g`` drawn from its posterior given ``argmax(logits + g) == observed``.

    ``logits`` (B, K) float64, ``observed`` (B,) int64.  See the module docstring for the math.
    """
    logits = logits.double()
    b, k = logits.shape
    top = torch.logsumexp(logits, dim=1) + gumbel((b,), generator, logits.device)  # (B,)
    others = logits + gumbel((b, k), generator, logits.device)
    scores = -torch.logaddexp(-top[:, None], -others)  # Gumbel(l_k) truncated to lie below top
    scores = torch.minimum(scores, (top - _TIE_MARGIN * (1.0 + top.abs()))[:, None])
    scores = scores.scatter(1, observed[:, None], top[:, None])
    return scores - logits


class CategoricalMechanism(Mechanism):
    kind = "categorical"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        if not self.node.is_discrete:
            raise WorkbenchError(f"a categorical mechanism models a binary/categorical node, not {self.node.type} {self.node.name}")
        c = self.config
        self.levels = int(self.node.levels)
        self.encoder = scalar_mechanism_encoder(self.parent_nodes, c)
        width_in = max(1, self.encoder.vector_dim)  # a root node sees one constant zero input
        layers: list[nn.Module] = []
        for _ in range(int(c["layers"])):
            layers += [nn.Linear(width_in, int(c["hidden"])), nn.SiLU()]
            width_in = int(c["hidden"])
        layers.append(nn.Linear(width_in, self.levels))
        self.net = nn.Sequential(*layers)

    @classmethod
    def build(
        cls, node: Node, parents: Sequence[Node], preset: str | None = None, **overrides: Any
    ) -> CategoricalMechanism:
        preset = check_preset(preset)
        base = {"kind": cls.kind, "node": node.to_json(), "parents": [p.to_json() for p in parents], "preset": preset}
        return cls(merged_config({**base, **PRESET_CONFIGS[preset]}, overrides))

    def prepare(self, parents: Parents, values: Tensor) -> None:
        self.encoder.prepare(dict(parents))

    def logits(self, parents: Parents, n: int | None = None) -> Tensor:
        """Unnormalised log-probabilities (B, K) of the node's classes given its parents."""
        self.check_parents(parents)
        b = batch_size_of(parents, n)
        vec = self.encoder.vector(dict(parents), b)
        if vec.shape[1] == 0:
            vec = torch.zeros(b, 1, device=vec.device)
        return self.net(vec)

    def _check_values(self, values: Tensor) -> Tensor:
        values = values.long().to(self.device)
        if values.numel() and (values.min() < 0 or values.max() >= self.levels):
            raise WorkbenchError(f"{self.node.name} values must lie in 0..{self.levels - 1}")
        return values

    def loss(self, parents: Parents, values: Tensor) -> Tensor:
        return F.cross_entropy(self.logits(parents, len(values)), self._check_values(values))

    def log_prob(self, parents: Parents, values: Tensor) -> Tensor:
        values = self._check_values(values)
        logp = torch.log_softmax(self.logits(parents, len(values)).double(), dim=1)
        return logp.gather(1, values[:, None])[:, 0]

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return gumbel((n, self.levels), generator, self.device)

    def predict(self, parents: Parents, noise: Tensor) -> Tensor:
        noise = noise.to(self.device).double()
        return (self.logits(parents, len(noise)).double() + noise).argmax(dim=1)

    @torch.no_grad()
    def abduct(self, parents: Parents, values: Tensor, generator: torch.Generator | None = None) -> Tensor:
        values = self._check_values(values)
        return truncated_gumbel_posterior(self.logits(parents, len(values)), values, generator)
