"""What the pages show under a gallery: the outcome's distribution, and for images the attributes a
world's probe reads off them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds import World

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.worlds.probes import Probe

ATTRIBUTE_PANELS_PER_ROW = 3  # probe-read attribute panels per row under a gallery
HISTOGRAM_BINS = 10


def display_image(img: np.ndarray) -> np.ndarray:
    """(C, H, W) uint8 -> (H, W) or (H, W, 3) for ``st.image``."""
    x = np.asarray(img)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)


def value_shares(node: Node, values: np.ndarray) -> pd.DataFrame:
    """A scalar outcome's distribution in a gallery: share per level (discrete) or a 10-bin histogram."""
    v = np.asarray(values)
    if node.is_discrete:
        counts = np.bincount(v.astype(np.int64), minlength=node.levels)
        return pd.DataFrame({"value": [str(i) for i in range(node.levels)], "share": counts / max(1, len(v))})
    counts, edges = np.histogram(v.astype(np.float64), bins=HISTOGRAM_BINS)
    mids = (edges[:-1] + edges[1:]) / 2
    return pd.DataFrame({"value": [f"{m:.3g}" for m in mids], "share": counts / max(1, len(v))})


def world_probe(world: World | None, graph: ADMG, node: str) -> Probe | None:
    """The world's probe for image node ``node``, or None (no world, no probe, not an image)."""
    if world is None or node not in graph or graph.node(node).type != "image" or not hasattr(world, "probe"):
        return None
    try:
        return world.probe(node)
    except WorkbenchError:
        return None


def attribute_shares(probe: Probe, images: np.ndarray) -> tuple[pd.DataFrame, dict[str, float]]:
    """Probe read-outs of a gallery: (long table attribute/value/share for categorical attributes,
    {attribute: mean} for continuous ones)."""
    read = probe.read(np.asarray(images, dtype=np.uint8))
    rows, means = [], {}
    for name, attr in probe.attributes.items():
        vals = np.asarray(read[name])
        if attr.kind == "categorical":
            labels = attr.labels or tuple(str(i) for i in range(int(vals.max(initial=0)) + 1))
            counts = np.bincount(vals.astype(np.int64), minlength=len(labels))[: len(labels)]
            for label, c in zip(labels, counts, strict=True):
                rows.append({"attribute": name, "value": str(label), "share": float(c) / max(1, len(vals))})
        else:
            means[name] = float(np.mean(vals)) if len(vals) else float("nan")
    return pd.DataFrame(rows, columns=["attribute", "value", "share"]), means


def attribute_figure(shares: pd.DataFrame, panels_per_row: int = ATTRIBUTE_PANELS_PER_ROW) -> go.Figure:
    """Bars of each probe-read attribute's value shares, one small panel per attribute, at most
    ``panels_per_row`` a row (five names side by side overlap in a gallery column).  Built with
    graph_objects, not plotly.express: a refresh draws five of these, and express's faceting costs
    ~0.1 s each where this costs ~0.03 s."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    attrs = list(dict.fromkeys(shares["attribute"]))
    rows = -(-len(attrs) // panels_per_row)
    cols = min(panels_per_row, len(attrs))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=attrs, horizontal_spacing=0.06, shared_yaxes=True,
                        vertical_spacing=0.4 / rows if rows > 1 else 0.0)
    for k, name in enumerate(attrs):
        part = shares[shares["attribute"] == name]
        fig.add_trace(go.Bar(x=list(part["value"]), y=list(part["share"]), marker_color="#0068c9", showlegend=False,
                             hovertemplate="%{x}: %{y:.2f}<extra>" + name + "</extra>"),
                      row=k // panels_per_row + 1, col=k % panels_per_row + 1)
    fig.update_xaxes(type="category", tickangle=0)
    fig.update_yaxes(range=[0, 1], nticks=3)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=30 + 150 * rows, margin=dict(l=0, r=0, t=22, b=0), bargap=0.2)
    return fig
