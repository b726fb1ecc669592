"""What the Explore and Effects pages both need before drawing anything: the graph, the data
checked against it, the workspace's trained models (with a warning when they were fitted to other
data) and the ID-GEN settings.  Streamlit code shared by pages; Streamlit lists only the pages in
``app.py``'s navigation, so this module is never a page of its own."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from core.errors import WorkbenchError
from core.graph import ADMG
from workbench import graph_state
from workbench.explore.idgen_fit import idgen_settings
from workbench.explore.models import ModelHub, Sources, new_hub, run_data_note
from workbench.keys import Shared

if TYPE_CHECKING:
    from core.runs.workspace import Workspace


@dataclass(frozen=True)
class ModelPageContext:
    """The session state, the open workspace (if any), the current graph, and what the page
    samples from (data, world, trained run, ID-GEN settings, the server's model hub)."""

    state: MutableMapping[str, object]
    workspace: Workspace | None
    graph: ADMG
    sources: Sources


def model_page_context(title: str, caption: str) -> ModelPageContext:
    """Title and caption, then the shared inputs; stops the page with a message when there is no
    data or it does not fit the graph."""
    state = st.session_state
    graph_state.ensure_graph_state(state)
    hub: ModelHub = st.cache_resource(new_hub)()
    ws = state.get(Shared.WORKSPACE)
    st.title(title, anchor=False)
    st.caption(caption)
    graph, ds, world = state.get(Shared.GRAPH), state.get(Shared.DATASET), state.get(Shared.DATA_WORLD)
    if ds is None:
        st.info("No data yet: sample a world or upload a data set on the Data page.", icon=":material/info:")
        st.stop()
    try:
        ds.check(graph)
    except WorkbenchError as e:
        st.warning(f"The data does not fit the current graph: {e}.", icon=":material/warning:")
        st.stop()
    run = None
    try:
        run = ws.load_run() if ws is not None else None
    except WorkbenchError as e:
        st.warning(f"The trained models cannot be read: {e}", icon=":material/warning:")
    if note := run_data_note(run, ds):
        st.warning(note, icon=":material/warning:")
    settings = idgen_settings(ws.settings if ws is not None else {})
    return ModelPageContext(state, ws, graph, Sources(hub, ds, run=run, world=world, settings=settings))
