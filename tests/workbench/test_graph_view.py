"""workbench.graph_view: layout, vis-network records coloured by type, role and hedge, offline HTML."""

from __future__ import annotations

import json
import re

from core.graph import ADMG
from tests.workbench.examples import napkin
from workbench import graph_files, graph_view


def test_graph_summary():
    assert graph_view.graph_summary(napkin()) == "4 nodes, 3 directed and 2 bidirected edges"
    assert graph_view.graph_summary(None) == "no graph"


def test_layout_uses_stored_positions_else_layers():
    g = napkin()
    pos = graph_view.layout(g, spacing=100)
    assert pos["W1"] == (0.0, 0.0) and pos["Y"] == (300.0, 150.0)
    chain = ADMG.from_edges(["A", "B", "C", "D"], [("A", "B"), ("B", "C"), ("A", "C")])
    p = graph_view.layout(chain, spacing=100)
    assert [p[v][1] for v in "ABC"] == [0, 100, 200]  # longest path: C sits below B
    assert p["D"][1] == 0 and p["A"][0] != p["D"][0]  # two roots share the top layer, side by side


def test_vis_records_colour_types_roles_and_hedge():
    g = graph_files.load_example("morpho")
    nodes = {n["id"]: n for n in graph_view.vis_nodes(g, graph_view.Marks(treatment=("thickness",), outcome=("image",), given=("digit",)))}
    assert nodes["intensity"]["color"]["background"] == graph_view.TYPE_COLOURS["continuous"]
    assert nodes["image"]["color"]["background"] == graph_view.TYPE_COLOURS["image"]
    assert nodes["thickness"]["color"]["border"] == graph_view.ROLE_COLOURS["treatment"]
    assert nodes["image"]["color"]["border"] == graph_view.ROLE_COLOURS["outcome"]
    assert nodes["digit"]["color"]["border"] == graph_view.ROLE_COLOURS["given"]
    assert nodes["intensity"]["borderWidth"] < nodes["digit"]["borderWidth"]
    bow = graph_files.load_example("bow")
    hedge = (frozenset("XY"), frozenset("Y"))
    hn = {n["id"]: n for n in graph_view.vis_nodes(bow, graph_view.Marks(hedge=hedge, intervened=("X",)))}
    assert hn["Y"]["color"]["background"] == graph_view.HEDGE_CORE and hn["X"]["color"]["background"] == graph_view.HEDGE_FILL
    assert hn["X"]["shape"] == "box" and hn["Y"]["shape"] == "ellipse"
    edges = graph_view.vis_edges(bow, hedge)
    (d,) = [e for e in edges if e["arrows"] == "to"]
    (b,) = [e for e in edges if e["arrows"] == "to, from"]
    assert b["dashes"] and b["smooth"]["type"].startswith("curved") and d["smooth"] is False
    assert d["color"]["color"] == graph_view.HEDGE_EDGE and b["width"] > 2
    plain = graph_view.vis_edges(bow)
    assert {e["color"]["color"] for e in plain} == {graph_view.DIRECTED_COLOUR, graph_view.BIDIRECTED_COLOUR}


def test_graph_html_is_self_contained_and_offline():
    html = graph_view.graph_html(napkin(), graph_view.Marks(treatment=("X",), outcome=("Y",)))
    # No external resources at all: every script and stylesheet is inline.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)\s*=", html)
    assert "vis.Network" in html and len(html) > 400_000  # vis-network itself is inlined
    data = re.search(r"new vis\.DataSet\((\[.*?\])\);\s*var edges", html, re.S).group(1)
    ids = [n["id"] for n in json.loads(data)]
    assert ids == ["W1", "W2", "X", "Y"]
    assert "hidden confounder" in html and "hedge F" not in html
    assert "hedge F" in graph_view.graph_html(graph_files.load_example("bow"),
                                          graph_view.Marks(hedge=(frozenset("XY"), frozenset("Y"))))


def test_path_roles_colour_edges_and_the_legend():
    g = ADMG.from_edges("ZXYW", [("Z", "X"), ("X", "Y"), ("Z", "Y")], [("X", "W")])
    roles = ((("X", "Y", "directed"), "causal"), (("Z", "X", "directed"), "biasing"), (("W", "X", "bidirected"), "biasing"))
    edges = {(e["from"], e["to"]): e for e in graph_view.vis_edges(g, path_roles=roles)}
    assert edges[("X", "Y")]["color"]["color"] == graph_view.PATH_COLOURS["causal"]
    assert edges[("Z", "X")]["color"]["color"] == graph_view.PATH_COLOURS["biasing"]
    assert edges[("X", "W")]["color"]["color"] == graph_view.PATH_COLOURS["biasing"]  # either spelling
    assert edges[("Z", "Y")]["color"]["color"] == graph_view.DIRECTED_COLOUR
    assert "biasing path" in graph_view.graph_html(g, graph_view.Marks(path_roles=roles))
    assert "biasing path" not in graph_view.graph_html(g)
