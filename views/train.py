"""Train page: fit one conditional generative model per node, in a background thread.

Thin by design: settings, jobs and progress live in ``workbench.train_page``, training in
``core.runs.train``, the run folder in the workspace (``core.runs.workspace``).  The job registry is an ``st.cache_resource``
object keyed by workspace, so a browser refresh finds a running job again; the progress panel is a
fragment that reruns every second while the job runs (the rest of the page stays still).
"""

from __future__ import annotations

import time

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.errors import WorkbenchError
from core.runs.checkpoint import CheckpointError, load_run
from core.runs.workspace import Workspace, node_status
from views.model_check import panel as model_check_panel
from workbench import graph_state, sidebar, train_page
from workbench.keys import Shared
from workbench.keys import TrainPage as K

state = st.session_state
graph_state.ensure_graph_state(state)
registry = st.cache_resource(train_page.new_registry)()
estimates = st.cache_resource(train_page.new_estimates)()  # measured step times, in the background
ws: Workspace | None = state.get(Shared.WORKSPACE)
state[K.PAGE_RUN] = time.monotonic()

st.title("Train", anchor=False)
st.caption("Fit one conditional generative model per node, each given its parents in the graph. Training runs "
           "in the background: you can leave this page, and stop or resume at any time.")

graph = state.get(Shared.GRAPH)
ds = state.get(Shared.DATASET)
if ws is None:
    st.error("No workspace is open.", icon=":material/error:")
    st.stop()
if ds is None:
    st.info("No data yet: sample a world or upload a data set on the Data page.", icon=":material/info:")
    st.stop()
try:
    ds.check(graph)
except WorkbenchError as e:
    st.warning(f"The data does not fit the current graph: {e}. Fix the graph or the data first.",
               icon=":material/warning:")
    st.stop()

job = registry.get(ws.key)
# read once: a job that ends while this script runs must not show "Stopped" beside disabled controls
phase = train_page.job_state(job)
busy = phase in ("running", "stopping")
saved = ws.settings
settings = train_page.default_settings(graph, saved.get("nodes"))

# ---- callbacks


def save_settings() -> None:
    ws.update_settings(nodes=train_page.chosen_settings(state, graph, settings), steps=int(state.get(K.STEPS) or 0),
                       device=state.get(K.DEVICE, "auto"))


def start(nodes: list[str]) -> None:
    save_settings()
    chosen = train_page.default_settings(graph, ws.settings.get("nodes"))
    steps = int(state.get(K.STEPS) or 0) or None
    device = state.get(K.DEVICE, "auto")
    try:
        work = train_page.training_work(graph, ds, run_path=ws.run_path, nodes=nodes, settings=chosen, steps=steps,
                                        device=None if device == "auto" else device)
        registry.start(ws.key, nodes, work)
        state[K.ERROR] = None
    except WorkbenchError as e:
        state[K.ERROR] = str(e)


def on_train_selected() -> None:
    start(train_page.picked_nodes(state, graph))


def on_train_all() -> None:
    start(list(graph.names))


def on_train_one(v: str) -> None:
    start([v])


def on_stop() -> None:
    j = registry.get(ws.key)
    if j is not None:
        j.request_stop()


def on_reset(v: str) -> None:
    try:
        run = load_run(ws.run_path)
        run.reset_node(v)
        state[K.ERROR] = None
    except WorkbenchError as e:
        state[K.ERROR] = str(e)


def on_discard_run() -> None:
    try:
        ws.discard_run()
        state[K.ERROR] = None
    except WorkbenchError as e:
        state[K.ERROR] = str(e)


# ---- the run folder must fit the graph and data

manifest = None
run_problem = None
if ws.has_run():
    try:
        manifest = ws.manifest()
        load_run(ws.run_path).check_compatible(graph, ds.fingerprint)
    except CheckpointError as e:
        run_problem = str(e)
if state.get(K.ERROR):
    st.error(state[K.ERROR], icon=":material/error:")
