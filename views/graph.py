"""Graph page: load, type or edit a causal graph with hidden confounders, and ask what is identifiable.

Thin by design: every rule (loading, editing, query checks, drawing, the drag-to-connect editor) lives
in ``workbench`` (graph_files, graph_editor, query, graph_view, flow) and ``core.graph``; this file
wires widgets to it.  Every change goes through a callback that either
replaces the graph or leaves it untouched and records one error line, so bad input never loses work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st
from streamlit_flow import streamlit_flow
from streamlit_flow.state import StreamlitFlowState

from core.errors import WorkbenchError
from core.graph import ADMG, NODE_TYPES
from views import graph_answers
from workbench import flow, graph_editor, graph_files, graph_state, graph_view, query, session
from workbench.keys import GraphPage as K
from workbench.keys import Shared

state = st.session_state
graph_state.ensure_graph_state(state)
if Shared.GRAPH_TEXT not in state:
    state[Shared.GRAPH_TEXT] = state[Shared.GRAPH].to_dagitty()


# ---- callbacks: run before the page, so they may rewrite widget values


def follow_renames(renamed: list[tuple[str, str]]) -> None:
    """The question (treatment, outcome, given) keeps a node that was renamed."""
    for key in graph_state.QUERY_KEYS.values():
        state[key] = flow.renamed_choices(state.get(key, []), renamed)


def named(new: ADMG) -> str:
    """The name ``new`` goes by as an edit of the current graph (``graph_state.follow_name``)."""
    return graph_state.follow_name(state.get(Shared.GRAPH), new, state.get(Shared.GRAPH_NAME))


def apply(edit: Callable[[ADMG], ADMG], renamed: Sequence[tuple[str, str]] = (),
          after: Mapping[str, object] | None = None) -> None:
    """Replace the graph by ``edit(graph)`` and set the ``after`` keys; on bad input keep it and show
    one line."""
    try:
        new = edit(state[Shared.GRAPH])
    except WorkbenchError as e:
        state[Shared.GRAPH_ERROR] = str(e)
        return
    follow_renames(list(renamed))
    graph_state.set_graph(state, new, named(new))
    for key, value in (after or {}).items():
        state[key] = value


def on_example() -> None:
    name = state.get(K.EXAMPLE_PICK)
    if name is None:
        return
    try:
        graph = graph_files.load_example(name)
    except WorkbenchError as e:
        state[Shared.GRAPH_ERROR] = str(e)
        return
    session.propose_graph(state, graph, name, f"the example graph {name}", query_from_roles=True)


def on_upload() -> None:
    upload = state.get(K.UPLOAD)
    if upload is None:
        return
    try:
        graph = graph_files.graph_from_upload(upload.name, upload.getvalue())
    except WorkbenchError as e:
        state[Shared.GRAPH_ERROR] = str(e)
        return
    session.propose_graph(state, graph, graph_files.graph_name_from_filename(upload.name),
                          f"the uploaded graph {upload.name}", query_from_roles=True)


def on_new_graph() -> None:
    session.propose_graph(state, ADMG([]), graph_state.UNTITLED, "a new, empty graph")


def on_text() -> None:
    try:
        graph = graph_files.graph_from_text(state[Shared.GRAPH_TEXT])
    except WorkbenchError as e:
        state[Shared.GRAPH_ERROR] = str(e)  # the typed text stays, so it can be fixed
        return
    graph_state.set_graph(state, graph, named(graph), sync_text=False)


def on_name() -> None:
    name = str(state.get(K.NAME) or "").strip()
    if name:
        state[Shared.GRAPH_NAME] = name


def on_add_node() -> None:
    apply(lambda g: graph_editor.add_node(g, graph_editor.make_node(
        state.get(K.NEW_NAME, ""), state.get(K.NEW_TYPE, "binary"), levels=state.get(K.NEW_LEVELS),
        shape=state.get(K.NEW_SHAPE))),
        after={K.NEW_NAME: ""})


def on_rename(tag: str, old: str) -> None:
    new = state.get(K.new_name_of(f"{tag}_{old}"), old).strip()
    apply(lambda g: graph_editor.rename_node(g, old, new), renamed=[(old, new)], after={K.EDIT_NODE_NEXT: new})


def on_retype(tag: str, name: str) -> None:
    field = f"{tag}_{name}"
    apply(lambda g: graph_editor.retype_node(g, name, state[K.type_of(field)], levels=state.get(K.levels_of(field)),
                                             shape=state.get(K.shape_of(field))), after={K.EDIT_NODE_NEXT: name})


def on_delete(name: str) -> None:
    apply(lambda g: graph_editor.delete_node(g, name))


def on_add_edge(tag: str) -> None:
    kind = "bidirected" if state.get(K.EDGE_KIND, "").startswith("bidirected") else "directed"
    apply(lambda g: graph_editor.add_edge(g, state.get(K.edge_from(tag)), state.get(K.edge_to(tag)), kind))


def on_remove_edge(tag: str) -> None:
    label = state.get(K.edge_pick(tag))
    if not label:
        state[Shared.GRAPH_ERROR] = "pick an edge to remove"
        return
    apply(lambda g: graph_editor.remove_edge(g, *graph_editor.parse_edge_label(label)))


def on_flip_edge(a: str, b: str, kind: str) -> None:
    apply(lambda g: flow.toggle_edge_kind(g, a, b, kind), after={K.FLOW_SELECTED: None})


def on_reverse_edge(a: str, b: str) -> None:
    apply(lambda g: flow.reverse_edge(g, a, b), after={K.FLOW_SELECTED: None})


def on_delete_edge(a: str, b: str, kind: str) -> None:
    apply(lambda g: graph_editor.remove_edge(g, a, b, kind), after={K.FLOW_SELECTED: None})


# ---- the drag-to-connect editor (React Flow keeps its own drawing in the browser)


def flow_key() -> str:
    """The editor's widget key.  A graph changed anywhere but in the editor (text, forms, example,
    another page) gets a new key: a fresh component that draws it, instead of a stale drawing."""
    if state.get(K.FLOW_GRAPH) != state[Shared.GRAPH] or K.FLOW_FRAME not in state:
        redraw_editor()
    return K.flow_editor(state[K.FLOW_REV])


def redraw_editor() -> None:
    """Show the current graph afresh (after an edit the editor drew in its own way, or refused).
    The drawing's frame (spacing, offset) in the canvas is fixed for the life of one editor instance."""
    state[K.FLOW_GRAPH] = state[Shared.GRAPH]
    state[K.FLOW_FRAME] = flow.fit_frame(state[Shared.GRAPH])
    state[K.FLOW_REV] = state.get(K.FLOW_REV, 0) + 1


