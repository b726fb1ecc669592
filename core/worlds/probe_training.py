"""Training the probes (``benchmarks/train_probes.py`` runs it): the digit CNN, the face CNN and the
thickness calibration, stored where :mod:`core.worlds.probes` reads them.

Digits are trained on the glyph bank's training glyphs (bank index % 5 != 0) and scored on the
held-out ones (index % 5 == 0); faces on a world whose attributes are independent coins, so the CNN
must read each attribute from its own pixels.  Both train with Adam under a one-cycle schedule
(peak 3e-3) on images with pixel noise added, since generated images are never clean.  The 64-pixel
face CNN also sees blurred faces (``FACE_PROBE_BLUR``): generated faces at that size are softer than
the world's hard-edged drawings, and a CNN trained on crisp ones alone read the eyeglasses a person
plainly sees on an autoencoder's reconstructions as absent.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from core.worlds.faces import Faces
from core.worlds.glyphs import SIZES, draw_coverage, glyph_labels
from core.worlds.morpho_digits import MorphoDigits
from core.worlds.probes import (
    FACE_ATTRIBUTES,
    build_net,
    digit_input,
    load_net,
    raw_width28,
    run_net,
    save_net,
    save_thickness_calibration,
)

if TYPE_CHECKING:
    import torch

Log = Callable[[str], object]
_PRINT = partial(print, flush=True)


def fit_thickness_calibration(
    *, sizes: tuple[int, ...] = SIZES, n: int = 1500, seed: int = 0
) -> dict[str, dict[str, list[float]] | dict[str, float]]:
    """Least-squares (a, b) of true width ~ a * raw_width28 + b on Morpho images per size; stores them
    and returns them with the mean absolute error (28-pixel units)."""
    cal, report = {}, {}
    for size in sizes:
        u = MorphoDigits(size).sample(n, seed=seed)
        raw, t = raw_width28(u["image"]), u["thickness"]
        a, b = np.linalg.lstsq(np.c_[raw, np.ones(n)], t, rcond=None)[0]
        cal[str(size)] = [float(a), float(b)]
        report[str(size)] = float(np.abs(a * raw + b - t).mean())
    save_thickness_calibration(cal)
    return {"calibration": cal, "mae_28px_units": report}


# --------------------------------------------------------------------------------------------------
# Digits


def heldout_glyphs() -> np.ndarray:
    """Bank indices held out of probe training (every fifth glyph): accuracies are reported on them."""
    return np.arange(0, len(glyph_labels()), 5)


def training_glyphs() -> np.ndarray:
    """Bank indices the digit probe trains on: every glyph not in :func:`heldout_glyphs`."""
    return np.setdiff1d(np.arange(len(glyph_labels())), heldout_glyphs())


def digit_examples(glyphs: np.ndarray, n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, 1, S, S), digit labels): random glyphs from ``glyphs``, widths U[0.8, 6.5] (28-px units),
    intensity U[64, 255], shifted by up to one pixel, through the same ``digit_input`` as at read time."""
    labels = glyph_labels()
    g = rng.choice(glyphs, n)
    cov = draw_coverage(g, rng.uniform(0.8, 6.5, n), size)
    cov = np.roll(cov, (int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), axis=(1, 2))
    img = np.rint(cov * rng.uniform(64, 255, n)[:, None, None]).astype(np.uint8)[:, None]
    return digit_input(img), labels[g]


