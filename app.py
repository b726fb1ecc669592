"""Causal Workbench: the Streamlit entry point (``streamlit run app.py``).

Five pages, one per step of the workflow, and a sidebar every page shares: the current graph, the
compute device, the workspace and its models.  Pages keep their state in ``st.session_state`` (keys in
``workbench.keys``); their logic lives in ``workbench``, the science in ``core``.
"""

from __future__ import annotations

import streamlit as st

from core.runs import workspace
from views.workspace import replacement_prompt, versions_popover
from workbench import graph_state, graph_view, session, sidebar, train_page
from workbench.keys import Shared
from workbench.keys import Sidebar as K

st.set_page_config(page_title="Causal Workbench", page_icon=sidebar.app_icon(), layout="wide")

# The page files live in views/, not pages/: Streamlit treats a pages/ folder beside the entry point as
# legacy auto-navigation, and a first request for a deep link (/explore) then ran that page without this
# script (no sidebar, no workspace).
PAGES = [
    st.Page("views/graph.py", title="Graph", icon=":material/account_tree:", default=True),
    st.Page("views/data.py", title="Data", icon=":material/table_view:"),
    st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    st.Page("views/explore.py", title="Explore", icon=":material/image_search:"),
    st.Page("views/effects.py", title="Effects", icon=":material/compare_arrows:"),
]

page = st.navigation(PAGES)
ws = session.sync_session(st.session_state)  # a saved graph and data come back; changes are saved
graph_state.ensure_graph_state(st.session_state)

with st.sidebar:
    st.markdown("### :material/hub: Causal Workbench")
    st.caption("Draw a causal graph, fit one generative model per node, compare seeing with doing.")
    st.markdown(f"**Graph** &nbsp; `{st.session_state.get(Shared.GRAPH_NAME, 'none')}`")
    st.caption(graph_view.graph_summary(st.session_state.get(Shared.GRAPH)))
    st.markdown(f"**Compute device** &nbsp; `{sidebar.device_label()}`")
    # the workspace (workbench.session) and its models' status (workbench.train_page)
    names = workspace.list_workspaces()
    if st.session_state.get(K.WORKSPACE_PICK) != ws.name:
        # the picker follows the open workspace through its state alone: a default index as well
        # makes Streamlit warn that both were set
        st.session_state[K.WORKSPACE_PICK] = ws.name
    st.selectbox("**Workspace**", names, key=K.WORKSPACE_PICK, on_change=session.on_pick_workspace,
                 args=(st.session_state,))
    with st.popover("New workspace", icon=":material/add:", width="stretch"):
        st.text_input("Name", key=K.NEW_WORKSPACE_NAME, placeholder="my-project")
        st.button("Create (keeps the current graph and data)", key=K.CREATE_WORKSPACE,
                  on_click=session.on_create_workspace, args=(st.session_state,))
    versions_popover(ws)
    for problem in st.session_state.get(Shared.WORKSPACE_PROBLEMS) or ():
        st.warning(problem, icon=":material/warning:")
    job = st.cache_resource(train_page.new_registry)().get(ws.key)
    st.markdown(train_page.model_status_markdown(st.session_state.get(Shared.GRAPH), ws, job))

replacement_prompt()  # above any page: a change that would leave trained models unusable waits here
page.run()
