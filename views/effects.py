"""Effects page: the outcome's mean under conditioning vs under intervention, across treatment values;
then the causal attributions of a predictor (total / direct / indirect ACE curves of each input).

Thin by design: curves, effect sizes, samplers and read-outs live in ``workbench.explore.curves`` (on
top of ``core.effects``), predictors and their attributions in ``workbench.effects_page``
(on top of ``core.effects.attributions``).  Results are computed on a button press and kept in the session, keyed by
the query, so moving between pages does not recompute them.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.effects import WorldSampler, attribute_shift_table
from core.errors import WorkbenchError
from views.common import model_page_context
from workbench import effects_page
from workbench.explore.curves import (
    SOURCES,
    EffectQuery,
    curves_csv,
    effect_curves,
    effect_sizes,
    make_readout,
    model_sampler,
    outcome_choices,
    outcome_label,
    shift_reader,
    spurious_gap,
    treatment_values,
)
from workbench.explore.models import MissingModels
from workbench.explore.question import DoQuery, default_query, hedge_markdown
from workbench.keys import EffectsPage as K

ctx = model_page_context(
    "Effects",
    "How much of the association between a treatment and an outcome is causal? Compare the outcome's mean "
    "among units that HAVE each treatment value (conditioning) with its mean when the value is SET "
    "(intervention). The gap is the spurious part, due to common causes.",
)
state, ws, graph, sources = ctx.state, ctx.workspace, ctx.graph, ctx.sources
hub, ds, world, run = sources.hub, sources.dataset, sources.world, sources.run


def treatment_effects() -> None:
    """Conditioning vs intervention curves, effect sizes and attribute shifts for one treatment."""
    choices = outcome_choices(graph, world)
    if not choices:
        st.info("No scalar outcome to average (image nodes need a world's probe).", icon=":material/info:")
        return
    labels = [outcome_label(c) for c in choices]
    default_t, default_y = default_query(graph)
    if state.get(K.OUTCOME) not in labels:
        state[K.OUTCOME] = labels[effects_page.default_effect_outcome(choices, default_y, default_t)]
    q = st.columns([1.4, 1, 0.8, 0.8, 0.6])
    out_label = q[0].selectbox("Outcome", labels, key=K.OUTCOME)
    outcome, attribute = choices[labels.index(out_label)]
    treatments = [v for v in graph.names if v != outcome and graph.node(v).type != "image"]
    if not treatments:
        st.info("No scalar treatment to vary.", icon=":material/info:")
        return
    if state.get(K.TREATMENT) not in treatments:
        state[K.TREATMENT] = default_t if default_t in treatments else treatments[0]
    treatment = q[1].selectbox("Treatment", treatments, key=K.TREATMENT)
    # images are sampled, rendered and read by a probe: fewer samples by default keep this quick on a CPU
    n = q[2].number_input("Samples per value", min_value=50, max_value=100_000, value=200 if attribute else 2000,
                          step=100 if attribute else 500, key=K.N_IMAGE if attribute else K.N_SCALAR)
    n_boot = q[3].number_input("Bootstrap resamples", min_value=50, max_value=5000, value=300, step=50, key=K.BOOTSTRAP)
    seed = q[4].number_input("Seed", min_value=0, value=0, step=1, key=K.SEED)
    tnode = graph.node(treatment)
    values = treatment_values(tnode, ds, k=5 if attribute else 7)
    c = st.columns([1, 1, 3])
    a = c[0].selectbox("Compare do(T = a)", values, index=len(values) - 1, key=K.CONTRAST_A.format(treatment))
    b = c[1].selectbox("with do(T = b)", values, index=0, key=K.CONTRAST_B.format(treatment))
    query = (treatment, outcome, attribute, int(n), int(n_boot), int(seed), a, b, ds.fingerprint,
             run.manifest.get("updated") if run is not None else None)


    def compute() -> None:
        """Everything the page shows for this query, or one error line."""
        result: dict = {"query": query, "error": None, "hedge": None, "notes": []}
        try:
            effect = EffectQuery(graph, treatment, outcome, make_readout(world, graph, (outcome, attribute)), n=int(n),
                                 seed=int(seed), n_boot=int(n_boot))
            truth = WorldSampler(world) if world is not None else None
            try:
                model = model_sampler(sources, DoQuery(graph, treatment, outcome))
            except MissingModels as e:
                model = None
                result["notes"].append(str(e))
            curves = effect_curves(ds, effect, values, model=model, truth=truth)
            sizes = effect_sizes(ds, effect, a, b, model=model, truth=truth)
            shifts, shift_note = None, ""
            if world is not None:
                scm, shift_note = effects_page.shift_model(hub, run, graph, treatment)
                shifts = attribute_shift_table(world, treatment, a, shift_reader(world, graph),
                                               model=scm, n=min(int(n), 500), seed=int(seed))
            result.update(curves=curves, sizes=sizes, shifts=shifts, shift_note=shift_note)
            if ws is not None:  # the workspace keeps the numbers too
                ws.save_result(f"effects_{treatment}_{outcome}.csv", curves_csv(curves, sizes, shifts))
        except WorkbenchError as e:
            result["error"] = str(e)
            hedge = getattr(e, "hedge", None)
            result["hedge"] = (frozenset(hedge[0]), frozenset(hedge[1])) if hedge is not None else None
        state[K.RESULT] = result

    if st.button("Compute", key=K.COMPUTE, type="primary", icon=":material/calculate:"):
        with st.spinner(f"Sampling {len(values)} treatment values × {n} units (model, and truth for a world)…"):
            compute()
    res = state.get(K.RESULT)
    if res is None or res["query"] != query:
        st.caption("Press Compute to sample the curves (the model, and the truth for a built-in world).")
        return
    if res["error"]:
        st.error(res["error"], icon=":material/block:")
        if res["hedge"] is not None:
            st.markdown(hedge_markdown(res["hedge"], DoQuery(graph, treatment, outcome)))
        return
    for note in res["notes"]:
        st.info(f"Interventional curve of the model left out: {note}", icon=":material/info:")

    curves: pd.DataFrame = res["curves"]
    y_label = outcome_label((outcome, attribute))
    colours = dict(zip(SOURCES, ("#dc2626", "#2563eb", "#16a34a"), strict=True))
    fig = go.Figure()
    # the spurious part is measured against the truth where there is one (else the model's causal curve)
    causal = SOURCES[2] if (curves.source == SOURCES[2]).any() else SOURCES[1]
    gap = spurious_gap(curves, causal=causal)
    if len(gap):
        x = list(gap["value"])
        fig.add_trace(go.Scatter(x=x + x[::-1], y=list(gap["conditioning"]) + list(gap["intervention"])[::-1], mode="none",
                                 fill="toself", fillcolor="rgba(220,38,38,0.12)", line=dict(width=0), hoverinfo="skip",
                                 name=f"spurious part (conditioning − {causal.split('(')[1].rstrip(')')})"))
    for source, part in curves.groupby("source", sort=False):
        fig.add_trace(go.Scatter(
            x=part["value"], y=part["mean"], mode="lines+markers", name=source,
            line=dict(color=colours.get(source), dash="dot" if "truth" in source else "solid"),
            error_y=dict(type="data", symmetric=False, array=part["high"] - part["mean"],
                         arrayminus=part["mean"] - part["low"]),
        ))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2),
                      title=f"E[{y_label} | {treatment} = x] vs E[{y_label} | do({treatment} = x)]",
                      xaxis_title=treatment, yaxis_title=f"mean {y_label}")
    if tnode.is_discrete:
        fig.update_xaxes(type="category")
    st.plotly_chart(fig, key=K.CURVES_CHART, width="stretch")
    if len(gap):
        st.caption(f"Spurious part at each value (conditioning − {causal}): "
                   + ", ".join(f"{v}: {s:+.3g}" for v, s in zip(gap["value"], gap["spurious"], strict=True)))

    st.subheader("Effect sizes", anchor=False)
    sizes: pd.DataFrame = res["sizes"]
    st.table(sizes.assign(**{k: sizes[k].map("{:+.4f}".format) for k in ("estimate", "low", "high")}).set_index("quantity"))
    st.caption("95% percentile-bootstrap intervals. ATE = E[Y | do(T = a)] − E[Y | do(T = b)]; the spurious part is the "
               "observational difference minus the ATE.")

    shifts = res["shifts"]
    st.subheader("Attribute shifts", anchor=False)
    if shifts is None:
        st.caption("Needs a built-in world (its counterfactuals are the ground truth).")
    elif len(shifts):
        st.markdown(f"Under do({treatment} = {a}) applied to each of the {int(shifts['n'].iloc[0]):,} sampled units "
                    f"whose {treatment} is not already {a}: the share of them whose attribute changes ({treatment} "
                    "itself changes in all of them, by construction). Attributes that are not downstream of the "
                    "treatment should not move; the naive conditional (swapping the unit for one that has the "
                    "value) moves them anyway.")
        sfig = px.bar(shifts, x="attribute", y="changed_pct", color="method", barmode="group",
                      color_discrete_map={"model": "#2563eb", "naive conditional": "#dc2626", "truth": "#16a34a"})
        sfig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), yaxis_title="% of units changed")
        st.plotly_chart(sfig, key=K.SHIFTS_CHART, width="stretch")
        if res.get("shift_note"):
            st.caption(res["shift_note"])

    csv = curves_csv(curves, sizes, shifts)
    st.download_button("Download the numbers (CSV)", csv, file_name=f"effects_{treatment}_{outcome}.csv", mime="text/csv",
                       key=K.DOWNLOAD, on_click="ignore", icon=":material/download:")


def attributions() -> None:
    """Train or upload a predictor; its inputs' total / direct / indirect ACE curves and the split."""
    st.subheader("Attributions of a predictor", anchor=False)
    st.caption("How much of a predictor's output does each input cause, directly and through the other inputs? "
               "Total: set the input, let its descendants among the inputs follow (an SCM over the inputs); "
               "direct: set it, keep the other inputs as observed; indirect = total − direct.")
    scalars = effects_page.scalar_nodes(graph)
    if len(scalars) < 2:
        st.info("A predictor needs at least two scalar nodes (a target and an input).", icon=":material/info:")
        return
    source = st.radio("Predictor", ["Train on the workspace data", "Upload (safetensors + spec)"], horizontal=True,
                      key=K.PREDICTOR_SOURCE)
    if source.startswith("Train"):
        default_target, default_inputs = effects_page.default_predictor_query(graph)
        if state.get(K.TARGET) not in scalars:
            state[K.TARGET] = default_target
        c = st.columns([1, 2, 1, 0.8])
        target = c[0].selectbox("Target", scalars, key=K.TARGET)
        options = [v for v in scalars if v != target]
        kept = [v for v in state.get(K.INPUTS, []) if v in options]
        if K.INPUTS not in state or not kept:
            state[K.INPUTS] = [v for v in effects_page.default_predictor_query(graph, target)[1] if v in options]
        inputs = c[1].multiselect("Inputs", options, key=K.INPUTS)
        problem = effects_page.input_scm_problem(graph, inputs, target) if inputs else None
        modes = effects_page.training_modes(problem)
        if state.get(K.TRAINING_MODE) not in modes:
            state[K.TRAINING_MODE] = modes[0]
        mode = c[2].radio("Training", modes, key=K.TRAINING_MODE,
                          help="Ante-hoc: trained jointly with an SCM over the inputs, and told by the graph which "
                               "inputs have no direct effect on the target.")
        if problem:
            st.caption(f"Ante-hoc training is off: {problem}.")
        steps = c[3].number_input("Steps", min_value=50, max_value=20_000, value=effects_page.QUICK_STEPS, step=100,
                                  key=K.TRAINING_STEPS)
        train_key = ("train", target, tuple(inputs), mode, int(steps), ds.fingerprint)
        if st.button("Train predictor", key=K.TRAIN, icon=":material/model_training:", disabled=not inputs):
            try:
                with st.spinner(f"Training {effects_page.QUICK_HIDDEN} MLP, {steps} steps…"):
                    pred = effects_page.train_workspace_predictor(ds, graph, target, inputs,
                                                                  ante_hoc=mode.startswith("ante"), steps=int(steps))
                state[K.PREDICTOR] = (train_key, pred, None)
            except WorkbenchError as e:
                state[K.PREDICTOR] = (train_key, None, str(e))
    else:
        c = st.columns(2)
        spec = c[0].file_uploader("predictor.json (architecture)", type=["json"], key=K.SPEC_UPLOAD)
        weights = c[1].file_uploader("predictor.safetensors (weights)", type=["safetensors"], key=K.WEIGHTS_UPLOAD)
        train_key = ("upload", spec.file_id if spec else None, weights.file_id if weights else None)
        if spec is not None and weights is not None and (state.get(K.PREDICTOR) or (None,))[0] != train_key:
            try:
                state[K.PREDICTOR] = (train_key, effects_page.load_uploaded_predictor(spec.getvalue(),
                                                                                    weights.getvalue(), graph), None)
            except WorkbenchError as e:
                state[K.PREDICTOR] = (train_key, None, str(e))
    held = state.get(K.PREDICTOR)
    if held is None or held[0] != train_key:
        st.caption("Train a predictor (a few seconds) or upload one to see its attributions.")
        return
    _, pred, error = held
    if error:
        st.error(error, icon=":material/block:")
        return
    fit = f", RMSE on the data {pred.fit_rmse:.3g}" if pred.fit_rmse is not None else ""
    took = f" in {pred.seconds:.1f} s" if pred.seconds else ""
    st.caption(f"Predictor: {pred.label}{took}{fit}.")
    found = None
    try:
        found = effects_page.neural_scm_for_inputs(hub, run, graph, pred.inputs) if run is not None else None
    except WorkbenchError:
        found = None
    scm_problem = effects_page.input_scm_problem(graph, pred.inputs)
    choices = effects_page.scm_choices(pred, found is not None, fit_possible=scm_problem is None)
    if state.get(K.INPUT_SCM) not in choices:
        state[K.INPUT_SCM] = choices[0]
    c = st.columns([3, 1, 1, 1])  # the SCM names are long: a narrow box cut them
    scm_source = c[0].selectbox("Inputs' SCM (for total effects)", choices, key=K.INPUT_SCM,
                                format_func=effects_page.SCM_SOURCES.get)
    points = c[1].number_input("Grid points", min_value=5, max_value=200, value=25, step=5, key=K.GRID_POINTS)
    units = c[2].number_input("Units averaged", min_value=50, max_value=20_000, value=500, step=50, key=K.UNITS)
    fmt = c[3].radio("Image export", ["png", "svg"], horizontal=True, key=K.IMAGE_FORMAT)
    if choices == ["none"]:
        st.caption(f"No input SCM: {scm_problem}. With independent inputs, total = direct and indirect = 0.")
    query = (held[0], id(pred), scm_source, int(points), int(units))
    if st.button("Compute attributions", key=K.COMPUTE_ATTRIBUTIONS, type="primary", icon=":material/calculate:"):
        result: dict = {"query": query, "error": None}
        try:
            with st.spinner("Sampling the ACE curves…"):
                scm = effects_page.input_scm(scm_source, pred, ds, graph, hub=hub, run=run)
                curves = effects_page.attribution_curves(pred, ds, graph, scm, points=int(points), max_units=int(units))
            result.update(frame=effects_page.curves_frame(curves), split=effects_page.effect_split(curves))
        except WorkbenchError as e:
            result["error"] = str(e)
        state[K.ATTRIBUTIONS] = result
    res = state.get(K.ATTRIBUTIONS)
    if res is None or res["query"] != query:
        st.caption("Press Compute attributions to draw the curves.")
        return
    if res["error"]:
        st.error(res["error"], icon=":material/block:")
        return
    frame, split = res["frame"], res["split"]
    export = {"toImageButtonOptions": {"format": fmt, "filename": f"attributions_{pred.target or 'output'}",
                                       "scale": 2}, "displaylogo": False}
    st.plotly_chart(effects_page.curves_figure(frame, pred.target or "output"), key=K.ATTRIBUTION_CHART,
                    width="stretch", config=export)
    st.plotly_chart(effects_page.split_figure(split), key=K.SPLIT_CHART, width="stretch", config=export)
    st.caption("ACE curves are centred (each minus its mean over the grid). Bars: mean |ACE| of the direct and "
               "the indirect curve. Camera icon: save the chart as " + fmt.upper() + ".")
    st.download_button("Download the attributions (CSV)", effects_page.attribution_csv(frame, split, pred.label),
                       file_name=f"attributions_{pred.target or 'output'}.csv", mime="text/csv",
                       key=K.ATTRIBUTIONS_DOWNLOAD,
                       on_click="ignore", icon=":material/download:")
    if pred.mode != "uploaded":
        files = effects_page.predictor_files(pred)
        c = st.columns(2)
        for col, (name, data) in zip(c, files.items(), strict=True):
            col.download_button(f"Download {name}", data, file_name=name, key=K.PREDICTOR_DOWNLOAD.format(name), on_click="ignore",
                                icon=":material/download:")


treatment_effects()
st.divider()
attributions()
