"""The Graph page's drag-to-connect editor (streamlit-flow, i.e. React Flow) as pure functions.

The editor keeps its own state in the browser and hands back, after each interaction, the whole
drawing: a list of node records and a list of edge records in React Flow's shape.  This module turns
an ``ADMG`` into such records (:func:`to_flow`) and reads a returned drawing back as a list of graph
edits (:func:`diff_flow`), which :func:`apply_flow_edits` applies one by one through the editing
rules of :mod:`workbench.graph_editor` (so a cycle, a self-loop or a duplicate name raises
``GraphError`` with one line, and the caller keeps the old graph).  Nothing here imports Streamlit
except :func:`flow_state`, which wraps the records in streamlit-flow's classes (imported lazily).

Records and what they mean:

* node id = node name when the node came from the graph; a node created in the canvas (pane menu)
  has an id ``st-flow-node_<random>`` and its name is the text the user typed.  The name shown is the
  first line of ``data.content`` (markdown); editing it in the node menu renames the node.
* edge id = ``"A->B"`` (directed: A causes B) or ``"A<->B"`` (bidirected: a hidden common cause).
  An edge whose id is not of that form was drawn by the user (React Flow names it
  ``st-flow-edge_A-B``): it becomes ``source -> target`` or ``source <-> target`` depending on the
  "new edges are" choice beside the editor.
* positions: React Flow pixels, ``SCALE`` per unit of the dagitty ``pos`` attribute (y down in both).
  After a drag the positions of all nodes are written to the graph, so the drawing the user made is
  what dagitty text and JSON keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, TypedDict

from core.graph import ADMG, GraphError, Node
from workbench import graph_editor, graph_view, query

if TYPE_CHECKING:
    from streamlit_flow.state import StreamlitFlowState

SCALE = 100.0  # React Flow pixels per dagitty position unit (the pyvis drawings use the same spacing)
MARGIN = (40.0, 40.0)  # pixels between the canvas corner and the top-left node
CANVAS = (620.0, 340.0)  # pixels the drawing may fill (clear of the zoom buttons in the corner)
NODE_ROOM = (150.0, 50.0)  # pixels a node label takes beyond its position (its top-left corner)
MIN_SCALE, MAX_SCALE = 60.0, 160.0  # pixels per dagitty unit
MOVE_TOLERANCE = 0.5  # pixels: React Flow reports float positions; a smaller shift is not a drag
POS_DIGITS = 2  # dagitty positions are written with two decimals (1/100 of a unit = one pixel)
EDGE_KINDS = tuple(graph_editor.EDGE_KINDS)  # directed, bidirected
BIDIRECTED_PATH = "simplebezier"  # curved arcs like the pyvis view (a smoothstep path runs at right angles along the directed edges)
SIDE_BY_SIDE_PATH = "smoothstep"  # between two nodes on one row: down, across, up and into the top from above
STEP_OFFSET = {"directed": 20, "bidirected": 34}  # pixels the side-by-side steps leave a node (apart, so both show)
ROW_GAP = 60.0  # pixels: a node less than this far below another sits on its row (a node is ~40 px tall)
HANDLE_PX = 12  # connection dots (React Flow's own are 6 px: hard to hit)
EDGE_KIND_LABELS = {"directed": "directed  A → B (cause)", "bidirected": "bidirected  A ↔ B (hidden confounder)"}

_EDGE_ID_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(<->|->)([A-Za-z_][A-Za-z0-9_]*)")

EdgeRef: TypeAlias = tuple[str, str, str]
"""(a, b, kind): the edge ``a -> b`` (kind ``directed``) or ``a <-> b`` (kind ``bidirected``)."""

Selection: TypeAlias = tuple[Literal["node"], str] | tuple[Literal["edge"], EdgeRef]
"""What a click in the editor picked: a node by name, or an edge."""

Returned: TypeAlias = Mapping[str, object]
"""A node or edge record as the editor hands it back: React Flow's JSON, with keys of its own added
(``width``, ``positionAbsolute``, ...); a node made in the canvas carries only some of ours."""


class Position(TypedDict):
    x: float
    y: float


class NodeData(TypedDict):
    content: str  # Markdown; its first line is the node's name


class FlowNode(TypedDict):
    """A React Flow node record (the shape streamlit-flow's ``StreamlitFlowNode.asdict`` gives)."""

    id: str
    position: Position
    data: NodeData
    type: str
    sourcePosition: str
    targetPosition: str
    hidden: bool
    selected: bool
    dragging: bool
    draggable: bool
    selectable: bool
    connectable: bool
    resizing: bool
    deletable: bool
    zIndex: int
    focusable: bool
    style: dict[str, str]


class Marker(TypedDict, total=False):
    """An arrowhead at one end of an edge ({} for none)."""

    type: str
    color: str
    width: int
    height: int


class EdgeLook(TypedDict):
    """How an edge kind is drawn: the part of a :class:`FlowEdge` that :func:`edge_style` decides."""

    type: str  # React Flow's path shape
    style: dict[str, str | int]  # SVG stroke
    markerStart: Marker
    markerEnd: Marker
    zIndex: int


class PathOptions(TypedDict, total=False):
    """React Flow's options of a step path: how far the first step leaves the node."""

    offset: int


class FlowEdge(TypedDict, total=False):
    """A React Flow edge record (the shape streamlit-flow's ``StreamlitFlowEdge.asdict`` gives;
    ``pathOptions`` only on a step path)."""

    id: str
    source: str
    target: str
    type: str
    markerStart: Marker
    markerEnd: Marker
    hidden: bool
    animated: bool
    selected: bool
    deletable: bool
    focusable: bool
    selectable: bool
    zIndex: int
    label: str
    labelStyle: dict[str, str]
    labelShowBg: bool
    labelBgStyle: dict[str, str]
    style: dict[str, str | int]
    pathOptions: PathOptions


class HasAsDict(Protocol):
    """A streamlit-flow node or edge object."""

    def asdict(self) -> dict[str, object]: ...


# --------------------------------------------------------------------------------------------------
# Graph -> records


def edge_id(a: str, b: str, kind: str = "directed") -> str:
    """``"A->B"`` or ``"A<->B"``: the id of an edge this module draws."""
    return f"{a}{graph_editor.EDGE_KINDS[graph_editor.check_edge_kind(kind)]}{b}"


def parse_edge_id(eid: str) -> EdgeRef | None:
    """(a, b, kind) for an id made by :func:`edge_id`; None for any other id (a user-drawn edge)."""
    m = _EDGE_ID_RE.fullmatch(str(eid))
    if not m:
        return None
    return m.group(1), m.group(3), "bidirected" if m.group(2) == "<->" else "directed"


def node_content(node: Node) -> str:
    """Markdown shown inside a node: its name in bold, and for non-binary nodes a small type line."""
    head = f"**{node.name}**"
    if node.type == "binary":
        return head
    return f'{head}<br/><span style="font-size:11px;color:#475569">{node.type_text()}</span>'


def name_from_content(content: object) -> str:
    """The node name a user typed in the node menu: the first line of the content, without markdown
    emphasis or HTML tags (so editing ``**X**<br/>...`` into ``**Z**<br/>...`` renames X to Z)."""
    first = re.split(r"<br\s*/?>|\n", str(content or "").strip(), maxsplit=1)[0]
    first = re.sub(r"<[^>]*>", "", first)
    return first.strip().strip("*`#").strip()


def node_style(node: Node) -> dict[str, str]:
    """CSS of a node: filled by type (the pyvis palette), a pill shape sized to its label."""
    return {
        "background": graph_view.TYPE_COLOURS[node.type],
        "border": f"1.5px solid {graph_view.PLAIN_BORDER}",
        "borderRadius": "999px",
        "padding": "0px 12px",
        "width": "auto",
        "height": "auto",
        "minWidth": "48px",
        "fontSize": "14px",
        "lineHeight": "1.15",
        "color": "#0f172a",
        "textAlign": "center",
    }


def edge_style(kind: str) -> EdgeLook:
    """How an edge is drawn: a directed edge solid and dark with one arrowhead; a bidirected edge
    red, DASHED and curved with arrowheads at both ends (as in the pyvis drawings), so the two kinds
    differ in colour, stroke, shape and heads, not only in heads.

    Every edge lies UNDER the nodes (zIndex 0, like the nodes): an edge drawn above them (zIndex 1)
    catches the mouse over any node it crosses (its 20-pixel click band), so a node with a skip
    edge behind it (W2 -> Y across X) could not be dragged.  Directed edges still lie on top of
    bidirected ones, because :func:`to_flow` lists them last (later SVG paths paint over earlier)."""
    if graph_editor.check_edge_kind(kind) == "directed":
        colour = graph_view.DIRECTED_COLOUR
        return {
            "type": "default",
            "style": {"stroke": colour, "strokeWidth": 2},
            "markerStart": {},
            "markerEnd": _arrowhead(colour),
            "zIndex": 0,
        }
    colour = graph_view.BIDIRECTED_COLOUR
    return {
        "type": BIDIRECTED_PATH,
        "style": {"stroke": colour, "strokeWidth": 2, "strokeDasharray": "7 5"},
        "markerStart": _arrowhead(colour),
        "markerEnd": _arrowhead(colour),
        "zIndex": 0,
    }


def _arrowhead(colour: str) -> Marker:
    return {"type": "arrowclosed", "color": colour, "width": 12, "height": 12}


def flow_node(node: Node, xy: tuple[float, float]) -> FlowNode:
    """A React Flow node record (the shape streamlit-flow's ``StreamlitFlowNode.asdict`` gives).
    Not selectable, so the keyboard cannot delete it behind the app's back; deletable from its menu."""
    return {
        "id": node.name,
        "position": {"x": float(xy[0]), "y": float(xy[1])},
        "data": {"content": node_content(node)},
        "type": "default",
        "sourcePosition": "bottom",
        "targetPosition": "top",
        "hidden": False,
        "selected": False,
        "dragging": False,
        "draggable": True,
        "selectable": False,
        "connectable": True,
        "resizing": False,
        "deletable": True,
        "zIndex": 0,
        "focusable": True,
        "style": node_style(node),
    }


def flow_edge(a: str, b: str, kind: str = "directed", *, reverse: bool = False,
              path: str | None = None) -> FlowEdge:
    """A React Flow edge record for ``a -> b`` or ``a <-> b`` (deletable from its menu).  A
    bidirected edge may be drawn from ``b`` to ``a`` (``reverse``); an edge may get another
    ``path`` shape (:func:`edge_geometry`); its id still names ``a -> b`` or ``a <-> b``."""
    look = edge_style(kind)
    source, target = (b, a) if reverse else (a, b)
    record: FlowEdge = {
        "id": edge_id(a, b, kind),
        "source": source,
        "target": target,
        "type": path or look["type"],
        "markerStart": look["markerStart"],
        "markerEnd": look["markerEnd"],
        "hidden": False,
        "animated": False,
        "selected": False,
        "deletable": True,
        "focusable": False,
        "selectable": False,
        "zIndex": look["zIndex"],
        "label": "",
        "labelStyle": {},
        "labelShowBg": False,
        "labelBgStyle": {},
        "style": look["style"],
    }
    if record["type"] == SIDE_BY_SIDE_PATH:
        record["pathOptions"] = {"offset": STEP_OFFSET[kind]}
    return record


@dataclass(frozen=True)
class Frame:
    """Where the drawing sits in the canvas: pixel = ``pos`` (dagitty units) * scale + (dx, dy).

    The editor is drawn at zoom 1 with a spacing chosen to fill the canvas, instead of React Flow's
    "fit view", which zooms a two-node graph in to twice its size (huge nodes).  The page keeps one
    frame per editor instance, so positions read back are converted with the frame they were drawn
    with, whatever was dragged since."""

    scale: float = SCALE
    dx: float = 0.0
    dy: float = 0.0

    def to_px(self, xy: tuple[float, float]) -> tuple[float, float]:
        return xy[0] * self.scale + self.dx, xy[1] * self.scale + self.dy

    def to_units(self, xy: tuple[float, float]) -> tuple[float | int, float | int]:
        """Pixels -> dagitty ``pos``, two decimals; whole numbers stay ints (``pos="1,2"``)."""
        out = []
        for v, d in ((xy[0], self.dx), (xy[1], self.dy)):
            r = round((v - d) / self.scale, POS_DIGITS)
            out.append(int(r) if float(r).is_integer() else r)
        return out[0], out[1]


def fit_frame(graph: ADMG, width: float = CANVAS[0], height: float = CANVAS[1]) -> Frame:
    """A frame that spreads ``graph`` over a ``width`` x ``height`` pixel area (node labels need
    about ``NODE_ROOM`` more) with between ``MIN_SCALE`` and ``MAX_SCALE`` pixels per unit, its
    top-left node ``MARGIN`` from the corner."""
    units = graph_view.layout(graph, spacing=1.0)
    if not units:
        return Frame(SCALE, *MARGIN)
    xs, ys = [x for x, _ in units.values()], [y for _, y in units.values()]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    fits = [(width - NODE_ROOM[0]) / span_x if span_x else MAX_SCALE,
            (height - NODE_ROOM[1]) / span_y if span_y else MAX_SCALE]
    scale = max(MIN_SCALE, min(MAX_SCALE, *fits))
    return Frame(scale, MARGIN[0] - min(xs) * scale, MARGIN[1] - min(ys) * scale)


def flow_positions(graph: ADMG, frame: Frame = Frame()) -> dict[str, tuple[float, float]]:
    """Pixel position of every node: its stored ``pos`` through ``frame``; nodes without one are
    laid out in layers (below the placed ones when some are placed), as in the pyvis drawings."""
    return {v: frame.to_px(xy) for v, xy in graph_view.layout(graph, spacing=1.0).items()}


def edge_geometry(kind: str, a_xy: tuple[float, float], b_xy: tuple[float, float]) -> tuple[bool, str]:
    """(reverse, path shape) that keeps the arrowheads of ``a -> b`` or ``a <-> b`` in sight.

    An edge leaves its source's bottom dot and enters its target's top dot, and edges lie under the
    nodes, so an arrowhead shows only where the path arrives from outside the node.  Between two
    nodes on one row (less than ``ROW_GAP`` apart in height) a curve runs into the pills sideways
    and hides its heads, so such an edge is a step path (down, across, up and into the top from
    above).  Otherwise a directed edge is React Flow's bezier, and a bidirected one a simple bezier
    arc drawn from the upper node down (``reverse`` when ``b`` is the upper one)."""
    graph_editor.check_edge_kind(kind)
    side_by_side = abs(a_xy[1] - b_xy[1]) < ROW_GAP
    if kind == "directed":
        return False, SIDE_BY_SIDE_PATH if side_by_side else edge_style("directed")["type"]
    return b_xy[1] < a_xy[1], SIDE_BY_SIDE_PATH if side_by_side else BIDIRECTED_PATH


def to_flow(graph: ADMG, frame: Frame = Frame()) -> tuple[list[FlowNode], list[FlowEdge]]:
    """(node records, edge records) drawing ``graph`` in the editor through ``frame``; bidirected
    edges first, so the directed ones paint over them where they meet at a handle."""
    pos = flow_positions(graph, frame)
    nodes = [flow_node(n, pos[n.name]) for n in graph.nodes]
    edges = []
    for kind, pairs in (("bidirected", graph.bidirected), ("directed", graph.directed)):
        for a, b in pairs:
            reverse, path = edge_geometry(kind, pos[a], pos[b])
            edges.append(flow_edge(a, b, kind, reverse=reverse, path=path))
    return nodes, edges


def handle_style_script(size: int = HANDLE_PX) -> str:
    """HTML for ``st.html(..., unsafe_allow_javascript=True)`` that gives the editor larger
    connection dots.  The editor is a component in an iframe of the app's own origin; its dots are
    styled by React Flow's stylesheet inside that iframe, which the page's CSS cannot reach, so a
    script adds one rule there (again whenever a new editor instance mounts)."""
    css = (f".react-flow__handle{{width:{size}px!important;height:{size}px!important;"
           "background:#334155!important;border:2px solid #fff!important}"
           ".react-flow__handle:hover{background:#0068c9!important}")
    return f"""<script>
(() => {{
  const css = {css!r};
  const dress = () => document.querySelectorAll('iframe[title="streamlit_flow.streamlit_flow"]').forEach(f => {{
    try {{
      const doc = f.contentDocument;
      if (doc && doc.head && !doc.getElementById('cw-handles')) {{
        const el = doc.createElement('style'); el.id = 'cw-handles'; el.textContent = css; doc.head.appendChild(el);
      }}
    }} catch (e) {{ /* not loaded yet */ }}
  }});
  dress();
  if (!window.__cwHandles) window.__cwHandles = setInterval(dress, 300);
}})();
</script>"""


def flow_state(graph: ADMG, frame: Frame = Frame(), timestamp: int = 0) -> StreamlitFlowState:
    """streamlit-flow's ``StreamlitFlowState`` for ``graph``.

    ``timestamp=0`` on purpose: the component replaces its drawing by the one it is given only when
    the given timestamp is at least its own last update time (browser clock).  With 0 it takes the
    drawing once, when it mounts, and never again, so a rerun cannot overwrite what the user is
    doing; the page gives the component a new key to show a graph that changed elsewhere."""
    from streamlit_flow import StreamlitFlowEdge, StreamlitFlowNode, StreamlitFlowState

    nodes, edges = to_flow(graph, frame)
    flow_nodes = [StreamlitFlowNode.from_dict(n) for n in nodes]
    flow_edges = []
    for edge in edges:
        e = dict(edge)
        # from_dict would drop keys its constructor does not name (``selectable``); pass them through.
        known = dict(id=e.pop("id"), source=e.pop("source"), target=e.pop("target"), edge_type=e.pop("type"),
                     marker_start=e.pop("markerStart"), marker_end=e.pop("markerEnd"), hidden=e.pop("hidden"),
                     animated=e.pop("animated"), selected=e.pop("selected"), deletable=e.pop("deletable"),
                     focusable=e.pop("focusable"), z_index=e.pop("zIndex"), label=e.pop("label"),
                     label_style=e.pop("labelStyle"), label_show_bg=e.pop("labelShowBg"),
                     label_bg_style=e.pop("labelBgStyle"), style=e.pop("style"))
        flow_edges.append(StreamlitFlowEdge(**known, **e))
    return StreamlitFlowState(nodes=flow_nodes, edges=flow_edges, timestamp=timestamp)


def records(items: Iterable[Mapping[str, object] | HasAsDict]) -> list[dict[str, object]]:
    """Plain dicts from streamlit-flow objects (``.asdict()``) or dicts, for :func:`diff_flow`."""
    return [dict(x) if isinstance(x, Mapping) else x.asdict() for x in items]


# --------------------------------------------------------------------------------------------------
# Records -> graph edits


@dataclass(frozen=True)
class FlowEdits:
    """What the user did in the editor since it was given ``graph``, in graph terms.

    Node references are editor ids (old names, or ``st-flow-node_...`` for nodes made in the canvas);
    ``positions`` (dagitty units, by id) is set when a node was dragged or created, and then holds
    every node, so the whole drawing is kept."""

    removed_edges: tuple[EdgeRef, ...] = ()
    removed_nodes: tuple[str, ...] = ()
    added_nodes: tuple[tuple[str, str], ...] = ()  # (id, name)
    renamed: tuple[tuple[str, str], ...] = ()  # (old name, new name)
    added_edges: tuple[EdgeRef, ...] = ()  # (source id, target id, kind)
    positions: Mapping[str, tuple[float, float]] | None = field(default=None, compare=False)

    def __bool__(self) -> bool:
        return bool(self.removed_edges or self.removed_nodes or self.added_nodes or self.renamed
                    or self.added_edges or self.positions)

    @property
    def only_moves(self) -> bool:
        """True when nodes were only dragged: the editor already shows the result."""
        return bool(self.positions) and not (self.removed_edges or self.removed_nodes or self.added_nodes
                                             or self.renamed or self.added_edges)


def _xy(record: Returned) -> tuple[float, float]:
    p = record.get("position") or {}
    try:
        return float(p.get("x", 0.0)), float(p.get("y", 0.0))
    except (TypeError, ValueError):
        raise GraphError(f"the editor sent a bad position for node {record.get('id')!r}") from None


def diff_flow(
    graph: ADMG,
    nodes: Sequence[Returned],
    edges: Sequence[Returned],
    *,
    new_edge_kind: str = "directed",
    frame: Frame = Frame(),
) -> FlowEdits:
    """The edits that turn ``graph`` (the graph the editor was given, drawn through ``frame``) into
    the returned drawing.

    Edges drawn by the user (ids not made by :func:`edge_id`) become ``source -> target`` when
    ``new_edge_kind`` is ``"directed"`` and ``source <-> target`` when it is ``"bidirected"``."""
    graph_editor.check_edge_kind(new_edge_kind)
    sent_pos = flow_positions(graph, frame)
    by_id = {str(n.get("id")): n for n in nodes}
    kept = [v for v in graph.names if v in by_id]
    removed_nodes = tuple(v for v in graph.names if v not in by_id)
    added_nodes = tuple((i, name_from_content((n.get("data") or {}).get("content"))) for i, n in by_id.items()
                        if i not in graph)
    renamed = []
    for v in kept:
        new = name_from_content((by_id[v].get("data") or {}).get("content"))
        if new != v:
            renamed.append((v, new))
    moved = any(
        abs(x - sent_pos[v][0]) > MOVE_TOLERANCE or abs(y - sent_pos[v][1]) > MOVE_TOLERANCE
        for v in kept for x, y in [_xy(by_id[v])]
    )
    positions = {i: frame.to_units(_xy(n)) for i, n in by_id.items()} if (moved or added_nodes) else None

    sent = {edge_id(a, b, "directed"): (a, b, "directed") for a, b in graph.directed}
    sent |= {edge_id(a, b, "bidirected"): (a, b, "bidirected") for a, b in graph.bidirected}
    back_ids = {str(e.get("id")) for e in edges}
    gone = set(removed_nodes)
    removed_edges = tuple(e for i, e in sent.items() if i not in back_ids and e[0] not in gone and e[1] not in gone)
    added_edges = []
    for e in edges:
        eid = str(e.get("id"))
        if eid in sent:
            continue
        source, target = str(e.get("source")), str(e.get("target"))
        if source not in by_id or target not in by_id:
            continue  # React Flow drops an edge whose node is gone; so do we
        ours = parse_edge_id(eid)
        kind = ours[2] if ours is not None else new_edge_kind
        added_edges.append((source, target, kind))
    return FlowEdits(removed_edges, removed_nodes, added_nodes, tuple(renamed), tuple(added_edges), positions)


def apply_flow_edits(graph: ADMG, edits: FlowEdits) -> ADMG:
    """``graph`` with ``edits`` applied through the rules of :mod:`workbench.graph_editor` (each step
    validated).

    Order: edges removed, nodes removed, nodes added, renames, edges added, positions.  Raises
    ``GraphError`` (one line) on the first edit that is refused; the caller keeps ``graph``."""
    g = graph
    for a, b, kind in edits.removed_edges:
        g = graph_editor.remove_edge(g, a, b, kind)
    for v in edits.removed_nodes:
        g = graph_editor.delete_node(g, v)
    names = {v: v for v in g.names}  # editor id -> current name
    for i, name in edits.added_nodes:
        g = graph_editor.add_node(g, graph_editor.make_node(name))
        names[i] = g.names[-1]
    for old, new in edits.renamed:
        g = graph_editor.rename_node(g, names[old], new)
        names[old] = new.strip()
    for a, b, kind in edits.added_edges:
        g = graph_editor.add_edge(g, names.get(a, a), names.get(b, b), kind)
    if edits.positions:
        for i, xy in edits.positions.items():
            if i in names:
                g = g.with_node(g.node(names[i]).with_extra(pos=tuple(xy)))
    return g


def graph_from_flow(graph: ADMG, nodes: Sequence[Returned], edges: Sequence[Returned], *,
                    new_edge_kind: str = "directed", frame: Frame = Frame()) -> ADMG:
    """The graph the returned drawing shows (``graph`` itself when nothing changed): :func:`diff_flow`
    then :func:`apply_flow_edits`."""
    edits = diff_flow(graph, nodes, edges, new_edge_kind=new_edge_kind, frame=frame)
    return apply_flow_edits(graph, edits) if edits else graph


def renamed_choices(choices: Sequence[str], renamed: Sequence[tuple[str, str]]) -> list[str]:
    """A query's choices (treatment, outcome, given) after the nodes were renamed ``(old, new)``
    in order: a renamed outcome stays the outcome instead of dropping out of the question."""
    out = [str(v) for v in choices]
    for old, new in renamed:
        out = [str(new).strip() if v == old else v for v in out]
    return out


def first_visit_query(choices: Mapping[str, Sequence[str]], graph: ADMG) -> dict[str, list[str]]:
    """The question the Graph page opens with: the session's choices (role -> node names), or, when
    all are empty, the graph's dagitty roles (exposure, outcome, adjusted).  A graph restored from a
    workspace (the shipped faces: Male exposure, Face outcome) then opens with its question asked,
    as a freshly loaded example does."""
    kept = {role: [v for v in choices.get(role, ()) if v in graph] for role in query.ROLES}
    if any(kept.values()):
        return kept
    return query.roles_from_graph(graph)


def describe_edits(edits: FlowEdits) -> str:
    """A short line for the page ("added X -> Y"), '' when nothing changed."""
    parts = [f"added {a} {graph_editor.EDGE_KINDS[k]} {b}" for a, b, k in edits.added_edges]
    parts += [f"removed {a} {graph_editor.EDGE_KINDS[k]} {b}" for a, b, k in edits.removed_edges]
    parts += [f"added node {name}" for _, name in edits.added_nodes]
    parts += [f"deleted node {v}" for v in edits.removed_nodes]
    parts += [f"renamed {a} to {b}" for a, b in edits.renamed]
    if edits.only_moves:
        parts.append("moved nodes")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------------
# Clicks: a node or an edge picked in the editor


def selection(graph: ADMG, selected_id: str | None) -> Selection | None:
    """What a click picked: ``("node", name)``, ``("edge", (a, b, kind))`` or None (stale or none)."""
    if not selected_id:
        return None
    if selected_id in graph:
        return "node", selected_id
    parsed = parse_edge_id(selected_id)
    if parsed is not None:
        a, b, kind = parsed
        if (graph.has_directed(a, b) if kind == "directed" else graph.has_bidirected(a, b)):
            return "edge", parsed
    return None


def toggle_edge_kind(graph: ADMG, a: str, b: str, kind: str) -> ADMG:
    """``a -> b`` becomes ``a <-> b`` and back (validated: the directed edge may close a cycle)."""
    other = "bidirected" if kind == "directed" else "directed"
    return graph_editor.add_edge(graph_editor.remove_edge(graph, a, b, kind), a, b, other)


def reverse_edge(graph: ADMG, a: str, b: str) -> ADMG:
    """``a -> b`` becomes ``b -> a`` (validated)."""
    return graph_editor.add_edge(graph_editor.remove_edge(graph, a, b, "directed"), b, a, "directed")


def legend_html() -> str:
    """The key under the editor: fills by node type and the two edge kinds, drawn with CSS only
    (Streamlit's HTML element drops inline SVG)."""
    chips = "".join(f'<span style="background:{c};border:1px solid #cbd5e1;border-radius:10px;padding:1px 8px">'
                    f"{t}</span>" for t, c in graph_view.TYPE_COLOURS.items())
    d, b = graph_view.DIRECTED_COLOUR, graph_view.BIDIRECTED_COLOUR
    line = 'display:inline-block;width:26px;vertical-align:middle;border-top:2px {style} {colour}'
    edges = (f'<span><span style="{line.format(style="solid", colour=d)}"></span>'
             f'<span style="color:{d}">&#9654;</span> cause</span>'
             f'<span><span style="color:{b}">&#9664;</span><span style="{line.format(style="dashed", colour=b)}"></span>'
             f'<span style="color:{b}">&#9654;</span> hidden confounder</span>')
    return ('<div style="display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;font-size:12px;color:#334155">'
            + chips + edges + "</div>")