def train_digit_probe(
    size: int, *, steps: int = 2500, batch: int = 128, seed: int = 0, log: Log = _PRINT
) -> dict[str, float]:
    """Train the digit CNN at ``size`` on training glyphs; save it; return held-out accuracies."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = {"in_channels": 1, "heads": {"digit": 10}, "widths": [24, 48, 64], "size": size,
            "input": "brightness / peak (digit_input)", "kind": "digits"}  # fmt: skip
    net = build_net(1, spec["heads"], tuple(spec["widths"]))
    train = training_glyphs()

    def loss_at(step: int) -> torch.Tensor:
        x, y = digit_examples(train, batch, size, rng)
        return F.cross_entropy(net(_augment(torch.from_numpy(x), rng, 0.08))["digit"], torch.from_numpy(y))

    _fit(net, loss_at, steps=steps, label=f"digits {size}px", log=log)
    x, y = digit_examples(heldout_glyphs(), 4000, size, np.random.default_rng(seed + 1))
    acc = float((run_net(net, x)["digit"].argmax(1) == y).mean())
    spec["heldout_glyph_accuracy"] = acc
    spec["train"] = {"steps": steps, "batch": batch, "seed": seed, "glyphs": "bank index % 5 != 0"}
    save_net(net, f"digits_{size}", spec)
    load_net.cache_clear()
    return {"digits_heldout_glyph_accuracy": acc}


# --------------------------------------------------------------------------------------------------
# Faces


# The largest Gaussian blur (sigma, pixels) a face CNN trains on, by image size; each batch draws its
# sigma uniformly below it (``gaussian_blur``).  At 64x64, trained without it, the CNN read Eyeglasses on 0 of 8 faces
# whose reconstructions (pixel L1 5.8 on 0-255) visibly keep the glasses, and read them at chance
# level (52%) when the 32-pixel CNN was given downscaled 64-pixel faces.
FACE_PROBE_BLUR: dict[int, float] = {64: 1.5}


def face_training_world(size: int) -> Faces:
    """Faces whose attributes are independent coins (fair, but Young at 0.6), so the probe must read
    each one from its own pixels and cannot lean on co-occurrences (Male and Beard, say)."""
    return Faces(size=size, confounding=0.0, p_beard=(0.5, 0.5), p_lipstick=(0.5, 0.5), p_glasses=0.5)


def train_face_probe(
    size: int, *, steps: int = 2000, batch: int = 128, seed: int = 0, log: Log = _PRINT
) -> dict[str, float]:
    """Train the five-head face CNN at ``size`` on balanced faces; save it; return held-out accuracies."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    world = face_training_world(size)
    blur = FACE_PROBE_BLUR.get(size, 0.0)
    spec = {"in_channels": 3, "heads": {a: 1 for a in FACE_ATTRIBUTES}, "widths": [24, 48, 64], "size": size,
            "input": "RGB / 255", "kind": "faces", "blur_sigma_max": blur}  # fmt: skip
    net = build_net(3, spec["heads"], tuple(spec["widths"]))

    def loss_at(step: int) -> torch.Tensor:
        u = world.sample(batch, seed=1_000_000 + seed * 100_000 + step)
        x = torch.from_numpy(u["Face"].astype(np.float32) / 255.0)
        if blur > 0:
            x = gaussian_blur(x, float(rng.uniform(0.0, blur)))
        out = net(_augment(x, rng, 0.06))
        return sum(
            F.binary_cross_entropy_with_logits(out[a][:, 0], torch.from_numpy(u[a].astype(np.float32)))
            for a in FACE_ATTRIBUTES
        )

    _fit(net, loss_at, steps=steps, label=f"faces {size}px", log=log)
    u = world.sample(4000, seed=seed + 7)
    logits = run_net(net, u["Face"].astype(np.float32) / 255.0)
    acc = {a: float(((logits[a][:, 0] > 0).astype(np.int64) == u[a]).mean()) for a in FACE_ATTRIBUTES}
    spec["heldout_accuracy"] = acc
    if blur > 0:
        logits = run_net(net, gaussian_blur(torch.from_numpy(u["Face"].astype(np.float32) / 255.0), blur).numpy())
        spec["heldout_accuracy_blurred"] = {
            a: float(((logits[a][:, 0] > 0).astype(np.int64) == u[a]).mean()) for a in FACE_ATTRIBUTES
        }
    spec["train"] = {"steps": steps, "batch": batch, "seed": seed, "world": "faces, independent fair attributes"}
    save_net(net, f"faces_{size}", spec)
    load_net.cache_clear()
    return {f"faces_{a}": v for a, v in acc.items()}


# --------------------------------------------------------------------------------------------------
# The loop both share


def _fit(
    net: torch.nn.Module, loss_at: Callable[[int], torch.Tensor], *, steps: int, label: str, log: Log
) -> None:
    """``steps`` Adam steps (lr 2e-3) under a one-cycle schedule peaking at 3e-3 on ``loss_at(step)``;
    the loss is logged every 500 steps and at the last.  Leaves ``net`` in eval mode."""
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    net.train()
    for step in range(steps):
        loss = loss_at(step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            log(f"  {label} step {step}: loss {loss.item():.3f}")
    net.eval()


def _augment(x: torch.Tensor, rng: np.random.Generator, noise: float) -> torch.Tensor:
    """Pixel noise of a random strength up to ``noise`` (generated images are never clean), clipped
    back to [0, 1]."""
    import torch

    return torch.clamp(x + noise * float(rng.uniform(0, 1)) * torch.randn_like(x), 0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Images (n, C, H, W) under a Gaussian blur of ``sigma`` pixels, ``k(d) ~ exp(-d^2 / (2 sigma^2))``
    (separable, reflect-padded, kernel radius ``ceil(3 sigma)``); unchanged below 0.1 pixel."""
    import torch
    import torch.nn.functional as F

    if sigma < 0.1:
        return x
    r = int(np.ceil(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype) ** 2) / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
