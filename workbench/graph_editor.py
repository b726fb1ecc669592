"""Editing a graph node by node and edge by edge.

Graphs are immutable ``ADMG``s: every edit returns a new graph or raises a ``GraphError`` with one
line naming the problem, so a page can keep the old graph on error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.graph import ADMG, NODE_TYPES, GraphError, Node

DEFAULT_SHAPE = (1, 16, 16)  # (channels, height, width) of a new image node
EDGE_KINDS = {"directed": "->", "bidirected": "<->"}  # edge kind -> its arrow in text


def check_edge_kind(kind: str) -> str:
    """``kind`` itself when it is ``directed`` or ``bidirected``; anything else is a ``GraphError``."""
    if kind not in EDGE_KINDS:
        raise GraphError(f"unknown edge kind {kind!r} (directed or bidirected)")
    return kind


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
    """``(3, 16, 16)`` -> ``"3x16x16"``; no shape reads as the default one."""
    return "x".join(str(s) for s in (shape or DEFAULT_SHAPE))


def make_node(
    name: str,
    type: str = "binary",
    *,
    levels: int | None = None,
    shape: str | Iterable[int] | None = None,
    extra: tuple[tuple[str, object], ...] = (),
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
    """``graph`` with ``node`` added last; a name already taken is refused."""
    if node.name in graph:
        raise GraphError(f"a node named {node.name!r} already exists")
    return graph.with_node(node)


def retype_node(
    graph: ADMG,
    name: str,
    type: str,
    *,
    levels: int | None = None,
    shape: str | Iterable[int] | None = None,
) -> ADMG:
    """Change a node's type (and levels/shape), keeping its edges, position and role."""
    old = graph.node(name)
    return graph.with_node(make_node(name, type, levels=levels, shape=shape, extra=old.extra))


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
    """``graph`` without the node ``name`` and its edges; the last node cannot be deleted."""
    graph.node(name)  # unknown name -> GraphError
    if len(graph) == 1:
        raise GraphError(f"cannot delete {name}: a graph needs at least one node")
    return graph.without_nodes([name])


def add_edge(graph: ADMG, a: str, b: str, kind: str = "directed") -> ADMG:
    """Add ``a -> b`` or ``a <-> b``; cycles, self-loops and duplicates are refused with a message."""
    graph.check_nodes([a, b], "edge")
    check_edge_kind(kind)
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
    """``graph`` without the edge ``a -> b`` or ``a <-> b``; an edge that is not there is refused."""
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
