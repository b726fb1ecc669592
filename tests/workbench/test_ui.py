"""core.ui: the page rules without Streamlit (loading, editing, query checks, drawing)."""

from __future__ import annotations

import json
import re

import pytest

from core.graph import ADMG, GraphError, Node
from workbench import graph_editor, graph_files, graph_state, graph_view, query, sidebar


def napkin() -> ADMG:
    return graph_files.load_example("napkin")


# ---- examples and loading


def test_examples_are_all_present_and_valid():
    names = graph_files.example_names()
    assert names == ["backdoor", "bow", "faces", "frontdoor", "morpho", "napkin"]
    for name in names:
        g = graph_files.load_example(name)
        assert len(g) >= 2
        assert graph_files.example_description(name), name
        assert all(isinstance(n.get("pos"), tuple) for n in g.nodes), f"{name}: every node has a position"


def test_example_graphs_have_the_published_structure():
    g = napkin()
    assert set(g.directed) == {("W1", "W2"), ("W2", "X"), ("X", "Y")}
    assert {frozenset(e) for e in g.bidirected} == {frozenset(("W1", "X")), frozenset(("W1", "Y"))}
    m = graph_files.load_example("morpho")
    assert m.parents("intensity") == {"thickness"}
    assert m.parents("image") == {"thickness", "intensity", "digit"}
    assert m.node("image").type == "image" and m.node("digit").levels == 10
    f = graph_files.load_example("faces")
    assert f.has_bidirected("Male", "Young") and f.parents("Face") == set(f.names) - {"Face"}
    assert f.children("Male") == {"Beard", "Lipstick", "Face"} and not f.parents("Eyeglasses")
    assert graph_files.load_example("bow").has_bidirected("X", "Y")


def test_unknown_example_is_one_line():
    with pytest.raises(GraphError, match="no example graph named 'nope'"):
        graph_files.load_example("nope")


def test_upload_reads_json_and_dagitty_and_names_the_file_on_error():
    g = napkin()
    assert graph_files.graph_from_upload("g.json", g.dumps().encode()) == g
    assert graph_files.graph_from_upload("g.dagitty", g.to_dagitty().encode()) == g
    assert graph_files.graph_from_upload("g.txt", b"dag { A -> B }").same_structure(ADMG.from_edges("AB", [("A", "B")]))
    with pytest.raises(GraphError, match=r"^g\.json: malformed graph JSON"):
        graph_files.graph_from_upload("g.json", b'{"nodes": [')
    with pytest.raises(GraphError, match="not a UTF-8 text file"):
        graph_files.graph_from_upload("g.json", b"\xff\xfe\x00")
    with pytest.raises(GraphError, match="the file is empty"):
        graph_files.graph_from_upload("g.dagitty", b"  \n")
    with pytest.raises(GraphError, match="the model code is empty"):
        graph_files.graph_from_text("   ")


def test_download_payload_round_trips():
    g = napkin()
    text, fname, mime = graph_files.download_payload(g, "json", "my graph!")
    assert fname == "my_graph.json" and mime == "application/json" and ADMG.from_json(text) == g
    text, fname, _ = graph_files.download_payload(g, "dagitty", "napkin")
    assert fname == "napkin.dagitty" and ADMG.from_dagitty(text) == g
    with pytest.raises(GraphError, match="unknown graph format"):
        graph_files.download_payload(g, "png")


# ---- editing


def test_parse_shape_accepts_common_spellings_and_rejects_the_rest():
    for text in ("3x16x16", "3,16,16", "3 16 16", " 3 × 16 × 16 "):
        assert graph_editor.parse_shape(text) == (3, 16, 16)
    for bad in ("16x16", "axbxc", "", "3x16x16x2"):
        with pytest.raises(GraphError, match="bad image shape"):
            graph_editor.parse_shape(bad)


