"""Explore page: the three rungs of the ladder side by side, for one intervention.

Thin by design: the query, galleries, read-outs, model loading and identification live in
``workbench.explore``.  Loaded models, fitted ID-GEN networks, re-sampled world units and computed
galleries stay in an ``st.cache_resource`` hub, so coming back to a value (or to the page) shows it
at once.  Everything below the title is one fragment, so a change of the query reruns only it.
Each gallery is one composite image of a few thumbnails; every number comes from a large sample
(``workbench.explore.changes``), read in the hub's background thread.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import streamlit as st

from core.errors import WorkbenchError
from core.identify import query_text
from core.scm.conditional import NodeValue
from views.common import model_page_context
from workbench import train_page
from workbench.explore.changes import (
    READOUT_DRAWS,
    Readouts,
    changes,
    changes_table_html,
    large_sample_readouts,
    plain_sentence,
    readout_line,
    result_key,
)
from workbench.explore.controls import Control, generated_images, intervention_control
from workbench.explore.galleries import (
    Gallery,
    counterfactual_units,
    default_unit,
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
    short_fit_note,
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
from workbench.explore.readouts import contact_sheet, display_image, world_probe
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

# ---- rendering one gallery


def show_values(g: Gallery, key: str) -> None:
    """A gallery's draws: one composite image of the thumbnails (images), or a one-line summary."""
    if ynode.type == "image":
        st.image(contact_sheet(g.values), caption=gallery_caption(g), width="content")
        return
    v = np.asarray(g.values)
    if ynode.is_discrete:
        counts = np.bincount(v.astype(np.int64), minlength=ynode.levels)
        st.caption(f"{len(v)} draws: " + ", ".join(f"{outcome} = {i}: {c}" for i, c in enumerate(counts)))
    else:
        st.caption(f"{len(v)} draws: mean {np.mean(v.astype(float)):.3g}")


def gallery_caption(g: Gallery) -> str:
    if g.factual is not None:
        return f"units {', '.join(g.captions[:4])}, …" if len(g.captions) > 4 else ", ".join(g.captions)
    return f"{len(g.values)} draws" if not g.captions else f"{len(g.values)} data rows"


def show_gallery(g: Gallery, key: str) -> st.delta_generator.DeltaGenerator | None:
    """One column: title, formula, the unit's pair, the thumbnails; returns the slot under them for
    the column's large-sample read-out (None when the gallery could not be drawn)."""
    st.markdown(f"**{g.title}**")
    st.caption(g.formula)
    if not g.ok:
        {"info": st.info, "warning": st.warning, "error": st.error}[g.level](g.message, icon=":material/block:")
        if g.hedge is not None:
            st.markdown(hedge_markdown(g.hedge, do_query))
        return None
    if g.factual is not None and ynode.type != "image":
        st.markdown(f"unit {g.captions[0]}: {outcome} = {g.factual[0]:.4g} → **{g.values[0]:.4g}**  \n"
                    f"changed in {int((g.values != g.factual).sum())} of {len(g.values)} units")
    elif g.factual is not None:
        pair = contact_sheet(np.stack([g.factual[0], g.values[0]]), columns=2, cell=96, gap=8)
        st.image(pair, caption=f"unit {g.captions[0]}: factual → counterfactual", width="content")
    show_values(g, key)
    return st.empty()


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
    if note := short_fit_note(sources, do_query):
        st.warning(note, icon=":material/timer:")
        st.page_link("views/train.py", label="Model check and training: the Train page", icon=":material/fact_check:")
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


def compute_galleries(query: ExploreQuery, rows: np.ndarray, fit_now: bool) -> tuple[dict[str, Gallery], float]:
    """The thumbnails of every column and the seconds they took (cached in the hub by query, unit
    and preview steps)."""
    def make() -> tuple[dict[str, Gallery], float]:
        t0 = time.perf_counter()
        out = {"obs": observational_gallery(ds, query),
               "do": model_interventional(sources, query, fit_idgen=fit_now, sample_steps=steps),
               "cf": model_counterfactual(sources, query, rows, sample_steps=steps)}
        if world is not None:
            out["truth"] = truth_interventional(world, query)
            out["truth_cf"] = truth_counterfactual(sources, query, rows)
        return out, time.perf_counter() - t0

    if not fit_now:  # "not fitted yet" must not be remembered past the fit
        return make()
    return sources.hub.remember(result_key(sources, query, "galleries", tuple(rows), steps), make)


