"""Image nodes at resolution: rectified flow in a small autoencoder's latent space, exact abduction.

An autoencoder (``core.mechanisms.autoencoder``) maps an image x to a latent ``z0 = (E(x) - m) / s``
(standardised per channel).  A conditional velocity field ``v(z_t, t, pa)`` (a small diffusers U-Net)
is trained by flow matching on straight paths (rectified flow):

    z_t = (1 - t) z0 + t e,   e ~ N(0, I),   t ~ U(0, 1),   loss = || v(z_t, t, pa) - (e - z0) ||^2.

Structural equation ``V = D(m + s * Phi_pa(u)) + r``: ``Phi_pa`` integrates the ODE dz/dt = v from
t = 1 (the noise u) to t = 0 with fixed Euler steps; ``r`` is the pixel residual.  The noise tensor is
``[u, r]`` flattened, shape (B, c_z * h * w + C * H * W).  Samples draw ``u ~ N(0, I)`` and ``r = 0``.

Abduction is exact and deterministic: ``u = Phi_pa^{-1}(z0)`` inverts every Euler step by fixed-point
iteration (``core.mechanisms.samplers.flow_invert``), and ``r = x - D(m + s * Phi_pa(u))`` (times
``residual_scale``), so ``predict(pa, abduct(pa, x)) == x``.  A counterfactual integrates the same u
under new parents, ``D(Phi_pa*(u)) + residual_scale * r``: the residual carries what the autoencoder
cannot reconstruct (small for a sharp autoencoder), at the risk of carrying a trace of the factual
parents; ``residual_scale = 0`` drops it (the benchmark measures both).

Training runs in two phases inside ``loss`` (a step counter in a buffer, so any trainer, checkpoint
and resume work unchanged): the first ``autoencoder.share`` of ``train.steps`` (fixed at the first
training step, so a resumed run keeps its boundary) trains the autoencoder alone, the rest trains
the velocity field with the autoencoder frozen.  ``adopt_autoencoder`` takes a trained autoencoder
of the same node and data (the run's node model, another ID-GEN model of the node) and skips the
first phase.

Classifier-free guidance: ``condition_dropout`` p trains the null condition (zeros) on a share p of
the rows, and ``guidance`` w samples and abducts with ``v_null + w (v_pa - v_null)``.  The presets
turn it on (p = 0.15, w = 2) only where every parent is binary or categorical: on Morpho digits at
32x32, whose parents are continuous, w = 2 overshot thickness and broke counterfactual digits
(benchmarks/results/morpho_counterfactuals_32_latent_flow_dropout15_guidance2.txt).

Sampling and abduction run under bf16 autocast where the device multiplies bf16 natively
(``inference_precision`` "auto" in the presets; a stored config without the key keeps float32, so
older runs sample exactly as before).  On cartoon faces at 32x32 (2 threads) 1000 guided samples took
8.1 s instead of 18.4 s and the abduction of 256 faces 5.3 s instead of 9.2 s, with the same
probe-read attributes of samples and counterfactuals, and composition still exact.

Presets are sized by image (``preset_config``): up to 32x32 the autoencoder has widths (48, 96), or
(64, 128) with 8 latent channels for colour images, and the U-Net (48, 96) on an 8x8 latent; above,
(32, 64) and (32, 64, 128) on an H/4 latent, so that
either trains in about ten minutes on a 2-core CPU with bf16 matrix units
(``python -m benchmarks.train_speed`` prints the step times per phase).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from diffusers import UNet2DModel
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms.autoencoder import ImageAutoencoder
from core.mechanisms.base import Mechanism, Parents, batch_size_of, check_preset, merged_config, randn
from core.mechanisms.encoders import image_mechanism_encoder
from core.mechanisms.precision import amp_dtype, training_attention
from core.mechanisms.samplers import flow_invert, flow_sample


def unet_config(widths: Sequence[int], layers_per_block: int = 1, groups: int = 16) -> dict[str, Any]:
    """A diffusers ``UNet2DModel`` config: one resolution level per width, attention at the coarsest."""
    levels = len(widths)
    return {
        "block_out_channels": list(widths), "layers_per_block": layers_per_block,
        "down_block_types": ["DownBlock2D"] * (levels - 1) + ["AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D"] + ["UpBlock2D"] * (levels - 1),
        "add_attention": True, "norm_num_groups": groups, "attention_head_dim": 32,
    }


SMALL_IMAGE_PIXELS = 32 * 32  # up to this many pixels per channel an image counts as small
PRESET_CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    # quick: sized so that one image node (autoencoder included) trains in <= 10 minutes on a 2-core
    # CPU with bf16 matrix units (benchmarks/train_speed.py measures the step times per phase).  One
    # fixed-point iteration per inverted Euler step: on Morpho digits at 32x32 the counterfactual
    # scores matched three iterations' (the residual keeps composition exact either way), and a
    # 16-face abduction at 64x64 took 1.8 s instead of 3.0 s on one thread.  Each inverted step starts
    # from the velocity the step before evaluated last (``inversion_reuse_velocity``): 17 network
    # calls instead of 32, and on faces at 64x64 a latent inversion error of 0.028 against 0.034.
    # Parents are embedded one MLP each, summed (``condition_embedding`` additive), and each training
    # phase anneals its learning rate by a cosine (``train.schedule``): on cartoon faces at 32x32 the
    # counterfactuals' worst minimality (do(Beard) keeps Lipstick) went 78.9 -> 84.0% and do(Male)
    # keeping Eyeglasses 94.5 -> 95.3%, with the same ID-GEN rates; on Morpho digits at 32x32 (both
    # runs with exposure augmentation) counterfactual do(t = 5) thickness 0.72 -> 0.53 and the TVD of
    # intensity at do(i = 64) 0.18 -> 0.07, while counterfactual do(i = 64) intensity went 11.2 -> 12.6
    "quick": {
        "small": {
            # half the steps to the autoencoder: 1500 -> 3000 steps took its reconstructions' probe-read
            # intensity error 9.4 -> 6.6 and thickness 0.13 -> 0.09 on Morpho digits at 32x32
            "autoencoder": {"latent_channels": 4, "widths": [48, 96], "blocks": 1, "share": 1 / 2},
            "unet": unet_config([48, 96]), "sample_steps": 16, "time_shift": 1.0, "inversion_iterations": 1,
            "inversion_reuse_velocity": True, "residual_scale": 1.0, "image_features": 16, "image_vector": 64,
            "inference_precision": "auto",
            "condition_embedding": "additive", "train": {"steps": 6000, "batch_size": 64, "lr": 1e-3, "schedule": "cosine"},
        },
        "large": {
            # 3400 steps (1133 + 2267, ~9.4 min at the measured step times): on cartoon faces at 64x64 the
            # preset as it stands at 3400 steps beat the earlier preset at 4500 on ID-GEN's Young gap (1.5
            # against 5.5 points) and on do(Male) -> Male (98.4% against 94.5%), trained in 10.4 min with a
            # short test run beside it; read by the 64-pixel probe its worst ID-GEN gap is 2.9 points and
            # do(Male) -> Male 99.6% (benchmarks/results/check_faces64_latent_flow.txt, last sections)
            "autoencoder": {"latent_channels": 4, "widths": [32, 64], "blocks": 1, "share": 1 / 3},
            "unet": unet_config([32, 64, 128]), "sample_steps": 16, "time_shift": 1.0, "inversion_iterations": 1,
            "inversion_reuse_velocity": True, "residual_scale": 1.0, "image_features": 16, "image_vector": 64,
            "inference_precision": "auto",
            "condition_embedding": "additive", "train": {"steps": 3400, "batch_size": 64, "lr": 1e-3, "schedule": "cosine"},
        },
    },
    # full: for a GPU, 64-128 px
    "full": {
        size: {
            "autoencoder": {"latent_channels": 8, "widths": [96, 192], "blocks": 2, "share": 1 / 4},
            "unet": unet_config([128, 256, 256], layers_per_block=2, groups=32), "sample_steps": 32,
            "time_shift": 1.0, "inversion_iterations": 3, "inversion_reuse_velocity": True, "residual_scale": 1.0,
            "image_features": 32, "image_vector": 128, "inference_precision": "auto", "condition_embedding": "additive",
            "train": {"steps": 40000, "batch_size": 128, "lr": 5e-4, "schedule": "cosine"},
        }
        for size in ("small", "large")
    },
}


# Colour images up to 32x32: a wider autoencoder with 8 latent channels.  On cartoon faces at 32x32 the
# (48, 96) one with 4 channels blurred the glasses away (the probe read 80% of them on its
# reconstructions); (64, 128) with 8 kept 99% (benchmarks/results/faces32_latent_flow.txt).
SMALL_COLOUR_AUTOENCODER = {"latent_channels": 8, "widths": [64, 128]}
# Grey images: the autoencoder also learns dimmed copies of its batches (``exposure_share``).  On Morpho
# digits at 32x32 counterfactual do(intensity = 64) went 17.6 -> 11.2 on 0-255 and its interventional
# intensity TVD 0.71 -> 0.18 (benchmarks/results/morpho_counterfactuals_32_latent_flow_exposure.txt);
# on colour faces it cost the glasses (ID-GEN's Eyeglasses rate under do(Male = 1) 19.4 -> 12.6%,
# faces32_latent_flow.txt E), so colour images train without it.
GREY_AUTOENCODER = {"exposure_share": 0.5}
# Classifier-free guidance where every parent is discrete: at w = 2 the faces' flow drew each attribute
# with >= 99% probe agreement (w = 1: Eyeglasses 87%), while on continuous parents (Morpho's thickness
# and intensity) w = 2 overshot them, so a model with a continuous parent keeps it off.
DISCRETE_PARENT_GUIDANCE = {"condition_dropout": 0.15, "guidance": 2.0}


def preset_config(preset: str, shape: Sequence[int], parents: Sequence[Node] = ()) -> dict[str, Any]:
    """The preset's configuration for images of ``shape`` (C, H, W) with these ``parents``: ``small``
    up to 32x32, else ``large``; a colour ``small`` image gets the wider autoencoder, a grey image
    exposure augmentation, and parents that are all binary or categorical classifier-free guidance."""
    size = "small" if int(shape[-2]) * int(shape[-1]) <= SMALL_IMAGE_PIXELS else "large"
    config = copy.deepcopy(PRESET_CONFIGS[preset][size])
    if preset == "quick" and size == "small" and int(shape[0]) == 3:
        config["autoencoder"].update(copy.deepcopy(SMALL_COLOUR_AUTOENCODER))
    if int(shape[0]) == 1:
        config["autoencoder"].update(copy.deepcopy(GREY_AUTOENCODER))
    if parents and all(p.type in ("binary", "categorical") for p in parents):
        config.update(DISCRETE_PARENT_GUIDANCE)
    return config


class AdditiveEmbedding(nn.Module):
    """One MLP per parent, summed: ``emb(pa) = sum_p MLP_p(x_p)`` over the parents' encoded columns.

    The joint MLP of all parents can tie its response to one parent to the values of the others,
    which the data correlate (Morpho digits: corr(thickness, intensity) ~ 0.91); the sum cannot, so an
    intervention on one parent moves the embedding the same way whatever the others are, including at
    combinations the data never show.  The U-Net after it stays free to combine them."""

    def __init__(self, widths: Sequence[int], features: int) -> None:
        super().__init__()
        self.widths = [int(w) for w in widths]
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(w, features), nn.SiLU(), nn.Linear(features, features)) for w in self.widths
        )

    def forward(self, x: Tensor) -> Tensor:
        parts = torch.split(x, self.widths, dim=1)
        return torch.stack([mlp(part) for mlp, part in zip(self.mlps, parts, strict=True)]).sum(dim=0)


class LatentFlowImageMechanism(Mechanism):
    kind = "latent_flow"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        if self.node.type != "image":
            raise WorkbenchError(f"a latent flow mechanism models an image node, not {self.node.type} {self.node.name}")
        c = self.config
        ae = c["autoencoder"]
        share = float(ae.get("share", 0.0))
        if not 0.0 <= share < 1.0:
            raise WorkbenchError(f"latent flow for {self.node.name}: autoencoder.share must be in [0, 1), got {share}")
        self.autoencoder = ImageAutoencoder(self.node.shape, int(ae["latent_channels"]), ae["widths"], int(ae["blocks"]))
        cz, lh, lw = self.autoencoder.latent_shape
        self.encoder = image_mechanism_encoder(self.parent_nodes, (lh, lw), c)
        unet = {k: tuple(v) if isinstance(v, list) else v for k, v in c["unet"].items()}
        temb = int(unet["block_out_channels"][0]) * 4
        has_vector = self.encoder.vector_dim > 0
        self.unet = UNet2DModel(sample_size=(lh, lw), in_channels=cz + self.encoder.channel_dim, out_channels=cz,
                                class_embed_type="identity" if has_vector else None, **unet)
        embedding = c.get("condition_embedding", "joint")
        if embedding not in ("joint", "additive"):
            raise WorkbenchError(f"latent flow for {self.node.name}: condition_embedding must be 'joint' or "
                                 f"'additive', got {embedding!r}")
        self.cond_mlp: nn.Module | None = None
        if has_vector and embedding == "additive":
            self.cond_mlp = AdditiveEmbedding([sl.stop - sl.start for _, sl in self.encoder.vector_slices()], temb)
        elif has_vector:
            self.cond_mlp = nn.Sequential(nn.Linear(self.encoder.vector_dim, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.register_buffer("phase_boundary", torch.full((), -1, dtype=torch.long))  # -1: not fixed yet
        self.register_buffer("latent_mean", torch.zeros(cz, 1, 1))
        self.register_buffer("latent_std", torch.ones(cz, 1, 1))
        self.register_buffer("latent_ready", torch.zeros((), dtype=torch.bool))
        # abduction is deterministic: the Explore page's counterfactuals of the same units under a new
        # do-value (or the way back, in a reversibility check) reuse it instead of inverting again
        self._abducted: OrderedDict[bytes, Tensor] = OrderedDict()

    @classmethod
    def build(cls, node: Node, parents: Sequence[Node], preset: str | None = None,
              **overrides: Any) -> LatentFlowImageMechanism:
        preset = check_preset(preset)
        base = {"kind": cls.kind, "node": node.to_json(), "parents": [p.to_json() for p in parents], "preset": preset}
        return cls(merged_config({**base, **preset_config(preset, node.shape, parents)}, overrides))

    def prepare(self, parents: Parents, values: Tensor) -> None:
        self.encoder.prepare(dict(parents))

    # ---- the autoencoder phase

    @property
    def autoencoder_steps(self) -> int:
        """Steps of the autoencoder phase: fixed at the first training step, else the share of
        ``train.steps`` it would take now."""
        fixed = int(self.phase_boundary)
        if fixed >= 0:
            return fixed
        return round(float(self.config["autoencoder"].get("share", 0.0)) * int(self.config["train"]["steps"]))

    @property
    def autoencoder_trained(self) -> bool:
        return int(self.phase_boundary) >= 0 and int(self.steps_done) >= int(self.phase_boundary)

    def phases(self) -> list[tuple[str, int]]:
        """(phase, steps) in training order: the autoencoder's share, then the velocity field's."""
        total = int(self.config["train"]["steps"])
        ae = self.autoencoder_steps
        return [("autoencoder", ae), ("flow", total - ae)] if ae else [("flow", total)]

    def set_phase(self, phase: str) -> None:
        """Make the next training steps train ``phase`` (for timing a phase; training sets it itself)."""
        if phase not in ("autoencoder", "flow"):
            raise WorkbenchError(f"a latent flow trains in phases 'autoencoder' and 'flow', not {phase!r}")
        self.steps_done.fill_(0)
        self.phase_boundary.fill_(2**62 if phase == "autoencoder" else 0)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # noqa: ANN001, ANN201 - nn.Module's
        self._abducted.clear()  # other weights: other abductions
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def adopt_autoencoder(self, other: LatentFlowImageMechanism) -> None:
        """Use ``other``'s trained autoencoder (and latent standardisation): training starts with the
        velocity field.  Both must model the same node with the same autoencoder config."""
        if other.config["autoencoder"] != self.config["autoencoder"] or other.node.shape != self.node.shape:
            raise WorkbenchError(f"the autoencoder of {other.node.name} does not fit this model of {self.node.name}")
        if not other.autoencoder_trained:
            raise WorkbenchError(f"the autoencoder of {other.node.name} is not trained yet")
        self._abducted.clear()
        self.autoencoder.load_state_dict(other.autoencoder.state_dict())
        for name in ("latent_mean", "latent_std", "latent_ready"):
            getattr(self, name).copy_(getattr(other, name))
        # the autoencoder's share of the steps is no longer needed: only the flow trains
        self.config["train"]["steps"] = max(1, int(self.config["train"]["steps"]) - self.autoencoder_steps)
        self.phase_boundary.fill_(0)

    def _standardise(self, z: Tensor) -> Tensor:
        return (z - self.latent_mean) / self.latent_std

    def _unstandardise(self, z: Tensor) -> Tensor:
        return z * self.latent_std + self.latent_mean

    @torch.no_grad()
    def _fix_latent_statistics(self, x: Tensor) -> None:
        z = self.autoencoder.encode(x).float()
        self.latent_mean.copy_(z.mean(dim=(0, 2, 3))[:, None, None])
        self.latent_std.copy_(z.std(dim=(0, 2, 3)).clamp_min(1e-3)[:, None, None])
        self.latent_ready.fill_(True)

    # ---- the velocity field with its conditioning

    def condition(self, parents: Parents, n: int) -> tuple[Tensor | None, Tensor | None]:
        """(class labels for the time embedding, extra latent-sized input channels) for these parents."""
        self.check_parents(parents)
        n = batch_size_of(parents, n)
        labels = self.cond_mlp(self.encoder.vector(dict(parents), n)) if self.cond_mlp is not None else None
        return labels, self.encoder.channels(dict(parents), n)

    def velocity(self, z: Tensor, t: Tensor, labels: Tensor | None, maps: Tensor | None) -> Tensor:
        """``v(z_t, t, pa)`` with t in [0, 1] (the U-Net sees ``1000 t``)."""
        inp = z if maps is None else torch.cat([z, maps.to(z.dtype)], dim=1)
        return self.unet(inp, t * 1000.0, class_labels=labels).sample

    # ---- the interface

    def loss(self, parents: Parents, values: Tensor) -> Tensor:
        x = values.to(self.device).float()
        self._abducted.clear()  # the weights are about to change
        if self.training:
            if int(self.phase_boundary) < 0:
                self.phase_boundary.fill_(self.autoencoder_steps)
            self.steps_done += 1
            if int(self.steps_done) <= int(self.phase_boundary):
                return self.autoencoder.loss(self._exposure_augmented(x))
        if not bool(self.latent_ready):
            self._fix_latent_statistics(x)
        with torch.no_grad():
            z0 = self._standardise(self.autoencoder.encode(x).float())
        labels, maps = self.condition(parents, len(x))
        dropout = float(self.config.get("condition_dropout", 0.0))
        if dropout > 0:  # the null condition for classifier-free guidance
            keep = (torch.rand(len(x), device=z0.device) >= dropout).float()
            labels, maps = self._masked(labels, maps, keep)
        e = torch.randn_like(z0)
        t = torch.rand(len(z0), device=z0.device)
        z_t = (1.0 - t[:, None, None, None]) * z0 + t[:, None, None, None] * e
        with training_attention(z0.device):
            v = self.velocity(z_t, t, labels, maps).float()
        return ((v - (e - z0)) ** 2).mean()

    DIMMEST_EXPOSURE = 0.25  # an augmented image keeps at least this share of its brightness

    def _exposure_augmented(self, x: Tensor) -> Tensor:
        """The autoencoder's training batch with a share ``autoencoder.exposure_share`` of its images
        dimmed, ``x' = (x + 1) a - 1`` with ``a ~ U(1/4, 1)`` on the ``[-1, 1]`` scale (black stays
        black).  Counterfactuals leave the data's support (Morpho digits' do(intensity = 64) on a
        stroke of typical thickness: the data pair dim strokes with thin ones), and the autoencoder
        must still reconstruct them; the velocity field trains on the data's own latents."""
        share = float(self.config["autoencoder"].get("exposure_share", 0.0))
        if share <= 0:
            return x
        picked = torch.rand(len(x), 1, 1, 1, device=x.device) < share
        a = torch.empty(len(x), 1, 1, 1, device=x.device).uniform_(self.DIMMEST_EXPOSURE, 1.0)
        return torch.where(picked, (x + 1.0) * a - 1.0, x)

    @staticmethod
    def _masked(labels: Tensor | None, maps: Tensor | None, keep: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """The conditions with the rows where ``keep`` is 0 replaced by the null condition (zeros)."""
        if labels is not None:
            labels = labels * keep[:, None].to(labels.dtype)
        if maps is not None:
            maps = maps * keep[:, None, None, None].to(maps.dtype)
        return labels, maps

    @property
    def guidance(self) -> float:
        """The classifier-free guidance weight w of sampling and abduction (1: none).  Only a model
        trained with ``condition_dropout`` has learnt the null condition that guidance needs."""
        if float(self.config.get("condition_dropout", 0.0)) <= 0 or not self.parent_nodes:
            return 1.0
        return float(self.config.get("guidance", 1.0))

    def _velocity_fn(self, parents: Parents, n: int):
        """``v(z, t)`` under these parents; with guidance w, ``v_null + w (v_pa - v_null)``, both halves
        in one batched call.  Abduction inverts the same field, so it stays exact."""
        labels, maps = self.condition(parents, n)
        w = self.guidance
        if w == 1.0:
            return lambda z, t: self.velocity(z, t, labels, maps).float()
        keep = torch.cat([torch.ones(n, device=self.device), torch.zeros(n, device=self.device)])
        both = self._masked(*(None if c is None else torch.cat([c, c]) for c in (labels, maps)), keep)

        def guided(z: Tensor, t: Tensor) -> Tensor:
            v_pa, v_null = self.velocity(torch.cat([z, z]), torch.cat([t, t]), *both).float().chunk(2)
            return v_null + w * (v_pa - v_null)

        return guided

    def _latent_numel(self) -> int:
        cz, lh, lw = self.autoencoder.latent_shape
        return cz * lh * lw

    def _split(self, noise: Tensor) -> tuple[Tensor, Tensor]:
        noise = noise.to(self.device).float()
        k = self._latent_numel()
        return noise[:, :k].view(len(noise), *self.autoencoder.latent_shape), noise[:, k:].view(len(noise), *self.node.shape)

    def _steps(self) -> tuple[int, float]:
        return int(self.config["sample_steps"]), float(self.config.get("time_shift", 1.0))

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        u = randn((n, self._latent_numel()), generator, self.device)
        return torch.cat([u, torch.zeros(n, _numel(self.node), device=self.device)], dim=1)

    def _inference(self) -> contextlib.AbstractContextManager[None]:
        """The autocast of sampling and abduction: ``inference_precision`` "auto" (the presets) runs the
        networks in bf16 where the device multiplies it natively (AMX CPUs, CUDA), "no" (and runs
        stored without the key) in float32.  Predict and abduct share it, so abduction stays exact."""
        dtype = amp_dtype(self.device, str(self.config.get("inference_precision", "no")), True)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    @torch.no_grad()
    def decode_latent(self, parents: Parents, u: Tensor) -> Tensor:
        """``D(m + s * Phi_pa(u))``: the image the flow draws from latent noise u, before any residual."""
        steps, shift = self._steps()
        with self._inference():
            z0 = flow_sample(self._velocity_fn(parents, len(u)), u, steps, shift)
            return self.autoencoder.decode(self._unstandardise(z0)).float()

    @torch.no_grad()
    def predict(self, parents: Parents, noise: Tensor) -> Tensor:
        u, r = self._split(noise)
        return self.decode_latent(parents, u) + float(self.config.get("residual_scale", 1.0)) * r

    @torch.no_grad()
    def abduct(self, parents: Parents, values: Tensor, generator: torch.Generator | None = None) -> Tensor:
        x = values.to(self.device).float()
        key = self._abduction_key(parents, x)
        if (kept := self._recalled(key)) is not None:
            return kept
        u = self._invert(parents, x)
        noise = torch.cat([u.flatten(1), (x - self.decode_latent(parents, u)).flatten(1)], dim=1)
        self._remember(key, noise)
        return noise

    @torch.no_grad()
    def counterfactual(self, parents: Parents, values: Tensor, new_parents: Parents,
                       generator: torch.Generator | None = None) -> Tensor:
        """``predict(pa*, abduct(pa, x))`` with the abduction's forward pass (the residual's
        ``D(Phi_pa(u))``) and the prediction's (``D(Phi_pa*(u))``) integrated as one batch of 2n: on a
        CPU a U-Net call on 32 latents costs ~1.3 times one on 16 (64x64 faces, 2 threads)."""
        x = values.to(self.device).float()
        key = self._abduction_key(parents, x)
        if (kept := self._recalled(key)) is not None:
            return self.predict(new_parents, kept)
        self.check_parents(new_parents)
        u = self._invert(parents, x)
        both = {name: torch.cat([parents[name].to(self.device), new_parents[name].to(self.device)])
                for name in parents}
        factual_image, new_image = self.decode_latent(both, torch.cat([u, u])).chunk(2)
        r = x - factual_image
        self._remember(key, torch.cat([u.flatten(1), r.flatten(1)], dim=1))
        return new_image + float(self.config.get("residual_scale", 1.0)) * r

    def _invert(self, parents: Parents, x: Tensor) -> Tensor:
        """``u = Phi_pa^{-1}((E(x) - m) / s)``: the latent noise of images x (B, C, H, W)."""
        steps, shift = self._steps()
        with self._inference():
            z0 = self._standardise(self.autoencoder.encode(x).float())
            return flow_invert(self._velocity_fn(parents, len(x)), z0, steps, shift,
                               int(self.config.get("inversion_iterations", 3)),
                               reuse_velocity=bool(self.config.get("inversion_reuse_velocity", False)))

    ABDUCTION_CACHE_BYTES = 64 * 2**20  # abducted noise kept for reuse, most recent first

    def _abduction_key(self, parents: Parents, x: Tensor) -> bytes:
        """A digest of everything abduction depends on: parents, image, the sampling settings and the
        weights (their in-place version counters move with every optimiser step or loaded state)."""
        h = hashlib.blake2b(digest_size=20)
        versions = [t._version for t in (*self.parameters(), *self.buffers())]
        h.update(repr((self._steps(), self.guidance, self.config.get("inversion_iterations", 3),
                       self.config.get("inversion_reuse_velocity", False),
                       self.config.get("inference_precision", "no"), versions)).encode())
        for name in sorted(parents):
            h.update(name.encode())
            h.update(parents[name].detach().float().cpu().contiguous().numpy().tobytes())
        h.update(x.detach().cpu().contiguous().numpy().tobytes())
        return h.digest()

    def _recalled(self, key: bytes) -> Tensor | None:
        """A copy of the noise abducted under ``key`` (now the most recent), or None."""
        if key not in self._abducted:
            return None
        self._abducted.move_to_end(key)
        return self._abducted[key].clone()

    def _remember(self, key: bytes, noise: Tensor) -> None:
        self._abducted[key] = noise.clone()
        while sum(t.numel() * t.element_size() for t in self._abducted.values()) > self.ABDUCTION_CACHE_BYTES:
            self._abducted.popitem(last=False)


def _numel(node: Node) -> int:
    c, h, w = node.shape
    return int(c) * int(h) * int(w)
