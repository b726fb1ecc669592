"""Data page: sample a built-in world or upload a data set, then look at it.

Thin by design: sampling, loading, validation, features and associations live in ``core.data`` and
``core.worlds.registry``; this file wires widgets to them.  Every load goes through a callback that
either replaces ``st.session_state["dataset"]`` or leaves it untouched and records one error line.
Summaries (features, association matrix, confounding table) are computed once per dataset and kept
in the session, keyed by the dataset's fingerprint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core.data import Dataset, association_matrix, confounded_pairs, feature_table, gallery_items, load_upload
from core.errors import WorkbenchError
from core.worlds.registry import WORLDS, Param, sample_dataset, world_from_record
from workbench import graph_editor, graph_state

state = st.session_state
graph_state.ensure_graph_state(state)

DEFAULT_N = {"image": 1000, "discrete": 5000}
GALLERY_SIZE = 12


def param_key(world: str, param: str) -> str:
    return f"data_param_{world}_{param}"


# ---- callbacks: run before the page; on bad input keep the old dataset and record one line


def set_dataset(ds: Dataset, world: object, source: str) -> None:
    state["dataset"] = ds
    state["data_world"] = world
    state["data_source"] = source
    state["data_error"] = None


def on_sample() -> None:
    name = state["data_world_pick"]
    spec = WORLDS[name]
    params = {p.name: state.get(param_key(name, p.name), p.default) for p in spec.params}
    try:
        ds, world = sample_dataset(name, state.get("data_n", 1000), seed=state.get("data_seed", 0), params=params)
    except WorkbenchError as e:
        state["data_error"] = str(e)
        return
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    set_dataset(ds, world, f"world {name}" + (f" ({shown})" if shown else "") + f", seed {state.get('data_seed', 0)}")


def on_upload() -> None:
    upload = state.get("data_upload")
    if upload is None:
        return
    try:
        ds = load_upload(upload.name, upload.getvalue())
    except WorkbenchError as e:
        state["data_error"] = f"{upload.name}: {e}"
        return
    try:
        world = world_from_record(ds.world)
    except WorkbenchError:
        world = None  # a record of a world this version does not have: show the data without it
    set_dataset(ds, world, f"upload {upload.name}")


def on_use_graph() -> None:
    ds: Dataset = state["dataset"]
    name = (ds.world or {}).get("name") or "data"
    graph_state.set_graph(state, ds.graph, name)
    state["data_error"] = None


# ---- widgets for world parameters, from the registry schema


def param_widget(world: str, p: Param) -> None:
    key = param_key(world, p.name)
    label = p.label or p.name
    if p.choices is not None:
        st.selectbox(label, list(p.choices), index=list(p.choices).index(p.default), key=key, help=p.help)
    elif p.type is bool:
        st.checkbox(label, value=bool(p.default), key=key, help=p.help)
    elif p.type is float and p.range is not None:
        st.slider(label, float(p.range[0]), float(p.range[1]), float(p.default), step=0.05, key=key, help=p.help)
    elif p.type is int:
        lo, hi = (int(p.range[0]), int(p.range[1])) if p.range else (None, None)
        st.number_input(label, min_value=lo, max_value=hi, value=int(p.default), step=1, key=key, help=p.help)
    elif p.type is float:
        st.number_input(label, value=float(p.default), key=key, help=p.help)
    else:
        st.text_input(label, value=str(p.default), key=key, help=p.help)


# ---- summaries, computed once per dataset


def summaries(ds: Dataset, world: object) -> dict:
    cached = state.get("data_summary")
    if cached and cached["fingerprint"] == ds.fingerprint:
        return cached
    feats = feature_table(ds, world)
    out = {"fingerprint": ds.fingerprint, "features": feats, "matrix": association_matrix(feats), "pairs": None,
           "npz": ds.to_npz_bytes()}
    if ds.graph is not None and ds.graph.bidirected:
        out["pairs"] = confounded_pairs(ds, ds.graph, feats, world)
    state["data_summary"] = out
    return out


def scalar_chart(ds: Dataset, name: str):
    node = ds.nodes[name]
    values = ds.column(name)
    if node.is_discrete:
        counts = np.bincount(values, minlength=node.levels)
        labels = ds.categories.get(name) or [str(k) for k in range(node.levels)]
        fig = px.bar(x=labels, y=counts, labels={"x": name, "y": "count"})
        fig.update_xaxes(type="category")
    else:
        fig = px.histogram(x=values, nbins=40, labels={"x": name})
        fig.update_yaxes(title="count")
    fig.update_layout(title=f"{name} ({graph_editor.node_type_text(node)})", height=260, margin=dict(l=10, r=10, t=40, b=10))
    return fig


# ---- page

st.title("Data")
st.caption(
    "Give every node of the graph a column: numbers, categories or images. Sample a built-in world "
    "(its mechanisms and hidden confounders are known, so answers can be checked) or upload your own."
)
if state.get("data_error"):
    st.error(state["data_error"], icon=":material/error:")

tab_world, tab_upload = st.tabs(["Sample a world", "Upload data"])
with tab_world:
    names = list(WORLDS)
    if state.get("data_world_pick") not in names:
        state["data_world_pick"] = names[0]
    pick = st.selectbox("World", names, key="data_world_pick")
    spec = WORLDS[pick]
    st.caption(spec.help)
    cols = st.columns(len(spec.params) + 2)
    for col, p in zip(cols, spec.params, strict=False):
        with col:
            param_widget(pick, p)
    if "data_n" not in state:
        state["data_n"] = DEFAULT_N.get(spec.kind, 1000)
    cols[len(spec.params)].number_input("Units n", min_value=1, max_value=1_000_000, step=100, key="data_n")
    cols[len(spec.params) + 1].number_input("Sampling seed", min_value=0, step=1, value=0, key="data_seed")
    st.button("Sample", key="data_sample", on_click=on_sample, type="primary", icon=":material/casino:")
    shown = " ".join(f"--param {p.name}={state.get(param_key(pick, p.name), p.default)}" for p in spec.params)
    st.code(f"python -m core world {pick} --n {state['data_n']} --out data/{pick} "
            f"--seed {state.get('data_seed', 0)} {shown}".strip(), language="bash", wrap_lines=True)

with tab_upload:
    st.file_uploader(
        "A .zip of a dataset folder (data.csv, images/, meta.json), of a CSV with its images, or of one "
        "folder of images per class; or a .npz written by the workbench",
        type=["zip", "npz", "csv"], key="data_upload", on_change=on_upload,
    )
    st.caption("Images keep their size (no resizing): grey images are 1 channel, colour ones 3.")

ds: Dataset | None = state.get("dataset")
if ds is None:
    st.info("No data yet: sample a world or upload a data set.", icon=":material/info:")
    st.stop()

world = state.get("data_world")
st.subheader("Current data set")
st.markdown(
    f"**{ds.n:,} units** from {state.get('data_source', 'memory')} · columns: "
    + ", ".join(f"`{v}` {graph_editor.node_type_text(ds.nodes[v])}" for v in ds.columns)
    + f" · fingerprint `{ds.fingerprint[:12]}`"
)
graph = state.get("graph")
try:
    ds.check(graph)
    st.success(f"Fits the current graph ({state.get('graph_name', 'untitled')}).", icon=":material/check:")
except WorkbenchError as e:
    st.warning(f"Does not fit the current graph: {e}", icon=":material/warning:")
with st.spinner("Reading attributes off the images and measuring associations…"):
    summary = summaries(ds, world)
c1, c2, _ = st.columns([1, 1, 2])
if ds.graph is not None:
    c1.button("Use this world's graph" if ds.world else "Use the data's graph", key="data_use_graph", on_click=on_use_graph, icon=":material/account_tree:",
              disabled=ds.graph == graph, width="stretch")
c2.download_button("Download .npz", summary["npz"], file_name="dataset.npz", mime="application/octet-stream",
                   key="data_download", on_click="ignore", icon=":material/download:", width="stretch")

tab_gallery, tab_vars, tab_conf, tab_table = st.tabs(["Gallery", "Variables", "Hidden confounding", "Table"])

with tab_gallery:
    if not ds.image_columns:
        st.caption("This data set has no image columns.")
    for column in ds.image_columns:
        st.markdown(f"**{column}** {graph_editor.node_type_text(ds.nodes[column])}")
        items = gallery_items(ds, column, k=GALLERY_SIZE, features=summary["features"])
        st.image([img for img, _ in items], caption=[cap for _, cap in items], width=110, clamp=True)

with tab_vars:
    scalars = ds.scalar_columns
    if not scalars:
        st.caption("No scalar columns.")
    for i in range(0, len(scalars), 2):
        row = st.columns(2)
        for col, name in zip(row, scalars[i : i + 2], strict=False):
            col.plotly_chart(scalar_chart(ds, name), key=f"data_chart_{name}", width="stretch")

with tab_conf:
    st.markdown(
        "Association between every pair of variables (|correlation|; correlation ratio or Cramér's V for "
        "categories). Image columns enter through attributes read off the images."
    )
    m = summary["matrix"]
    fig = px.imshow(m, zmin=0, zmax=1, color_continuous_scale="Reds", text_auto=".2f", aspect="auto")
    fig.update_layout(height=120 + 28 * len(m), margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(fig, key="data_heatmap", width="stretch")
    pairs: pd.DataFrame | None = summary["pairs"]
    if pairs is None:
        st.caption("The data's graph has no bidirected edges (no hidden confounders).")
    else:
        st.markdown(
            "**Bidirected edges** (a hidden common cause): the strongest association we observe between the "
            "two variables, and, when the world is known, the association left in fresh units where the first "
            "of them is set by do() to values shuffled across units. do() cuts the hidden cause, so what is "
            "left is causal (zero when no directed path joins them); the difference is spurious."
        )
        shown = pairs.rename(columns={"observed": "observed association", "under_do": "under do()",
                                      "causal_path": "directed path too", "do": "do() on"})
        st.dataframe(shown, hide_index=True, key="data_pairs")

with tab_table:
    st.dataframe(ds.table.head(500), key="data_table")
    st.caption(f"First {min(500, ds.n)} of {ds.n:,} rows; image columns are shown in the gallery.")
