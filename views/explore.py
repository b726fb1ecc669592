"""Explore page: the three rungs of the ladder side by side, for one intervention.

Thin by design: the query, galleries, model loading and identification live in
``workbench.explore``.  Loaded models, fitted ID-GEN networks and re-sampled world units stay in an
``st.cache_resource`` hub; the query controls and galleries are one fragment, so changing the
intervention reruns only them.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import plotly.express as px
import streamlit as st

from core.errors import WorkbenchError
from core.identify import query_text
from core.scm.conditional import NodeValue
from views.common import model_page_context
from workbench import train_page
from workbench.explore.controls import Control, generated_images, intervention_control
from workbench.explore.galleries import (
    Gallery,
    counterfactual_units,
    model_counterfactual,
    model_interventional,
    observational_gallery,
)
from workbench.explore.idgen_fit import (
    idgen_fit_work,
    idgen_for,
    idgen_plan,
    idgen_settings,
    idgen_status,
    instant_label,
)
from workbench.explore.models import uses_diffusion
from workbench.explore.question import (
    DoQuery,
    ExploreQuery,
    check_identifiable,
    default_query,
    given_choices,
    hedge_markdown,
)
from workbench.explore.readouts import (
    attribute_figure,
    attribute_shares,
    display_image,
    value_shares,
    world_probe,
)
from workbench.explore.truth import truth_counterfactual, truth_interventional
from workbench.keys import ExplorePage as K

ctx = model_page_context(
    "Explore",
    "Set a variable and compare what we SEE (rows of the data where it has that value), what HAPPENS if we "
    "set it (the models, or ID-GEN where hidden confounders need it), and what WOULD HAVE happened to one "
    "unit. On a built-in world the last column is the truth.",
)
state, ws, graph, sources = ctx.state, ctx.workspace, ctx.graph, ctx.sources
registry = st.cache_resource(train_page.new_registry)()  # the Train page's background jobs (one registry)
ds, world, run, settings = sources.dataset, sources.world, sources.run, sources.settings


def on_idgen_steps() -> None:
    if ws is not None:
        ws.update_settings(idgen_steps=int(state[K.IDGEN_STEPS]))

names = list(graph.names)
default_t, default_y = default_query(graph)
if state.get(K.TREATMENT) not in names:
    state[K.TREATMENT] = default_t
q = st.columns([1, 1, 1, 1])
treatment = q[0].selectbox("Intervene on", names, key=K.TREATMENT)
outcomes = [v for v in names if v != treatment]
if state.get(K.OUTCOME) not in outcomes:
    state[K.OUTCOME] = default_y if default_y in outcomes else outcomes[-1]
outcome = q[1].selectbox("Look at", outcomes, key=K.OUTCOME)
n = q[2].slider("Samples per gallery", 4, 32, 16, step=4, key=K.N)
seed = q[3].number_input("Seed", min_value=0, step=1, value=0, key=K.SEED)
choices = given_choices(graph, treatment, outcome)
state[K.GIVEN] = [v for v in state.get(K.GIVEN, []) if v in choices]
given_nodes = st.multiselect("Given (condition on Z = z, for P(Y | do(X = x), Z = z))", choices, key=K.GIVEN,
                             placeholder="nothing: the unconditional P(Y | do(X = x))")
do_query = DoQuery(graph, treatment, outcome, tuple(given_nodes))
steps = None
if uses_diffusion(run, graph):
    # DDIM with fewer steps: a faster, slightly rougher preview (0 = the model's own step count)
    steps = st.slider("Diffusion sampling steps (0 = the model's own)", 0, 50, 10, key=K.DDIM_STEPS) or None
tnode, ynode = graph.node(treatment), graph.node(outcome)
probe = world_probe(world, graph, outcome)


# ---- rendering one gallery


def attribute_bars(g: Gallery, key: str) -> None:
    if probe is None or ynode.type != "image" or not g.ok:
        return
    shares, means = attribute_shares(probe, g.values)
    if len(shares):
        st.plotly_chart(attribute_figure(shares), key=K.ATTRIBUTE_CHART.format(key), width="stretch",
                        config={"displayModeBar": False})
    if means:
        st.caption("read: " + " · ".join(f"{k} {v:.3g}" for k, v in means.items()))


def show_values(values: np.ndarray, captions: list[str], key: str, width: int = 56) -> None:
    if ynode.type == "image":
        st.image([display_image(x) for x in values], caption=captions or None, width=width, clamp=True)
    else:
        fig = px.bar(value_shares(ynode, values), x="value", y="share")
        fig.update_xaxes(type="category", title=outcome)
        fig.update_yaxes(range=[0, 1])
        fig.update_layout(height=220, margin=dict(l=0, r=0, t=10, b=0))
        st.plotly_chart(fig, key=K.VALUES_CHART.format(key), width="stretch", config={"displayModeBar": False})
        st.caption(f"mean {np.mean(values.astype(float)):.3g} over {len(values)}")


def show_gallery(g: Gallery, key: str) -> None:
    st.markdown(f"**{g.title}**")
    st.caption(g.formula)
    if not g.ok:
        {"info": st.info, "warning": st.warning, "error": st.error}[g.level](g.message, icon=":material/block:")
        if g.hedge is not None:
            st.markdown(hedge_markdown(g.hedge, do_query))
        return
    if g.factual is not None and ynode.type != "image":
        st.markdown(f"unit {g.captions[0]}: {outcome} = {g.factual[0]:.4g} → **{g.values[0]:.4g}**  \n"
                    f"changed in {int((g.values != g.factual).sum())} of {len(g.values)} units")
    elif g.factual is not None:
        st.caption(f"unit {g.captions[0]}: factual → counterfactual")
        a, b = st.columns(2)
        with a:
            show_values(g.factual[:1], ["factual"], f"{key}_f", width=96)
        with b:
            show_values(g.values[:1], ["counterfactual"], f"{key}_c", width=96)
    show_values(g.values, g.captions if ynode.type == "image" else [], key)
    attribute_bars(g, key)


# ---- the intervention and conditioning controls


def scalar_value(ctl: Control, label: str, key: str) -> NodeValue:
    """A slider (continuous) or radio/select (discrete) for one node's value."""
    if ctl.kind == "slider":
        return st.slider(label, ctl.lo, ctl.hi, ctl.default, step=ctl.step, key=key)
    widget = st.radio if ctl.kind == "radio" else st.selectbox
    kw = {"horizontal": True} if ctl.kind == "radio" else {}
    return widget(label, ctl.options, index=ctl.options.index(ctl.default), format_func=lambda v: ctl.labels[v],
                  key=key, **kw)


