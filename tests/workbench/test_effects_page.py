"""core.ui_effects: which input SCMs (ante-hoc, fitted) can exist for a predictor's inputs.

Ground truth for "can exist" is core.attributions itself: InputSCM refuses inputs that share a hidden
confounder in the graph's latent projection, and builds one otherwise.  The page asks
``input_scm_problem`` BEFORE training, so the two must agree on every input set of these graphs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.assets import ASSETS
from core.effects.attributions import InputSCM
from core.errors import WorkbenchError
from core.graph import load_graph, parse_dagitty
from workbench import effects_page as E

FACES = load_graph(str(ASSETS / "graphs" / "faces.json"))
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


# ---- the model row of the attribute-shift table on a graph with a hidden confounder


def test_shift_model_answers_counterfactuals_beside_a_confounder_and_refuses_through_one(tmp_path):
    """Faces without the image: M -> B, M -> L, M <-> Yg (discrete world with exact counterfactuals).
    Under do(M = 1) the recomputed nodes B, L have no bidirected edge, so the trained SCM without
    M <-> Yg gives each unit's counterfactual: Yg never changes (as in the truth) and B, L change
    as often as in the truth.  Through a confounder (napkin, do(X): X -> Y with W1 <-> Y) it refuses."""
    import torch

    from core.data import Dataset
    from core.effects.estimates import attribute_shift_table
    from core.runs.checkpoint import load_run
    from core.runs.train import TrainOptions, train
    from core.worlds.discrete import DiscreteSCM, napkin
    from workbench import explore

    g = parse_dagitty("dag { M -> B ; M -> L ; M <-> Yg }")
    world = DiscreteSCM(g, seed=3)
    ds = Dataset.from_values(dict(world.sample(4000, 0).values), g)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(g, ds, tmp_path / "run", options=TrainOptions(preset="quick", steps=300, device="cpu"), accelerator=None)
    finally:
        torch.set_num_threads(threads)
    run, hub = load_run(tmp_path / "run"), explore.ModelHub()
    assert E.shift_confounders(g, "M") == []
    model, note = E.shift_model(hub, run, g, "M")
    assert model is not None and note == ""

    def read(columns):
        return {v: np.asarray(columns[v]) for v in g.names}

    table = attribute_shift_table(world, "M", 1, read, model=model, n=2000, seed=1)
    pct = table.set_index(["attribute", "method"])["changed_pct"]
    assert pct[("Yg", "model")] == pct[("Yg", "truth")] == 0.0
    assert pct[("M", "model")] == pct[("M", "truth")] == 100.0
    # B, L: ~1000 units, binomial sd <= 1.6 pp; and a categorical model's Gumbel-max coupling of
    # factual and counterfactual is one of many that fit the same conditionals (the world's is
    # another), so a few pp differ even for exact tables (measured: 0.6 and 2.9 pp; naive 11 and 21 pp).
    for v in ("B", "L"):
        assert abs(pct[(v, "model")] - pct[(v, "truth")]) < 6.0, (v, pct[(v, "model")], pct[(v, "truth")])

    ng = napkin().graph
    assert E.shift_confounders(ng, "X") == [("W1", "Y")]
    model, note = E.shift_model(hub, run, ng, "X")
    assert model is None and "W1 <-> Y" in note


def test_curves_figure_ticks_discrete_levels_and_keeps_the_legend_off_the_axes():
    import pandas as pd

    assert E.discrete_ticks([0.0, 1.0, 1.0, 0.0]) == [0.0, 1.0]
    assert E.discrete_ticks([0.0, 0.5, 1.0]) is None and E.discrete_ticks(range(30)) is None
    rows = [{"input": name, "value": a, "kind": kind, "ace": a}
            for name, grid in (("Male", [0.0, 1.0]), ("T", [0.0, 0.25, 0.5, 0.75])) for kind in E.CURVE_KINDS
            for a in grid]
    fig = E.curves_figure(pd.DataFrame(rows), "Y")
    assert list(fig.layout.xaxis.tickvals) == [0.0, 1.0] and fig.layout.xaxis2.tickvals is None
    assert {t.mode for t in fig.data if t.xaxis == "x"} == {"lines+markers"}
    # above the panels: a legend under them sat on the last row's x-axis title
    assert fig.layout.legend.yref == "container" and fig.layout.legend.yanchor == "top"


def test_the_effects_page_opens_on_an_attribute_other_than_the_treatment():
    faces = [("Male", None), ("Young", None), ("Face", "Male"), ("Face", "Young"), ("Face", "Beard")]
    assert faces[E.default_effect_outcome(faces, "Face", "Male")] == ("Face", "Young")
    assert faces[E.default_effect_outcome(faces, "Face", "Young")] == ("Face", "Male")
    assert E.default_effect_outcome([("X", None), ("Y", None)], "Y", "X") == 1  # a scalar outcome is itself
    assert E.default_effect_outcome([("X", None), ("Y", None)], "Q", "X") == 1  # unknown: the last
