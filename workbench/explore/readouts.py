"""How the pages show images (one composite image per gallery) and which probe reads them (the
numbers read off them are ``workbench.explore.changes``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG
from core.worlds import World

if TYPE_CHECKING:
    from core.worlds.probes import Probe


def display_image(img: np.ndarray) -> np.ndarray:
    """(C, H, W) uint8 -> (H, W) or (H, W, 3) for ``st.image``."""
    x = np.asarray(img)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)


def contact_sheet(images: np.ndarray, *, columns: int = 4, cell: int = 56, gap: int = 3) -> np.ndarray:
    """``(n, C, H, W)`` uint8 images as ONE ``(rows x columns)`` grid image (H x W x 3), each image
    enlarged by whole pixels (nearest neighbour) to about ``cell`` pixels, ``gap`` white pixels
    between them.  One image per gallery is one file for the browser to fetch, instead of one per
    thumbnail, and whole-pixel enlargement keeps small images sharp where the browser would blur."""
    x = np.asarray(images, dtype=np.uint8)
    if x.ndim != 4 or not len(x):
        raise ValueError(f"expected (n, C, H, W) images, got shape {x.shape}")
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    n, _, h, w = x.shape
    k = max(1, round(cell / max(h, w)))
    big = x.repeat(k, axis=2).repeat(k, axis=3).transpose(0, 2, 3, 1)  # (n, kH, kW, 3)
    cols = min(columns, n)
    rows = -(-n // cols)
    sheet = np.full((rows * (k * h + gap) - gap, cols * (k * w + gap) - gap, 3), 255, np.uint8)
    for i, img in enumerate(big):
        r, c = divmod(i, cols)
        sheet[r * (k * h + gap):r * (k * h + gap) + k * h, c * (k * w + gap):c * (k * w + gap) + k * w] = img
    return sheet


def world_probe(world: World | None, graph: ADMG, node: str) -> Probe | None:
    """The world's probe for image node ``node``, or None (no world, no probe, not an image)."""
    if world is None or node not in graph or graph.node(node).type != "image" or not hasattr(world, "probe"):
        return None
    try:
        return world.probe(node)
    except WorkbenchError:
        return None
