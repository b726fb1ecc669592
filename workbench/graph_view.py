"""Drawing a graph in the browser with vis-network, roles and hedges coloured.

The JavaScript and CSS that ship INSIDE the pyvis wheel are inlined into one HTML string.  pyvis's
own ``cdn_resources="in_line"`` template still links bootstrap from a CDN (a blocking
``<script src=https://...>`` that hangs offline), so we use pyvis's bundled vis-network 9.1.2 files
with our own small template.
"""

from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from core.graph import ADMG
from workbench.query import Hedge

# Fill by node type (the same palette as ADMG.to_dot), border by query role.
TYPE_COLOURS = {"binary": "#dbeafe", "categorical": "#dcfce7", "continuous": "#fef9c3", "image": "#fce7f3"}
ROLE_COLOURS = {"treatment": "#2563eb", "outcome": "#16a34a", "given": "#9333ea"}
PLAIN_BORDER = "#64748b"
BIDIRECTED_COLOUR = "#dc2626"
DIRECTED_COLOUR = "#334155"
HEDGE_FILL = "#fecaca"  # nodes of F (the larger c-forest of the hedge)
HEDGE_CORE = "#f87171"  # nodes of F' (the smaller one, rooted in the outcome's ancestors)
HEDGE_EDGE = "#b91c1c"
# Edges on paths between treatment and outcome (DAGitty's colours): open causal and open biasing paths.
PATH_COLOURS = {"causal": "#16a34a", "biasing": "#db2777"}


class VisColour(TypedDict, total=False):
    """A vis-network colour: an edge's line, or a node's fill and border (and while highlighted)."""

    color: str
    background: str
    border: str
    highlight: VisColour


class VisFont(TypedDict):
    size: int
    face: str
    multi: bool


class VisNode(TypedDict):
    """A vis-network node record, as :func:`vis_nodes` draws a node."""

    id: str
    label: str
    title: str  # the tooltip
    x: float
    y: float
    shape: Literal["box", "ellipse"]
    borderWidth: float
    color: VisColour
    font: VisFont
    margin: int


class VisSmooth(TypedDict):
    enabled: bool
    type: str
    roundness: float


VisEdge = TypedDict(  # the functional form, since "from" is a Python keyword
    "VisEdge",
    {"from": str, "to": str, "arrows": str, "width": float, "color": VisColour,
     "smooth": bool | VisSmooth, "title": str, "dashes": list[int]},
    total=False,
)
"""A vis-network edge record, as :func:`vis_edges` draws an edge (``dashes`` on bidirected ones)."""


def graph_summary(graph: ADMG | None) -> str:
    """``"4 nodes, 3 directed and 2 bidirected edges"``; ``"no graph"`` for None."""
    if graph is None:
        return "no graph"
    return (f"{len(graph)} nodes, {len(graph.directed)} directed and "
            f"{len(graph.bidirected)} bidirected edges")


def layout(graph: ADMG, spacing: float = 100.0) -> dict[str, tuple[float, float]]:
    """Pixel positions: the stored ``pos`` of a node (dagitty convention, y down) times ``spacing``;
    nodes without one (a graph typed without positions, or a node just added) are laid out in layers
    (layer = length of the longest directed path into the node among them, nodes spread evenly within
    a layer in topological order), below the placed nodes when there are any, so adding a node never
    moves the others."""
    placed = {n.name: n.get("pos") for n in graph.nodes
              if isinstance(n.get("pos"), (tuple, list)) and len(n.get("pos")) == 2}
    pos = {v: (float(xy[0]) * spacing, float(xy[1]) * spacing) for v, xy in placed.items()}
    rest = [v for v in graph.topological_order() if v not in placed]
    if not rest:
        return pos
    free = set(rest)
    depth: dict[str, int] = {}
    for v in rest:
        depth[v] = 1 + max((depth[p] for p in graph.parents(v) if p in free), default=-1)
    layers: dict[int, list[str]] = {}
    for v in rest:
        layers.setdefault(depth[v], []).append(v)
    fresh = {}
    for d, members in layers.items():
        for i, v in enumerate(members):
            fresh[v] = ((i - (len(members) - 1) / 2) * spacing * 1.2, d * spacing)
    if pos:  # below the placed drawing, starting at its left edge
        dx = min(x for x, _ in pos.values()) - min(x for x, _ in fresh.values())
        dy = max(y for _, y in pos.values()) + spacing
        fresh = {v: (x + dx, y + dy) for v, (x, y) in fresh.items()}
    pos.update(fresh)
    return pos