def on_pick(key: str, value: int) -> None:
    state[key] = value


def image_picker() -> NodeValue:
    """do(X = image): one of 8 data images, or of 8 new images from the trained model of X."""
    source = st.radio(f"do({treatment} = an image) from", ["data", "model"], horizontal=True,
                      format_func={"data": "data images", "model": f"generated by the model of {treatment}"}.get,
                      key=K.IMAGE_SOURCE.format(treatment))
    ctl = intervention_control(tnode, ds, seed=0)
    if source == "model":
        gen_seed = int(state.get(K.GENERATED_SEED.format(treatment), 0))
        try:
            with st.spinner(f"Generating images of {treatment}…"):
                made = generated_images(sources, graph, treatment, seed=gen_seed, sample_steps=steps)
            ctl = intervention_control(tnode, ds, generated=made)
        except WorkbenchError as e:
            st.info(f"No generated images: {e}. Showing data images.", icon=":material/info:")
    if ctl.rows:  # data images: the state holds the chosen data row
        key, current = K.IMAGE_ROW.format(treatment), int(state.get(K.IMAGE_ROW.format(treatment), ctl.default))
        choices = list(ctl.rows)
        st.markdown(f"do({treatment} = this image): data row {current}")
    else:
        key, current = K.GENERATED_PICK.format(treatment), int(state.get(K.GENERATED_PICK.format(treatment), 0))
        choices = list(range(len(ctl.images)))
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(f"do({treatment} = this image): generated image {current + 1} ({ctl.note})")
        c2.button("New images", key=K.NEW_IMAGES.format(treatment), on_click=on_pick,
                  args=(K.GENERATED_SEED.format(treatment), int(state.get(K.GENERATED_SEED.format(treatment), 0)) + 1))
    cols = st.columns(len(choices))
    for col, c, img in zip(cols, choices, ctl.images, strict=True):
        with col:
            st.image(display_image(img), width=48, clamp=True)
            st.button("Use" if c != current else "✓", key=K.PICK.format(treatment, f"{'r' if ctl.rows else 'g'}{c}"),
                      on_click=on_pick, args=(key, c), type="primary" if c == current else "secondary")
    return ds.column(treatment)[current] if ctl.rows else ctl.images[current]


def intervention_value() -> NodeValue:
    if tnode.type == "image":
        return image_picker()
    return scalar_value(intervention_control(tnode, ds), f"do({treatment} = x)", K.VALUE.format(treatment))


def given_values() -> dict[str, NodeValue]:
    """Z = z for each conditioning node, with the same kind of control as an intervention."""
    if not given_nodes:
        return {}
    cols = st.columns(min(4, len(given_nodes)))
    out = {}
    for i, z in enumerate(given_nodes):
        with cols[i % len(cols)]:
            ctl = intervention_control(graph.node(z), ds)
            out[z] = scalar_value(ctl, f"given {z} = z", K.GIVEN_VALUE.format(z))
    return out


IDGEN_JOB = f"{ws.key}#idgen" if ws is not None else "idgen"


