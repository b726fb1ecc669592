"""Image files and pixel conventions.

Datasets hold images as uint8 arrays (n, C, H, W), C = 1 (grey) or 3 (RGB); models see float32 in
[-1, 1].  PNG and JPEG files are read as they are (no resizing): grey modes give 1 channel, every
other mode 3.  An image file of more than ``MAX_IMAGE_PIXELS`` (4096 x 4096, the limit of an image
node) is refused from its header, before a pixel is decoded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.columns import DataError
from core.graph.node import MAX_IMAGE_PIXELS

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def read_image(path: Path, what: str) -> np.ndarray:
    """One PNG/JPEG as uint8 (C, H, W): grey images give C = 1, colour ones C = 3.  ``what`` names
    the row and column for the error message."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # our own limit (below) is far under Pillow's, whose warning would add lines to the error
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise DataError(
                    f"{what}: image {path.name} is {width}x{height} pixels, more than the limit of "
                    f"{MAX_IMAGE_PIXELS:,} pixels (4096x4096)"
                )
            if im.mode not in ("L", "RGB"):
                im = im.convert("L" if im.mode in _GREY_MODES else "RGB")
            else:
                im.load()
            arr = np.asarray(im)
    except FileNotFoundError:
        raise DataError(f"{what}: image file not found: {path.name}") from None
    except DataError:
        raise
    except Image.DecompressionBombError:  # Pillow's own, far larger limit, checked as it opens the file
        raise DataError(
            f"{what}: image {path.name} has more than the limit of {MAX_IMAGE_PIXELS:,} pixels (4096x4096)"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{what}: unreadable image {path.name} ({type(e).__name__})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def read_image_column(
    root: Path, rel_paths: Sequence[object], column: str, shape: Sequence[int] | None = None
) -> np.ndarray:
    """Images listed by relative path (relative to ``root``) as one uint8 array (n, C, H, W).

    All must share one shape (the node's, when given); paths may not leave ``root``.
    """
    root_resolved = root.resolve()
    out: np.ndarray | None = None
    for i, rel in enumerate(rel_paths):
        what = f"row {i}, column {column!r}"
        if not isinstance(rel, str) or not rel.strip():
            raise DataError(f"{what}: missing image path")
        if "\0" in rel:
            raise DataError(f"{what}: image path {rel!r} holds a null byte")
        path = (root / rel).resolve()
        if not path.is_relative_to(root_resolved):
            raise DataError(f"{what}: image path {rel!r} leaves the data folder")
        img = read_image(path, what)
        if out is None:
            want = tuple(shape) if shape is not None else img.shape
            out = np.empty((len(rel_paths), *want), dtype=np.uint8)
        if img.shape != out.shape[1:]:
            raise DataError(f"{what}: image {rel} is {_shape_text(img.shape)}, expected {_shape_text(out.shape[1:])}")
        out[i] = img
    if out is None:
        c, h, w = shape if shape is not None else (1, 1, 1)
        out = np.zeros((0, c, h, w), dtype=np.uint8)
    return out


def _shape_text(shape: Sequence[int]) -> str:
    """``grey 28x28``, ``RGB 16x16``."""
    c, h, w = shape
    return f"{'grey' if c == 1 else 'RGB' if c == 3 else f'{c}-channel'} {h}x{w}"


# --------------------------------------------------------------------------------------------------
# Pixel conventions for models


def images_to_unit_range(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, C, H, W) -> float32 torch tensor in [-1, 1]: x / 127.5 - 1."""
    import torch

    arr = np.ascontiguousarray(images)
    if not arr.flags.writeable:
        arr = arr.copy()  # torch warns on read-only memory; the float conversion copies anyway
    return torch.from_numpy(arr).to(torch.float32).div_(127.5).sub_(1.0)


def images_to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Model outputs in [-1, 1] (torch tensor or numpy array) -> uint8 (n, C, H, W), clipped and
    rounded: round((clip(x, -1, 1) + 1) * 127.5)."""
    arr = to_numpy(images).astype(np.float32, copy=False)
    return np.round((np.clip(arr, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def to_numpy(values: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    """A torch tensor (on any device) or array-like as a numpy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def is_float_tensor(values: object) -> bool:
    """True for a floating-point torch tensor (a model output)."""
    return hasattr(values, "detach") and getattr(values, "is_floating_point", lambda: False)()
