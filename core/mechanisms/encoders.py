"""ParentEncoder: turn a dict of parent tensors into what a mechanism network eats.

Scalar parents become one vector per unit: one-hot for binary/categorical parents, standardised
``(x - mean) / std`` for continuous ones (mean and std are buffers fixed by ``prepare`` from training
data).  Image parents (float, ``[-1, 1]``) go one of four ways:

- ``image_mode="channels"``: resized (bilinear) to the mechanism's own image size and returned as
  extra input channels — for image mechanisms, where a pixel-aligned parent is most useful;
- ``image_mode="cnn"``: a small CNN per image parent maps it to ``image_features`` numbers appended to
  the vector, average-pooled over the image (scalar mechanisms whose config has no ``image_layout``);
- ``image_mode="spatial"``: the same vector from ``SpatialImageFeatures`` (below), which keeps the
  layout — for scalar mechanisms that read what an image shows: a digit's class is in where its
  strokes are, which the pooled CNN averages away (napkin_digits' W2 given X: the pooled CNN misreads
  the digit far more often; tests/core/idgen/test_images.py);
- ``image_mode="both"``: the channels AND a global vector per image parent (``SpatialImageFeatures``:
  a CNN whose last 4x-downsampled feature map is flattened, not pooled, then a linear layer) — for
  image mechanisms whose output depends on the parent as a whole: a mirror, a rotation or a colour
  read elsewhere in the image.  The channels alone reach the network's last convolutions, whose
  receptive field (~5x5) cannot move a stroke across the image; average pooling would discard the
  spatial layout that a mirror needs, while a linear layer on the flattened map ``y = A vec(f)``
  can permute the cells of ``f`` (a mirror is a permutation of the 4x4 cells plus a mirror of each
  cell's content, which the convolutions before it can learn).

``rearranged_maps`` > 0 (with ``"channels"`` or ``"both"``) adds, per image parent, that many more
channels at the mechanism's full resolution from ``RearrangedImageMaps``: the parent moved by a learned
linear map over positions.  The 4x4 global vector keeps a glyph's layout but not its one-pixel detail
(napkin_digits' Y is X mirrored; a thin 2 came back without the hook at its end); this path carries a
mirror, flip, shift or rotation at the parent's own resolution, pixel-aligned with the child.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import WorkbenchError
from core.graph import Node


class ImageFeatures(nn.Module):
    """A small CNN: (B, C, H, W) -> (B, features).  Two stride-2 convs, then global average pooling."""

    def __init__(self, channels: int, features: int, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width // 2, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width // 2, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, features),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SpatialImageFeatures(nn.Module):
    """A CNN that keeps the layout: (B, C, H, W) -> (B, features).

    Three 3x3 convs (the last two stride 2) give a (width, ceil(H/4), ceil(W/4)) map; it is flattened
    and mapped by ``Linear(width * ceil(H/4) * ceil(W/4), features)``, so every output number can
    weigh every cell separately (global position survives, unlike ``AdaptiveAvgPool2d(1)``).
    """

    def __init__(self, shape: Sequence[int], features: int, width: int = 32) -> None:
        super().__init__()
        c, h, w = (int(v) for v in shape)
        cells = math.ceil(math.ceil(h / 2) / 2) * math.ceil(math.ceil(w / 2) / 2)
        self.net = nn.Sequential(
            nn.Conv2d(c, width // 2, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(width // 2, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(width * cells, features),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class RearrangedImageMaps(nn.Module):
    """A learned global rearrangement of an image: (B, C, H, W) -> (B, maps, H, W).

    Space-to-depth by ``s`` (``pixel_unshuffle``) turns each s x s block into channels; a 3x3 conv
    gives ``width`` features per cell ``f`` (width, N) on the ``N = ceil(H/s) * ceil(W/s)`` cells; the
    cells are mixed by one learned matrix shared over channels (MLP-Mixer's token mixing),
    ``g = f M^T`` with ``M`` (N, N), so any output cell can read any input cell; a 3x3 conv and
    depth-to-space put ``maps`` channels back at full resolution, pixel for pixel.  A mirror is a
    permutation ``M`` plus a mirror inside each block, which the convolutions learn.
    ``s = max(2, ceil(max(H, W) / 16))`` keeps N <= 256, so M has at most 65,536 numbers.

    ``M`` is stored divided by ``sqrt(N)`` and multiplied back in ``forward`` (its initial values are
    ``nn.Linear``'s): Adam moves each stored number by about the learning rate per step, and a
    permutation needs entries near 1, which took ~1,000 steps at 1e-3 on an 8x8 mirror; the factor
    moves M ``sqrt(N)`` times faster (a learning-rate multiplier for M alone: StyleGAN's
    equalised-learning-rate reparametrisation, used here to speed one matrix up).
    """

    def __init__(self, shape: Sequence[int], maps: int, width: int = 32) -> None:
        super().__init__()
        c, h, w = (int(v) for v in shape)
        self.size = (h, w)
        self.s = max(2, math.ceil(max(h, w) / 16))
        self.cells = (math.ceil(h / self.s), math.ceil(w / self.s))
        n = self.cells[0] * self.cells[1]
        self.conv_in = nn.Conv2d(c * self.s**2, width, 3, padding=1)
        self.mix = nn.Linear(n, n, bias=False)
        self.gain = math.sqrt(n)
        with torch.no_grad():
            self.mix.weight /= self.gain
        self.conv_out = nn.Conv2d(width, maps * self.s**2, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = self.size
        x = F.pad(x, (0, self.cells[1] * self.s - w, 0, self.cells[0] * self.s - h))
        f = F.silu(self.conv_in(F.pixel_unshuffle(x, self.s)))
        f = (self.gain * self.mix(f.flatten(2))).view_as(f)
        return F.pixel_shuffle(self.conv_out(F.silu(f)), self.s)[..., :h, :w]


class ParentEncoder(nn.Module):
    def __init__(
        self,
        parents: Sequence[Node],
        image_mode: str = "cnn",
        image_size: tuple[int, int] | None = None,
        image_features: int = 16,
        cnn_width: int = 32,
        rearranged_maps: int = 0,
    ) -> None:
        super().__init__()
        if image_mode not in ("cnn", "spatial", "channels", "both"):
            raise WorkbenchError(f"image_mode must be 'cnn', 'spatial', 'channels' or 'both', got {image_mode!r}")
        if image_mode in ("channels", "both") and image_size is None and any(p.type == "image" for p in parents):
            raise WorkbenchError("image parents as channels need the mechanism's image size")
        if rearranged_maps and image_mode in ("cnn", "spatial"):
            raise WorkbenchError("rearranged image maps are channels: use image_mode 'channels' or 'both'")
        self.parents = list(parents)
        self.image_mode = image_mode
        self.image_size = tuple(image_size) if image_size is not None else None
        self.image_features = int(image_features)
        self.continuous = [p.name for p in parents if p.type == "continuous"]
        self.discrete = [(p.name, int(p.levels)) for p in parents if p.is_discrete]
        self.images = [(p.name, p.shape) for p in parents if p.type == "image"]
        # Standardisation statistics of continuous parents (identity until prepare() sees data).
        self.register_buffer("cont_mean", torch.zeros(len(self.continuous)))
        self.register_buffer("cont_std", torch.ones(len(self.continuous)))
        # Modules are created only for image parents (and in this order), so a mechanism without
        # image parents has the same parameters, drawn from the same random stream, in every mode.
        self.cnns = nn.ModuleDict()
        for name, shape in self.images:
            if image_mode == "cnn":
                self.cnns[name] = ImageFeatures(shape[0], image_features, cnn_width)
            elif image_mode in ("spatial", "both"):
                self.cnns[name] = SpatialImageFeatures(shape, image_features, cnn_width)
        # a separate dict created after the CNNs, so encoders without it draw the same initial weights
        self.rearranged = nn.ModuleDict()
        if rearranged_maps:
            for name, shape in self.images:
                self.rearranged[name] = RearrangedImageMaps((shape[0], *self.image_size), rearranged_maps, cnn_width)
        self.vector_dim = sum(cols.stop - cols.start for _, cols in self.vector_slices())
        self.channel_dim = (
            sum(s[0] + rearranged_maps for _, s in self.images) if image_mode in ("channels", "both") else 0
        )

    def vector_slices(self) -> list[tuple[str, slice]]:
        """(parent, its columns) of :meth:`vector`, in the vector's order: continuous parents, then
        discrete ones, then image features."""
        widths = [(name, 1) for name in self.continuous] + [(name, k) for name, k in self.discrete]
        if self.image_mode in ("cnn", "spatial", "both"):
            widths += [(name, self.image_features) for name, _ in self.images]
        out, start = [], 0
        for name, width in widths:
            out.append((name, slice(start, start + width)))
            start += width
        return out

    @torch.no_grad()
    def prepare(self, parents: dict[str, Tensor]) -> None:
        for i, name in enumerate(self.continuous):
            x = parents[name].double()
            self.cont_mean[i] = x.mean()
            # a constant parent keeps std 1 rather than dividing by zero
            std = x.std() if len(x) > 1 else torch.tensor(1.0)
            self.cont_std[i] = std if std > 1e-8 else 1.0

    def vector(self, parents: dict[str, Tensor], n: int) -> Tensor:
        """(n, vector_dim) — zero columns when there are no scalar parents."""
        dev = self.cont_mean.device
        parts = []
        for i, name in enumerate(self.continuous):
            parts.append(((parents[name].to(dev).float() - self.cont_mean[i]) / self.cont_std[i])[:, None])
        for name, k in self.discrete:
            v = parents[name].to(dev).long()
            if v.numel() and (v.min() < 0 or v.max() >= k):
                raise WorkbenchError(f"parent {name} has values outside 0..{k - 1}")
            parts.append(F.one_hot(v, k).float())
        if self.image_mode in ("cnn", "spatial", "both"):
            for name, _ in self.images:
                parts.append(self.cnns[name](parents[name].to(dev).float()))
        if not parts:
            return torch.zeros(n, 0, device=dev)
        return torch.cat(parts, dim=1).float()

    def channels(self, parents: dict[str, Tensor], n: int) -> Tensor | None:
        """(n, channel_dim, H, W) image parents resized to the mechanism's size (each followed by its
        rearranged maps when they are on), or None."""
        if self.image_mode in ("cnn", "spatial") or not self.images:
            return None
        dev = self.cont_mean.device
        maps = []
        for name, _ in self.images:
            x = parents[name].to(dev).float()
            if tuple(x.shape[-2:]) != self.image_size:
                x = F.interpolate(x, size=self.image_size, mode="bilinear", align_corners=False)
            maps.append(x)
            if name in self.rearranged:
                maps.append(self.rearranged[name](x))
        return torch.cat(maps, dim=1)


def image_mechanism_encoder(parents: Sequence[Node], image_size: tuple[int, int], config: dict) -> ParentEncoder:
    """The parent encoder of an image mechanism (VAE, diffusion), from its config.

    ``config["image_vector"]`` > 0 adds the global path (``image_mode="both"``, that many features per
    image parent); absent or 0 gives the channels-only network, which is what every config stored
    before the key existed describes, so old checkpoints rebuild exactly.  ``config["image_maps"]`` > 0
    adds that many ``RearrangedImageMaps`` channels per image parent; absent or 0 is off, likewise.
    """
    vector = int(config.get("image_vector", 0) or 0)
    maps = int(config.get("image_maps", 0) or 0)
    for key, value in (("image_vector", vector), ("image_maps", maps)):
        if value < 0:
            raise WorkbenchError(f"{key} must be 0 (off) or a positive number, got {value}")
    if vector:
        return ParentEncoder(parents, image_mode="both", image_size=image_size, image_features=vector,
                             rearranged_maps=maps)
    return ParentEncoder(parents, image_mode="channels", image_size=image_size,
                         image_features=int(config["image_features"]), rearranged_maps=maps)


def scalar_mechanism_encoder(parents: Sequence[Node], config: dict) -> ParentEncoder:
    """The parent encoder of a scalar mechanism (categorical, continuous), from its config.

    ``config["image_layout"]``: ``"spatial"`` (the presets) reads image parents with
    ``SpatialImageFeatures``; ``"pooled"`` (absent: every config stored before the key existed, so
    old checkpoints rebuild exactly) with the average-pooled ``ImageFeatures``."""
    layout = config.get("image_layout", "pooled")
    if layout not in ("pooled", "spatial"):
        raise WorkbenchError(f"image_layout must be 'pooled' or 'spatial', got {layout!r}")
    return ParentEncoder(parents, image_mode="cnn" if layout == "pooled" else "spatial",
                         image_features=int(config["image_features"]))
