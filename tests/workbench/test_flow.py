"""workbench.flow: the drag-to-connect editor's state round trip, without a browser.

The "browser" here is a function that edits React Flow records the way the component does
(streamlit-flow 1.6.1's frontend: a drag changes one node's ``position``; a connection appends an
edge ``st-flow-edge_<source>-<target>``; the node and edge menus drop records or edit
``data.content``; the pane menu appends a node ``st-flow-node_<random>`` at the click position).
"""

from __future__ import annotations

import copy

import pytest

from core.graph import ADMG, GraphError, Node, parse_dagitty
from tests.workbench.examples import napkin
from workbench import flow, graph_editor, graph_files, graph_view


def drawn(graph: ADMG, frame: flow.Frame = flow.Frame()):
    """What the component hands back when the user did nothing (deep copies, as JSON would)."""
    nodes, edges = flow.to_flow(graph, frame)
    return copy.deepcopy(nodes), copy.deepcopy(edges)


def connect(edges: list[dict], source: str, target: str) -> None:
    """React Flow's addEdge as streamlit-flow calls it on a drag from one handle to another."""
    edges.append({"id": f"st-flow-edge_{source}-{target}", "source": source, "target": target,
                  "sourceHandle": None, "targetHandle": None, "animated": False, "labelShowBg": False})


def node(nodes: list[dict], node_id: str) -> dict:
    (n,) = [n for n in nodes if n["id"] == node_id]
    return n


# ---- graph -> records


def test_records_carry_every_node_and_edge_with_its_kind():
    g = napkin()
    nodes, edges = flow.to_flow(g)
    assert [n["id"] for n in nodes] == list(g.names)
    assert {e["id"] for e in edges} == {"W1->W2", "W2->X", "X->Y", "W1<->X", "W1<->Y"}
    for e in edges:
        a, b, kind = flow.parse_edge_id(e["id"])
        assert (e["source"], e["target"]) == (a, b) if kind == "directed" else {e["source"], e["target"]} == {a, b}
        if kind == "directed":
            assert "strokeDasharray" not in e["style"] and e["style"]["stroke"] == graph_view.DIRECTED_COLOUR
            assert e["markerEnd"]["type"] == "arrowclosed" and not e["markerStart"]
        else:  # dashed, red, two heads, and routed differently from the directed curves
            assert e["style"]["strokeDasharray"] and e["style"]["stroke"] == graph_view.BIDIRECTED_COLOUR
            assert e["markerStart"]["type"] == e["markerEnd"]["type"] == "arrowclosed"
            assert e["markerStart"]["color"] == graph_view.BIDIRECTED_COLOUR
            assert e["type"] != flow.edge_style("directed")["type"]
        # deletable from the edge menu, but not selectable: the keyboard cannot delete behind our back
        assert e["deletable"] and e["selectable"] is False


def test_edges_between_nodes_on_one_row_step_around_so_their_arrowheads_show():
    # Edges leave a node's bottom dot and enter the target's top dot, under the nodes: Male <-> Young
    # (or W2 -> X in the napkin) on one row drawn as a curve ran into the pills sideways, heads hidden.
    _, edges = flow.to_flow(graph_files.load_example("faces"))
    (arc,) = [e for e in edges if e["id"] == "Male<->Young"]
    assert arc["type"] == flow.SIDE_BY_SIDE_PATH and arc["pathOptions"]["offset"] == flow.STEP_OFFSET["bidirected"]
    _, edges = flow.to_flow(napkin())
    by_id = {e["id"]: e for e in edges}
    assert by_id["W2->X"]["type"] == by_id["X->Y"]["type"] == flow.SIDE_BY_SIDE_PATH
    assert by_id["W1->W2"]["type"] == "default" and "pathOptions" not in by_id["W1->W2"]  # one above the other
    # a bidirected edge with one node clearly above: an arc from the upper node down
    g = parse_dagitty('dag { A [pos="0,2"] B [pos="1,0"] A <-> B }')
    _, (e,) = flow.to_flow(g)
    assert (e["source"], e["target"], e["type"]) == ("B", "A", flow.BIDIRECTED_PATH)
    assert flow.parse_edge_id(e["id"]) == ("A", "B", "bidirected")  # still the graph's edge
    # the step paths of X -> Y and X <-> Y side by side leave the nodes at different depths
    assert flow.STEP_OFFSET["directed"] != flow.STEP_OFFSET["bidirected"]


