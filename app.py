"""Causal Workbench: the Streamlit entry point (``streamlit run app.py``).

Five pages, one per step of the workflow, and a sidebar every page shares: the current graph and the
compute device.  Pages keep their state in ``st.session_state``; the logic lives in ``core``.
"""

from __future__ import annotations

import streamlit as st

from core import ui

st.set_page_config(page_title="Causal Workbench", page_icon=ui.app_icon(), layout="wide")

PAGES = [
    st.Page("pages/graph.py", title="Graph", icon=":material/account_tree:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/table_view:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/image_search:"),
    st.Page("pages/effects.py", title="Effects", icon=":material/compare_arrows:"),
]

page = st.navigation(PAGES)
ui.ensure_graph_state(st.session_state)

with st.sidebar:
    st.markdown("### :material/hub: Causal Workbench")
    st.caption("Draw a causal graph, fit one generative model per node, compare seeing with doing.")
    st.markdown(f"**Graph** &nbsp; `{st.session_state.get('graph_name', 'none')}`")
    st.caption(ui.graph_summary(st.session_state.get("graph")))
    st.markdown(f"**Compute device** &nbsp; `{ui.device_label()}`")

page.run()
