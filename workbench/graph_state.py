"""The session's current graph and query.

The session is any mutable mapping (``st.session_state`` in the app, a dict in tests), so nothing
here needs Streamlit.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TypeAlias

from core.graph import ADMG
from workbench.graph_files import load_example
from workbench.keys import Shared
from workbench.query import roles_from_graph

Session: TypeAlias = MutableMapping[str, object]
"""A session's state by key (``workbench.keys``): ``st.session_state`` in the app, a dict in tests."""

DEFAULT_EXAMPLE = "napkin"
QUERY_KEYS = {"treatment": Shared.TREATMENT, "outcome": Shared.OUTCOME, "given": Shared.GIVEN}  # role -> key


def set_graph(
    state: Session,
    graph: ADMG,
    name: str,
    *,
    query_from_roles: bool = False,
    sync_text: bool = True,
) -> None:
    """Make ``graph`` current: sync the model-code text (unless the user is typing it), drop query
    choices naming vanished nodes, and clear any error.  ``query_from_roles`` pre-fills the query
    from dagitty roles (exposure, outcome, adjusted)."""
    state[Shared.GRAPH] = graph
    state[Shared.GRAPH_NAME] = name
    if sync_text:
        state[Shared.GRAPH_TEXT] = graph.to_dagitty()
    state[Shared.GRAPH_ERROR] = None
    roles = roles_from_graph(graph) if query_from_roles else None
    for role, key in QUERY_KEYS.items():
        if roles is not None:
            state[key] = roles[role]
        else:
            state[key] = [v for v in state.get(key, []) if v in graph]


def ensure_graph_state(state: Session) -> None:
    """First visit: start on the napkin example so the page has something to show."""
    if not isinstance(state.get(Shared.GRAPH), ADMG):
        set_graph(state, load_example(DEFAULT_EXAMPLE), DEFAULT_EXAMPLE, query_from_roles=True)