if run_problem:
    st.warning(f"The trained models do not fit the current graph or data: {run_problem}", icon=":material/warning:")
    st.button("Discard the trained models and start a new run", key=K.DISCARD_RUN, on_click=on_discard_run,
              icon=":material/delete:", disabled=busy)

rows = {r["node"]: r for r in node_status(graph, manifest)}
statuses = dict(train_page.node_status_lines(graph, manifest, job))
steps_setting = int(saved.get("steps") or 0) or None
device_setting = None if saved.get("device") in (None, "auto") else str(saved.get("device"))
measuring = False  # some expected time is still being measured: the page refreshes until it is known


def expected_cell(v: str) -> tuple[str, train_page.Expected | None]:
    """The Expected column of node ``v``: its measured training time from where it stands."""
    global measuring
    if rows[v]["status"] == "trained":
        return "—  (trained)", None
    if busy:
        return "", None
    try:
        found = train_page.expected_time(estimates, graph, rows[v], settings[v], steps=steps_setting,
                                         device=device_setting)
    except WorkbenchError as e:
        return f"not measured: {e}", None
    if found is None:
        measuring = True
        return "measuring the step time…", None
    return found.text, found


# ---- per-node settings

st.subheader("Models", anchor=False)
widths = [1.2, 1.3, 1.2, 0.9, 2.1, 1.6, 0.8, 0.5]
head = st.columns(widths)
for col, text in zip(head, ["Node", "Parents", "Mechanism", "Preset", "Status", "Expected time here", "", "Pick"],
                     strict=True):
    if text:
        col.markdown(f"**{text}**")
expected: list[train_page.Expected] = []
for n in graph.nodes:
    v = n.name
    c = st.columns(widths, vertical_alignment="center")
    c[0].markdown(f"`{v}`  \n{n.type_text()}")
    parents = graph.sort(graph.parents(v))
    c[1].markdown(", ".join(f"`{p}`" for p in parents) if parents else "none (root)")
    kinds = train_page.kind_options(n)
    c[2].selectbox("Mechanism", kinds, index=kinds.index(settings[v]["kind"]), key=K.kind(v),
                   label_visibility="collapsed", on_change=save_settings, disabled=busy)
    presets = train_page.preset_options()
    c[3].selectbox("Preset", presets, index=presets.index(settings[v]["preset"]), key=K.preset(v),
                   label_visibility="collapsed", on_change=save_settings, disabled=busy)
    c[4].caption(statuses[v])
    text, found = expected_cell(v)
    c[5].caption(text)
    if found is not None:
        expected.append(found)
    c[6].button("Train", key=K.train_one(v), on_click=on_train_one, args=(v,), disabled=busy, width="stretch")
    c[7].checkbox("Pick", key=K.pick(v), label_visibility="collapsed", disabled=busy)

opts = st.columns([1, 1, 2])
opts[0].number_input("Steps per node (0 = the preset's)", min_value=0, max_value=1_000_000, step=100,
                     value=int(saved.get("steps") or 0), key=K.STEPS, on_change=save_settings, disabled=busy)
devices = ["auto", "cpu"] + (["cuda"] if sidebar.device_label().startswith("CUDA") else []) + (
    ["mps"] if sidebar.device_label().startswith("MPS") else [])
opts[1].selectbox("Device", devices, index=devices.index(saved.get("device")) if saved.get("device") in devices else 0,
                  key=K.DEVICE, on_change=save_settings, disabled=busy)
if advice := train_page.long_training_advice(expected, settings, steps=steps_setting, device=device_setting,
                                             gpu_here=sidebar.device_label().startswith("CUDA")):
    st.warning(advice, icon=":material/schedule:")
elif expected:
    st.caption(f"Training every untrained node takes about "
               f"{train_page.format_duration(sum(e.seconds for e in expected))} here (measured step times).")
b = st.columns([1, 1, 1, 3])
picked = train_page.picked_nodes(state, graph)
b[0].button("Train picked", key=K.TRAIN_PICKED, on_click=on_train_selected, disabled=busy or not picked,
            type="primary", icon=":material/play_arrow:", width="stretch")
