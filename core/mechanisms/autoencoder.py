"""A small deterministic image autoencoder: the latent space of the latent image mechanisms.

Encoder ``E: x (C, H, W) -> z (c_z, H/4, W/4)`` and decoder ``D: z -> x``, trained to reconstruct,

    loss(x) = mean (x - D(E(x)))^2 + l1 * mean |x - D(E(x))| + l2 * mean E(x)^2,

on the ``[-1, 1]`` pixel scale.  The small ``l2`` keeps the latent's scale bounded; the latent model
standardises it anyway (``LatentFlowImageMechanism.prepare``).

Cheap on a CPU by construction: the first layer is a 2x2 space-to-depth (``PixelUnshuffle``), so no
convolution ever runs at full resolution, and the decoder ends in the inverse ``PixelShuffle``.
Sides that are not multiples of 8 are reflect-padded up to one (28 -> 32) and cropped after decoding,
so the latent grid always halves cleanly inside a U-Net.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

MULTIPLE = 8  # padded sides are multiples of this: latent sides (side / 4) stay even


def _groups(channels: int) -> int:
    return 8 if channels % 8 == 0 else 1


class ResBlock(nn.Module):
    """``x + conv(silu(norm(conv(silu(norm(x))))))``: a pre-activation residual block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(_groups(channels), channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(_groups(channels), channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ImageAutoencoder(nn.Module):
    """``E`` and ``D`` for images of ``shape`` (C, H, W); the latent is ``latent_channels`` x H/4 x W/4
    (of the padded side).  ``widths`` are the channels at half and quarter resolution."""

    def __init__(self, shape: Sequence[int], latent_channels: int = 4, widths: Sequence[int] = (48, 96),
                 blocks: int = 1) -> None:
        super().__init__()
        ch, h, w = (int(s) for s in shape)
        self.shape = (ch, h, w)
        self.padded = (math.ceil(h / MULTIPLE) * MULTIPLE, math.ceil(w / MULTIPLE) * MULTIPLE)
        self.latent_shape = (int(latent_channels), self.padded[0] // 4, self.padded[1] // 4)
        w1, w2 = (int(v) for v in widths)
        self.encoder = nn.Sequential(
            nn.PixelUnshuffle(2),
            nn.Conv2d(4 * ch, w1, 3, padding=1),
            *[ResBlock(w1) for _ in range(blocks)],
            nn.Conv2d(w1, w2, 3, stride=2, padding=1),
            *[ResBlock(w2) for _ in range(blocks)],
            nn.GroupNorm(_groups(w2), w2), nn.SiLU(),
            nn.Conv2d(w2, latent_channels, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, w2, 3, padding=1),
            *[ResBlock(w2) for _ in range(blocks)],
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w2, w1, 3, padding=1),
            *[ResBlock(w1) for _ in range(blocks)],
            nn.GroupNorm(_groups(w1), w1), nn.SiLU(),
            nn.Conv2d(w1, 4 * ch, 3, padding=1),
            nn.PixelShuffle(2),
        )

    def _pad(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        ph, pw = self.padded[0] - h, self.padded[1] - w
        if ph == 0 and pw == 0:
            return x
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="reflect")

    def _crop(self, x: Tensor) -> Tensor:
        _, h, w = self.shape
        top, left = (self.padded[0] - h) // 2, (self.padded[1] - w) // 2
        return x[..., top:top + h, left:left + w]

    def encode(self, x: Tensor) -> Tensor:
        """``z = E(x)``, (B, c_z, H'/4, W'/4) for images (B, C, H, W) in ``[-1, 1]``."""
        return self.encoder(self._pad(x))

    def decode(self, z: Tensor) -> Tensor:
        """``x = D(z)``, (B, C, H, W), unclipped."""
        return self._crop(self.decoder(z))

    def loss(self, x: Tensor, l1: float = 0.5, l2: float = 1e-3) -> Tensor:
        """Reconstruction loss of a batch (see the module docstring)."""
        z = self.encode(x)
        err = self.decode(z).float() - x.float()
        return (err**2).mean() + l1 * err.abs().mean() + l2 * (z.float() ** 2).mean()
