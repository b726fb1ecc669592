"""The Graph page's answers beyond identification (DAGitty's panels and more): adjustment sets,
instruments and front door, causal and biasing paths drawn in colour, testable implications checked
on the data, and a number for the question.  Widgets only; the answers come from
``workbench.graph_answers``.  ``views/graph.py`` calls :func:`show` once."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.data.dataset import Dataset
from core.errors import WorkbenchError
from core.evidence.citests import CORRECTIONS
from core.graph import ADMG
from core.graph.implications import KINDS
from core.identify import Query
from workbench import graph_answers as ga
from workbench import graph_view
from workbench.graph_answers import Keys as K
from workbench.keys import Shared
from workbench.query import QueryAnswer

KIND_LABELS = {"missing_edge": "one per missing edge", "basis": "one per node (local Markov basis)"}
CORRECTION_LABELS = {"holm": "Holm (family-wise)", "bh": "Benjamini-Hochberg (false discoveries)", "none": "none"}


def _names(names: Sequence[str]) -> str:
    return "{" + ", ".join(names) + "}" if names else "∅ (nothing)"


def _formula(latex: str) -> None:
    """A display formula (in Markdown, so the identification panel's st.latex stays the page's only one)."""
    st.markdown(f"$$\n{latex}\n$$")


def show(graph: ADMG, treatment: Sequence[str], outcome: Sequence[str], given: Sequence[str],
         answer: QueryAnswer | None) -> None:
    """The answers panels under the question, as tabs."""
    state = st.session_state
    data: Dataset | None = state.get(Shared.DATASET)
    st.subheader("What else the graph answers")
    asked = bool(treatment) and bool(outcome)
    if asked:
        try:
            Query(graph, outcome=outcome, treatment=treatment, given=given)
        except WorkbenchError:
            st.caption("Fix the question above (the red line) to see adjustment sets, paths and instruments.")
            asked = False
    tabs = st.tabs(["Adjustment", "Paths", "Instruments & front door", "Testable implications", "A number"])
    with tabs[3]:
        _implications(graph, data)
    if not asked:
        for tab in (tabs[0], tabs[1], tabs[2], tabs[4]):
            tab.info("Pick a treatment and an outcome above.", icon=":material/help:")
        return
    try:
        adjustment = ga.adjustment_answer(graph, treatment, outcome)
    except WorkbenchError as e:
        for tab in (tabs[0], tabs[1], tabs[2], tabs[4]):
            tab.error(str(e), icon=":material/error:")
        return
    with tabs[0]:
        adjusted = _adjustment(graph, treatment, outcome, given, adjustment)
    with tabs[1]:
        _paths(graph, treatment, outcome, adjusted, adjustment)
    with tabs[2]:
        _instruments(adjustment, treatment, outcome)
    with tabs[4]:
        _number(graph, data, treatment, outcome, given, answer, adjustment)


def _adjustment(graph: ADMG, treatment: Sequence[str], outcome: Sequence[str], given: Sequence[str],
                adjustment: ga.AdjustmentAnswer) -> list[str]:
    """Minimal sets with formulas, and a set to check; returns the set chosen (for the paths)."""
    effect = f"the effect of {', '.join(treatment)} on {', '.join(outcome)}"
    if given:
        st.caption("Adjustment sets answer P(outcome | do(treatment)); the conditioning set is left aside here.")
    if not adjustment.minimal_sets:
        st.warning(f"No set of observed variables adjusts for {effect} (generalized adjustment criterion). "
                   "See the front door, instruments, or the identification formula above.", icon=":material/block:")
    elif adjustment.minimal_sets == ((),):
        st.success(f"No adjustment is needed for {effect}.", icon=":material/check_circle:")
    else:
        st.markdown(f"**Minimal sufficient adjustment sets** for {effect}:")
        for i, (s, formula) in enumerate(zip(adjustment.minimal_sets, adjustment.formulas, strict=True), start=1):
            st.markdown(f"{i}. {_names(s)}")
            _formula(formula)
        if not adjustment.complete:
            st.caption(f"The first {ga.MAX_SETS} sets are shown.")
    options = [v for v in graph.names if v not in treatment and v not in outcome]
    state = st.session_state
    state[K.CHECK_SET] = [v for v in state.get(K.CHECK_SET, []) if v in options]
    chosen = st.multiselect("Adjust for (check a set, and see which paths it closes)", options, key=K.CHECK_SET)
    try:
        check = ga.check_set(graph, treatment, outcome, chosen)
    except WorkbenchError as e:
        st.error(str(e), icon=":material/error:")
        return chosen
    if check.valid:
        st.success(f"{_names(check.adjusted)} is a valid adjustment set.", icon=":material/check_circle:")
        _formula(check.formula)
    else:
        st.warning(f"{_names(check.adjusted)} is not a valid adjustment set: {check.reason}.", icon=":material/block:")
    return chosen


def _paths(graph: ADMG, treatment: Sequence[str], outcome: Sequence[str], adjusted: Sequence[str],
           adjustment: ga.AdjustmentAnswer) -> None:
    paths = ga.paths_answer(graph, treatment, outcome, adjusted, adjustment.minimal_sets)
    marks = graph_view.Marks(treatment=tuple(treatment), outcome=tuple(outcome), given=tuple(adjusted),
                             path_roles=paths.path_roles)
    st.markdown(f"Paths given the adjusted set {_names(adjusted)}: open causal paths in green, open biasing "
                "(non-causal) paths in pink.")
    st.iframe(graph_view.graph_html(graph, marks, height=330))
    for kind, title in (("causal", "Causal paths"), ("biasing", "Biasing paths (open)"), ("blocked", "Blocked non-causal paths")):
        rows = [r for r in paths.rows if r.kind == kind]
        if not rows:
            continue
        st.markdown(f"**{title}**")
        for r in rows:
            closers = f" — closed by set{'s' if len(r.closed_by) > 1 else ''} {', '.join(map(str, r.closed_by))}" \
                if r.closed_by else ""
            st.markdown(f"- `{r.text}`{closers}")
    if not paths.rows:
        st.info("No path joins the treatment and the outcome.", icon=":material/info:")
    if not paths.complete:
        st.caption(f"The first {ga.MAX_PATHS} paths are listed.")


def _instruments(adjustment: ga.AdjustmentAnswer, treatment: Sequence[str], outcome: Sequence[str]) -> None:
    if len(treatment) == 1 and len(outcome) == 1:
        if adjustment.instruments:
            st.markdown("**Instrumental variables** (conditional ones with the set to condition on):")
            for i in adjustment.instruments:
                st.markdown(f"- {i.instrument}" + (f" given {_names(i.given)}" if i.given else ""))
            st.caption("Instruments identify the effect under extra assumptions (e.g. linearity), not from the "
                       "graph alone.")
        else:
            st.info("No instrumental variable.", icon=":material/info:")
    else:
        st.caption("Instruments are listed for one treatment and one outcome.")
    fd = adjustment.front_door
    if fd is not None and fd.minimal:
        st.markdown(f"**Front-door set:** {_names(fd.minimal)} (every node that may be in one: {_names(fd.largest)})")
        _formula(adjustment.front_door_formula)
    elif fd is None:
        st.info("No front-door set.", icon=":material/info:")


def _implications(graph: ADMG, data: Dataset | None) -> None:
    state = st.session_state
    kind = st.radio("List", KINDS, key=K.KIND, format_func=KIND_LABELS.get, horizontal=True)
    found = ga.implications_answer(graph, kind)
    if found.independencies:
        st.markdown("**Conditional independences the graph implies:**")
        st.code("\n".join(found.independencies), language=None)
    else:
        st.info("The graph implies no conditional independence.", icon=":material/info:")
    for text, latex in found.verma:
        st.markdown(f"**Equality (Verma) constraint:** {text}, where")
        _formula(f"Q = {latex}")
    problem = ga.data_problem(graph, data)
    if problem:
        st.caption(f"Not tested on data: {problem}.")
        return
    c1, c2 = st.columns(2)
    alpha = c1.number_input("Level α", min_value=0.001, max_value=0.5, value=0.05, step=0.01, key=K.ALPHA)
    correction = c2.selectbox("Correction", CORRECTIONS, key=K.CORRECTION, format_func=CORRECTION_LABELS.get)
    signature = ga.tests_signature(graph, data, kind, alpha, correction)
    if st.button("Test these claims on the data", key=K.TEST_DATA, icon=":material/science:"):
        try:
            state[K.TESTED] = (signature, ga.check_on_data(graph, data, kind, alpha, correction))
        except WorkbenchError as e:
            st.error(str(e), icon=":material/error:")
    stored = state.get(K.TESTED)
    if stored is None or stored[0] != signature:
        return
    result = stored[1]
    bad = result.contradicted
    if bad:
        st.warning(f"The data contradict {len(bad)} of the graph's {len(result.tested)} tested claims: "
                 + "; ".join(str(c) for c in bad), icon=":material/warning:")
    elif result.tested:
        st.success(f"The data contradict none of the {len(result.tested)} tested claims.", icon=":material/check_circle:")
    st.dataframe(ga.claims_rows(result), hide_index=True)


def _number(graph: ADMG, data: Dataset | None, treatment: Sequence[str], outcome: Sequence[str],
            given: Sequence[str], answer: QueryAnswer | None, adjustment: ga.AdjustmentAnswer) -> None:
    problem = ga.estimate_problem(graph, data, treatment, outcome, given)
    if problem:
        st.info(f"No plug-in number here: {problem}.", icon=":material/info:")
        st.page_link("views/explore.py", label="Explore", icon=":material/travel_explore:")
        st.page_link("views/effects.py", label="Effects", icon=":material/analytics:")
        return
    identified = answer.estimand_json if answer is not None and answer.identifiable else None
    formulas = ga.estimate_formulas(identified, adjustment.minimal_sets, treatment, outcome)
    if not formulas:
        st.info("The query is not identifiable, so the data cannot give a number for it.", icon=":material/block:")
        return
    state = st.session_state
    signature = ga.estimate_signature(graph, data, treatment, outcome)
    if st.button(f"Estimate from the data ({ga.BOOTSTRAP} bootstrap resamples)", key=K.ESTIMATE, icon=":material/calculate:"):
        try:
            state[K.ESTIMATED] = (signature, ga.estimate_answer(graph, data, treatment, outcome, formulas))
        except WorkbenchError as e:
            st.error(str(e), icon=":material/error:")
    stored = state.get(K.ESTIMATED)
    if stored is None or stored[0] != signature:
        return
    est = stored[1]
    for name, why in est.failures:
        st.warning(f"The {name} cannot be evaluated on these data: {why}", icon=":material/warning:")
    if not est.rows:
        return
    st.dataframe([{"formula": r.formula, "do": r.treatment, "P(outcome)": r.outcome, "estimate": round(r.value, 4),
                   "95% low": round(r.low, 4), "95% high": round(r.high, 4)} for r in est.rows], hide_index=True)
    for name, value, low, high in est.effects:
        st.markdown(f"Average effect by the {name}: **{value:+.3f}** (95% interval {low:+.3f} to {high:+.3f})")
