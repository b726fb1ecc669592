"""What the Explore and Effects pages both need before drawing anything: the graph, the data
checked against it, the workspace's trained models (with a warning when they were fitted to other
data) and the ID-GEN settings.  Streamlit code shared by pages; it lives outside views/ so that
Streamlit never lists it as a page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.errors import WorkbenchError
from workbench import explore, graph_state


@dataclass
class ModelPageContext:
    state: Any
    hub: explore.ModelHub
    workspace: Any
    graph: Any
    dataset: Any
    world: Any
    run: Any
    settings: Any


def model_page_context(title: str, caption: str) -> ModelPageContext:
    """Title and caption, then the shared inputs; stops the page with a message when there is no
    data or it does not fit the graph."""
    state = st.session_state
    graph_state.ensure_graph_state(state)
    hub: explore.ModelHub = st.cache_resource(explore.new_hub)()
    ws = state.get("workspace")
    st.title(title, anchor=False)
    st.caption(caption)
    graph, ds, world = state.get("graph"), state.get("dataset"), state.get("data_world")
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
    if note := explore.run_data_note(run, ds):
        st.warning(note, icon=":material/warning:")
    settings = explore.idgen_settings(ws.settings if ws is not None else {})
    return ModelPageContext(state, hub, ws, graph, ds, world, run, settings)