def test_edges_lie_under_the_nodes_and_directed_ones_over_bidirected_ones():
    # An edge above the nodes swallows the mouse over every node it crosses: in the napkin with
    # W2 -> Y added, the W2 -> Y curve passes over X and X could no longer be dragged.
    g = graph_editor.add_edge(napkin(), "W2", "Y", "directed")
    nodes, edges = flow.to_flow(g)
    assert max(e["zIndex"] for e in edges) <= min(n["zIndex"] for n in nodes)
    kinds = [flow.parse_edge_id(e["id"])[2] for e in edges]
    assert kinds == sorted(kinds)  # "bidirected" < "directed": directed paths are painted last


def test_node_records_show_name_and_type_and_use_stored_positions():
    g = graph_editor.retype_node(napkin(), "X", "categorical", levels=4)
    nodes, _ = flow.to_flow(g, flow.Frame(100, 10, 20))
    x = node(nodes, "X")
    assert x["position"] == {"x": 1.5 * 100 + 10, "y": 1.5 * 100 + 20}
    assert x["data"]["content"].startswith("**X**") and "categorical (4 levels)" in x["data"]["content"]
    assert node(nodes, "W1")["data"]["content"] == "**W1**"
    assert x["style"]["background"] == graph_view.TYPE_COLOURS["categorical"]
    assert x["sourcePosition"] == "bottom" and x["targetPosition"] == "top"
    assert x["connectable"] and x["deletable"] and x["selectable"] is False


def test_name_from_content_reads_what_a_user_types_in_the_node_menu():
    assert flow.name_from_content("**X**") == "X"
    assert flow.name_from_content('**Mood**<br/><span style="x">categorical (3 levels)</span>') == "Mood"
    assert flow.name_from_content("  Z  \nsecond line") == "Z"
    assert flow.name_from_content("W_1") == "W_1"
    assert flow.name_from_content(None) == ""


def test_flow_state_wraps_records_in_streamlit_flow_classes():
    state = flow.flow_state(napkin())
    assert state.timestamp == 0  # taken once at mount, never over the user's drawing
    assert [n.id for n in state.nodes] == list(napkin().names)
    bi = [e for e in state.edges if e.id == "W1<->X"][0].asdict()
    assert bi["selectable"] is False and bi["style"]["strokeDasharray"]  # extra keys survive the wrapping
    assert flow.records(state.nodes)[0]["id"] == "W1"


def test_unplaced_nodes_go_below_the_drawing_without_moving_it():
    g = graph_editor.add_node(napkin(), Node("Z"))
    pos = graph_view.layout(g, spacing=100)
    assert pos["W1"] == (0.0, 0.0) and pos["Y"] == (300.0, 150.0)  # the placed nodes stay
    assert pos["Z"][1] > max(y for v, (_, y) in pos.items() if v != "Z")


def test_fit_frame_fills_the_canvas_within_bounds():
    bow = graph_files.load_example("bow")  # X at (0, 0), Y at (2, 0)
    f = flow.fit_frame(bow)
    assert f.scale == flow.MAX_SCALE  # a small graph is spread out, not zoomed in
    assert f.to_px((0, 0)) == flow.MARGIN
    wide = ADMG([Node(f"N{i}", extra=(("pos", (i, 0)),)) for i in range(40)])
    assert flow.fit_frame(wide).scale == flow.MIN_SCALE
    assert f.to_units(f.to_px((1.25, -0.5))) == (1.25, -0.5)
    assert f.to_units(f.to_px((2, 3))) == (2, 3) and isinstance(f.to_units(f.to_px((2, 3)))[0], int)


# ---- records -> graph


def test_nothing_done_is_no_edit():
    g = napkin()
    frame = flow.fit_frame(g)
    nodes, edges = drawn(g, frame)
    for n in nodes:  # React Flow adds measurements and sub-pixel noise; neither is an edit
        n.update(width=52, height=38, positionAbsolute=dict(n["position"]))
        n["position"]["x"] += 0.3
    edits = flow.diff_flow(g, nodes, edges, new_edge_kind="directed", frame=frame)
    assert not edits
    assert flow.graph_from_flow(g, nodes, edges, new_edge_kind="directed", frame=frame) is g