@dataclass(frozen=True)
class Marks:
    """What a drawing marks on the graph: the query's roles (node borders), the hedge (fills) and the
    intervened nodes (boxes: their value is set from outside)."""

    treatment: tuple[str, ...] = ()
    outcome: tuple[str, ...] = ()
    given: tuple[str, ...] = ()
    hedge: Hedge | None = None
    intervened: tuple[str, ...] = ()
    # (cause, effect, "directed") or (a, b, "bidirected") -> "causal" | "biasing" (core.graph.paths)
    path_roles: tuple[tuple[tuple[str, str, str], str], ...] = ()

    def role_of(self, name: str) -> str | None:
        """The part of the query ``name`` plays (``treatment``, ``outcome``, ``given``), or None."""
        if name in self.treatment:
            return "treatment"
        if name in self.outcome:
            return "outcome"
        if name in self.given:
            return "given"
        return None


def vis_nodes(graph: ADMG, marks: Marks = Marks()) -> list[VisNode]:
    """vis-network node records: fill by type (or hedge membership), thick border by query role;
    intervened nodes are drawn as boxes."""
    hedge = marks.hedge
    pos = layout(graph)
    out: list[VisNode] = []
    for n in graph.nodes:
        role = marks.role_of(n.name)
        fill = TYPE_COLOURS[n.type]
        if hedge is not None:
            if n.name in hedge[1]:
                fill = HEDGE_CORE
            elif n.name in hedge[0]:
                fill = HEDGE_FILL
        border = ROLE_COLOURS[role] if role else PLAIN_BORDER
        tip = f"{n.name}: {n.type_text()}" + (f" ({role})" if role else "")
        if hedge is not None and n.name in hedge[0]:
            tip += " | in hedge F" + ("'" if n.name in hedge[1] else "")
        x, yy = pos[n.name]
        out.append({
            "id": n.name,
            "label": n.name if n.type == "binary" else f"{n.name}\n{n.type_label()}",
            "title": tip,
            "x": x,
            "y": yy,
            "shape": "box" if n.name in marks.intervened else "ellipse",
            "borderWidth": 4 if role else 1.5,
            "color": {"background": fill, "border": border,
                      "highlight": {"background": fill, "border": border}},
            "font": {"size": 18, "face": "Helvetica, Arial, sans-serif", "multi": False},
            "margin": 10,
        })
    return out


def vis_edges(graph: ADMG, hedge: Hedge | None = None,
              path_roles: tuple[tuple[tuple[str, str, str], str], ...] = ()) -> list[VisEdge]:
    """Directed edges straight and dark; bidirected edges dashed, curved and red with two heads.
    Edges inside the hedge's F are drawn thicker; edges on open causal or biasing paths (``path_roles``)
    thick, in :data:`PATH_COLOURS`."""
    in_f = hedge[0] if hedge is not None else frozenset()
    roles = dict(path_roles)
    out: list[VisEdge] = []
    for a, b in graph.directed:
        hot = a in in_f and b in in_f
        role = roles.get((a, b, "directed"))
        colour = PATH_COLOURS[role] if role else HEDGE_EDGE if hot else DIRECTED_COLOUR
        out.append({"from": a, "to": b, "arrows": "to", "width": 3.5 if hot or role else 1.8,
                    "color": {"color": colour}, "smooth": False,
                    "title": f"{a} -> {b}" + (f": on a {role} path" if role else "")})
    for a, b in graph.bidirected:
        hot = a in in_f and b in in_f
        role = roles.get((a, b, "bidirected")) or roles.get((b, a, "bidirected"))
        colour = PATH_COLOURS[role] if role else HEDGE_EDGE if hot else BIDIRECTED_COLOUR
        out.append({"from": a, "to": b, "arrows": "to, from", "dashes": [8, 6], "width": 3.5 if hot or role else 2,
                    "color": {"color": colour},
                    "smooth": {"enabled": True, "type": "curvedCW", "roundness": 0.35},
                    "title": f"{a} <-> {b}: hidden common cause" + (f", on a {role} path" if role else "")})
    return out


VIS_OPTIONS = {  # fixed positions (no physics), draggable nodes, zoom and pan
    "physics": {"enabled": False},
    "interaction": {"dragNodes": True, "dragView": True, "zoomView": True, "hover": True},
    "edges": {"arrowStrikethrough": False},
    "layout": {"randomSeed": 0},
}


