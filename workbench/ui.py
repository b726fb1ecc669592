"""Pure helpers behind the pages: loading and editing graphs, checking queries, drawing graphs.

Nothing here imports Streamlit, so every rule a page follows is unit-tested on its own; pages only
wire widgets to these functions.  Graphs are immutable ``ADMG``s: every edit returns a new graph or
raises a ``GraphError`` with one line naming the problem, so a page can keep the old graph on error.

Drawing: vis-network (the library pyvis wraps), with the JavaScript and CSS that ship INSIDE the pyvis
wheel inlined into one HTML string.  pyvis's own ``cdn_resources="in_line"`` template still links
bootstrap from a CDN (a blocking ``<script src=https://...>`` that hangs offline), so we use pyvis to
build the node/edge records and its bundled vis-network 9.1.2 files, with our own small template.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.assets import ASSETS
from core.graph import ADMG, NODE_TYPES, GraphError, Node, parse_graph_text

EXAMPLES_DIR = ASSETS / "graphs"

# Fill by node type (the same palette as ADMG.to_dot), border by query role.
TYPE_COLOURS = {"binary": "#dbeafe", "categorical": "#dcfce7", "continuous": "#fef9c3", "image": "#fce7f3"}
ROLE_COLOURS = {"treatment": "#2563eb", "outcome": "#16a34a", "given": "#9333ea"}
PLAIN_BORDER = "#64748b"
BIDIRECTED_COLOUR = "#dc2626"
DIRECTED_COLOUR = "#334155"
HEDGE_FILL = "#fecaca"  # nodes of F (the larger c-forest of the hedge)
HEDGE_CORE = "#f87171"  # nodes of F' (the smaller one, rooted in the outcome's ancestors)
HEDGE_EDGE = "#b91c1c"
DEFAULT_SHAPE = (1, 16, 16)


# --------------------------------------------------------------------------------------------------
# Loading


def example_names(folder: Path = EXAMPLES_DIR) -> list[str]:
    """Names of the example graphs (file stems of ``assets/graphs/*.json``), sorted."""
    return sorted(p.stem for p in Path(folder).glob("*.json"))


def load_example(name: str, folder: Path = EXAMPLES_DIR) -> ADMG:
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        raise GraphError(f"no example graph named {name!r} (have {', '.join(example_names(folder))})")
    return ADMG.from_json(path.read_text(encoding="utf-8"))


def example_description(name: str, folder: Path = EXAMPLES_DIR) -> str:
    """The free-text ``description`` stored beside an example graph ('' when absent)."""
    path = Path(folder) / f"{name}.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("description", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def loaded_example(graph: ADMG, name: str | None, folder: Path = EXAMPLES_DIR) -> str | None:
    """``name`` when ``graph`` is exactly that example graph, unedited; else None."""
    if name not in example_names(folder):
        return None
    return name if load_example(name, folder) == graph else None


def graph_from_text(text: str) -> ADMG:
    """Typed model code: node-link JSON or dagitty (the first non-blank character decides)."""
    if not isinstance(text, str) or not text.strip():
        raise GraphError("the model code is empty")
    return parse_graph_text(text)


def graph_from_upload(filename: str, data: bytes) -> ADMG:
    """An uploaded ``.json`` (node-link) or dagitty file (any other extension)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GraphError(f"{filename}: not a UTF-8 text file") from None
    if not text.strip():
        raise GraphError(f"{filename}: the file is empty")
    try:
        if filename.lower().endswith(".json"):
            return ADMG.from_json(text)
        return parse_graph_text(text)
    except GraphError as e:
        raise GraphError(f"{filename}: {e}") from None


def graph_name_from_filename(filename: str) -> str:
    return Path(filename).stem or "uploaded"


def download_payload(graph: ADMG, fmt: str, name: str = "graph") -> tuple[str, str, str]:
    """(text, file name, MIME type) for saving ``graph`` as ``json`` or ``dagitty``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "graph"
    if fmt == "json":
        return graph.dumps() + "\n", f"{stem}.json", "application/json"
    if fmt == "dagitty":
        return graph.to_dagitty(), f"{stem}.dagitty", "text/plain"
    raise GraphError(f"unknown graph format {fmt!r} (json or dagitty)")


# --------------------------------------------------------------------------------------------------
# Editing


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"3x16x16"``, ``"3,16,16"`` or ``"3 16 16"`` -> (channels, height, width)."""
    parts = [p for p in re.split(r"[x×,\s]+", str(text).strip().lower()) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise GraphError(f"bad image shape {text!r}: write channels x height x width, e.g. 3x16x16") from None
    if len(shape) != 3:
        raise GraphError(f"bad image shape {text!r}: write channels x height x width, e.g. 3x16x16")
    return shape  # type: ignore[return-value]


def shape_text(shape: Iterable[int] | None) -> str:
    return "x".join(str(s) for s in (shape or DEFAULT_SHAPE))


def make_node(
    name: str,
    type: str = "binary",
    levels: int | None = None,
    shape: str | Iterable[int] | None = None,
    extra: tuple[tuple[str, Any], ...] = (),
) -> Node:
    """A validated node; ``levels`` is used only for categorical nodes and ``shape`` only for images,
    so a form can keep both fields filled whatever the type."""
    name = str(name).strip()
    if not name:
        raise GraphError("a node needs a name")
    if type not in NODE_TYPES:
        raise GraphError(f"node {name}: bad type {type!r} (one of {', '.join(NODE_TYPES)})")
    lv = int(levels) if type == "categorical" and levels is not None else None
    if type == "categorical" and lv is None:
        raise GraphError(f"node {name}: a categorical node needs a number of levels")
    shp = None
    if type == "image":
        shp = parse_shape(shape) if isinstance(shape, str) else tuple(shape or DEFAULT_SHAPE)
    return Node(name, type, lv, shp, extra)


def add_node(graph: ADMG, node: Node) -> ADMG:
    if node.name in graph:
        raise GraphError(f"a node named {node.name!r} already exists")
    return graph.with_node(node)


def retype_node(graph: ADMG, name: str, type: str, levels: int | None = None, shape: Any = None) -> ADMG:
    """Change a node's type (and levels/shape), keeping its edges, position and role."""
    old = graph.node(name)
    return graph.with_node(make_node(name, type, levels, shape, old.extra))


def rename_node(graph: ADMG, old: str, new: str) -> ADMG:
    """Rename a node everywhere (edges included), keeping node order, type and extras."""
    new = str(new).strip()
    node = graph.node(old)
    if new == old:
        return graph
    if new in graph:
        raise GraphError(f"cannot rename {old} to {new}: a node named {new!r} already exists")
    renamed = Node(new, node.type, node.levels if node.type == "categorical" else None, node.shape, node.extra)

    def sub(v: str) -> str:
        return new if v == old else v

    return ADMG(
        [renamed if n.name == old else n for n in graph.nodes],
        [(sub(a), sub(b)) for a, b in graph.directed],
        [(sub(a), sub(b)) for a, b in graph.bidirected],
    )


def delete_node(graph: ADMG, name: str) -> ADMG:
    graph.node(name)  # unknown name -> GraphError
    if len(graph) == 1:
        raise GraphError(f"cannot delete {name}: a graph needs at least one node")
    return graph.without_nodes([name])


EDGE_KINDS = {"directed": "->", "bidirected": "<->"}


def add_edge(graph: ADMG, a: str, b: str, kind: str = "directed") -> ADMG:
    """Add ``a -> b`` or ``a <-> b``; cycles, self-loops and duplicates are refused with a message."""
    graph.check_nodes([a, b], "edge")
    if kind not in EDGE_KINDS:
        raise GraphError(f"unknown edge kind {kind!r} (directed or bidirected)")
    if a == b:
        raise GraphError(f"an edge needs two different nodes, got {a} {EDGE_KINDS[kind]} {b}")
    if kind == "directed":
        if graph.has_directed(a, b):
            raise GraphError(f"the edge {a} -> {b} already exists")
        return graph.with_edges(directed=[(a, b)])
    if graph.has_bidirected(a, b):
        raise GraphError(f"the edge {a} <-> {b} already exists")
    return graph.with_edges(bidirected=[(a, b)])


def remove_edge(graph: ADMG, a: str, b: str, kind: str = "directed") -> ADMG:
    present = graph.has_directed(a, b) if kind == "directed" else graph.has_bidirected(a, b)
    if not present:
        raise GraphError(f"there is no edge {a} {EDGE_KINDS.get(kind, '?')} {b} to remove")
    if kind == "directed":
        return graph.without_edges(directed=[(a, b)])
    return graph.without_edges(bidirected=[(a, b)])


def edge_labels(graph: ADMG) -> list[str]:
    """Every edge as text, directed first: ``"X -> Y"``, ``"X <-> Y"``."""
    return [f"{a} -> {b}" for a, b in graph.directed] + [f"{a} <-> {b}" for a, b in graph.bidirected]


def parse_edge_label(label: str) -> tuple[str, str, str]:
    """``"X -> Y"`` -> ("X", "Y", "directed"); ``"X <-> Y"`` -> ("X", "Y", "bidirected")."""
    m = re.fullmatch(r"\s*(\w+)\s*(<->|->)\s*(\w+)\s*", str(label))
    if not m:
        raise GraphError(f"cannot read the edge {label!r}: write A -> B or A <-> B")
    return m.group(1), m.group(3), "bidirected" if m.group(2) == "<->" else "directed"


def node_type_text(node: Node) -> str:
    if node.type == "categorical":
        return f"categorical ({node.levels} levels)"
    if node.type == "image":
        return f"image {shape_text(node.shape)}"
    return node.type


# --------------------------------------------------------------------------------------------------
# Queries


def roles_from_graph(graph: ADMG) -> dict[str, list[str]]:
    """Query defaults from dagitty roles: exposure -> treatment, outcome -> outcome, adjusted -> given."""
    out: dict[str, list[str]] = {"treatment": [], "outcome": [], "given": []}
    key = {"exposure": "treatment", "outcome": "outcome", "adjusted": "given"}
    for n in graph.nodes:
        role = n.get("role")
        if role in key:
            out[key[role]].append(n.name)
    return out


def check_query(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> None:
    """Refuse a malformed query P(outcome | do(treatment), given) with one line naming the problem."""
    t, y, z = list(treatment), list(outcome), list(given)
    graph.check_nodes(t, "treatment")
    graph.check_nodes(y, "outcome")
    graph.check_nodes(z, "conditioning set")
    if not y:
        raise GraphError("choose at least one outcome")
    pairs = ((t, y, "treatment", "outcome"), (t, z, "treatment", "conditioning set"),
             (y, z, "outcome", "conditioning set"))
    for a, b, first, second in pairs:
        both = [v for v in a if v in set(b)]
        if both:
            raise GraphError(f"{', '.join(both)} cannot be in both the {first} and the {second}")


def query_text(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> str:
    """``P(Y | do(X), Z)`` in plain text."""
    t, y, z = list(treatment), list(outcome), list(given)
    cond = ([f"do({', '.join(t)})"] if t else []) + ([", ".join(z)] if z else [])
    return f"P({', '.join(y)}" + (f" | {', '.join(cond)})" if cond else ")")


def _tex_names(names: Iterable[str]) -> str:
    # Multi-letter names read better upright; underscores must be escaped in LaTeX.
    out = []
    for v in names:
        m = re.fullmatch(r"([A-Za-z])(\d+)", v)
        out.append(f"{m.group(1)}_{{{m.group(2)}}}" if m else (v if len(v) == 1 else
                                                              r"\mathrm{" + v.replace("_", r"\_") + "}"))
    return ", ".join(out)


def query_latex(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> str:
    t, y, z = list(treatment), list(outcome), list(given)
    cond = ([rf"\mathrm{{do}}({_tex_names(t)})"] if t else []) + ([_tex_names(z)] if z else [])
    return f"P({_tex_names(y)}" + (rf" \mid {', '.join(cond)})" if cond else ")")


LONG_FORMULA = 200  # characters of LaTeX beyond which the formula is typeset smaller
LINE_WIDTH = 60  # visible characters per line of a broken formula (fits the Graph page's panel)
_FACTOR_JOIN = r" \, "


def top_level_factors(latex: str) -> list[str]:
    """Split an estimand's LaTeX at the product joins (``\\,``) that are outside every ``{...}``
    group and every ``\\left ... \\right`` pair, so each piece can end a line of an ``aligned``
    block (KaTeX refuses a line break between ``\\left`` and its ``\\right``).  A join inside a
    ``\\sum_{...}`` scope is top level: breaking there leaves the sum over the rest of the line, as
    printed formulas do."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(latex):
        if latex.startswith(r"\left", i):
            depth, i = depth + 1, i + 5
        elif latex.startswith(r"\right", i):
            depth, i = depth - 1, i + 6
        elif latex[i] == "{":
            depth, i = depth + 1, i + 1
        elif latex[i] == "}":
            depth, i = depth - 1, i + 1
        elif depth == 0 and latex.startswith(_FACTOR_JOIN, i):
            pieces.append(latex[start:i])
            i = start = i + len(_FACTOR_JOIN)
        else:
            i += 1
    pieces.append(latex[start:])
    return pieces


def visible_width(latex: str) -> int:
    """Rough count of the characters KaTeX shows: control words and braces are not shown."""
    return len(re.sub(r"\\[A-Za-z]+|[{}]", "", latex))


def formula_latex(treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str], estimand_latex: str,
                  line_width: int = LINE_WIDTH) -> str:
    """``query = estimand``.  An estimand wider than ``line_width`` visible characters is broken
    into lines at its top-level product joins (an ``aligned`` block, ``=`` aligned); a long one is
    set in ``\\small`` as well, so it fits the Graph page's panel instead of running off it."""
    query = query_latex(treatment, outcome, given)
    size = "\\small " if len(estimand_latex) > LONG_FORMULA else ""
    factors = top_level_factors(estimand_latex)
    if visible_width(estimand_latex) <= line_width or len(factors) == 1:
        return f"{size}{query} = {estimand_latex}"
    lines, current = [], factors[0]
    for f in factors[1:]:
        if visible_width(current) + visible_width(f) > line_width:
            lines.append(current)
            current = f
        else:
            current += _FACTOR_JOIN + f
    lines.append(current)
    body = " \\\\\n&\\quad ".join(lines)
    return f"{size}\\begin{{aligned}}{query} &= {body}\n\\end{{aligned}}"


@dataclass(frozen=True)
class QueryAnswer:
    """What the identification panel shows: a formula, or the hedge and why."""

    query: str
    identifiable: bool
    text: str = ""
    latex: str = ""
    hedge: tuple[frozenset[str], frozenset[str]] | None = None
    reason: str = ""
    estimand_json: Any = field(default=None, compare=False)


def answer_query(graph: ADMG, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()) -> QueryAnswer:
    """Run identification (ID, or IDC when ``given`` is non-empty) for P(outcome | do(treatment), given).

    Bad input raises ``GraphError``; a non-identifiable query is a normal answer carrying the hedge.
    """
    t, y, z = list(treatment), list(outcome), list(given)
    check_query(graph, t, y, z)
    from core.identify import NotIdentifiable, identify  # written beside this module; imported lazily

    q = query_text(t, y, z)
    try:
        est = identify(graph, t, y, given=z)
    except NotIdentifiable as e:
        hedge = getattr(e, "hedge", None)
        if hedge is not None:
            hedge = (frozenset(hedge[0]), frozenset(hedge[1]))
        return QueryAnswer(q, False, hedge=hedge, reason=getattr(e, "reason", "") or str(e))
    return QueryAnswer(q, True, text=est.to_text(), latex=est.to_latex(), estimand_json=est.to_json())


def hedge_words(answer: QueryAnswer) -> str:
    """The hedge in words, for the paragraph under the red 'not identifiable' line."""
    if answer.identifiable or answer.hedge is None:
        return ""
    f, f2 = (", ".join(sorted(s)) for s in answer.hedge)
    return (
        f"**Why:** the hedge is F = {{{f}}} (light red) and F' = {{{f2}}} (dark red). Both are c-forests "
        "with the same root among the outcome's ancestors, each held together by hidden confounders; the "
        "treatment lies in F but not in F'. Two causal models that differ only on F give the same "
        "observational distribution but different answers to the query, so no data of this kind can "
        "decide it. Measuring a variable that breaks a red dashed edge, or a mediator, can help."
    )


# --------------------------------------------------------------------------------------------------
# Session state (a plain mapping, so tests need no Streamlit)

DEFAULT_EXAMPLE = "napkin"
QUERY_KEYS = {"treatment": "q_treatment", "outcome": "q_outcome", "given": "q_given"}


def set_graph(
    state: MutableMapping[str, Any],
    graph: ADMG,
    name: str,
    *,
    query_from_roles: bool = False,
    sync_text: bool = True,
) -> None:
    """Make ``graph`` current: sync the model-code text (unless the user is typing it), drop query
    choices naming vanished nodes, and clear any error.  ``query_from_roles`` pre-fills the query
    from dagitty roles (exposure, outcome, adjusted)."""
    state["graph"] = graph
    state["graph_name"] = name
    if sync_text:
        state["graph_text"] = graph.to_dagitty()
    state["graph_error"] = None
    roles = roles_from_graph(graph) if query_from_roles else None
    for role, key in QUERY_KEYS.items():
        if roles is not None:
            state[key] = roles[role]
        else:
            state[key] = [v for v in state.get(key, []) if v in graph]


def ensure_graph_state(state: MutableMapping[str, Any]) -> None:
    """First visit: start on the napkin example so the page has something to show."""
    if not isinstance(state.get("graph"), ADMG):
        set_graph(state, load_example(DEFAULT_EXAMPLE), DEFAULT_EXAMPLE, query_from_roles=True)


def graph_summary(graph: ADMG | None) -> str:
    if graph is None:
        return "no graph"
    return (f"{len(graph)} nodes, {len(graph.directed)} directed and "
            f"{len(graph.bidirected)} bidirected edges")


@functools.lru_cache(maxsize=1)
def app_icon():
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
    """The compute device training will use: CUDA (with its name), MPS or CPU.  torch is imported
    here, lazily, because it costs a second or two and the graph page never needs it."""
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


# --------------------------------------------------------------------------------------------------
# Drawing


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


def role_of(name: str, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str]) -> str | None:
    if name in set(treatment):
        return "treatment"
    if name in set(outcome):
        return "outcome"
    if name in set(given):
        return "given"
    return None


def vis_nodes(
    graph: ADMG,
    treatment: Iterable[str] = (),
    outcome: Iterable[str] = (),
    given: Iterable[str] = (),
    hedge: tuple[frozenset[str], frozenset[str]] | None = None,
    intervened: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """vis-network node records: fill by type (or hedge membership), thick border by query role;
    intervened nodes are drawn as boxes (their value is set from outside)."""
    t, y, z, cut = list(treatment), list(outcome), list(given), set(intervened)
    pos = layout(graph)
    out = []
    for n in graph.nodes:
        role = role_of(n.name, t, y, z)
        fill = TYPE_COLOURS[n.type]
        if hedge is not None:
            if n.name in hedge[1]:
                fill = HEDGE_CORE
            elif n.name in hedge[0]:
                fill = HEDGE_FILL
        border = ROLE_COLOURS[role] if role else PLAIN_BORDER
        tip = f"{n.name}: {node_type_text(n)}" + (f" ({role})" if role else "")
        if hedge is not None and n.name in hedge[0]:
            tip += " | in hedge F" + ("'" if n.name in hedge[1] else "")
        x, yy = pos[n.name]
        out.append({
            "id": n.name,
            "label": n.name if n.type == "binary" else f"{n.name}\n{_short_type(n)}",
            "title": tip,
            "x": x,
            "y": yy,
            "shape": "box" if n.name in cut else "ellipse",
            "borderWidth": 4 if role else 1.5,
            "color": {"background": fill, "border": border,
                      "highlight": {"background": fill, "border": border}},
            "font": {"size": 18, "face": "Helvetica, Arial, sans-serif", "multi": False},
            "margin": 10,
        })
    return out


def _short_type(n: Node) -> str:
    if n.type == "categorical":
        return f"cat:{n.levels}"
    if n.type == "image":
        return "img " + shape_text(n.shape)
    return n.type[:4]


def vis_edges(graph: ADMG, hedge: tuple[frozenset[str], frozenset[str]] | None = None) -> list[dict[str, Any]]:
    """Directed edges straight and dark; bidirected edges dashed, curved and red with two heads.
    Edges inside the hedge's F are drawn thicker."""
    in_f = hedge[0] if hedge is not None else frozenset()
    out = []
    for a, b in graph.directed:
        hot = a in in_f and b in in_f
        out.append({"from": a, "to": b, "arrows": "to", "width": 3.5 if hot else 1.8,
                    "color": {"color": HEDGE_EDGE if hot else DIRECTED_COLOUR},
                    "smooth": False, "title": f"{a} -> {b}"})
    for a, b in graph.bidirected:
        hot = a in in_f and b in in_f
        out.append({"from": a, "to": b, "arrows": "to, from", "dashes": [8, 6], "width": 3.5 if hot else 2,
                    "color": {"color": HEDGE_EDGE if hot else BIDIRECTED_COLOUR},
                    "smooth": {"enabled": True, "type": "curvedCW", "roundness": 0.35},
                    "title": f"{a} <-> {b}: hidden common cause"})
    return out


VIS_OPTIONS: dict[str, Any] = {
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


def _script_json(obj: Any) -> str:
    # JSON inside <script> must not be able to close the tag.
    return json.dumps(obj).replace("</", "<\\/")


def legend_html(show_hedge: bool = False) -> str:
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
    return '<div class="legend">' + "".join(chips + roles + edges) + "</div>"


def graph_html(
    graph: ADMG,
    *,
    treatment: Iterable[str] = (),
    outcome: Iterable[str] = (),
    given: Iterable[str] = (),
    hedge: tuple[frozenset[str], frozenset[str]] | None = None,
    intervened: Iterable[str] = (),
    height: int = 380,
    legend: bool = True,
) -> str:
    """A self-contained HTML page drawing ``graph`` with vis-network (all assets inline, offline)."""
    from pyvis.network import Network

    # pyvis validates and stores the records; we render them with our offline template.
    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line")
    for rec in vis_nodes(graph, treatment, outcome, given, hedge, intervened):
        rec = dict(rec)
        net.add_node(rec.pop("id"), **rec)
    for rec in vis_edges(graph, hedge):
        rec = dict(rec)
        net.add_edge(rec.pop("from"), rec.pop("to"), **rec)
    js, css = vis_assets()
    return _HTML_TEMPLATE.format(
        css=css,
        js=js,
        height=int(height),
        nodes=_script_json(net.nodes),
        edges=_script_json(net.edges),
        options=_script_json(VIS_OPTIONS),
        legend=legend_html(hedge is not None) if legend else "",
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
