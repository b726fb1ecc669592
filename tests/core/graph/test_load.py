"""Loading graphs from paths or text: JSON or dagitty, told apart by how the text starts."""

from __future__ import annotations

import pytest

from core.graph import ADMG, GraphError, load_graph, parse_dagitty, parse_graph_text


def test_load_graph_from_paths_and_text(tmp_path):
    g = parse_dagitty("dag { A -> B ; A <-> B }")
    j = tmp_path / "g.json"
    j.write_text(g.dumps())
    d = tmp_path / "g.dagitty"
    d.write_text(g.to_dagitty())
    assert load_graph(str(j)) == g and load_graph(str(d)) == g
    assert load_graph(g.dumps()) == g and load_graph(g.to_dagitty()) == g
    with pytest.raises(GraphError, match="graph file not found: nope.json"):
        load_graph("nope.json")
    assert parse_graph_text('  {"nodes": ["A"]}') == ADMG.from_edges(["A"])
    assert parse_graph_text("{ A -> B }").directed == (("A", "B"),)