b[1].button("Train all", key=K.TRAIN_ALL, on_click=on_train_all, disabled=busy, icon=":material/fast_forward:",
            width="stretch")
b[2].button("Stop", key=K.STOP, on_click=on_stop, disabled=not busy, icon=":material/stop:", width="stretch")
st.caption("Stopping saves a checkpoint; training the same node again resumes from it. To change a trained node's "
           "mechanism or preset, forget its model first (below).")
with st.expander("Forget a node's model"):
    fc = st.columns([2, 1, 3])
    forget = fc[0].selectbox("Node", list(graph.names), key=K.FORGET_PICK, label_visibility="collapsed")
    fc[1].button("Forget", key=K.FORGET, on_click=on_reset, args=(forget,), disabled=busy or manifest is None)


# ---- progress: a fragment that refreshes itself while the job runs


def loss_chart(rows_: list[train_page.LossRow]) -> go.Figure:
    """One panel per node with its own y axis: losses of different mechanisms are on different scales."""
    frame = pd.DataFrame(rows_)
    wrap = min(4, frame.node.nunique())
    fig = px.line(frame, x="step", y="loss", color="node", facet_col="node", facet_col_wrap=wrap,
                  facet_col_spacing=0.06, facet_row_spacing=0.12)
    fig.update_yaxes(matches=None, showticklabels=True, title=None)
    fig.update_xaxes(matches=None, title=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    rows_needed = -(-frame.node.nunique() // wrap)
    fig.update_layout(height=60 + 200 * rows_needed, margin=dict(l=10, r=10, t=40, b=10), showlegend=False,
                      title="Training loss (mini-batch) by step")
    return fig


@st.fragment(run_every=1.0 if busy or measuring else None)
def refresh() -> None:
    """While a job runs (or a step time is being measured) the whole page reruns each second, so the
    status of every node, here and in the sidebar, is right at every moment."""
    if time.monotonic() - state.get(K.PAGE_RUN, 0.0) > 0.5:
        st.rerun()


def progress_panel() -> None:
    train_page.job_ended(state, phase)
    st.subheader("Progress", anchor=False)
    snap = job.snapshot() if job is not None else {}
    if job is not None:
        for v in job.nodes:
            p = snap.get(v)
            if p is not None:
                st.progress(p.fraction, text=train_page.progress_text(p))
        if phase == "stopping":
            st.info("Stopping after the current step; a checkpoint is being saved.", icon=":material/pause:")
        elif phase == "failed":
            st.error(job.error, icon=":material/error:")
        elif phase == "stopped":
            st.info("Stopped. Train again to resume from the last checkpoint.", icon=":material/pause:")
        elif phase == "finished":
            st.success("Training finished." + (f"  \n{job.summary}" if job.summary else ""), icon=":material/check:")
    man = None
    try:
        man = ws.manifest()
    except WorkbenchError:
        man = None
    rows_ = train_page.loss_rows(snap, man, graph.names)
    # the curves while a job runs; otherwise on request (a faceted chart costs the page a second to draw)
    if rows_ and (phase in ("running", "stopping") or st.toggle("Show the loss curves", key=K.SHOW_LOSS)):
        st.plotly_chart(loss_chart(rows_), key=K.LOSS_CHART, width="stretch")
    elif not rows_ and job is None:
        st.caption("Nothing trained yet.")


progress_panel()
refresh()

st.markdown("**The same step from the command line** (for headless GPU boxes):")
chosen_now = train_page.default_settings(graph, ws.settings.get("nodes"))
st.code("\n".join(train_page.cli_commands(graph, chosen_now, graph_file=f"{ws.path}/graph.json",
                                          data_file=f"{ws.path}/data.npz", run_dir=str(ws.run_path),
                                          steps=int(saved.get("steps") or 0) or None)),
        language="bash", wrap_lines=True)

model_check_panel(ws, ds, training=busy)  # the "Model check" panel (views/model_check.py)