@functools.lru_cache(maxsize=1)
def vis_assets() -> tuple[str, str]:
    """(JavaScript, CSS) of vis-network as bundled in the installed pyvis wheel: no network needed.
    Only the tooltip rules of the CSS are kept: the rest (220 kB of inline images) styles the
    editing toolbar, which we do not show."""
    import pyvis

    base = Path(pyvis.__file__).resolve().parent / "templates" / "lib" / "vis-9.1.2"
    js = (base / "vis-network.min.js").read_text(encoding="utf-8")
    css = (base / "vis-network.css").read_text(encoding="utf-8")
    tooltip = "".join(re.findall(r"div\.vis-tooltip\s*\{[^}]*\}", css))
    return js, tooltip


def _script_json(obj: object) -> str:
    """``obj`` as JSON that can stand inside ``<script>``: a ``</`` in it cannot close the tag."""
    return json.dumps(obj).replace("</", "<\\/")


def legend_html(show_hedge: bool = False, show_paths: bool = False) -> str:
    """The key under a drawing: fills by node type, borders by role, the two edge kinds (and the
    hedge's two fills when ``show_hedge``, the path colours when ``show_paths``)."""
    chips = [f'<span class="chip" style="background:{c}">{t}</span>' for t, c in TYPE_COLOURS.items()]
    roles = [f'<span class="chip ring" style="border-color:{c}">{r}</span>' for r, c in ROLE_COLOURS.items()]
    edges = [
        f'<span class="edge"><svg width="34" height="10"><line x1="2" y1="5" x2="30" y2="5" stroke="{DIRECTED_COLOUR}" '
        'stroke-width="2"/><polygon points="26,1 33,5 26,9" fill="' + DIRECTED_COLOUR + '"/></svg>cause</span>',
        f'<span class="edge"><svg width="34" height="10"><line x1="6" y1="5" x2="28" y2="5" stroke="{BIDIRECTED_COLOUR}" '
        'stroke-width="2" stroke-dasharray="5,4"/></svg>hidden confounder</span>',
    ]
    if show_hedge:
        edges.append(f'<span class="chip" style="background:{HEDGE_FILL}">hedge F</span>'
                     f'<span class="chip" style="background:{HEDGE_CORE}">F\'</span>')
    if show_paths:
        edges += [f'<span class="edge"><svg width="34" height="10"><line x1="2" y1="5" x2="32" y2="5" stroke="{c}" '
                  f'stroke-width="4"/></svg>{kind} path</span>' for kind, c in PATH_COLOURS.items()]
    return '<div class="legend">' + "".join(chips + roles + edges) + "</div>"


def graph_html(graph: ADMG, marks: Marks = Marks(), *, height: int = 380, legend: bool = True) -> str:
    """A self-contained HTML page drawing ``graph`` with vis-network (all assets inline, offline)."""
    from pyvis.network import Network

    # pyvis validates and stores the records; we render them with our offline template.
    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line")
    for node in vis_nodes(graph, marks):
        rec = dict(node)
        net.add_node(rec.pop("id"), **rec)
    for edge in vis_edges(graph, marks.hedge, marks.path_roles):
        rec = dict(edge)
        net.add_edge(rec.pop("from"), rec.pop("to"), **rec)
    js, css = vis_assets()
    return _HTML_TEMPLATE.format(
        css=css,
        js=js,
        height=int(height),
        nodes=_script_json(net.nodes),
        edges=_script_json(net.edges),
        options=_script_json(VIS_OPTIONS),
        legend=legend_html(marks.hedge is not None, bool(marks.path_roles)) if legend else "",
        label=html.escape(graph_summary(graph)),
    )


_HTML_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>graph</title>
<style>{css}</style>
<style>
  html, body {{ margin: 0; padding: 0; background: transparent;
               font-family: "Source Sans Pro", Helvetica, Arial, sans-serif; }}
  #net {{ box-sizing: border-box; width: 100%; height: {height}px; border: 1px solid #e2e8f0; border-radius: 10px; background: #ffffff; }}
  .legend {{ display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; font-size: 12px;
             color: #334155; padding: 6px 2px 2px 2px; }}
  .chip {{ padding: 1px 8px; border-radius: 10px; border: 1px solid #cbd5e1; }}
  .chip.ring {{ background: #ffffff; border-width: 3px; border-style: solid; }}
  .edge {{ display: inline-flex; align-items: center; gap: 4px; }}
</style></head>
<body>
<div id="net" role="img" aria-label="{label}"></div>
{legend}
<script>{js}</script>
<script>
  var nodes = new vis.DataSet({nodes});
  var edges = new vis.DataSet({edges});
  var network = new vis.Network(document.getElementById("net"), {{nodes: nodes, edges: edges}}, {options});
  network.once("afterDrawing", function () {{ network.fit({{animation: false}}); }});
  document.getElementById("net").setAttribute("data-ready", "1");
</script>
</body></html>
"""
