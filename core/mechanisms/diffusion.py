"""Image nodes: a conditional diffusion model (diffusers UNet2DModel, built from a config, never a hub).

Training is DDPM epsilon prediction: ``t ~ U{0..T-1}``, ``x_t = sqrt(a_t) x + sqrt(1 - a_t) e``,
loss ``|| e - eps(x_t, t, pa) ||^2``.  Conditioning: image parents are resized to this node's size and
concatenated as extra input channels; scalar parents form a vector ``c`` (one-hot / standardised /
CNN features) and ``class_labels = mlp(c)`` is added to the time embedding (``class_embed_type=
"identity"``).

Structural equation: ``V = DDIM_decode(x_T; pa)`` with ``x_T ~ N(0, I)`` (eta = 0, deterministic), so
the noise is ``x_T`` (shape (B, C, H, W)).  Abduction is DDIM inversion of the observed image under its
factual parents; a counterfactual decodes the same ``x_T`` under new parents (Diff-SCM / DCM).
Inversion is approximate (it assumes eps changes little between adjacent steps): reconstructions are
close, not exact — use the VAE mechanism where the null intervention must return the image exactly.

Classifier-free guidance is available (``cond_dropout`` > 0 while training, ``guidance_scale`` != 1
when sampling) but off by default, so samples are faithful draws of P(V | pa):
``eps = eps(x, t, null) + w (eps(x, t, pa) - eps(x, t, null))``, null = zero embedding, zero channels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, UNet2DModel
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.base import Mechanism, Parents, batch_size_of, check_preset, merged_config, randn
from core.mechanisms.encoders import image_mechanism_encoder
from core.mechanisms.precision import training_attention
from core.mechanisms.samplers import ddim_invert, ddim_sample, ddim_scheduler

# Sized for a CPU: at 16x16, (32, 64) channels and no attention train to recognisable digits in about
# 7-10 minutes on two cores; at 28/32, attention only at the lowest resolution.
UNET_QUICK_16 = {
    "block_out_channels": [32, 64], "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"],
    "add_attention": False, "norm_num_groups": 8,
}
UNET_QUICK_LARGE = {
    "block_out_channels": [32, 64, 64], "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
    "add_attention": True, "norm_num_groups": 8, "attention_head_dim": 8,
}
UNET_FULL = {
    "block_out_channels": [64, 128, 256], "layers_per_block": 2,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
    "add_attention": True, "norm_num_groups": 32, "attention_head_dim": 32,
}

COMMON = {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "cond_dropout": 0.0, "guidance_scale": 1.0}
PRESET_CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {**COMMON, "sample_steps": 25, "inversion_steps": 25, "image_features": 16, "image_vector": 64,
              "train": {"steps": 2000, "batch_size": 64, "lr": 5e-4}},
    "full": {**COMMON, "sample_steps": 50, "inversion_steps": 50, "image_features": 32, "image_vector": 128,
             "train": {"steps": 20000, "batch_size": 128, "lr": 2e-4}},
}


def unet_for(shape: Sequence[int], preset: str) -> dict[str, Any]:
    """The preset's U-Net layout for an image of this (C, H, W)."""
    if preset == "full":
        return dict(UNET_FULL)
    return dict(UNET_QUICK_16 if max(shape[1:]) <= 16 else UNET_QUICK_LARGE)