def test_make_node_uses_only_the_fields_its_type_needs():
    assert graph_editor.make_node("A", "binary", levels=7, shape="3x8x8") == Node("A", "binary")
    assert graph_editor.make_node("C", "categorical", levels=5, shape="3x8x8").levels == 5
    assert graph_editor.make_node("I", "image", levels=5, shape="1x4x4").shape == (1, 4, 4)
    assert graph_editor.make_node("I", "image").shape == graph_editor.DEFAULT_SHAPE
    with pytest.raises(GraphError, match="needs a name"):
        graph_editor.make_node("  ")
    with pytest.raises(GraphError, match="bad node name"):
        graph_editor.make_node("2x")
    with pytest.raises(GraphError, match="bad type"):
        graph_editor.make_node("A", "text")
    with pytest.raises(GraphError, match="levels >= 2"):
        graph_editor.make_node("A", "categorical", levels=1)
    with pytest.raises(GraphError, match="channels"):
        graph_editor.make_node("A", "image", shape="2x8x8")


def test_add_rename_retype_delete_nodes():
    g = napkin()
    g2 = graph_editor.add_node(g, graph_editor.make_node("Z", "continuous"))
    assert g2.names[-1] == "Z" and g2.node("Z").type == "continuous"
    with pytest.raises(GraphError, match="already exists"):
        graph_editor.add_node(g2, Node("Z"))
    r = graph_editor.rename_node(g, "W1", "Mood")
    assert r.names[0] == "Mood" and "W1" not in r
    assert r.has_directed("Mood", "W2") and r.has_bidirected("Mood", "X") and r.has_bidirected("Y", "Mood")
    assert r.node("Mood").get("pos") == g.node("W1").get("pos")
    assert graph_editor.rename_node(g, "X", "X") is g
    with pytest.raises(GraphError, match="already exists"):
        graph_editor.rename_node(g, "X", "Y")
    with pytest.raises(GraphError, match="bad node name"):
        graph_editor.rename_node(g, "X", "new name")
    with pytest.raises(GraphError, match="unknown node"):
        graph_editor.rename_node(g, "Q", "R")
    t = graph_editor.retype_node(g, "X", "image", shape="3x16x16")
    assert t.node("X").shape == (3, 16, 16) and t.node("X").get("role") == "exposure"
    assert t.same_structure(g)
    d = graph_editor.delete_node(g, "W2")
    assert set(d.names) == {"W1", "X", "Y"} and d.directed == (("X", "Y"),) and len(d.bidirected) == 2
    with pytest.raises(GraphError, match="at least one node"):
        graph_editor.delete_node(ADMG.from_edges(["A"]), "A")


def test_add_and_remove_both_edge_kinds():
    g = napkin()
    g2 = graph_editor.add_edge(g, "W2", "Y")
    assert g2.has_directed("W2", "Y")
    g3 = graph_editor.add_edge(g2, "W2", "Y", "bidirected")
    assert g3.has_bidirected("Y", "W2")
    with pytest.raises(GraphError, match=r"the edge W2 -> Y already exists"):
        graph_editor.add_edge(g3, "W2", "Y")
    with pytest.raises(GraphError, match=r"the edge Y <-> W2 already exists"):
        graph_editor.add_edge(g3, "Y", "W2", "bidirected")
    with pytest.raises(GraphError, match="directed cycle"):
        graph_editor.add_edge(g, "Y", "W1")
    with pytest.raises(GraphError, match="two different nodes"):
        graph_editor.add_edge(g, "X", "X", "bidirected")
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        graph_editor.add_edge(g, "X", "Q")
    assert graph_editor.remove_edge(g3, "Y", "W2", "bidirected") == g2
    assert graph_editor.remove_edge(g2, "W2", "Y") == g
    with pytest.raises(GraphError, match="there is no edge Y -> X"):
        graph_editor.remove_edge(g, "Y", "X")


def test_edge_labels_round_trip():
    g = napkin()
    labels = graph_editor.edge_labels(g)
    assert labels == ["W1 -> W2", "W2 -> X", "X -> Y", "W1 <-> X", "W1 <-> Y"]
    rebuilt = g
    for label in labels:
        rebuilt = graph_editor.remove_edge(rebuilt, *graph_editor.parse_edge_label(label))
    assert not rebuilt.directed and not rebuilt.bidirected
    with pytest.raises(GraphError, match="cannot read the edge"):
        graph_editor.parse_edge_label("X - Y")