def read_editor(key: str, returned: StreamlitFlowState) -> None:
    """Turn what the editor sent back into a graph edit (validated) or a click selection."""
    stamp = (key, getattr(returned, "timestamp", 0))
    if not stamp[1] or state.get(K.FLOW_SEEN) == stamp:
        return  # nothing new from the browser (a rerun hands back the last value again)
    state[K.FLOW_SEEN] = stamp
    shown: ADMG = state[K.FLOW_GRAPH]
    try:
        edits = flow.diff_flow(shown, flow.records(returned.nodes), flow.records(returned.edges),
                               new_edge_kind=state.get(K.FLOW_EDGE_KIND, "directed"), frame=state[K.FLOW_FRAME])
        new = flow.apply_flow_edits(shown, edits) if edits else shown
    except WorkbenchError as e:
        state[Shared.GRAPH_ERROR] = str(e)
        redraw_editor()  # the editor reverts to the valid graph; nothing is lost
        st.rerun()
    if edits:
        follow_renames(list(edits.renamed))
        graph_state.set_graph(state, new, named(new))
        if edits.only_moves:
            state[K.FLOW_GRAPH] = new  # the editor already shows it: no redraw while dragging
        else:
            redraw_editor()  # draw the new edge in its style (arrowheads, dashes)
        st.rerun()  # the sidebar and the saved workspace follow the edit
    picked = flow.selection(shown, returned.selected_id)
    state[K.FLOW_SELECTED] = picked
    if picked is not None and picked[0] == "node":
        state[K.EDIT_NODE_NEXT] = picked[1]  # the "Change a node" form shows the clicked node


