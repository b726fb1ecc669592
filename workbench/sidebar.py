"""What the sidebar shows on every page: the graph in one line, the compute device, the app icon."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from workbench.graph_view import BIDIRECTED_COLOUR, DIRECTED_COLOUR, ROLE_COLOURS

if TYPE_CHECKING:
    from PIL.Image import Image


@functools.lru_cache(maxsize=1)
def app_icon() -> Image:
    """The favicon, drawn here: a ``:material/...:`` page icon makes the browser fetch an SVG from
    fonts.gstatic.com, which fails offline.  Three nodes: X -> Y, and a dashed red X <-> Y arc."""
    from PIL import Image, ImageDraw

    size = 64
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    for start in range(200, 340, 24):  # a dashed arc over both nodes, as in the drawings
        d.arc((14, 8, 50, 72), start, start + 13, fill=BIDIRECTED_COLOUR, width=5)
    d.line((16, 40, 48, 40), fill=DIRECTED_COLOUR, width=4)
    for cx, fill in ((14, ROLE_COLOURS["treatment"]), (50, ROLE_COLOURS["outcome"])):
        d.ellipse((cx - 10, 30, cx + 10, 50), fill="#ffffff", outline=fill, width=5)
    return img


@functools.lru_cache(maxsize=1)
def device_label() -> str:
    """The compute device training will use: CUDA (with its name), MPS or CPU; a CPU label saying so
    where torch is not installed."""
    try:
        import torch
    except ImportError:
        return "CPU (torch not installed)"
    if torch.cuda.is_available():
        return f"CUDA ({torch.cuda.get_device_name(0)})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "MPS (Apple GPU)"
    return "CPU"