# ---- queries


def test_roles_prefill_the_query():
    assert query.roles_from_graph(napkin()) == {"treatment": ["X"], "outcome": ["Y"], "given": []}
    g = ADMG.from_dagitty("dag { A [exposure] ; B [outcome] ; C [adjusted] ; A -> B ; C -> B }")
    assert query.roles_from_graph(g) == {"treatment": ["A"], "outcome": ["B"], "given": ["C"]}


@pytest.mark.parametrize(
    "t, y, z, words",
    [
        (["X"], [], [], "choose at least one outcome"),
        (["X"], ["X"], [], "X cannot be in both the treatment and the outcome"),
        (["X"], ["Y"], ["X"], "X cannot be in both the treatment and the conditioning set"),
        (["X"], ["Y"], ["Y"], "Y cannot be in both the outcome and the conditioning set"),
        (["Q"], ["Y"], [], "unknown node 'Q' in treatment"),
        (["X"], ["Y"], ["R"], "unknown node 'R' in conditioning set"),
    ],
)
def test_bad_queries_are_one_line(t, y, z, words):
    with pytest.raises(GraphError, match=re.escape(words)):
        query.check_query(napkin(), t, y, z)


def test_query_text_and_latex():
    assert query.query_text(["X"], ["Y"]) == "P(Y | do(X))"
    assert query.query_text([], ["Y"], ["Z"]) == "P(Y | Z)"
    assert query.query_text(["X", "W"], ["Y"], ["Z"]) == "P(Y | do(X, W), Z)"
    assert query.query_text([], ["Y"]) == "P(Y)"
    assert query.query_latex(["W1"], ["Y"], ["thick_ness"]) == r"P(Y \mid \mathrm{do}(W_{1}), \mathrm{thick\_ness})"


def test_answer_query_napkin_formula_and_bow_hedge():
    a = query.answer_query(napkin(), ["X"], ["Y"])
    assert a.identifiable and a.query == "P(Y | do(X))"
    assert r"\frac" in a.latex and "W_{1}" in a.latex and a.hedge is None
    assert json.dumps(a.estimand_json)  # JSON-serialisable for the "as JSON" expander
    b = query.answer_query(graph_files.load_example("bow"), ["X"], ["Y"])
    assert not b.identifiable and b.hedge == (frozenset("XY"), frozenset("Y"))
    assert "not identifiable" in b.reason
    words = query.hedge_words(b)
    assert "F = {X, Y}" in words and "F' = {Y}" in words
    assert query.hedge_words(a) == ""
    # Back-door and front-door are identifiable; conditional queries go through IDC.
    assert query.answer_query(graph_files.load_example("backdoor"), ["X"], ["Y"]).identifiable
    assert query.answer_query(graph_files.load_example("frontdoor"), ["X"], ["Y"]).identifiable
    assert query.answer_query(graph_files.load_example("faces"), ["Male"], ["Young"]).identifiable


# ---- session state


def test_set_graph_syncs_text_prunes_queries_and_clears_errors():
    state: dict = {}
    graph_state.ensure_graph_state(state)
    assert state["graph_name"] == "napkin" and state["q_treatment"] == ["X"] and state["q_outcome"] == ["Y"]
    assert ADMG.from_dagitty(state["graph_text"]) == state["graph"]
    state["graph_error"] = "old problem"
    state["q_given"] = ["W2"]
    smaller = graph_editor.delete_node(state["graph"], "W2")
    graph_state.set_graph(state, smaller, "napkin")
    assert state["graph_error"] is None and state["q_given"] == [] and state["q_treatment"] == ["X"]
    state["graph_text"] = "typed by hand"
    graph_state.set_graph(state, smaller, "napkin", sync_text=False)
    assert state["graph_text"] == "typed by hand"
    graph_state.ensure_graph_state(state)  # already has a graph: nothing changes
    assert state["graph"] == smaller


def test_graph_summary_and_device_label():
    assert graph_view.graph_summary(napkin()) == "4 nodes, 3 directed and 2 bidirected edges"
    assert graph_view.graph_summary(None) == "no graph"
    assert sidebar.device_label().split(" ")[0] in ("CPU", "CUDA", "MPS")


