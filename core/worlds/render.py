"""Pixel-level helpers shared by the digit worlds and their probes: colours, geometry, measurements.

Everything here is plain numpy on uint8 image batches (n, C, H, W), exact and deterministic, so a
world's mechanism and a probe reading an image back agree by construction.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from core.worlds.glyphs import zhang_suen_thin

# The six napkin colours, U1 in 0..5.  Colour "bit" U1 // 3 splits them into primaries and secondaries.
COLOUR_NAMES = ("red", "green", "blue", "yellow", "magenta", "cyan")
COLOURS = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]],
    dtype=np.float32,
)


def rotate90(images: np.ndarray, k: int = 1) -> np.ndarray:
    """Rotate (n, C, H, W) images by k * 90 degrees counter-clockwise."""
    return np.ascontiguousarray(np.rot90(images, k, axes=(-2, -1)))


def mirror(images: np.ndarray) -> np.ndarray:
    """Mirror (n, C, H, W) images left-right."""
    return np.ascontiguousarray(images[..., ::-1])


def brightness(images: np.ndarray) -> np.ndarray:
    """Per-pixel ink as float32 (n, H, W) in [0, 1]: the brightest channel / 255.

    For a pure colour c in {0, 1}^3 drawn with coverage a, every lit channel is round(255 a), so
    brightness recovers the coverage whatever the colour (exact up to rounding).
    """
    return images.max(axis=1).astype(np.float32) / 255.0


def colour_class(images: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Which of the six colours each RGB image is drawn in, int64 (n,).

    Pixels at least ``threshold`` times as bright as the image's brightest pixel are the foreground;
    each is normalised by its brightest channel (removing coverage), the normalised RGB vectors are
    averaged, and the nearest of the six unit-colour vectors wins.  An all-black image reads as 0.
    """
    x = images.astype(np.float32)
    b = x.max(axis=1)  # (n, H, W)
    peak = b.reshape(len(x), -1).max(axis=1)
    fg = (b >= threshold * np.maximum(peak, 1.0)[:, None, None]) & (b > 0)
    chroma = x / np.maximum(b, 1.0)[:, None]
    weight = fg.astype(np.float32)[:, None]
    mean = (chroma * weight).sum(axis=(2, 3)) / np.maximum(weight.sum(axis=(2, 3)), 1.0)
    dist = ((mean[:, None, :] - COLOURS[None]) ** 2).sum(-1)
    return dist.argmin(axis=1).astype(np.int64)


def foreground_intensity(images: np.ndarray, quantile: float = 0.95) -> np.ndarray:
    """Ink brightness of each (grey or colour) image in 0..255, float64 (n,).

    The ``quantile`` of the ink pixels (brightness above 20% of the peak), so the soft edges of the
    strokes (partial coverage) and a few outliers do not pull it down.  Empty images read as 0.
    """
    b = images.max(axis=1).astype(np.float64).reshape(len(images), -1)
    peak = b.max(axis=1, keepdims=True)
    masked = np.where((b > 0.2 * peak) & (b > 0), b, np.nan)
    out = np.nanquantile(np.where(np.isnan(masked).all(axis=1, keepdims=True), 0.0, masked), quantile, axis=1)
    return np.nan_to_num(out)


def stroke_area_and_length(coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink area (sum of coverage, pixels) and skeleton length (pixels) of (n, H, W) coverage maps.

    The skeleton is the Zhang-Suen thinning of the mask coverage >= 1/4 (thin strokes never reach
    full coverage); its length counts axial links as 1 and diagonal links as sqrt(2).  For a stroke of
    width w and length L, area ~ w L: this is the measurement that works for strokes thinner than the
    pixel grid, where the distance-transform one cannot resolve the width.
    """
    area = coverage.reshape(len(coverage), -1).sum(axis=1).astype(np.float64)
    skel = zhang_suen_thin(coverage >= 0.25)
    s = np.pad(skel, ((0, 0), (1, 1), (1, 1))).astype(np.float64)
    c = s[:, 1:-1, 1:-1]
    axial = s[:, :-2, 1:-1] + s[:, 2:, 1:-1] + s[:, 1:-1, :-2] + s[:, 1:-1, 2:]
    diag = s[:, :-2, :-2] + s[:, :-2, 2:] + s[:, 2:, :-2] + s[:, 2:, 2:]
    length = (c * (axial + np.sqrt(2.0) * diag) / 2.0).sum(axis=(1, 2))
    return area, np.maximum(length, 1.0)


def stroke_radius_px(coverage: np.ndarray, upsample: int = 4) -> np.ndarray:
    """Half the stroke width in pixels of each (n, H, W) coverage map, float64 (n,).

    Measured on the ink mask (coverage >= 1/2) upsampled ``upsample`` x (bilinear) for sub-pixel
    resolution: along the mask's skeleton, the Euclidean distance to the nearest background pixel is
    ~ w / 2 (the skeleton runs down the middle of a stroke of width w).  Junctions and filled loops
    read wider, so the distances are clipped at their 75th percentile before averaging (a trimmed
    mean: smoother than a median on the discrete distance values).  Empty images read as 0.  Callers
    map it to a width with a linear calibration fitted on world images (w ~ a r + b, a close to 2).
    """
    c = ndimage.zoom(coverage.astype(np.float32), (1, upsample, upsample), order=1) if upsample > 1 else coverage
    mask = c >= 0.5
    skel = zhang_suen_thin(mask)
    out = np.zeros(len(c))
    for k in range(len(c)):
        if skel[k].any():
            d = ndimage.distance_transform_edt(mask[k])[skel[k]]
            out[k] = np.minimum(d, np.percentile(d, 75)).mean() / upsample
    return out


def check_levels(name: str, values: np.ndarray, levels: int) -> np.ndarray:
    """A forced categorical value must be an integer in 0..levels-1."""
    from core.errors import WorkbenchError

    v = np.asarray(values)
    if v.size and (not np.all(np.isfinite(v)) or np.any(v != np.round(v)) or v.min() < 0 or v.max() >= levels):
        raise WorkbenchError(f"{name} takes integer values 0..{levels - 1}, got {np.unique(v)[:5].tolist()}")
    return v.astype(np.int64)


def check_image(name: str, images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A forced image must be uint8-compatible with the node's (C, H, W) shape."""
    from core.errors import WorkbenchError

    x = np.asarray(images)
    if x.shape[1:] != tuple(shape):
        raise WorkbenchError(f"{name} images must have shape {tuple(shape)}, got {x.shape[1:]}")
    return x.astype(np.uint8)
