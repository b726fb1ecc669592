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
