"""Effects page: the outcome's mean under conditioning vs under intervention, across treatment values.

Thin by design: curves, effect sizes, samplers and read-outs live in ``core.ui_explore`` (on top of
``core.effects``).  Results are computed on a button press and kept in the session, keyed by the
query, so moving between pages does not recompute them.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core import ui_explore
from core.effects import WorldSampler, attribute_shift_table
from core.errors import WorkbenchError
from core.ui_page import model_page_context

ctx = model_page_context(
    "Effects",
    "How much of the association between a treatment and an outcome is causal? Compare the outcome's mean "
           "among units that HAVE each treatment value (conditioning) with its mean when the value is SET "
           "(intervention). The gap is the spurious part, due to common causes.",
)
state, hub, ws = ctx.state, ctx.hub, ctx.workspace
graph, ds, world, run, settings = ctx.graph, ctx.dataset, ctx.world, ctx.run, ctx.settings

choices = ui_explore.outcome_choices(graph, world)
if not choices:
    st.info("No scalar outcome to average (image nodes need a world's probe).", icon=":material/info:")
    st.stop()
labels = [ui_explore.outcome_label(c) for c in choices]
default_t, default_y = ui_explore.default_query(graph)
if state.get("ef_outcome") not in labels:
    state["ef_outcome"] = next((lab for lab, c in zip(labels, choices, strict=True) if c[0] == default_y), labels[-1])
q = st.columns([1.4, 1, 0.8, 0.8, 0.6])
out_label = q[0].selectbox("Outcome", labels, key="ef_outcome")
outcome, attribute = choices[labels.index(out_label)]
treatments = [v for v in graph.names if v != outcome and graph.node(v).type != "image"]
if not treatments:
    st.info("No scalar treatment to vary.", icon=":material/info:")
    st.stop()
if state.get("ef_treatment") not in treatments:
    state["ef_treatment"] = default_t if default_t in treatments else treatments[0]
treatment = q[1].selectbox("Treatment", treatments, key="ef_treatment")
# images are sampled, rendered and read by a probe: fewer samples by default keep this quick on a CPU
n = q[2].number_input("Samples per value", min_value=50, max_value=100_000, value=200 if attribute else 2000,
                      step=100 if attribute else 500, key=f"ef_n_{'image' if attribute else 'scalar'}")
n_boot = q[3].number_input("Bootstrap resamples", min_value=50, max_value=5000, value=300, step=50, key="ef_boot")
seed = q[4].number_input("Seed", min_value=0, value=0, step=1, key="ef_seed")
tnode = graph.node(treatment)
values = ui_explore.treatment_values(tnode, ds, k=5 if attribute else 7)
c = st.columns([1, 1, 3])
a = c[0].selectbox("Compare do(T = a)", values, index=len(values) - 1, key=f"ef_a_{treatment}")
b = c[1].selectbox("with do(T = b)", values, index=0, key=f"ef_b_{treatment}")
query = (treatment, outcome, attribute, int(n), int(n_boot), int(seed), a, b, ds.fingerprint,
         run.manifest.get("updated") if run is not None else None)


def compute() -> None:
    """Everything the page shows for this query, or one error line."""
    result: dict = {"query": query, "error": None, "hedge": None, "notes": []}
    try:
        readout = ui_explore.make_readout(world, graph, outcome, attribute)
        truth = WorldSampler(world) if world is not None else None
        try:
            model = ui_explore.model_sampler(hub, run, ds, graph, treatment, outcome, settings)
        except ui_explore.MissingModels as e:
            model = None
            result["notes"].append(str(e))
        curves = ui_explore.effect_curves(ds, graph, treatment, outcome, values, model, truth, readout, int(n),
                                          int(seed), int(n_boot))
        sizes = ui_explore.effect_sizes(ds, graph, treatment, outcome, a, b, model, truth, readout, int(n), int(seed),
                                        int(n_boot))
        shifts = None
        if world is not None:
            try:
                scm = ui_explore.full_scm(hub, run, graph) if graph.is_markovian else None
            except ui_explore.MissingModels:
                scm = None
            shifts = attribute_shift_table(world, treatment, a, ui_explore.shift_reader(world, graph),
                                           model=scm, n=min(int(n), 500), seed=int(seed))
        result.update(curves=curves, sizes=sizes, shifts=shifts)
        if ws is not None:  # the workspace keeps the numbers too
            ws.save_result(f"effects_{treatment}_{outcome}.csv", ui_explore.curves_csv(curves, sizes, shifts))
    except WorkbenchError as e:
        result["error"] = str(e)
        hedge = getattr(e, "hedge", None)
        result["hedge"] = (frozenset(hedge[0]), frozenset(hedge[1])) if hedge is not None else None
    state["ef_result"] = result


if st.button("Compute", key="ef_compute", type="primary", icon=":material/calculate:"):
    with st.spinner(f"Sampling {len(values)} treatment values × {n} units (model, and truth for a world)…"):
        compute()
res = state.get("ef_result")
if res is None or res["query"] != query:
    st.caption("Press Compute to sample the curves (the model, and the truth for a built-in world).")
    st.stop()
if res["error"]:
    st.error(res["error"], icon=":material/block:")
    if res["hedge"] is not None:
        st.markdown(ui_explore.hedge_markdown(res["hedge"], treatment, outcome))
    st.stop()
for note in res["notes"]:
    st.info(f"Interventional curve of the model left out: {note}", icon=":material/info:")

curves: pd.DataFrame = res["curves"]
y_label = ui_explore.outcome_label((outcome, attribute))
colours = {"conditioning (data)": "#dc2626", "intervention (model)": "#2563eb", "intervention (truth)": "#16a34a"}
fig = go.Figure()
# the spurious part is measured against the truth where there is one (else the model's causal curve)
causal = "intervention (truth)" if (curves.source == "intervention (truth)").any() else "intervention (model)"
gap = ui_explore.spurious_gap(curves, causal=causal)
if len(gap):
    x = list(gap["value"])
    fig.add_trace(go.Scatter(x=x + x[::-1], y=list(gap["conditioning"]) + list(gap["intervention"])[::-1],
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
st.plotly_chart(fig, key="ef_curves", width="stretch")
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
    st.markdown(f"Under do({treatment} = {a}) applied to each unit: the share of units whose attribute changes. "
                "Attributes that are not downstream of the treatment should not move; the naive conditional "
                "(swapping the unit for one that has the value) moves them anyway.")
    sfig = px.bar(shifts, x="attribute", y="changed_pct", color="method", barmode="group",
                  color_discrete_map={"model": "#2563eb", "naive conditional": "#dc2626", "truth": "#16a34a"})
    sfig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), yaxis_title="% of units changed")
    st.plotly_chart(sfig, key="ef_shifts", width="stretch")

csv = ui_explore.curves_csv(curves, sizes, shifts)
st.download_button("Download the numbers (CSV)", csv, file_name=f"effects_{treatment}_{outcome}.csv", mime="text/csv",
                   key="ef_download", on_click="ignore", icon=":material/download:")
