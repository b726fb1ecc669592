"""The workspace's widgets every page shares: the prompt for a change that would leave trained
models unusable, and the sidebar's list of earlier graph and data versions.  Streamlit code called
from ``app.py``; the rules live in ``workbench.session``."""

from __future__ import annotations

import streamlit as st

from core.runs.workspace import Workspace
from workbench import session
from workbench.keys import Sidebar as K


def replacement_prompt() -> None:
    """When a change is parked (``session.Replacement``): what it would do, and three ways on."""
    state = st.session_state
    change = session.pending_replacement(state)
    if change is None:
        return
    with st.container(border=True):
        st.warning(change.warning, icon=":material/warning:")
        if K.REPLACE_NAME not in state:
            state[K.REPLACE_NAME] = session.suggested_workspace(state, change)
        c1, c2, c3, c4 = st.columns([1.4, 1.2, 1.4, 0.8], vertical_alignment="bottom")
        c1.button(f"Replace in {change.workspace}", key=K.REPLACE_HERE, on_click=session.replace_here, args=(state,),
                  icon=":material/swap_horiz:", width="stretch")
        c2.text_input("New workspace", key=K.REPLACE_NAME)
        c3.button("Open it in the new workspace", key=K.REPLACE_NEW, type="primary", width="stretch",
                  on_click=session.replace_in_new_workspace, args=(state,), icon=":material/add:")
        c4.button("Cancel", key=K.REPLACE_CANCEL, on_click=session.cancel_replacement, args=(state,), width="stretch")


def versions_popover(ws: Workspace) -> None:
    """The sidebar's "Earlier versions": every kept graph and data set, newest first, to restore."""
    kept = ws.versions()
    with st.popover(f"Earlier versions ({len(kept)})", icon=":material/history:", disabled=not kept, width="stretch"):
        st.caption("What loading an example, an upload or new data replaced in this workspace. Restoring one "
                   "keeps the current one here in turn.")
        for v in kept:
            c1, c2 = st.columns([3, 1], vertical_alignment="center")
            c1.markdown(f"**{v['kind']}** · {v['label']}  \n:gray[replaced {v['saved'].replace('T', ' ')[:16]} UTC]")
            c2.button("Restore", key=K.restore(v["file"] or v["label"]), on_click=session.restore_version,
                      args=(st.session_state, v["file"] or v["label"]))
