"""Node mechanisms: one conditional generative model per node, all with one interface.

>>> from core.graph import Node
>>> m = make_mechanism(Node("Y", "binary"), [Node("X", "continuous")], preset="quick")
>>> m.kind, mechanism_from_config(m.config).kind
('categorical', 'categorical')

Kinds (``Mechanism.kind``):

=============  =====================  ==========================================================
kind           node types             model; noise; abduction
=============  =====================  ==========================================================
categorical    binary, categorical    classifier + Gumbel-max; Gumbel vector; posterior sampling
continuous     continuous             zuko spline flow; N(0,1) scalar; exact inversion
diffusion      image                  diffusers U-Net, DDPM/DDIM; x_T; DDIM inversion (approx.)
vae            image                  conditional VAE + residual, flow prior p(z|pa); (eps, u); exact
latent_flow    image                  autoencoder + rectified flow in its latent; (u, r); exact
=============  =====================  ==========================================================

Default for image nodes: ``latent_flow``.  Measured on this project's 2-core CPU (bf16 autocast on
its matrix units): an image node of 32x32 or 64x64 trains in about ten minutes with the quick
preset, autoencoder included, where the pixel-space diffusion model needs about an hour at 28x28;
its abduction is exact (composition 0 on the 0-255 scale at m = 1 and 10) and its counterfactuals
keep the digit and follow do(thickness = 1.5) to a thickness MAE of 0.11
(``benchmarks/results/morpho_counterfactuals_32_latent_flow.txt``).  ``vae`` trains fastest at
16x16; ``diffusion`` is the sharpest sampler when a GPU is at hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.base import Mechanism, best_device, default_preset
from core.mechanisms.categorical import CategoricalMechanism
from core.mechanisms.continuous import ContinuousMechanism
from core.mechanisms.convert import to_numpy, to_tensor
from core.mechanisms.encoders import ParentEncoder
from core.mechanisms.vae import VAEImageMechanism


class _Kinds(Mapping[str, type[Mechanism]]):
    """kind -> mechanism class, importing a module the first time its kind is asked for: the
    diffusion kind pulls in diffusers (seconds and ~160 MiB), which an app whose image nodes are all
    VAEs never needs."""

    def __init__(self, classes: Mapping[str, type[Mechanism] | tuple[str, str]]) -> None:
        self._classes = dict(classes)

    def __getitem__(self, kind: str) -> type[Mechanism]:
        cls = self._classes[kind]
        if isinstance(cls, tuple):
            module, name = cls
            cls = self._classes[kind] = getattr(importlib.import_module(module), name)
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)


KINDS: Mapping[str, type[Mechanism]] = _Kinds({
    "categorical": CategoricalMechanism,
    "continuous": ContinuousMechanism,
    "diffusion": ("core.mechanisms.diffusion", "DiffusionImageMechanism"),
    "vae": VAEImageMechanism,
    "latent_flow": ("core.mechanisms.latent_flow", "LatentFlowImageMechanism"),
})


def __getattr__(name: str) -> Any:
    if name == "DiffusionImageMechanism":
        return KINDS["diffusion"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# which kinds can model which node type; the first is the default
KINDS_FOR_TYPE: dict[str, tuple[str, ...]] = {
    "binary": ("categorical",),
    "categorical": ("categorical",),
    "continuous": ("continuous",),
    "image": ("latent_flow", "vae", "diffusion"),
}


def default_kind(node: Node) -> str:
    return KINDS_FOR_TYPE[node.type][0]


def make_mechanism(
    node: Node,
    parent_nodes: Sequence[Node],
    kind: str | None = None,
    preset: str | None = None,
    device: Any = None,
    seed: int | None = None,
    **overrides: Any,
) -> Mechanism:
    """A fresh mechanism for ``node`` given its parents.

    ``kind`` defaults by node type (see the module docstring); ``preset`` defaults to
    ``default_preset(device)``; ``overrides`` replace config keys (nested dicts merge one level).
    With ``seed`` the initial weights come from it, and torch's global generator is left as it was;
    without, they are drawn from the global generator.
    """
    kind = kind or default_kind(node)
    if kind not in KINDS:
        raise WorkbenchError(f"unknown mechanism kind {kind!r} (one of {', '.join(KINDS)})")
    if kind not in KINDS_FOR_TYPE[node.type]:
        raise WorkbenchError(
            f"node {node.name} is {node.type}: use mechanism kind {' or '.join(KINDS_FOR_TYPE[node.type])}, not {kind}"
        )
    preset = preset or default_preset(device)
    if seed is None:
        mech = KINDS[kind].build(node, list(parent_nodes), preset=preset, **overrides)
    else:
        with torch.random.fork_rng(devices=[]):  # weights are built on the CPU, then moved
            torch.manual_seed(seed)
            mech = KINDS[kind].build(node, list(parent_nodes), preset=preset, **overrides)
    return mech.to(device) if device is not None else mech


def mechanism_from_config(config: Mapping[str, Any]) -> Mechanism:
    """Rebuild an untrained mechanism from its JSON config (then load its safetensors state dict)."""
    if not isinstance(config, Mapping) or config.get("kind") not in KINDS:
        got = config.get("kind") if isinstance(config, Mapping) else config
        raise WorkbenchError(f"mechanism config has unknown kind {got!r} (one of {', '.join(KINDS)})")
    return KINDS[config["kind"]].from_config(config)


__all__ = [
    "KINDS",
    "KINDS_FOR_TYPE",
    "CategoricalMechanism",
    "ContinuousMechanism",
    "DiffusionImageMechanism",
    "Mechanism",
    "ParentEncoder",
    "VAEImageMechanism",
    "best_device",
    "default_kind",
    "default_preset",
    "make_mechanism",
    "mechanism_from_config",
    "to_numpy",
    "to_tensor",
]
