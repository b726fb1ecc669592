"""Data page: sample a built-in world or upload a data set, then look at it.

Thin by design: sampling, loading and validation live in ``core.data`` and ``core.worlds.registry``,
features, associations and the session's data state in ``workbench.data_page``; this file wires
widgets to them.  Every load goes through a callback that either replaces the session's dataset or
leaves it untouched and records one error line.  Summaries (features, association matrix,
confounding table) are computed once per dataset and kept in the session, keyed by the dataset's
fingerprint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core.data import Dataset
from core.errors import WorkbenchError
from core.worlds.registry import WORLDS, Param
from workbench import data_page, graph_state
from workbench.keys import DataPage, Shared

state = st.session_state
graph_state.ensure_graph_state(state)

GALLERY_SIZE = 12


# ---- callbacks: run before the page; on bad input keep the old dataset and record one line


def on_sample() -> None:
    data_page.sample_world(state)


def on_upload() -> None:
    upload = state.get(DataPage.UPLOAD)
    if upload is not None:
        data_page.load_uploaded(state, upload.name, upload.getvalue())


def on_use_graph() -> None:
    data_page.use_data_graph(state)


def on_inspect() -> None:
    data_page.inspect_folder(state)


def on_stop_import() -> None:
    job = state.get(DataPage.IMPORT_JOB)
    if job is not None:
        job.stop_event.set()


def chosen_types(review: data_page.ImportReview) -> dict[str, str]:
    """The scalar columns' types as the review table's editor holds them."""
    edits = (state.get(DataPage.IMPORT_TYPES) or {}).get("edited_rows", {})
    names = [c.name for c in review.columns]
    chosen = {c.name: c.type for c in review.columns if c.type != "image"}
    for row, change in edits.items():
        name = names[int(row)]
        if name in chosen and "type" in change:
            chosen[name] = change["type"]
    return chosen


def on_start_import() -> None:
    review = state.get(DataPage.IMPORT_REVIEW)
    if review is not None:
        data_page.start_import(state, chosen_types(review))


# ---- widgets for world parameters, from the registry schema


def param_widget(world: str, p: Param) -> None:
    key = DataPage.param(world, p.name)
    label = p.label or p.name
    default = data_page.param_default(state, world, p)  # the current data's value, if it came from this world
    if p.choices is not None:
        st.selectbox(label, list(p.choices), index=list(p.choices).index(default), key=key, help=p.help)
    elif p.type is bool:
        st.checkbox(label, value=bool(default), key=key, help=p.help)
    elif p.type is float and p.range is not None:
        st.slider(label, float(p.range[0]), float(p.range[1]), float(default), step=0.05, key=key, help=p.help)
    elif p.type is int:
        lo, hi = (int(p.range[0]), int(p.range[1])) if p.range else (None, None)
        st.number_input(label, min_value=lo, max_value=hi, value=int(default), step=1, key=key, help=p.help)
    elif p.type is float:
        st.number_input(label, value=float(default), key=key, help=p.help)
    else:
        st.text_input(label, value=str(default), key=key, help=p.help)


# ---- charts


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
    fig.update_layout(title=f"{name} ({node.type_text()})", height=260, margin=dict(l=10, r=10, t=40, b=10))
    return fig


# ---- page

st.title("Data")
st.caption(
    "Give every node of the graph a column: numbers, categories or images. Sample a built-in world "
    "(its mechanisms and hidden confounders are known, so answers can be checked) or upload your own."
)
if state.get(DataPage.ERROR):
    st.error(state[DataPage.ERROR], icon=":material/error:")

# Keyed tabs keep the open tab through the rerun an upload (or its error line above) causes.
tab_world, tab_upload, tab_import = st.tabs(["Sample a world", "Upload data", "Import a folder"],
                                            key=DataPage.SOURCE_TAB, on_change="rerun")
with tab_world:
    names = list(WORLDS)
    if state.get(DataPage.WORLD_PICK) not in names:
        current = (getattr(state.get(Shared.DATASET), "world", None) or {}).get("name")
        state[DataPage.WORLD_PICK] = current if current in names else names[0]
    pick = st.selectbox("World", names, key=DataPage.WORLD_PICK)
    spec = WORLDS[pick]
    st.caption(spec.help)
    cols = st.columns(len(spec.params) + 2)
    for col, p in zip(cols, spec.params, strict=False):
        with col:
            param_widget(pick, p)
    record = data_page.current_record(state, pick)
    if DataPage.N not in state:
        state[DataPage.N] = int(record.get("n") or data_page.DEFAULT_N.get(spec.kind, 1000))
    cols[len(spec.params)].number_input("Units n", min_value=1, max_value=1_000_000, step=100, key=DataPage.N)
    cols[len(spec.params) + 1].number_input("Sampling seed", min_value=0, step=1, value=int(record.get("seed") or 0),
                                            key=DataPage.SEED)
    st.button("Sample", key=DataPage.SAMPLE, on_click=on_sample, type="primary", icon=":material/casino:")
    st.code(data_page.sample_command(state, pick), language="bash", wrap_lines=True)

with tab_upload:
    st.file_uploader(
        "A .zip of a dataset folder (data.csv, images/, meta.json), of a CSV with its images, or of one "
        "folder of images per class; or a .npz written by the workbench",
        type=["zip", "npz", "csv"], key=DataPage.UPLOAD, on_change=on_upload,
    )
    st.caption("Images keep their size (no resizing): grey images are 1 channel, colour ones 3. The imagefolder, "
               "CelebA and Morpho-MNIST layouts are recognised by their files; to resize, import a folder instead.")

with tab_import:
    st.text_input(
        "A folder on this machine: the Hugging Face imagefolder layout (metadata.csv or metadata.jsonl with a "
        "file_name column), CelebA's (list_attr_celeba.txt and img_align_celeba/) or Morpho-MNIST's "
        "(*-images-idx3-ubyte.gz, *-labels-idx1-ubyte.gz, *-morpho.csv)",
        key=DataPage.IMPORT_PATH, placeholder="/data/celeba")
    st.button("Inspect", key=DataPage.IMPORT_INSPECT, on_click=on_inspect, icon=":material/search:")
    review: data_page.ImportReview | None = state.get(DataPage.IMPORT_REVIEW)
    job = state.get(DataPage.IMPORT_JOB)
    importing = job is not None and job.alive
    if review is not None:
        src = review.source
        held = len(data_page.heldout_of(src))
        st.markdown(f"**{src.layout}** layout · **{src.n:,} rows**"
                    + (f" · {held:,} held out ({src.split.get('source')}): training never sees them, the model "
                       "check scores on them" if held else ""))
        for note in src.notes:
            st.caption(note)
        st.markdown("**Review the column types** (change a scalar column's type, or skip it):")
        table = pd.DataFrame([c.to_json() for c in review.columns])
        st.data_editor(
            table, key=DataPage.IMPORT_TYPES, hide_index=True, disabled=["name", "source", "detail", "note"],
            column_config={"type": st.column_config.SelectboxColumn(
                "type", options=[*data_page.IMPORT_TYPES, "image"], required=True)},
        )
        if any(t == "image" for t in chosen_types(review).values()):
            st.warning("Only image columns can be images: pick another type for a scalar column.", icon=":material/warning:")
        r = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
        r[0].checkbox("Resize images", value=review.mixed_sizes, key=DataPage.IMPORT_RESIZE,
                      help="Required when the images have mixed sizes. Recorded in the data set: models trained "
                           "on it refuse data prepared differently.")
        r[1].number_input("Size (pixels a side)", min_value=4, max_value=512, value=64, step=4, key=DataPage.IMPORT_SIZE)
        r[2].selectbox("Fit", ["crop", "stretch"], key=DataPage.IMPORT_FIT,
                       help="crop: scale the shorter side to the size and cut out the centre; stretch: resize the "
                            "whole image (changes its aspect)")
        if review.mixed_sizes:
            st.caption("The images have mixed sizes, so they need a resize step.")
        b = st.columns([1, 1, 3])
        b[0].button("Import", key=DataPage.IMPORT_START, on_click=on_start_import, type="primary",
                    icon=":material/download:", disabled=importing, width="stretch")
        b[1].button("Stop", key=DataPage.IMPORT_STOP, on_click=on_stop_import, disabled=not importing,
                    icon=":material/stop:", width="stretch")

        @st.fragment(run_every=0.5 if importing else None)
        def import_progress() -> None:
            j = state.get(DataPage.IMPORT_JOB)
            if j is not None and j.alive:
                fraction, text = j.progress()
                st.progress(fraction, text=text)
            elif j is not None:
                state[DataPage.IMPORT_DONE] = data_page.finish_import(state)
                st.rerun()  # the whole page shows the new data set (or the error)

        import_progress()
    if state.get(DataPage.IMPORT_DONE):
        st.success(state[DataPage.IMPORT_DONE], icon=":material/check:")

ds: Dataset | None = state.get(Shared.DATASET)
if ds is None:
    st.info("No data yet: sample a world or upload a data set.", icon=":material/info:")
    st.stop()

world = state.get(Shared.DATA_WORLD)
st.subheader("Current data set")
st.markdown(
    f"**{ds.n:,} units** from {state.get(Shared.DATA_SOURCE, 'memory')} · columns: "
    + ", ".join(f"`{v}` {ds.nodes[v].type_text()}" for v in ds.columns)
    + f" · fingerprint `{ds.fingerprint[:12]}`"
)
graph = state.get(Shared.GRAPH)
try:
    ds.check(graph)
    st.success(f"Fits the current graph ({state.get(Shared.GRAPH_NAME, 'untitled')}).", icon=":material/check:")
except WorkbenchError as e:
    st.warning(f"Does not fit the current graph: {e}", icon=":material/warning:")
with st.spinner("Reading attributes off the images and measuring associations…"):
    summary = data_page.data_summary(state, ds, world)
c1, c2, _ = st.columns([1, 1, 2])
if ds.graph is not None:
    c1.button("Use this world's graph" if ds.world else "Use the data's graph", key=DataPage.USE_GRAPH, on_click=on_use_graph, icon=":material/account_tree:",
              disabled=ds.graph == graph, width="stretch")
elif c1.button("Propose a graph (the columns as nodes, no edges)", key=DataPage.USE_SKELETON,
               icon=":material/account_tree:", width="stretch",
               help="Opens the Graph page with one node per column, typed as reviewed; draw the edges you believe."):
    data_page.use_skeleton(state)
    st.switch_page("views/graph.py")
c2.download_button("Download .npz", summary.npz, file_name="dataset.npz", mime="application/octet-stream",
                   key=DataPage.DOWNLOAD, on_click="ignore", icon=":material/download:", width="stretch")



def gallery_tab() -> None:
    if not ds.image_columns:
        st.caption("This data set has no image columns.")
    for column in ds.image_columns:
        st.markdown(f"**{column}** {ds.nodes[column].type_text()}")
        items = data_page.gallery_items(ds, column, k=GALLERY_SIZE, features=summary.features)
        st.image([img for img, _ in items], caption=[cap for _, cap in items], width=110, clamp=True)


def variables_tab() -> None:
    scalars = ds.scalar_columns
    if not scalars:
        st.caption("No scalar columns.")
    for i in range(0, len(scalars), 2):
        row = st.columns(2)
        for col, name in zip(row, scalars[i : i + 2], strict=False):
            col.plotly_chart(scalar_chart(ds, name), key=DataPage.chart(name), width="stretch")


def confounding_tab() -> None:
    st.markdown(
        "Association between every pair of variables (|correlation|; correlation ratio or Cramér's V for "
        "categories). Image columns enter through attributes read off the images."
    )
    m = summary.matrix
    fig = px.imshow(m, zmin=0, zmax=1, color_continuous_scale="Reds", text_auto=".2f", aspect="auto")
    fig.update_layout(height=120 + 28 * len(m), margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(fig, key=DataPage.HEATMAP, width="stretch")
    pairs: pd.DataFrame | None = summary.pairs
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
        st.dataframe(shown, hide_index=True, key=DataPage.PAIRS)


def table_tab() -> None:
    st.dataframe(ds.table.head(500), key=DataPage.TABLE)
    st.caption(f"First {min(500, ds.n)} of {ds.n:,} rows; image columns are shown in the gallery.")


# Only the open tab is drawn (switching tabs reruns the page): the others' charts cost nothing.
views = {"Gallery": gallery_tab, "Variables": variables_tab, "Hidden confounding": confounding_tab, "Table": table_tab}
for tab, draw in zip(st.tabs(list(views), key=DataPage.VIEW_TAB, on_change="rerun"), views.values(), strict=True):
    if tab.open:
        with tab:
            draw()
