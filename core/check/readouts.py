"""Read-outs: what an image shows, measured independently of the model that drew it.

A :class:`Reader` reads named attributes (``{name: (n,) array}``) off uint8 images (n, C, H, W).
Two kinds, each with its OWN accuracy measured on held-out real images, because every soundness
number that uses a reader is only as good as the reader:

* :func:`probe_reader` wraps a ground-truth world's probe (pixel measurements and CNNs trained on
  the world's renderer, ``core.worlds.probes``);
* :func:`train_anticausal_reader` trains a small CNN on the data set itself to predict the image
  node's parents from the image (anti-causal predictors, as in Melistas et al. 2024): a
  cross-entropy head per discrete parent, a squared-error head per continuous one (standardised).

``Reader.accuracy`` maps each attribute to its held-out score: accuracy (0..1) for a discrete
attribute, mean absolute error in the attribute's units for a continuous one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import WorkbenchError
from core.graph import Node

Readings = dict[str, np.ndarray]


@dataclass(frozen=True)
class Attribute:
    """One attribute a reader measures: discrete with ``levels`` codes, or continuous (``levels`` None)."""

    name: str
    levels: int | None = None
    unit: str = ""

    @property
    def discrete(self) -> bool:
        return self.levels is not None


@dataclass
class Reader:
    """Reads ``attributes`` off uint8 images; ``accuracy`` is each one's held-out score (see the
    module docstring) and ``source`` says where the reader comes from."""

    attributes: dict[str, Attribute]
    read: Callable[[np.ndarray], Readings] = field(repr=False)
    accuracy: dict[str, float] = field(default_factory=dict)
    source: str = ""


def score(attribute: Attribute, read: np.ndarray, truth: np.ndarray) -> float:
    """Accuracy (discrete) or mean absolute error (continuous) of ``read`` against ``truth``."""
    read, truth = np.asarray(read), np.asarray(truth)
    if attribute.discrete:
        return float(np.mean(read.astype(np.int64) == truth.astype(np.int64)))
    return float(np.mean(np.abs(read.astype(np.float64) - truth.astype(np.float64))))


def score_reader(reader: Reader, images: np.ndarray, truth: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each attribute's score on real images whose true values are known."""
    readings = reader.read(images)
    return {k: score(a, readings[k], truth[k]) for k, a in reader.attributes.items() if k in truth}


def probe_reader(probe: object, heldout_images: np.ndarray, heldout_truth: Mapping[str, np.ndarray],
                 names: Sequence[str]) -> Reader:
    """A world's probe as a reader of the attributes in ``names`` (those the probe reads), scored on
    held-out real images with known values."""
    attrs = {}
    for name in names:
        a = probe.attributes.get(name)  # type: ignore[attr-defined]
        if a is None:
            continue
        attrs[name] = Attribute(name, len(a.labels) if a.kind == "categorical" else None, a.unit)
    if not attrs:
        raise WorkbenchError("the world's probe reads none of the image's parents")

    def read(images: np.ndarray) -> Readings:
        out = probe.read(images)  # type: ignore[attr-defined]
        return {k: out[k] for k in attrs}

    reader = Reader(attrs, read, source=f"probe of the {probe.world} world")  # type: ignore[attr-defined]
    reader.accuracy = score_reader(reader, heldout_images, heldout_truth)
    return reader


# --------------------------------------------------------------------------------------------------
# Anti-causal predictors trained on the data


def _net(in_channels: int, heads: Mapping[str, int], width: int = 32):
    import torch
    from torch import nn

    class AntiCausalNet(nn.Module):
        """conv-GELU-pool x3, global average, one linear head per attribute."""

        def __init__(self) -> None:
            super().__init__()
            w = width
            self.body = nn.Sequential(
                nn.Conv2d(in_channels, w, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
                nn.Conv2d(w, 2 * w, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
                nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.GELU(),
                nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16 * w, 128), nn.GELU(),
            )  # fmt: skip
            self.heads = nn.ModuleDict({k: nn.Linear(128, v) for k, v in heads.items()})

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            h = self.body(x)
            return {k: head(h) for k, head in self.heads.items()}

    return AntiCausalNet()


def _as_input(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).float() / 127.5 - 1.0


def train_anticausal_reader(images: np.ndarray, values: Mapping[str, np.ndarray], nodes: Sequence[Node], *,
                            steps: int = 1500, batch_size: int = 64, heldout: float = 0.2,
                            seed: int = 0) -> Reader:
    """A CNN reading each node in ``nodes`` (the image's scalar parents) off the images, trained on
    ``1 - heldout`` of the rows and scored on the rest."""
    import torch
    import torch.nn.functional as F

    nodes = [v for v in nodes if v.type != "image"]
    if not nodes:
        raise WorkbenchError("the image node has no scalar parents to read back")
    n = len(images)
    if n < 20:
        raise WorkbenchError(f"{n} images are too few to train a read-out (at least 20)")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_test = max(10, int(round(heldout * n)))
    test, train = order[:n_test], order[n_test:]
    heads = {v.name: (v.levels if v.is_discrete else 1) for v in nodes}
    stats = {v.name: (float(np.mean(values[v.name][train])), float(np.std(values[v.name][train]) or 1.0))
             for v in nodes if not v.is_discrete}
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _net(images.shape[1], heads)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    targets = {}
    for v in nodes:
        col = np.asarray(values[v.name])
        if v.is_discrete:
            targets[v.name] = torch.from_numpy(col.astype(np.int64))
        else:
            m, s = stats[v.name]
            targets[v.name] = torch.from_numpy(((col - m) / s).astype(np.float32))
    x_all = torch.from_numpy(np.ascontiguousarray(images))
    train_t = torch.from_numpy(train)
    net.train()
    for _ in range(steps):
        idx = train_t[torch.randint(0, len(train_t), (min(batch_size, len(train_t)),), generator=gen)]
        x = x_all[idx].float() / 127.5 - 1.0
        x = x + 0.02 * torch.randn(x.shape, generator=gen)  # robustness to generated images' grain
        out = net(x)
        loss = sum(
            F.cross_entropy(out[k], targets[k][idx]) if heads[k] > 1 or _discrete(nodes, k)
            else F.mse_loss(out[k][:, 0], targets[k][idx])
            for k in heads
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    kinds = {v.name: v for v in nodes}

    def read(imgs: np.ndarray) -> Readings:
        outs: dict[str, list[np.ndarray]] = {k: [] for k in heads}
        with torch.no_grad():
            for s in range(0, len(imgs), 512):
                o = net(_as_input(imgs[s:s + 512]))
                for k in heads:
                    outs[k].append(o[k].numpy())
        res: Readings = {}
        for k, parts in outs.items():
            arr = np.concatenate(parts) if parts else np.zeros((0, heads[k]))
            if kinds[k].is_discrete:
                res[k] = arr.argmax(1).astype(np.int64)
            else:
                m, s = stats[k]
                res[k] = arr[:, 0].astype(np.float64) * s + m
        return res

    attrs = {v.name: Attribute(v.name, v.levels if v.is_discrete else None) for v in nodes}
    reader = Reader(attrs, read, source=f"anti-causal CNN trained on {len(train)} images")
    reader.accuracy = score_reader(reader, images[test], {k: np.asarray(values[k])[test] for k in attrs})
    return reader


def _discrete(nodes: Sequence[Node], name: str) -> bool:
    return next(v for v in nodes if v.name == name).is_discrete
