"""workbench.graph_editor: node and edge edits, each validated with a one-line error."""

from __future__ import annotations

import pytest

from core.graph import ADMG, GraphError, Node
from tests.workbench.examples import napkin
from workbench import graph_editor


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