@st.dialog("New node")
def new_node_dialog() -> None:
    """Our own small form for a node drawn from the canvas: a name and a type."""
    st.text_input("Name", key=K.DIALOG_NAME, placeholder="e.g. Z")
    kind = st.selectbox("Type", NODE_TYPES, key=K.DIALOG_TYPE)
    if kind == "categorical":
        st.number_input("Levels", min_value=2, max_value=1000, value=3, step=1, key=K.DIALOG_LEVELS)
    elif kind == "image":
        st.text_input("Shape (channels x height x width)", value="1x16x16", key=K.DIALOG_SHAPE)
    if state.get(K.DIALOG_ERROR):
        st.error(state[K.DIALOG_ERROR], icon=":material/error:")
    if st.button("Add node", key=K.DIALOG_ADD, type="primary", icon=":material/add:"):
        try:
            node = graph_editor.make_node(state.get(K.DIALOG_NAME, ""), kind, levels=state.get(K.DIALOG_LEVELS),
                                          shape=state.get(K.DIALOG_SHAPE))
            new = graph_editor.add_node(state[Shared.GRAPH], node)
        except WorkbenchError as e:
            state[K.DIALOG_ERROR] = str(e)  # the dialog stays open with the reason
            st.rerun(scope="fragment")
        state[K.DIALOG_ERROR] = None
        graph_state.set_graph(state, new, named(new))
        state.pop(K.DIALOG_NAME, None)  # the next dialog starts empty (a widget's value may be dropped, not set)
        st.rerun()


# ---- page

st.title("Causal graph")
st.caption(
    "Variables are nodes; **→** is a direct cause, a dashed red **↔** a hidden common cause. "
    "Draw below, type dagitty code, or use the forms; pick a treatment and an outcome to see whether "
    "the effect can be computed from observational data."
)
error_box = st.container()
# Long estimands scroll sideways instead of being clipped.
st.html(f"<style>.st-key-{K.FORMULA} .katex-display {{ overflow-x: auto; overflow-y: hidden; padding: 4px 0; }}</style>")

left, right = st.columns([1, 2], gap="large")
with right:
    # Filled out of order: the editor runs first, since what it sends back may change the graph
    # every other panel shows.  On screen (and in the page) the drawings of the query come first.
    query_box, views_box, editor_box = st.container(), st.container(), st.container()

with editor_box:
    st.subheader("Draw")
    d1, d2 = st.columns([3, 1], vertical_alignment="bottom")
    d1.radio("New edges are", flow.EDGE_KINDS, key=K.FLOW_EDGE_KIND, horizontal=True,
             format_func=flow.EDGE_KIND_LABELS.get,
             help="Drag from the dot under a node to the dot above another node to connect them.")
    if d2.button("New node", key=K.NODE_DIALOG, icon=":material/add_circle:", width="stretch"):
        state[K.DIALOG_ERROR] = None
        new_node_dialog()
    key = flow_key()
    # React Flow's own "Create New Node" dialog (pane menu) asks for widths and handle positions: ours
    # (the button above) asks for a name and a type
    returned = streamlit_flow(key, flow.flow_state(state[K.FLOW_GRAPH], state[K.FLOW_FRAME]), height=440,
                              show_controls=True, allow_new_edges=True, get_node_on_click=True,
                              get_edge_on_click=True, enable_node_menu=True, enable_edge_menu=True,
                              enable_pane_menu=False, hide_watermark=True, min_zoom=0.3,
                              style={"border": "1px solid #e2e8f0", "borderRadius": "10px", "background": "#fff"})
    st.html(flow.handle_style_script(), unsafe_allow_javascript=True)
    read_editor(key, returned)
    st.html(flow.legend_html())
    st.caption("Drag a node to move it. Drag from the dot **under** a node to the dot **above** another to "
               "connect them (cause → effect). **New node** adds a node; right-click a node or edge to delete "
               "it (or rename the node with *Edit Node*). Click a node to change its type under **Edit** on the "
               "left; click an edge for its options here.")
    picked = state.get(K.FLOW_SELECTED)
    if picked is not None and picked[0] == "edge" and flow.selection(state[Shared.GRAPH], flow.edge_id(*picked[1])):
        a, b, kind = picked[1]
        with st.container(border=True, key=K.FLOW_EDGE_PANEL):
            st.markdown(f"**Edge** `{a} {graph_editor.EDGE_KINDS[kind]} {b}`")
            c1, c2, c3 = st.columns(3)
            c1.button("Make directed →" if kind == "bidirected" else "Make bidirected ↔", key=K.FLOW_FLIP_EDGE,
                      on_click=on_flip_edge, args=(a, b, kind), width="stretch")
            c2.button("Reverse", key=K.FLOW_REVERSE_EDGE, on_click=on_reverse_edge, args=(a, b),
                      disabled=kind != "directed", width="stretch")
            c3.button("Delete", key=K.FLOW_DELETE_EDGE, on_click=on_delete_edge, args=(a, b, kind),
                      icon=":material/delete:", width="stretch")

graph: ADMG = state[Shared.GRAPH]
with error_box:
    if state.get(Shared.GRAPH_ERROR):
        st.error(f"{state[Shared.GRAPH_ERROR]} (the graph is unchanged)", icon=":material/error:")


