"""Handwritten digit glyphs from scikit-learn's ``load_digits``, re-drawn with any stroke width.

The 1797 real 8x8 handwritten digits ship with scikit-learn (no download).  Each is turned into a
*skeleton* once, then drawn on demand:

1. upsample the 8x8 grey glyph (bicubic, x6) and blur it lightly (Gaussian);
2. threshold it (at 0.45, or higher where that keeps a loop open: ``ink_masks``) and thin it to a
   one-pixel skeleton (Zhang & Suen 1984);
3. for a canvas of ``size`` pixels, place the glyph's 8x8 box in the central ``BOX_FRACTION`` of the
   canvas and precompute ``d(p)``, the Euclidean distance (canvas pixels) from each pixel centre ``p``
   to the nearest skeleton point.

A stroke of width ``w`` pixels is then the soft band

    coverage(p) = clip(w / 2 + 1/2 - d(p), 0, 1),

i.e. a pixel is fully inked when its centre lies within ``w/2 - 1/2`` of the skeleton, and the edge is
a one-pixel linear ramp (anti-aliasing).  The ink area of a stroke of length ``L`` is then ~ ``w * L``,
which is what the probes measure back.  Drawing is a gather plus a clip: fully vectorised.

Widths are given in "28-pixel units" (Morpho-MNIST's convention) and scaled by ``size / 28``.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from core.assets import ASSETS
from core.errors import WorkbenchError

SIZES = (16, 28, 32)
BOX_FRACTION = 20.0 / 28.0  # the glyph's 8x8 box covers 20 of 28 pixels, as MNIST digits do
_UPSAMPLE = 6
# Skeletons are a pure function of scikit-learn's digits and the code below; they are cached in the
# repository (numpy .npz, no pickle) because thinning 1797 glyphs takes seconds on a busy CPU.
# Delete the file to recompute it (tests check the cache equals a fresh computation).
SKELETON_CACHE = str(ASSETS / "probes" / "glyph_skeletons.npz")
_CACHE_VERSION = 1


def check_size(size: int) -> int:
    """Image side in pixels; one of ``SIZES``."""
    if size not in SIZES:
        raise WorkbenchError(f"image size must be one of {', '.join(map(str, SIZES))}, got {size!r}")
    return int(size)


@lru_cache(maxsize=1)
def digit_bank() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 handwritten digits as float32 (N, 8, 8) ink in [0, 1], and their int64 labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


@lru_cache(maxsize=1)
def class_index() -> tuple[np.ndarray, ...]:
    """For each digit 0-9, the bank indices of its glyphs (ascending)."""
    labels = glyph_labels()
    return tuple(np.flatnonzero(labels == k) for k in range(10))


def glyph_for(digit: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Bank index of the glyph with quantile ``rank`` in [0, 1) among the glyphs of ``digit``.

    The rank is the unit's exogenous handwriting noise: intervening on the digit keeps the rank,
    so a counterfactual digit is drawn by "the same hand position" in the other class.
    """
    digit = np.asarray(digit, dtype=np.int64)
    rank = np.asarray(rank, dtype=np.float64)
    out = np.empty(digit.shape, dtype=np.int64)
    for k, idx in enumerate(class_index()):
        sel = digit == k
        if sel.any():
            out[sel] = idx[np.minimum((rank[sel] * len(idx)).astype(np.int64), len(idx) - 1)]
    return out


