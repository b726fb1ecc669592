"""workbench.graph_state: the session's current graph and query, in a plain dict."""

from __future__ import annotations

from core.graph import ADMG
from workbench import graph_editor, graph_state
from workbench.keys import Shared


def test_set_graph_syncs_text_prunes_queries_and_clears_errors():
    state: dict = {}
    graph_state.ensure_graph_state(state)
    assert state[Shared.GRAPH_NAME] == "napkin" and state[Shared.TREATMENT] == ["X"] and state[Shared.OUTCOME] == ["Y"]
    assert ADMG.from_dagitty(state[Shared.GRAPH_TEXT]) == state[Shared.GRAPH]
    state[Shared.GRAPH_ERROR] = "old problem"
    state[Shared.GIVEN] = ["W2"]
    smaller = graph_editor.delete_node(state[Shared.GRAPH], "W2")
    graph_state.set_graph(state, smaller, "napkin")
    assert state[Shared.GRAPH_ERROR] is None and state[Shared.GIVEN] == [] and state[Shared.TREATMENT] == ["X"]
    state[Shared.GRAPH_TEXT] = "typed by hand"
    graph_state.set_graph(state, smaller, "napkin", sync_text=False)
    assert state[Shared.GRAPH_TEXT] == "typed by hand"
    graph_state.ensure_graph_state(state)  # already has a graph: nothing changes
    assert state[Shared.GRAPH] == smaller


def test_form_tag_changes_with_nodes_and_edges_not_with_positions():
    napkin = graph_state.load_example("napkin")
    moved = napkin.with_node(napkin.node("X").with_extra(pos=(9, 9)))
    assert graph_state.form_tag(moved) == graph_state.form_tag(napkin)
    assert graph_state.form_tag(graph_state.load_example("bow")) != graph_state.form_tag(napkin)
    assert graph_state.form_tag(graph_editor.remove_edge(napkin, "X", "Y")) != graph_state.form_tag(napkin)


def test_the_name_follows_what_the_user_does():
    bow = graph_state.load_example("bow")
    edited = graph_editor.add_node(bow, graph_editor.make_node("Z"))
    assert graph_state.follow_name(bow, edited, "bow") == "bow-edited"  # no longer the bow example
    assert graph_state.follow_name(edited, graph_editor.add_node(edited, graph_editor.make_node("W")),
                                   "bow-edited") == "bow-edited"  # later edits keep the name
    assert graph_state.follow_name(bow, ADMG.from_dagitty("dag { A -> B }"), "bow") == "untitled"  # a new graph
    assert graph_state.follow_name(bow, bow, "bow") == "bow"
    mine = ADMG.from_dagitty("dag { A -> B }")
    assert graph_state.follow_name(mine, graph_editor.add_node(mine, graph_editor.make_node("C")), "mine") == "mine"
