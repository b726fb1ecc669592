"""core.ui_effects: which input SCMs (ante-hoc, fitted) can exist for a predictor's inputs.

Ground truth for "can exist" is core.attributions itself: InputSCM refuses inputs that share a hidden
confounder in the graph's latent projection, and builds one otherwise.  The page asks
``input_scm_problem`` BEFORE training, so the two must agree on every input set of these graphs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from core import ui_effects as E
from core.attributions import InputSCM
from core.errors import WorkbenchError
from core.graph import load_graph, parse_dagitty

FACES = load_graph(str(Path(__file__).resolve().parent.parent / "assets" / "graphs" / "faces.json"))
# A confounder behind a non-input: A -> M -> B with M <-> C; projecting M out of {A, B, C} gives A -> B, B <-> C.
CHAIN = parse_dagitty("dag { A -> M -> B ; M <-> C ; C -> Y ; B -> Y ; A -> Y }")


def refused_by_input_scm(graph, inputs, target=None) -> bool:
    try:
        InputSCM(list(inputs), E.input_graph(graph, inputs, target))
    except WorkbenchError:
        return True
    return False


@pytest.mark.parametrize("graph", [FACES, CHAIN], ids=["faces", "chain"])
def test_the_problem_is_said_exactly_when_input_scm_refuses(graph):
    scalars = E.scalar_nodes(graph)
    for target in scalars:
        others = [v for v in scalars if v != target]
        for k in range(1, len(others) + 1):
            for inputs in itertools.combinations(others, k):
                for keep_target in (None, target):
                    problem = E.input_scm_problem(graph, inputs, keep_target)
                    assert (problem is not None) == refused_by_input_scm(graph, inputs, keep_target), (inputs, target)


def test_faces_default_inputs_name_the_confounder_and_offer_plain_training_only():
    target, inputs = E.default_predictor_query(FACES)
    problem = E.input_scm_problem(FACES, inputs, target)
    assert problem is not None and "Male <-> Young" in problem
    assert E.training_modes(problem) == ["plain"]
    # without Young the inputs' projection is a DAG: both modes
    rest = [v for v in inputs if v != "Young"]
    assert E.input_scm_problem(FACES, rest, target) is None
    assert E.training_modes(None) == list(E.TRAINING_MODES)
    # a confounder hidden behind a non-input node shows up in the projection
    assert "B <-> C" in E.input_scm_problem(CHAIN, ["A", "B", "C"])


def test_scm_choices_leave_out_the_fitted_scm_when_it_cannot_exist():
    pred = E.Predictor(module=None, inputs=["Male", "Young"], target="Lipstick", mode="plain")
    assert E.scm_choices(pred, neural_available=False) == ["fitted", "none"]
    assert E.scm_choices(pred, neural_available=False, fit_possible=False) == ["none"]