def _zhang_suen_tables() -> tuple[np.ndarray, np.ndarray]:
    """Deletion tables of the two sub-iterations, indexed by the 8-bit code of P2..P9 (bit k = P(k+2))."""
    codes = np.arange(256)
    p = [(codes >> k) & 1 for k in range(8)]  # p[0] = P2 (north), clockwise to p[7] = P9 (north-west)
    b = sum(p)
    a = sum((p[k] == 0) & (p[(k + 1) % 8] == 1) for k in range(8))
    base = (b >= 2) & (b <= 6) & (a == 1)
    p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
    first = base & (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    second = base & (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return first, second


_ZS_TABLES = _zhang_suen_tables()


def zhang_suen_thin(mask: np.ndarray) -> np.ndarray:
    """One-pixel skeletons of a batch of binary masks (..., H, W), Zhang & Suen's two sub-iterations.

    A foreground pixel P1 with neighbours P2..P9 (clockwise from north) is deleted when
    2 <= B <= 6 (B = number of foreground neighbours), A == 1 (one 0->1 transition around it), and
    P2*P4*P6 == 0 and P4*P6*P8 == 0 (first sub-iteration) or P2*P4*P8 == 0 and P2*P6*P8 == 0 (second).
    Both rules are precomputed as tables over the 256 neighbourhoods, so a pass is one gather.
    """
    flat = mask.reshape((-1,) + mask.shape[-2:])
    img = np.pad(flat.astype(np.uint8), ((0, 0), (1, 1), (1, 1)))
    shifts = [(0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0)]  # P2..P9 as (row, col) offsets
    h, w = flat.shape[-2:]
    active = np.arange(len(img))  # images still changing; converged ones are left alone
    while len(active):
        sub = img[active]
        changed = np.zeros(len(active), dtype=bool)
        for table in _ZS_TABLES:
            code = np.zeros((len(active), h, w), dtype=np.uint8)
            for k, (r, c) in enumerate(shifts):
                code |= sub[:, r : r + h, c : c + w] << k
            centre = sub[:, 1:-1, 1:-1]
            delete = table[code] & (centre == 1)
            changed |= delete.any(axis=(1, 2))
            centre[delete] = 0
        img[active] = sub
        active = active[changed]
    return img[:, 1:-1, 1:-1].astype(bool).reshape(mask.shape)


def upsample_bicubic(images: np.ndarray, factor: int) -> np.ndarray:
    """Bicubic upsampling of (N, h, w) float images by an integer factor (pixel-area aligned)."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None]
        return F.interpolate(t, scale_factor=factor, mode="bicubic", align_corners=False)[:, 0].numpy()


def euler_number(mask: np.ndarray) -> np.ndarray:
    """Euler number (components - holes, foreground 8-connected) of each (..., H, W) mask.

    Gray's bit-quad formula: E = (Q1 - Q3 - 2 Q_D) / 4, counting the 2x2 windows with exactly one
    foreground pixel (Q1), three (Q3), and two on a diagonal (Q_D).
    """
    m = np.pad(mask, [(0, 0)] * (mask.ndim - 2) + [(1, 1), (1, 1)]).astype(np.int8)
    a, b, c, d = m[..., :-1, :-1], m[..., :-1, 1:], m[..., 1:, :-1], m[..., 1:, 1:]
    k = a + b + c + d
    diag = (k == 2) & (a == d)
    return ((k == 1).sum(axis=(-2, -1)) - (k == 3).sum(axis=(-2, -1)) - 2 * diag.sum(axis=(-2, -1))) // 4


def ink_masks(ink: np.ndarray, thresholds: tuple[float, ...] = (0.45, 0.55, 0.65, 0.75)) -> np.ndarray:
    """Binary ink masks of smoothly upsampled glyphs, keeping the loops the blur would fill.

    Blurred 8x8 glyphs can close the hole of an 8, 6 or 9 at a low threshold.  Each glyph takes the
    threshold with the smallest Euler number (most holes net of broken strokes), ties to the lowest.
    """
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    big = upsample_bicubic(padded, _UPSAMPLE)
    big = ndimage.gaussian_filter(big, sigma=(0, _UPSAMPLE / 4, _UPSAMPLE / 4))
    euler = np.stack([euler_number(big > t) for t in thresholds], axis=1)
    best = np.asarray(thresholds, dtype=np.float32)[euler.argmin(axis=1)]
    return big > best[:, None, None]


def compute_skeletons() -> tuple[list[np.ndarray], np.ndarray]:
    """Skeleton pixels (k, 2) of every bank glyph on the x``_UPSAMPLE`` padded grid, and the labels."""
    ink, labels = digit_bank()
    return [np.argwhere(s) for s in zhang_suen_thin(ink_masks(ink))], labels


@lru_cache(maxsize=1)
def _skeleton_pixels() -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    try:
        with np.load(SKELETON_CACHE, allow_pickle=False) as z:
            if int(z["version"]) == _CACHE_VERSION:
                return tuple(np.split(z["points"].astype(np.int64), z["offsets"][1:-1])), z["labels"].astype(np.int64)
    except (OSError, KeyError, ValueError):
        pass  # missing or stale cache: recompute below
    pixels, labels = compute_skeletons()
    offsets = np.cumsum([0] + [len(p) for p in pixels])
    try:
        os.makedirs(os.path.dirname(SKELETON_CACHE), exist_ok=True)
        tmp = SKELETON_CACHE + ".tmp.npz"
        np.savez_compressed(tmp, version=_CACHE_VERSION, points=np.concatenate(pixels).astype(np.int16),
                            offsets=offsets, labels=labels.astype(np.int8))  # fmt: skip
        os.replace(tmp, SKELETON_CACHE)
    except OSError:
        pass  # a read-only checkout still works, just slower
    return tuple(pixels), labels


def glyph_labels() -> np.ndarray:
    """Digit class of each bank glyph, int64 (N,)."""
    return _skeleton_pixels()[1]


def glyph_skeletons() -> tuple[np.ndarray, ...]:
    """Skeleton points of every bank glyph, in glyph units (0..8 spans the 8x8 box), (k, 2) row/col."""
    # hi-res pixel centre -> glyph units, minus the one-pixel pad
    return tuple((p + 0.5) / _UPSAMPLE - 1.0 for p in _skeleton_pixels()[0])


@lru_cache(maxsize=4)
def distance_maps(size: int) -> np.ndarray:
    """float32 (N, size, size): distance (pixels) from each pixel centre to glyph n's skeleton."""
    size = check_size(size)
    box = BOX_FRACTION * size
    offset = (size - box) / 2.0
    centres = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij"), -1).reshape(-1, 2)
    maps = np.empty((len(glyph_skeletons()), size, size), dtype=np.float32)
    for n, pts in enumerate(glyph_skeletons()):
        d, _ = cKDTree(offset + pts * box / 8.0).query(centres)
        maps[n] = d.reshape(size, size)
    return maps


def stroke_width_px(width28: np.ndarray, size: int) -> np.ndarray:
    """Stroke width in canvas pixels for a width given in 28-pixel units."""
    return np.asarray(width28, dtype=np.float64) * (size / 28.0)


def draw_coverage(glyph: np.ndarray, width28: np.ndarray, size: int) -> np.ndarray:
    """Ink coverage in [0, 1], float32 (n, size, size), of glyphs drawn with the given widths.

    coverage = clip(w/2 + 1/2 - d, 0, 1) with w the width in pixels and d the skeleton distance.
    """
    d = distance_maps(size)[np.asarray(glyph, dtype=np.int64)]
    half = (stroke_width_px(width28, size) / 2.0 + 0.5).astype(np.float32)
    return np.clip(half[:, None, None] - d, 0.0, 1.0)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round float pixel values in [0, 255] to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def save_grid(images: np.ndarray, path: str, ncol: int = 10, scale: int = 4) -> None:
    """Write uint8 images (n, C, H, W) as one PNG grid (for looking at them), upscaled ``scale`` x."""
    from PIL import Image

    n, c, h, w = images.shape
    rows = (n + ncol - 1) // ncol
    grid = np.full((rows * (h + 1), ncol * (w + 1), 3), 128, dtype=np.uint8)
    for k in range(n):
        r, q = divmod(k, ncol)
        img = images[k].transpose(1, 2, 0)
        grid[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = img if c == 3 else np.repeat(img, 3, -1)
    Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST).save(path)
