"""The session's current graph and query.

The session is any mutable mapping (``st.session_state`` in the app, a dict in tests), so nothing
here needs Streamlit.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from typing import TypeAlias

from core.graph import ADMG
from workbench.graph_files import example_names, load_example
from workbench.keys import Shared
from workbench.query import roles_from_graph

Session: TypeAlias = MutableMapping[str, object]
"""A session's state by key (``workbench.keys``): ``st.session_state`` in the app, a dict in tests."""

DEFAULT_EXAMPLE = "napkin"
UNTITLED = "untitled"  # the name of a graph started from scratch
EDITED_SUFFIX = "-edited"  # an example the user changed is no longer that example
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


def form_tag(graph: ADMG) -> str:
    """A short digest of what the Graph page's forms list: the nodes (name, type, levels, shape) and
    the edges, not the positions.  Widgets that edit the graph carry it in their keys, so a new
    graph (an example, a workspace, another page's edit) gets fresh widgets instead of ones still
    holding the old graph's nodes."""
    parts = [(n.name, n.type, n.levels, n.shape) for n in graph.nodes]
    text = repr((parts, sorted(graph.directed), sorted(tuple(sorted(e)) for e in graph.bidirected)))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def follow_name(old: ADMG | None, new: ADMG, name: str | None) -> str:
    """The name a graph goes by after an edit turned ``old`` (called ``name``) into ``new``: an
    unchanged example's name gains ``-edited`` at its first change (it is no longer that example);
    a graph that keeps none of the old nodes is a new one, ``untitled``; anything else keeps its name."""
    name = name or UNTITLED
    if old is None or new == old:
        return name
    if not set(new.names) & set(old.names):
        return UNTITLED
    if name in example_names() and load_example(name) == old:
        return name + EDITED_SUFFIX
    return name