@pytest.mark.parametrize("kind", ["directed", "bidirected"])
def test_a_drawn_connection_becomes_an_edge_of_the_chosen_kind(kind):
    g = napkin()
    nodes, edges = drawn(g)
    connect(edges, "W2", "Y")
    new = flow.graph_from_flow(g, nodes, edges, new_edge_kind=kind)
    if kind == "directed":
        assert new.has_directed("W2", "Y") and not new.has_directed("Y", "W2")
    else:
        assert new.has_bidirected("W2", "Y") and new.has_bidirected("Y", "W2")
    assert len(new.directed) + len(new.bidirected) == len(g.directed) + len(g.bidirected) + 1
    # The dagitty text (what the page shows) has the new edge, and reading it back gives the same graph.
    text = new.to_dagitty()
    assert ("W2 -> Y" if kind == "directed" else "W2 <-> Y") in text
    assert parse_dagitty(text) == new
    # Drawn again, the edge has our id and style: a second look finds no further edit.
    again_nodes, again_edges = drawn(new)
    assert not flow.diff_flow(new, again_nodes, again_edges, new_edge_kind=kind)


def test_a_cycle_or_a_self_loop_is_refused_and_the_graph_kept():
    g = napkin()
    nodes, edges = drawn(g)
    connect(edges, "Y", "W1")  # W1 -> W2 -> X -> Y -> W1
    with pytest.raises(GraphError, match="directed cycle"):
        flow.graph_from_flow(g, nodes, edges, new_edge_kind="directed")
    nodes, edges = drawn(g)
    connect(edges, "X", "X")
    with pytest.raises(GraphError, match="two different nodes"):
        flow.graph_from_flow(g, nodes, edges, new_edge_kind="directed")
    nodes, edges = drawn(g)
    connect(edges, "X", "W1")  # W1 <-> X is there already
    with pytest.raises(GraphError, match="already exists"):
        flow.graph_from_flow(g, nodes, edges, new_edge_kind="bidirected")
    assert g == napkin()  # untouched (graphs are immutable; the page keeps this one)


def test_a_drag_writes_every_position_into_the_graph_and_text():
    g = parse_dagitty("dag { A -> B ; A -> C ; B <-> C }")  # no positions: laid out in layers
    frame = flow.fit_frame(g)
    nodes, edges = drawn(g, frame)
    before = {n["id"]: dict(n["position"]) for n in nodes}
    node(nodes, "C")["position"]["x"] += 2 * frame.scale
    node(nodes, "C")["position"]["y"] += 0.5 * frame.scale
    edits = flow.diff_flow(g, nodes, edges, new_edge_kind="directed", frame=frame)
    assert edits.only_moves and set(edits.positions) == {"A", "B", "C"}
    new = flow.apply_flow_edits(g, edits)
    assert new.same_structure(g)
    units = {v: frame.to_units((p["x"], p["y"])) for v, p in before.items()}
    assert new.node("A").get("pos") == units["A"] and new.node("B").get("pos") == units["B"]
    assert new.node("C").get("pos") == (units["C"][0] + 2, units["C"][1] + 0.5)
    # Kept by dagitty text and JSON, and drawn where the user left it.
    assert parse_dagitty(new.to_dagitty()) == new and ADMG.from_json(new.dumps()) == new
    moved = flow.flow_positions(new, frame)["C"]
    assert moved == pytest.approx((node(nodes, "C")["position"]["x"], node(nodes, "C")["position"]["y"]))


def test_renaming_in_the_node_menu_renames_everywhere():
    g = napkin()
    nodes, edges = drawn(g)
    node(nodes, "W1")["data"]["content"] = "**Mood**"
    new = flow.graph_from_flow(g, nodes, edges)
    assert "W1" not in new and new.has_directed("Mood", "W2") and new.has_bidirected("Mood", "Y")
    assert new.node("Mood").get("pos") == g.node("W1").get("pos")
    nodes, edges = drawn(g)
    node(nodes, "W1")["data"]["content"] = "**X**"  # a duplicate name
    with pytest.raises(GraphError, match="already exists"):
        flow.graph_from_flow(g, nodes, edges)
    nodes, edges = drawn(g)
    node(nodes, "W1")["data"]["content"] = "two words"
    with pytest.raises(GraphError, match="bad node name"):
        flow.graph_from_flow(g, nodes, edges)


