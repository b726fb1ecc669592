"""workbench.graph_answers: the Graph page's adjustment, paths, instruments, implications and
estimate panels as plain records (no Streamlit)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import Dataset
from core.errors import WorkbenchError
from core.graph import ADMG, Node, parse_dagitty
from core.identify import identify
from core.worlds.discrete import DiscreteSCM
from workbench import graph_answers as ga

CONFOUNDED = parse_dagitty("dag { Z -> X -> M -> Y ; Z -> Y ; I -> X ; X -> Y }")


def test_adjustment_answer_lists_sets_formulas_and_instruments():
    a = ga.adjustment_answer(CONFOUNDED, ["X"], ["Y"])
    assert a.minimal_sets == (("Z",),) and a.complete
    assert a.formulas == (r"P(Y \mid \mathrm{do}(X)) = \sum_{Z} P\left(Y \mid X, Z\right) \, P\left(Z\right)",)
    assert [str(i) for i in a.instruments] == ["I"] and a.front_door is None and a.front_door_formula == ""
    fd = ga.adjustment_answer(parse_dagitty("dag { X -> M -> Y ; X <-> Y }"), ["X"], ["Y"])
    assert fd.minimal_sets == () and fd.front_door.minimal == ("M",)
    assert fd.front_door_formula.startswith(r"P(Y \mid \mathrm{do}(X)) = \sum_{M}")


def test_check_set():
    ok = ga.check_set(CONFOUNDED, ["X"], ["Y"], ["Z", "I"])
    assert ok.valid and ok.reason == "" and r"\sum_{Z, I}" in ok.formula
    bad = ga.check_set(CONFOUNDED, ["X"], ["Y"], ["M"])
    assert not bad.valid and "M is on or after a causal path" in bad.reason and bad.formula == ""
    with pytest.raises(WorkbenchError, match="X is the treatment"):
        ga.check_set(CONFOUNDED, ["X"], ["Y"], ["X"])


def test_paths_answer_says_which_set_closes_which_path():
    g = parse_dagitty("dag { X -> Y ; A -> X ; A -> Y ; B -> X ; B -> C -> Y }")
    sets = ga.adjustment_answer(g, ["X"], ["Y"]).minimal_sets
    assert sets == (("A", "B"), ("A", "C"))
    paths = ga.paths_answer(g, ["X"], ["Y"], [], sets)
    rows = {r.text: (r.kind, r.closed_by) for r in paths.rows}
    assert rows == {"X -> Y": ("causal", ()), "X <- A -> Y": ("biasing", (1, 2)),
                    "X <- B -> C -> Y": ("biasing", (1, 2))}
    assert dict(paths.path_roles)[("X", "Y", "directed")] == "causal"
    assert dict(paths.path_roles)[("B", "C", "directed")] == "biasing"
    adjusted = ga.paths_answer(g, ["X"], ["Y"], ["A", "C"], sets)
    assert {r.text: r.kind for r in adjusted.rows}["X <- B -> C -> Y"] == "blocked"


def test_implications_answer_and_data_checks():
    napkin = parse_dagitty("dag { W1 -> W2 -> X -> Y ; W1 <-> X ; W1 <-> Y }")
    found = ga.implications_answer(napkin)
    assert found.independencies == () and found.verma[0][0] == "Q[Y](X, Y) does not depend on W2"
    assert ga.data_problem(napkin, None).startswith("no data loaded")
    world = DiscreteSCM(CONFOUNDED, seed=1)
    data = Dataset.from_units(world.sample(500), CONFOUNDED)
    assert ga.data_problem(CONFOUNDED, data) == ""
    assert "missing column for graph node 'Q'" in ga.data_problem(CONFOUNDED.with_node(Node("Q")), data)
    result = ga.check_on_data(CONFOUNDED, data)
    rows = ga.claims_rows(result)
    assert [r["claim"] for r in rows] == [str(c) for c in result.claims] and len(rows) == 4
    assert {r["verdict"] for r in rows} <= {"consistent", "contradicted"} and all(r["test"] == "G-test" for r in rows)


def test_estimate_answer_for_a_discrete_question():
    world = DiscreteSCM(CONFOUNDED, seed=2, alpha=0.7)
    data = Dataset.from_units(world.sample(10_000, seed=0), CONFOUNDED)
    assert ga.estimate_problem(CONFOUNDED, data, ["X"], ["Y"], []) == ""
    formulas = ga.estimate_formulas(identify(CONFOUNDED, ["X"], ["Y"]).to_json(), (("Z",),), ["X"], ["Y"])
    assert [name for name, _ in formulas] == ["identification formula", "adjustment for {Z}"]
    est = ga.estimate_answer(CONFOUNDED, data, ["X"], ["Y"], formulas, n_boot=40)
    truth = world.do_table(["X"], ["Y"])
    assert [(r.formula, r.treatment, r.outcome) for r in est.rows][:2] == [
        ("identification formula", "X=0", "Y=1"), ("identification formula", "X=1", "Y=1")]
    for r in est.rows:
        assert abs(r.value - truth[1, int(r.treatment[-1])]) < 0.03 and r.low <= r.value <= r.high
    (name, effect, low, high), _ = est.effects
    assert name == "identification formula" and low <= truth[1, 1] - truth[1, 0] <= high


def test_estimate_problems():
    typed = ADMG([Node("X"), Node("Y", "continuous")], [("X", "Y")])
    data = Dataset.from_values({"X": np.arange(10) % 2, "Y": np.linspace(0, 1, 10)}, typed)
    assert "continuous or an image" in ga.estimate_problem(typed, data, ["X"], ["Y"], [])
    assert "without conditioning" in ga.estimate_problem(typed, data, ["X"], ["Y"], ["X"])
    assert ga.estimate_problem(typed, None, ["X"], ["Y"], []).startswith("no data loaded")