# ---- drawing


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
    nodes = {n["id"]: n for n in graph_view.vis_nodes(g, ["thickness"], ["image"], ["digit"])}
    assert nodes["intensity"]["color"]["background"] == graph_view.TYPE_COLOURS["continuous"]
    assert nodes["image"]["color"]["background"] == graph_view.TYPE_COLOURS["image"]
    assert nodes["thickness"]["color"]["border"] == graph_view.ROLE_COLOURS["treatment"]
    assert nodes["image"]["color"]["border"] == graph_view.ROLE_COLOURS["outcome"]
    assert nodes["digit"]["color"]["border"] == graph_view.ROLE_COLOURS["given"]
    assert nodes["intensity"]["borderWidth"] < nodes["digit"]["borderWidth"]
    bow = graph_files.load_example("bow")
    hedge = (frozenset("XY"), frozenset("Y"))
    hn = {n["id"]: n for n in graph_view.vis_nodes(bow, hedge=hedge, intervened=["X"])}
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
    html = graph_view.graph_html(napkin(), treatment=["X"], outcome=["Y"])
    # No external resources at all: every script and stylesheet is inline.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)\s*=", html)
    assert "vis.Network" in html and len(html) > 400_000  # vis-network itself is inlined
    data = re.search(r"new vis\.DataSet\((\[.*?\])\);\s*var edges", html, re.S).group(1)
    ids = [n["id"] for n in json.loads(data)]
    assert ids == ["W1", "W2", "X", "Y"]
    assert "hidden confounder" in html and "hedge F" not in html
    assert "hedge F" in graph_view.graph_html(graph_files.load_example("bow"), hedge=(frozenset("XY"), frozenset("Y")))


def test_long_formulas_are_typeset_smaller_and_broken_into_lines():
    short = query.formula_latex(["X"], ["Y"], [], "P(Y)")
    assert short == r"P(Y \mid \mathrm{do}(X)) = P(Y)"
    faces = query.answer_query(graph_files.load_example("faces"), ["Male"], ["Face"])
    long = query.formula_latex(["Male"], ["Face"], [], faces.latex)
    assert long.startswith(r"\small \begin{aligned}P(\mathrm{Face} \mid \mathrm{do}(\mathrm{Male})) &= ")
    assert long.endswith(r"\end{aligned}")
    body = long[long.index("&= ") + 3 : long.rindex(r"\end{aligned}")].strip()
    lines = body.split(" \\\\\n&\\quad ")
    assert len(lines) >= 2
    # nothing lost or reordered: the lines joined back are the estimand, and each fits the width
    assert r" \, ".join(lines) == faces.latex
    assert all(query.visible_width(line) <= query.LINE_WIDTH for line in lines[1:])


def test_formulas_break_only_outside_groups_and_left_right_pairs():
    latex = r"\frac{P\left(a\right) \, P\left(b\right)}{P\left(c\right)} \, \left[\sum_{w} P\left(w\right) \, P\left(x \mid w\right)\right] \, P\left(y\right)"
    assert query.top_level_factors(latex) == [
        r"\frac{P\left(a\right) \, P\left(b\right)}{P\left(c\right)}",
        r"\left[\sum_{w} P\left(w\right) \, P\left(x \mid w\right)\right]",
        r"P\left(y\right)",
    ]
    broken = query.formula_latex(["X"], ["Y"], [], latex, line_width=20)
    assert broken.count(r"\\") == 2 and r"\small" not in broken


def test_app_icon_is_drawn_locally():
    icon = sidebar.app_icon()
    assert icon.size == (64, 64) and icon.mode == "RGBA"
    assert icon.getpixel((14, 40))[3] == 255 and icon.getpixel((0, 0))[3] == 0


def test_loaded_example_recognises_only_unedited_examples():
    g = napkin()
    assert graph_files.loaded_example(g, "napkin") == "napkin"
    assert graph_files.loaded_example(graph_editor.add_edge(g, "W2", "Y"), "napkin") is None
    assert graph_files.loaded_example(g, "bow") is None and graph_files.loaded_example(g, "my upload") is None
