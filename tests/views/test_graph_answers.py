"""The Graph page's answers panels driven headless with Streamlit's AppTest: adjustment sets and a
checked set, paths, instruments, implications tested on sampled data, and a plug-in number."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.data import Dataset
from core.graph import parse_dagitty
from core.worlds.discrete import DiscreteSCM
from tests.helpers import APP
from workbench import graph_state
from workbench.graph_answers import Keys
from workbench.keys import Shared

GRAPH = parse_dagitty("dag { Z -> X -> Y ; Z -> Y ; I -> X ; A -> Z ; A -> Y }")


@pytest.fixture(autouse=True)
def fresh_workspace_root(tmp_path, monkeypatch):
    monkeypatch.setenv("CAUSAL_WORKBENCH_WORKSPACES", str(tmp_path / "workspaces"))


def start_with(graph, data=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    graph_state.set_graph(at.session_state, graph, "test")
    if data is not None:
        at.session_state[Shared.DATASET] = data
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask(at: AppTest, treatment, outcome) -> AppTest:
    at.multiselect(key=Shared.TREATMENT).set_value(treatment)
    at.multiselect(key=Shared.OUTCOME).set_value(outcome).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [s.value for s in at.success] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [c.value for c in at.caption] + [w.value for w in at.warning]
    return "\n".join(parts)


def test_panels_answer_the_question_and_check_the_data():
    world = DiscreteSCM(GRAPH, seed=3, alpha=0.7)
    at = start_with(GRAPH, Dataset.from_units(world.sample(3000, seed=0), GRAPH))
    ask(at, [], [])
    assert "Pick a treatment and an outcome above." in page_text(at)
    ask(at, ["X"], ["Y"])
    text = page_text(at)
    assert "Minimal sufficient adjustment sets" in text and "1. {Z}" in text
    assert "- I" in text  # the instrument
    assert "`X <- Z -> Y`" in text and "closed by set 1" in text
    at.multiselect(key=Keys.CHECK_SET).set_value(["A"]).run()
    assert "{A} is not a valid adjustment set: a non-causal path from the treatment to the outcome stays open." \
        in page_text(at)
    at.button(key=Keys.TEST_DATA).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "The data contradict none of the 4 tested claims." in page_text(at)
    at.button(key=Keys.ESTIMATE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    assert "Average effect by the adjustment for {Z}" in text
    # ID's formula conditions on every parent: with 3000 rows some of its strata are empty
    assert "The identification formula cannot be evaluated on these data: cannot evaluate the estimand" in text


def test_without_data_the_implications_are_listed_not_tested():
    at = start_with(parse_dagitty("dag { W1 -> W2 -> X -> Y ; W1 <-> X ; W1 <-> Y }"))
    ask(at, ["X"], ["Y"])
    text = page_text(at)
    assert "Equality (Verma) constraint:" in text and "Not tested on data: no data loaded" in text
    assert "No set of observed variables adjusts for the effect of X on Y" in text
    assert "No plug-in number here: no data loaded" in text