with left:
    st.subheader("Load")
    st.button("New graph (empty canvas)", key=K.NEW_GRAPH, on_click=on_new_graph, icon=":material/note_add:",
              help="Start from scratch: draw nodes with **New node** beside the canvas.")
    examples = graph_files.example_names()
    # the box names the example loaded, unedited (None otherwise, so picking it again reloads it)
    state[K.EXAMPLE_PICK] = graph_files.loaded_example(graph, state.get(Shared.GRAPH_NAME))
    st.selectbox("Example graph", examples, key=K.EXAMPLE_PICK, on_change=on_example,
                 placeholder="load an example…", help="Loading replaces the current graph.")
    if state.get(K.EXAMPLE_PICK):
        st.caption(graph_files.example_description(state[K.EXAMPLE_PICK]))
    st.file_uploader("…or upload a JSON or dagitty file", type=["json", "dagitty", "txt", "dag"], key=K.UPLOAD,
                     on_change=on_upload, max_upload_size=5)
    st.text_area("Model code (dagitty or JSON): edits re-draw the graph", key=Shared.GRAPH_TEXT, height=230,
                 on_change=on_text, persist_state="session",
                 help="dagitty syntax: `X -> Y`, `X <-> Y`, chains `A -> B -> C`, `U [latent]`, `X [exposure]`. "
                      "Press Ctrl+Enter or click outside to apply.")

    st.subheader("Edit")
    tag = graph_state.form_tag(graph)  # these forms list this graph's nodes: a new graph, new widgets
    # on_change="rerun": the server holds the open tab, so the rerun an edit triggers cannot reopen
    # "Nodes" (with "ignore" only the browser knew, and an edge added on "Edges" sometimes reset it)
    tab_nodes, tab_edges = st.tabs(["Nodes", "Edges"], key=K.EDIT_TAB, on_change="rerun")
    with tab_nodes:
        with st.container(border=True):
            st.markdown("**Add a node**")
            st.text_input("Name", key=K.NEW_NAME, placeholder="e.g. Z")
            new_type = st.selectbox("Type", NODE_TYPES, key=K.NEW_TYPE)
            if new_type == "categorical":
                st.number_input("Levels", min_value=2, max_value=1000, value=3, step=1, key=K.NEW_LEVELS)
            elif new_type == "image":
                st.text_input("Shape (channels x height x width)", value="1x16x16", key=K.NEW_SHAPE)
            st.button("Add node", key=K.ADD_NODE, on_click=on_add_node, icon=":material/add:")
        with st.container(border=True):
            st.markdown("**Change a node**")
            if (wanted := state.pop(K.EDIT_NODE_NEXT, None)) in graph:
                state[K.edit_node(tag)] = wanted
            name = st.selectbox("Node", graph.names, key=K.edit_node(tag), placeholder="no nodes yet")
            if name is not None:
                node, field = graph.node(name), f"{tag}_{name}"
                c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
                c1.text_input("New name", value=name, key=K.new_name_of(field))
                c2.button("Rename", key=K.RENAME, on_click=on_rename, args=(tag, name))
                kind = st.selectbox("Type", NODE_TYPES, index=NODE_TYPES.index(node.type), key=K.type_of(field))
                if kind == "categorical":
                    st.number_input("Levels", min_value=2, max_value=1000, value=node.levels or 3, step=1,
                                    key=K.levels_of(field))
                elif kind == "image":
                    st.text_input("Shape (channels x height x width)", value=graph_editor.shape_text(node.shape),
                                  key=K.shape_of(field))
                c3, c4 = st.columns(2)
                c3.button("Apply type", key=K.RETYPE, on_click=on_retype, args=(tag, name), icon=":material/check:")
                c4.button("Delete", key=K.DELETE, on_click=on_delete, args=(name,), icon=":material/delete:")
    with tab_edges:
        with st.container(border=True):
            st.markdown("**Add an edge**")
            st.radio("Kind", [flow.EDGE_KIND_LABELS[k] for k in flow.EDGE_KINDS], key=K.EDGE_KIND)
            c1, c2 = st.columns(2)
            c1.selectbox("From", graph.names, key=K.edge_from(tag), placeholder="no nodes yet")
            c2.selectbox("To", graph.names, index=min(1, len(graph) - 1) if len(graph) else None,
                         key=K.edge_to(tag), placeholder="no nodes yet")
            st.button("Add edge", key=K.ADD_EDGE, on_click=on_add_edge, args=(tag,), icon=":material/add:",
                      disabled=len(graph) < 2)
        with st.container(border=True):
            st.markdown("**Remove an edge**")
            labels = graph_editor.edge_labels(graph)
            st.selectbox("Edge", labels, key=K.edge_pick(tag), placeholder="no edges")
            st.button("Remove edge", key=K.REMOVE_EDGE, on_click=on_remove_edge, args=(tag,),
                      icon=":material/remove:", disabled=not labels)

    st.subheader("Save")
    state[K.NAME] = state.get(Shared.GRAPH_NAME, graph_state.UNTITLED)  # follows loads, edits and renames
    st.text_input("Graph name", key=K.NAME, on_change=on_name, help="The name the sidebar shows and the "
                  "downloads are called; loading an example or editing one sets it for you.")
    c1, c2 = st.columns(2)
    for col, fmt in ((c1, "json"), (c2, "dagitty")):
        text, file_name, mime = graph_files.download_payload(  # the question is saved as node roles
            graph, fmt, state.get(Shared.GRAPH_NAME, "graph"),
            question={role: [v for v in state.get(key, []) if v in graph] for role, key in graph_state.QUERY_KEYS.items()})
        col.download_button("JSON" if fmt == "json" else "dagitty", text, file_name=file_name, mime=mime,
                            key=K.download(fmt), help=f"Download {file_name}", on_click="ignore",
                            icon=":material/download:", width="stretch")

