"""Image nodes, fast: a conditional VAE with an exact residual (Deep SCM; Ribeiro et al. 2023).

Encoder ``q(z | x, pa) = N(mu, diag sigma_q^2)``, decoder mean ``d(z, pa)``, likelihood
``p(x | z, pa) = N(d(z, pa), diag sigma^2)`` with a learned per-pixel scale (or a fixed one).
Training maximises the ELBO ``E_q[log p(x | z, pa)] - KL(q || N(0, I))`` (loss: minus the ELBO per
pixel, times ``beta`` on the KL).  ``log_prob`` always reports the true (beta = 1) ELBO.

Structural equation ``V = d(z, pa) + u``, noise ``(z, u)``: abduction takes the posterior mean
``z = mu(x, pa)`` and the residual ``u = x - d(z, pa)``, so ``predict(pa, abduct(pa, x)) == x`` (up to
float rounding; exact after uint8 rounding).  A counterfactual is ``d(z, pa*) + residual_scale * u``.
Samples draw ``z`` from the prior and, when ``sample_pixel_noise`` is on, ``u ~ N(0, sigma^2)`` — off
by default: the per-pixel noise is independent grain, and galleries show the decoder mean.
The noise tensor is ``[z, u.flatten()]``, shape (B, latent + C*H*W).

Options, and why they exist:

``beta`` (10 in the presets).  A counterfactual changes the image only if the decoder reads the
parents rather than z, i.e. if the posterior drops what the parents already explain; a KL weight
well above 1 makes it do so.  The fine detail a higher beta blurs out of the decoder comes back
through the residual u in counterfactuals.

``beta_warmup = W`` (the presets: 1,000 of 3,000 steps quick, 5,000 of 20,000 full; off when absent
or 0) ramps the KL weight linearly, ``beta * min(1, k / W)`` at training step k (counted in a
buffer, so a resumed run goes on where it stopped).  With the full weight from the first step, a
model can settle on a decoder that ignores z and paints one fixed output per parent value; the ramp
lets z take up what the parents do not explain first.  A run much shorter than W never reaches
``beta`` (500 steps of W = 1,000 end at half of it), so pass a proportionate W with it.

``prior = "flow"`` (the presets; ``"standard"`` is N(0, I), and configs without the key) adds a
learned conditional prior ``p(z | pa)``: a neural spline flow ``z = T(eps; pa)``, ``eps ~ N(0, I)``,
fitted by maximum likelihood to the encoder's posterior draws while the VAE trains.  The draws are
detached, so the VAE itself, its KL to N(0, I) included, trains exactly as without it (ex-post density
estimation, Ghosh et al. 2020).  When a node's value is random given its parents (napkin_digits' Y
is uniform over six colours under do(X)), the aggregate posterior is a handful of clusters that a
fixed N(0, I) covers unevenly; the flow puts the prior's mass where the posterior's is, per parent
value.  The exogenous noise is then ``eps``: ``abduct`` returns ``T^{-1}(mu; pa)`` and ``predict``
decodes ``T(eps; pa)``, so the round trip stays exact and a counterfactual keeps ``eps`` (the part of
z the parents do not explain).  The presets use coupling layers (``prior_passes = 2``): an
autoregressive flow inverts one latent dimension at a time, several times slower to sample for no
better fit.

``scale = "conditional"`` (opt-in; the presets keep ``"learned"``, one sigma per pixel shared by all
images) adds a head that reads ``log sigma(z, pa)`` off the decoder's detached features, fitted to the
detached residual while the VAE trains (the ELBO keeps the shared scale, so the VAE trains as without
it): ``V = d(z, pa) + sigma(z, pa) * e``, the location-scale noise of Deep SCM's conditional flows.
Abduction stores the standardised residual ``e = (x - d(z, pa)) / sigma(z, pa)`` and a counterfactual
is ``d(z, pa*) + sigma(z, pa*) * e``, so a residual that belonged to the factual parents shrinks where
the new parents make a pixel certain: with the shared scale, thinning a thick Morpho digit keeps the
thick stroke's residual and paints its edges back (``python -m benchmarks.morpho_counterfactuals
--vae-scale conditional`` measures both).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
import zuko
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.base import Mechanism, Parents, batch_size_of, check_preset, merged_config, randn
from core.mechanisms.encoders import image_mechanism_encoder

PRESET_CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {
        "latent": 16, "width": 32, "image_features": 16, "image_vector": 64, "image_maps": 8, "scale": "learned", "beta": 10.0,
        "beta_warmup": 1000, "residual_scale": 1.0, "sample_pixel_noise": False,
        "prior": "flow", "prior_transforms": 5, "prior_hidden": 128, "prior_passes": 2,
        "train": {"steps": 3000, "batch_size": 64, "lr": 1e-3},
    },
    "full": {
        "latent": 32, "width": 64, "image_features": 32, "image_vector": 128, "image_maps": 16, "scale": "learned", "beta": 10.0,
        "beta_warmup": 5000, "residual_scale": 1.0, "sample_pixel_noise": False,
        "prior": "flow", "prior_transforms": 5, "prior_hidden": 128, "prior_passes": 2,
        "train": {"steps": 20000, "batch_size": 128, "lr": 5e-4},
    },
}


def conv_block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    groups = 8 if cout % 8 == 0 else 1
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.GroupNorm(groups, cout), nn.SiLU())


class VAEImageMechanism(Mechanism):
    kind = "vae"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        if self.node.type != "image":
            raise WorkbenchError(f"a VAE mechanism models an image node, not {self.node.type} {self.node.name}")
        c = self.config
        ch, h, w = self.node.shape
        width, latent = int(c["width"]), int(c["latent"])
        self.latent = latent
        self.encoder_pa = image_mechanism_encoder(self.parent_nodes, (h, w), c)
        vec, maps = self.encoder_pa.vector_dim, self.encoder_pa.channel_dim
        # q(z | x, pa): scalar parents enter as constant feature maps, image parents as channels
        self.enc = nn.Sequential(
            conv_block(ch + maps + vec, width, 2),
            conv_block(width, 2 * width, 2),
            conv_block(2 * width, 2 * width),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(2 * width * 16, 2 * latent),
        )
        self.h4, self.w4 = math.ceil(h / 4), math.ceil(w / 4)
        self.dec_in = nn.Linear(latent + vec, 2 * width * self.h4 * self.w4)
        self.dec_up = nn.Sequential(
            nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv_block(2 * width, width),
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv_block(width, width),
        )
        # image parents join again at full resolution so the decoder can copy pixel-aligned structure
        self.dec_out = nn.Sequential(conv_block(width + maps, width), nn.Conv2d(width, ch, 3, padding=1))
        scale = c["scale"]
        self.conditional_scale = scale == "conditional"
        if self.conditional_scale:
            # log sigma(z, pa) of the residual, read from the decoder's detached features (see _terms)
            self.residual_scale_head = nn.Sequential(conv_block(width + maps, width), nn.Conv2d(width, ch, 3, padding=1))
        if scale in ("learned", "conditional"):
            self.log_sigma = nn.Parameter(torch.full((ch, h, w), math.log(0.1)))
        else:
            if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
                raise WorkbenchError(f"VAE scale must be 'learned', 'conditional' or a positive number, got {scale!r}")
            self.register_buffer("log_sigma", torch.full((ch, h, w), math.log(float(scale))))
        self.beta_warmup = c.get("beta_warmup", 0) or 0
        if not isinstance(self.beta_warmup, int) or self.beta_warmup < 0:
            raise WorkbenchError(f"VAE beta_warmup must be a whole number of steps >= 0, got {self.beta_warmup!r}")
        if self.beta_warmup:  # a buffer only when on, so checkpoints without the key load unchanged
            self.register_buffer("kl_steps", torch.zeros((), dtype=torch.long))
        prior = c.get("prior", "standard")
        if prior not in ("standard", "flow"):
            raise WorkbenchError(f"VAE prior must be 'standard' or 'flow', got {prior!r}")
        # only a flow prior adds parameters, so checkpoints without the key load unchanged
        self.prior = None
        if prior == "flow":
            passes = c.get("prior_passes")
            self.prior = zuko.flows.NSF(features=latent, context=vec, transforms=int(c.get("prior_transforms", 3)),
                                        hidden_features=(int(c.get("prior_hidden", 64)),) * 2,
                                        passes=int(passes) if passes else None)

    @classmethod
    def build(cls, node: Node, parents: Sequence[Node], preset: str | None = None, **overrides: Any) -> VAEImageMechanism:
        preset = check_preset(preset)
        base = {"kind": cls.kind, "node": node.to_json(), "parents": [p.to_json() for p in parents], "preset": preset}
        return cls(merged_config({**base, **PRESET_CONFIGS[preset]}, overrides))

    def prepare(self, parents: Parents, values: Tensor) -> None:
        self.encoder_pa.prepare(dict(parents))

    # ---- networks

    def _conditions(self, parents: Parents, n: int) -> tuple[Tensor, Tensor | None]:
        self.check_parents(parents)
        n = batch_size_of(parents, n)
        return self.encoder_pa.vector(dict(parents), n), self.encoder_pa.channels(dict(parents), n)

    def encode(self, x: Tensor, vec: Tensor, maps: Tensor | None) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance of z."""
        b, _, h, w = x.shape
        parts = [x] + ([maps] if maps is not None else []) + [vec[:, :, None, None].expand(b, vec.shape[1], h, w)]
        mu, logvar = self.enc(torch.cat(parts, dim=1)).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decode(self, z: Tensor, vec: Tensor, maps: Tensor | None) -> Tensor:
        """Decoder mean d(z, pa), (B, C, H, W)."""
        return self.decode_with_scale(z, vec, maps)[0]

    def decode_with_scale(self, z: Tensor, vec: Tensor, maps: Tensor | None) -> tuple[Tensor, Tensor]:
        """Decoder mean d(z, pa) and the residual's log scale, clamped to [log 1e-3, 2]: per image
        (B, C, H, W) with ``scale = "conditional"``, else the shared per-pixel (C, H, W)."""
        _, h, w = self.node.shape
        f = self.dec_in(torch.cat([z, vec], dim=1)).view(len(z), -1, self.h4, self.w4)
        f = self.dec_up(f)
        if f.shape[-2:] != (h, w):
            f = F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False)
        if maps is not None:
            f = torch.cat([f, maps], dim=1)
        mean = self.dec_out(f)
        log_sigma = self.residual_scale_head(f.detach()) if self.conditional_scale else self.log_sigma
        return mean, log_sigma.clamp(math.log(1e-3), 2.0)

    # ---- the interface

    def _prior(self, vec: Tensor) -> zuko.distributions.NormalizingFlow:
        """The flow prior p(z | pa) for these parents' vectors; its ``transform`` maps z -> eps."""
        return self.prior(vec) if vec.shape[1] else self.prior()

    def _terms(self, parents: Parents, values: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Per image: minus log p(x | z, pa) at one posterior draw z, KL(q || N(0, I)), the draw z and
        its log q(z | x, pa); the parents' vectors (the prior's context); and, with ``scale =
        "conditional"``, minus the log-likelihood of the detached residual under N(0, sigma(z, pa)^2)
        (else zeros).  That term only trains the scale head: fitted after the fact, like the flow
        prior, because a scale trained jointly with the mean let the VAE explain images by variance
        (Morpho: probe-read thickness MAE 1.8 instead of 0.4, digit agreement 70% instead of 98%)."""
        x = values.to(self.device).float()
        vec, maps = self._conditions(parents, len(x))
        mu, logvar = self.encode(x, vec, maps)
        eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        mean, residual_log_sigma = self.decode_with_scale(z, vec, maps)
        log_sigma = self.log_sigma.clamp(math.log(1e-3), 2.0)
        nll = 0.5 * ((x - mean) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(1)
        scale_nll = torch.zeros(len(x), device=x.device)
        if self.conditional_scale:
            r = (x - mean).detach()
            scale_nll = (0.5 * (r / residual_log_sigma.exp()) ** 2 + residual_log_sigma).flatten(1).sum(1)
        return nll.flatten(1).sum(1), kl.sum(1), z, log_q, vec, scale_nll

    def elbo(self, parents: Parents, values: Tensor, beta: float = 1.0) -> Tensor:
        """Single-sample ELBO per image (nats, on the [-1, 1] pixel scale) under the N(0, I) prior;
        ``beta`` weighs the KL."""
        nll, kl, _, _, _, _ = self._terms(parents, values)
        return -nll - beta * kl

    def kl_weight(self) -> float:
        """The KL's weight in the training loss: ``beta``, ramped up over ``beta_warmup`` steps."""
        beta = float(self.config.get("beta", 1.0))
        if not self.beta_warmup:
            return beta
        return beta * min(1.0, (int(self.kl_steps) + 1) / self.beta_warmup)

    def loss(self, parents: Parents, values: Tensor) -> Tensor:
        beta = self.kl_weight()
        if self.training and self.beta_warmup:
            self.kl_steps += 1
        nll, kl, z, _, vec, scale_nll = self._terms(parents, values)
        loss = (nll + beta * kl + scale_nll).mean()
        if self.prior is not None:
            # the prior follows the posterior; z is detached, so it never pulls the encoder toward itself
            loss = loss - self._prior(vec).log_prob(z.detach()).mean()
        return loss / values[0].numel()

    def log_prob(self, parents: Parents, values: Tensor) -> Tensor:
        """The true (beta = 1) ELBO, under the prior samples are drawn from."""
        nll, kl, z, log_q, vec, _ = self._terms(parents, values)
        if self.prior is None:
            return -nll - kl
        return -nll - (log_q - self._prior(vec).log_prob(z))

    def _split(self, noise: Tensor) -> tuple[Tensor, Tensor]:
        noise = noise.to(self.device).float()
        return noise[:, : self.latent], noise[:, self.latent :].view(len(noise), *self.node.shape)

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z = randn((n, self.latent), generator, self.device)
        numel = math.prod(self.node.shape)
        if self.config.get("sample_pixel_noise", False):
            u = randn((n, numel), generator, self.device)
            if not self.conditional_scale:  # a conditional scale multiplies in predict: u is standardised
                u = u * self.log_sigma.detach().exp().flatten()
        else:
            u = torch.zeros(n, numel, device=self.device)
        return torch.cat([z, u], dim=1)

    def predict(self, parents: Parents, noise: Tensor) -> Tensor:
        z, u = self._split(noise)
        vec, maps = self._conditions(parents, len(noise))
        if self.prior is not None:
            z = self._prior(vec).transform.inv(z)
        mean, log_sigma = self.decode_with_scale(z, vec, maps)
        if self.conditional_scale:
            u = u * log_sigma.exp()  # the residual at the scale these parents give each pixel
        return mean + float(self.config.get("residual_scale", 1.0)) * u

    @torch.no_grad()
    def abduct(self, parents: Parents, values: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = values.to(self.device).float()
        vec, maps = self._conditions(parents, len(x))
        z, _ = self.encode(x, vec, maps)
        mean, log_sigma = self.decode_with_scale(z, vec, maps)
        u = x - mean
        if self.conditional_scale:
            u = u / log_sigma.exp()
        if self.prior is not None:
            z = self._prior(vec).transform(z)
        return torch.cat([z, u.flatten(1)], dim=1)