def on_fit_idgen(query: DoQuery) -> None:
    # the settings saved now (a steps change may land in the same rerun), as the next run reads them
    now = idgen_settings(ws.settings) if ws is not None else settings
    labels, work = idgen_fit_work(replace(sources, settings=now), query)
    try:
        job = registry.start(IDGEN_JOB, labels, work)
        job.query = query
        state[K.IDGEN_ERROR] = None
    except WorkbenchError as e:
        state[K.IDGEN_ERROR] = str(e)


def idgen_job_panel(query: DoQuery) -> None:
    """Steps, the Fit button, and while the background fit runs, its progress (refreshed each second)."""
    job = registry.get(IDGEN_JOB)
    busy = job is not None and job.alive
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    c1.number_input("Training steps per model", min_value=1, max_value=100_000, value=settings["idgen_steps"],
                    step=100, key=K.IDGEN_STEPS, on_change=on_idgen_steps, disabled=busy)
    c2.button("Fit the ID-GEN network (in the background)", key=K.FIT_IDGEN, type="primary", disabled=busy,
              on_click=on_fit_idgen, args=(query,))
    if state.get(K.IDGEN_ERROR):
        st.error(state[K.IDGEN_ERROR], icon=":material/error:")
    if job is not None and not job.alive and job.error and getattr(job, "query", None) == query:
        st.error(job.error, icon=":material/error:")
    if busy:
        idgen_progress()


@st.fragment(run_every=1.0)
def idgen_progress() -> None:
    job = registry.get(IDGEN_JOB)
    if job is None or not job.alive:
        st.rerun()  # finished (or stopped): the whole page picks up the fitted network or the error
    for p in job.snapshot().values():
        st.progress(p.fraction, text=train_page.progress_text(p))
    st.button("Stop", key=K.IDGEN_STOP, on_click=job.request_stop, icon=":material/stop:")


def idgen_plan_panel() -> bool:
    """On a confounded graph, the ID-GEN plan and which of its models are trained; the fit panel
    when some must still be trained.  True when the galleries may fit the network now (nothing
    left to train in the background)."""
    try:
        check_identifiable(do_query)
        plan = idgen_plan(ds, do_query)
        fitted = idgen_for(sources, do_query, fit=False) is not None
        # which models are already trained: the Train page's (same conditional, same data), earlier fits, tables
        status = idgen_status(sources, do_query)
    except WorkbenchError:
        return True  # the galleries show the reason
    text = query_text([treatment], [outcome], given_nodes)
    if status.reused and not status.to_fit:
        st.caption(f"ID-GEN for {text}: {status.summary()} ("
                   + ", ".join(f"p({s.target} | {', '.join(s.inputs)})" for s in status.reused)
                   + " from the Train page).")
    if fitted or not status.to_fit:
        return True
    where = {**{s.key: instant_label(s, graph) for s in status.instant},
             **{s.key: "trained" for s in status.cached},
             **{s.key: "trained (Train page)" for s in status.reused}}
    st.info(f"The graph has hidden confounders: ID-GEN needs {len(plan.models)} conditional models for "
            f"{text}; {status.summary()} now:  \n"
            + "  \n".join(f"- {line} · {where.get(s.key, 'to train')}"
                           for s, line in zip(plan.models, plan.describe(), strict=True)),
            icon=":material/info:")
    # neural models train in the background (the Train page's job machinery): the page stays usable
    idgen_job_panel(do_query)
    return False


@st.fragment
def galleries() -> None:
    query = ExploreQuery(graph, treatment, intervention_value(), outcome, given_values(), n=n, seed=int(seed))
    unit = st.number_input("Factual unit for the counterfactual (a data row)", min_value=0, max_value=ds.n - 1,
                           value=0, step=1, key=K.UNIT)
    # ID-GEN on confounded graphs: fit once (instant for all-discrete tables), then cached
    fit_now = graph.is_markovian or idgen_plan_panel()
    rows = counterfactual_units(n, int(unit), ds.n, seed=int(seed))
    t0 = time.perf_counter()
    with st.spinner("Training the ID-GEN network, then sampling…" if fit_now and not graph.is_markovian else "Sampling…"):
        obs = observational_gallery(ds, query)
        do = model_interventional(sources, query, fit_idgen=fit_now, sample_steps=steps)
        cf = model_counterfactual(sources, query, rows, sample_steps=steps)
        truth = truth_cf = None
        if world is not None:
            truth = truth_interventional(world, query)
            truth_cf = truth_counterfactual(sources, query, rows)
    state[K.SECONDS] = time.perf_counter() - t0
    cols = st.columns(4 if truth is not None else 3, gap="medium")
    with cols[0]:
        show_gallery(obs, "obs")
    with cols[1]:
        show_gallery(do, "do")
    with cols[2]:
        show_gallery(cf, "cf")
    if truth is not None:
        with cols[3]:
            show_gallery(truth, "truth")
            st.divider()
            show_gallery(truth_cf, "truth_cf")
    st.caption(f"Galleries sampled in {state[K.SECONDS]:.2f} s (n = {n}, seed {seed}).")


galleries()