if not state.get(K.QUERY_SEEDED):  # once a session: a restored graph opens with its roles' question
    state[K.QUERY_SEEDED] = True
    seeded = flow.first_visit_query({r: state.get(k, []) for r, k in graph_state.QUERY_KEYS.items()}, graph)
    for role, key in graph_state.QUERY_KEYS.items():
        state[key] = seeded[role]

with query_box:
    with st.container(border=True):
        st.markdown("**Identification:** which causal question?")
        c1, c2, c3 = st.columns(3)
        for col, role, label in ((c1, "treatment", "Treatment  do(·)"), (c2, "outcome", "Outcome"),
                                 (c3, "given", "Conditioning on")):
            key = graph_state.QUERY_KEYS[role]
            state[key] = [v for v in state.get(key, []) if v in graph]
            col.multiselect(label, graph.names, key=key, persist_state="session")
        treatment, outcome, given = state[Shared.TREATMENT], state[Shared.OUTCOME], state[Shared.GIVEN]

        answer = None
        if not treatment and not outcome and not given:
            st.info("Pick a treatment and an outcome to ask P(outcome | do(treatment)).",
                    icon=":material/help:")
        else:
            try:
                answer = query.answer_query(graph, treatment, outcome, given)
            except WorkbenchError as e:
                st.error(str(e), icon=":material/error:")
        if answer is not None and answer.identifiable:
            st.success(f"{answer.query} is identifiable from observational data:", icon=":material/check_circle:")
            with st.container(key=K.FORMULA):
                st.latex(query.formula_latex(treatment, outcome, given, answer.latex))
            with st.expander("As text and JSON"):
                st.code(answer.text, language=None)
                st.json(answer.estimand_json, expanded=False)
        elif answer is not None:
            st.error(answer.reason or f"{answer.query} is not identifiable.", icon=":material/block:")
            st.markdown(query.hedge_words(answer))

with views_box:
    hedge = answer.hedge if answer is not None and not answer.identifiable else None
    roles = dict(treatment=tuple(treatment), outcome=tuple(outcome), given=tuple(given))
    if treatment:  # the query drawn twice: as observed (hedge highlighted) and after graph surgery
        g1, g2 = st.columns(2)
        with g1:
            st.markdown(f"**{state.get(Shared.GRAPH_NAME, 'graph')}**: as observed" + (" (hedge in red)" if hedge else ""))
            st.iframe(graph_view.graph_html(graph, graph_view.Marks(hedge=hedge, **roles), height=330))
        with g2:
            st.markdown(f"**After do({', '.join(treatment)})**: incoming edges cut",
                        help="Graph surgery: setting the treatment from outside removes every arrow into it, "
                             "dashed hidden-confounder arcs included.")
            st.iframe(graph_view.graph_html(graph.do(treatment), graph_view.Marks(intervened=tuple(treatment), **roles),
                                            height=330))
    st.markdown(f"**{state.get(Shared.GRAPH_NAME, 'graph')}**: {graph_view.graph_summary(graph)}")

with right:  # adjustment, paths, instruments, implications, a number: views/graph_answers.py
    graph_answers.show(graph, treatment, outcome, given, answer)
