"""The session's current graph and query (a plain mapping, so tests need no Streamlit)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from core.graph import ADMG
from workbench.graph_files import load_example
from workbench.query import roles_from_graph

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
