"""The Train page's "Model check" panel: run the check in the background, show its verdicts.

Thin by design: the check is ``core.check.model_check``, its job and tables ``workbench.model_check``;
this file draws them.  ``panel(ws, dataset)`` is the one call the Train page makes.
"""

from __future__ import annotations

import streamlit as st

from core.data import Dataset
from core.errors import WorkbenchError
from core.runs.workspace import Workspace
from workbench import model_check
from workbench.keys import ModelCheckPanel as K

state = st.session_state


def panel(ws: Workspace, dataset: Dataset, training: bool = False) -> None:
    """The panel for workspace ``ws`` trained on ``dataset``; ``training`` disables the run button."""
    registry = st.cache_resource(model_check.new_registry)()
    st.subheader("Model check", anchor=False)
    st.caption(
        "Can these models be trusted without a ground-truth world? Each node's model is scored on rows it never "
        "trained on against a model of the same kind that cannot see the parents; image nodes also get the "
        "counterfactual soundness suite, read by networks trained on your images (their own accuracy is shown "
        "beside every number that uses them)."
    )

    def on_run() -> None:
        try:
            registry.start(ws, dataset)
            state[K.ERROR] = None
        except WorkbenchError as e:
            state[K.ERROR] = str(e)

    def on_stop() -> None:
        job = registry.get(ws.key)
        if job is not None:
            job.request_stop()

    job = registry.get(ws.key)
    busy = job is not None and job.alive
    saved, current = model_check.saved_check(ws)
    label = "Check the models again" if saved is not None else "Check the models"
    b = st.columns([1, 1, 3])
    b[0].button(label, key=K.RUN, on_click=on_run, disabled=busy or training, icon=":material/fact_check:",
                width="stretch")
    b[1].button("Stop the check", key=K.STOP, on_click=on_stop, disabled=not busy, icon=":material/stop:",
                width="stretch")
    if state.get(K.ERROR):
        st.error(state[K.ERROR], icon=":material/error:")

    @st.fragment(run_every=1.0 if busy else None)
    def progress() -> None:
        j = registry.get(ws.key)
        phase = model_check.job_state(j)
        if phase in ("running", "stopping"):
            state[K.WAS_BUSY] = True
            p = j.snapshot()
            st.progress(p.fraction, text=f"{p.text} ({p.done}/{p.total} stages)")
        elif state.pop(K.WAS_BUSY, False):
            st.rerun()  # the whole page: the saved results appear
        elif phase == "failed":
            st.error(j.error, icon=":material/error:")
        elif phase == "stopped":
            st.info("The model check was stopped; nothing was saved.", icon=":material/pause:")

    progress()
    if saved is None:
        st.caption("Not checked yet.")
        return
    (st.success if current else st.warning)(model_check.summary_line(saved, current), icon=":material/fact_check:")
    for line in model_check.verdict_lines(saved):
        st.markdown(line)
    table = model_check.verdict_table(saved).drop(columns=["reason", "try"])
    st.dataframe(table, hide_index=True, key=K.TABLE, width="stretch")
    for node, c in saved.nodes.items():
        if c.soundness:
            with st.expander(f"{node}: counterfactual soundness (read-outs: {c.reader.get('source', '')})"):
                st.dataframe(model_check.soundness_table(saved, node), hide_index=True, key=K.soundness(node))
        for note in c.notes:
            st.caption(f"{node}: {note}")