def await_readouts(query: ExploreQuery, unit: int, fit_now: bool, note: st.delta_generator.DeltaGenerator) -> Readouts | None:
    """The query's large-sample read-outs, read in the hub's background thread.  The galleries are
    on screen already (Streamlit sends each element as it is drawn); this run then waits here,
    saying so in ``note`` four times a second, so the numbers appear when they are in.  Each update
    lets Streamlit stop the run at once when the user changes something: the reading goes on in
    the background and the next run finds it (no polling, no rerun of the whole app)."""
    key = result_key(sources, query, "readouts", unit, steps, fit_now)

    def make() -> Readouts:
        return large_sample_readouts(sources, query, unit, probe=probe, draws=READOUT_DRAWS, sample_steps=steps,
                                     fit_idgen=fit_now)

    t0 = time.perf_counter()
    try:
        while (found := sources.hub.in_background(key, make)) is None:
            note.caption(f"Reading up to {READOUT_DRAWS:,} draws per column for the numbers… "
                         f"{time.perf_counter() - t0:.0f} s")
            time.sleep(0.25)
    except WorkbenchError as e:
        note.warning(f"No read-outs: {e}", icon=":material/warning:")
        return None
    note.empty()
    return found


@st.fragment
def explore() -> None:
    """The query, the ID-GEN plan, the read-outs and the galleries (one fragment)."""
    global treatment, outcome, given_nodes, do_query, steps, tnode, ynode, probe, n, seed
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
    query = ExploreQuery(graph, treatment, intervention_value(), outcome, given_values(), n=n, seed=int(seed))
    # the counterfactual's unit: by default one the intervention changes; the box is keyed by the
    # value, so a new value starts from its own default
    unit = int(st.number_input("Factual unit for the counterfactual (a data row)", min_value=0, max_value=ds.n - 1,
                               value=default_unit(ds, query), step=1,
                               key=K.unit_of(f"{treatment}={query.value_label}")))
    # ID-GEN on confounded graphs: fit once (instant for all-discrete tables), then cached
    fit_now = graph.is_markovian or idgen_plan_panel()
    rows = counterfactual_units(n, unit, ds.n, seed=int(seed))
    t0 = time.perf_counter()
    with st.spinner("Training the ID-GEN network, then sampling…" if fit_now and not graph.is_markovian else "Sampling…"):
        shown, seconds = compute_galleries(query, rows, fit_now)
    kept = time.perf_counter() - t0 < seconds  # drawn earlier for this very query, and kept
    state[K.SECONDS] = seconds
    strip, note = st.container(), st.empty()  # the "what changed" strip goes above the galleries
    cols = st.columns(5 if "truth" in shown else 3, gap="medium")
    columns = [("obs", "see"), ("do", "do"), ("cf", "cf"), ("truth", "truth"), ("truth_cf", "truth_cf")]
    slots = {}
    for col, (name, key) in zip(cols, [c for c in columns if c[0] in shown], strict=True):
        with col:
            slots[key] = show_gallery(shown[name], name)
    st.caption(f"Galleries sampled in {seconds:.2f} s{' (kept from before)' if kept else ''} (n = {n}, seed "
               f"{seed}); the numbers above and under the galleries come from up to {READOUT_DRAWS:,} draws a column.")
    readouts = await_readouts(query, unit, fit_now, note)
    if readouts is None:
        return
    if found := changes(readouts):
        with strip:
            st.markdown(plain_sentence(found, query))
            st.html(changes_table_html(found, query, truth=world is not None))
    for key, slot in slots.items():
        if slot is not None and key in readouts.columns:
            slot.caption(readout_line(readouts.columns[key], "matching rows" if key == "see" else "draws"))


explore()