def test_a_renamed_node_stays_in_the_question():
    assert flow.renamed_choices(["Y"], [("Y", "Outcome")]) == ["Outcome"]
    assert flow.renamed_choices(["X", "W2"], [("X", "T"), ("T", "Treat")]) == ["Treat", "W2"]
    assert flow.renamed_choices([], [("Y", "Z")]) == []


def test_the_first_visit_asks_the_graphs_own_question():
    g = parse_dagitty("dag { M [exposure] ; F [outcome] ; Z [adjusted] ; M -> F ; Z -> F }")
    assert flow.first_visit_query({}, g) == {"treatment": ["M"], "outcome": ["F"], "given": ["Z"]}
    assert flow.first_visit_query({"treatment": [], "outcome": ["Gone"]}, g)["treatment"] == ["M"]
    chosen = {"treatment": ["Z"], "outcome": [], "given": []}  # a choice the user made wins
    assert flow.first_visit_query(chosen, g) == chosen


def test_deleting_from_the_menus_removes_nodes_and_edges():
    g = napkin()
    nodes, edges = drawn(g)
    edges = [e for e in edges if e["id"] != "W1<->Y"]  # edge menu: Delete Edge
    new = flow.graph_from_flow(g, nodes, edges)
    assert not new.has_bidirected("W1", "Y") and new.has_bidirected("W1", "X")
    nodes, edges = drawn(g)
    nodes = [n for n in nodes if n["id"] != "W2"]  # node menu: Delete Node drops the node and its edges
    edges = [e for e in edges if "W2" not in (e["source"], e["target"])]
    edits = flow.diff_flow(g, nodes, edges)
    assert edits.removed_nodes == ("W2",) and not edits.removed_edges
    new = flow.apply_flow_edits(g, edits)
    assert set(new.names) == {"W1", "X", "Y"} and new.directed == (("X", "Y"),)


def test_a_node_made_in_the_canvas_is_added_where_it_was_clicked_and_can_be_connected():
    g = napkin()
    frame = flow.fit_frame(g)
    nodes, edges = drawn(g, frame)
    nodes.append({"id": "st-flow-node_abc", "type": "default", "position": {"x": frame.dx + 1.5 * frame.scale, "y": frame.dy},
                  "data": {"content": "Z"}, "sourcePosition": "right", "targetPosition": "left"})
    connect(edges, "st-flow-node_abc", "Y")
    new = flow.graph_from_flow(g, nodes, edges, new_edge_kind="directed", frame=frame)
    assert new.names[-1] == "Z" and new.node("Z").type == "binary" and new.has_directed("Z", "Y")
    assert new.node("Z").get("pos") == (1.5, 0)
    assert all(new.node(v).get("pos") == g.node(v).get("pos") for v in g.names)
    nodes[-1]["data"]["content"] = ""
    with pytest.raises(GraphError, match="needs a name"):
        flow.graph_from_flow(g, nodes, edges, new_edge_kind="directed", frame=frame)


def test_bad_edge_kind_is_one_line():
    with pytest.raises(GraphError, match="unknown edge kind"):
        flow.diff_flow(napkin(), *drawn(napkin()), new_edge_kind="sideways")


# ---- clicks


def test_clicks_select_nodes_and_edges_and_edge_actions_are_validated():
    g = napkin()
    assert flow.selection(g, "X") == ("node", "X")
    assert flow.selection(g, "W1<->Y") == ("edge", ("W1", "Y", "bidirected"))
    assert flow.selection(g, "st-flow-edge_X-Y") is None and flow.selection(g, "Q") is None
    assert flow.selection(g, "Y->X") is None and flow.selection(g, None) is None
    flipped = flow.toggle_edge_kind(g, "W1", "X", "bidirected")
    assert flipped.has_directed("W1", "X") and not flipped.has_bidirected("W1", "X")
    assert flow.toggle_edge_kind(flipped, "W1", "X", "directed").same_structure(g)
    rev = flow.reverse_edge(g, "X", "Y")
    assert rev.has_directed("Y", "X") and not rev.has_directed("X", "Y")
    confounded = graph_editor.add_edge(g, "Y", "W2", "bidirected")
    with pytest.raises(GraphError, match="directed cycle"):  # Y -> W2 -> X -> Y
        flow.toggle_edge_kind(confounded, "Y", "W2", "bidirected")
    assert "added W2 -> Y" in flow.describe_edits(flow.FlowEdits(added_edges=(("W2", "Y", "directed"),)))