class DiffusionImageMechanism(Mechanism):
    kind = "diffusion"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        if self.node.type != "image":
            raise WorkbenchError(f"a diffusion mechanism models an image node, not {self.node.type} {self.node.name}")
        c = self.config
        ch, h, w = self.node.shape
        unet = dict(c["unet"])
        down = 2 ** (len(unet["block_out_channels"]) - 1)
        if h % down or w % down:
            raise WorkbenchError(
                f"image node {self.node.name} is {h}x{w}; this U-Net needs height and width divisible by {down}"
            )
        self.encoder = image_mechanism_encoder(self.parent_nodes, (h, w), c)
        temb = int(unet["block_out_channels"][0]) * 4
        has_vector = self.encoder.vector_dim > 0
        self.unet = UNet2DModel(
            sample_size=(h, w),
            in_channels=ch + self.encoder.channel_dim,
            out_channels=ch,
            class_embed_type="identity" if has_vector else None,
            **{k: tuple(v) if isinstance(v, list) else v for k, v in unet.items()},
        )
        self.cond_mlp = (
            nn.Sequential(nn.Linear(self.encoder.vector_dim, temb), nn.SiLU(), nn.Linear(temb, temb)) if has_vector else None
        )
        self.train_scheduler = DDPMScheduler(
            num_train_timesteps=int(c["num_train_timesteps"]), beta_schedule=c["beta_schedule"]
        )
        self.ddim = ddim_scheduler(int(c["num_train_timesteps"]), c["beta_schedule"])

    @classmethod
    def build(
        cls, node: Node, parents: Sequence[Node], preset: str | None = None, **overrides: Any
    ) -> DiffusionImageMechanism:
        preset = check_preset(preset)
        base = {
            "kind": cls.kind, "node": node.to_json(), "parents": [p.to_json() for p in parents], "preset": preset,
            "unet": unet_for(node.shape, preset),
        }
        return cls(merged_config({**base, **PRESET_CONFIGS[preset]}, overrides))

    def prepare(self, parents: Parents, values: Tensor) -> None:
        self.encoder.prepare(dict(parents))

    # ---- the denoiser with its conditioning

    def condition(self, parents: Parents, n: int) -> tuple[Tensor | None, Tensor | None]:
        """(class_labels for the time embedding, extra input channels) for these parents."""
        self.check_parents(parents)
        n = batch_size_of(parents, n)
        labels = self.cond_mlp(self.encoder.vector(dict(parents), n)) if self.cond_mlp is not None else None
        return labels, self.encoder.channels(dict(parents), n)

    def eps(self, x: Tensor, t: Tensor, labels: Tensor | None, maps: Tensor | None) -> Tensor:
        inp = x if maps is None else torch.cat([x, maps], dim=1)
        return self.unet(inp, t, class_labels=labels).sample

    def _guided_eps_fn(self, labels: Tensor | None, maps: Tensor | None):
        w = float(self.config.get("guidance_scale", 1.0))
        if w == 1.0 or (labels is None and maps is None):
            return lambda x, t: self.eps(x, t, labels, maps)
        null_labels = None if labels is None else torch.zeros_like(labels)
        null_maps = None if maps is None else torch.zeros_like(maps)

        def guided(x: Tensor, t: Tensor) -> Tensor:
            e_null = self.eps(x, t, null_labels, null_maps)
            return e_null + w * (self.eps(x, t, labels, maps) - e_null)

        return guided

    # ---- the interface

    def loss(self, parents: Parents, values: Tensor) -> Tensor:
        x = values.to(self.device).float()
        n = len(x)
        labels, maps = self.condition(parents, n)
        p = float(self.config.get("cond_dropout", 0.0))
        if p > 0:  # classifier-free guidance: sometimes train the unconditional model
            keep = (torch.rand(n, device=x.device) >= p).float()
            labels = None if labels is None else labels * keep[:, None]
            maps = None if maps is None else maps * keep[:, None, None, None]
        noise = torch.randn_like(x)
        t = torch.randint(0, self.train_scheduler.config.num_train_timesteps, (n,), device=x.device)
        x_t = self.train_scheduler.add_noise(x, noise, t)
        with training_attention(x.device):
            return F.mse_loss(self.eps(x_t, t, labels, maps), noise)

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return randn((n, *self.node.shape), generator, self.device)

    @torch.no_grad()
    def predict(self, parents: Parents, noise: Tensor, steps: int | None = None) -> Tensor:
        labels, maps = self.condition(parents, len(noise))
        steps = int(steps or self.config["sample_steps"])
        return ddim_sample(self._guided_eps_fn(labels, maps), noise.to(self.device).float(), self.ddim, steps)

    @torch.no_grad()
    def abduct(
        self, parents: Parents, values: Tensor, generator: torch.Generator | None = None, steps: int | None = None
    ) -> Tensor:
        labels, maps = self.condition(parents, len(values))
        steps = int(steps or self.config.get("inversion_steps") or self.config["sample_steps"])
        return ddim_invert(self._guided_eps_fn(labels, maps), values.to(self.device).float(), self.ddim, steps)
