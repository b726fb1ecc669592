"""The Effects page's attribution logic (``workbench.effects_page``): which input SCMs can exist for
a predictor's inputs, predictors trained or uploaded, their ACE curves, the model row of the
attribute-shift table.

Ground truth for "can exist" is ``core.effects.attributions`` itself: InputSCM refuses inputs that
share a hidden confounder in the graph's latent projection, and builds one otherwise.  The page asks
``input_scm_problem`` BEFORE training, so the two must agree on every input set of these graphs.
The curves are checked against the path coefficients of a linear-Gaussian world.
"""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pandas as pd
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
    from core.effects import attribute_shift_table
    from core.runs.checkpoint import load_run
    from core.runs.train import TrainOptions, train
    from core.worlds.discrete import DiscreteSCM, napkin
    from workbench.explore.models import ModelHub

    g = parse_dagitty("dag { M -> B ; M -> L ; M <-> Yg }")
    world = DiscreteSCM(g, seed=3)
    ds = Dataset.from_values(dict(world.sample(4000, 0).values), g)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(g, ds, tmp_path / "run", options=TrainOptions(preset="quick", steps=300, device="cpu"), accelerator=None)
    finally:
        torch.set_num_threads(threads)
    run, hub = load_run(tmp_path / "run"), ModelHub()
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


# ---- predictors and their attributions


def linear_dataset(n=4000, seed=0):
    """A -> M -> B -> Y, A -> Y (linear-Gaussian; M is not one of the predictor's inputs).
    E[Y | A, B] = 0.5 A + 1.5 B: direct slopes 0.5 (A) and 1.5 (B); A's total slope through M and B
    is 0.5 + 1.0 * 0.8 * 1.5 = 1.7."""
    from core.data import Dataset
    from core.worlds.linear import LinearGaussianWorld

    w = LinearGaussianWorld({("A", "M"): 1.0, ("M", "B"): 0.8, ("A", "Y"): 0.5, ("B", "Y"): 1.5},
                            noise={"A": 1.0, "M": 0.5, "B": 0.5, "Y": 0.3})
    return Dataset.from_values(dict(w.sample(n, seed).values), w.graph), w


def slope(curve, grid):
    return float(np.polyfit(grid, curve, 1)[0])


def test_attribution_logic_recovers_linear_path_coefficients():
    ds, w = linear_dataset()
    g = ds.graph
    assert E.default_predictor_query(g) == ("Y", ["A", "M", "B"])
    assert list(E.input_graph(g, ["A", "B"]).directed) == [("A", "B")]  # the path through M, projected
    pred = E.train_workspace_predictor(ds, g, "Y", ["A", "B"], ante_hoc=True, steps=600)
    assert pred.fit_rmse < 0.45 and pred.scm is not None  # Y's noise sd is 0.3
    assert E.scm_choices(pred, neural_available=False) == ["ante-hoc", "fitted", "none"]
    truth = {"A": (1.7, 0.5), "B": (1.5, 1.5)}  # (total, direct) slopes
    for source in ("ante-hoc", "fitted"):
        curves = E.attribution_curves(pred, ds, g, E.input_scm(source, pred, ds, g), points=15, max_units=800)
        for v, (total, direct) in truth.items():
            c = curves[v]
            assert slope(c.total, c.grid) == pytest.approx(total, abs=0.15), (source, v)
            assert slope(c.direct, c.grid) == pytest.approx(direct, abs=0.15), (source, v)
    split = E.effect_split(curves).set_index(["input", "part"])
    assert split.loc[("A", "indirect"), "share"] == pytest.approx(1.2 / (1.2 + 0.5), abs=0.08)
    assert split.loc[("B", "indirect"), "size"] < 0.02
    # direct-only reading (inputs independent): A's path through B disappears
    naive = E.attribution_curves(pred, ds, g, E.input_scm("none", pred, ds, g), points=15)
    assert slope(naive["A"].total, naive["A"].grid) == pytest.approx(0.5, abs=0.15)
    frame = E.curves_frame(curves)
    assert set(frame.kind) == set(E.CURVE_KINDS) and len(frame) == 2 * 15 * 4
    table = pd.read_csv(io.StringIO(E.attribution_csv(frame, split.reset_index(), pred.label)))
    assert set(table.table) == {"ace curve", "effect size"}
    # the observational curve of A also carries B's association: steeper than the direct one
    assert slope(curves["A"].observational, curves["A"].grid) > 1.2


def test_predictor_upload_round_trip_and_bad_input():
    ds, _ = linear_dataset(1000)
    g = ds.graph
    pred = E.train_workspace_predictor(ds, g, "Y", ["A", "B"], ante_hoc=False, steps=50)
    files = E.predictor_files(pred)
    back = E.load_uploaded_predictor(files["predictor.json"], files["predictor.safetensors"], g)
    assert back.inputs == ["A", "B"] and back.mode == "uploaded" and back.target is None
    import torch

    x = torch.as_tensor(E.input_matrix(ds, ["A", "B"])[:20], dtype=torch.float32)
    assert torch.allclose(back.module(x), pred.module(x))
    other = files["predictor.json"].replace(b'"A"', b'"Q"')
    with pytest.raises(Exception, match="'Q' is not a node"):
        E.load_uploaded_predictor(other, files["predictor.safetensors"], g)
    with pytest.raises(Exception, match="not a readable safetensors"):
        E.load_uploaded_predictor(files["predictor.json"], b"garbage", g)
    huge = json.dumps({**json.loads(files["predictor.json"]), "hidden": [100_000, 100_000]}).encode()
    with pytest.raises(WorkbenchError, match="a hidden layer of 100,000 units, more than the limit of 4,096"):
        E.load_uploaded_predictor(huge, files["predictor.safetensors"], g)  # not a 40 GB allocation
    with pytest.raises(Exception, match="both the target and an input"):
        E.train_workspace_predictor(ds, g, "Y", ["A", "Y"], ante_hoc=False, steps=5)
    with pytest.raises(Exception, match="at least one input"):
        E.train_workspace_predictor(ds, g, "Y", [], ante_hoc=False, steps=5)


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


def test_attribution_panels_share_one_y_axis_and_the_total_shows_under_the_direct_curve():
    import pandas as pd

    # a tiny effect beside a large one: on separate axes +-0.005 looked like +-0.3
    rows = [{"input": name, "value": a, "kind": kind, "ace": scale * (a - 0.5)}
            for name, scale in (("Male", 0.6), ("Young", 0.01)) for kind in E.CURVE_KINDS for a in (0.0, 1.0)]
    fig = E.curves_figure(pd.DataFrame(rows), "Y")
    axes = {"y": fig.layout.yaxis, "y2": fig.layout.yaxis2}
    assert len({ax.matches or name for name, ax in axes.items()}) == 1  # one scale for both panels
    total, direct = (next(t for t in fig.data if t.name == k and t.xaxis == "x") for k in ("total", "direct"))
    # total == direct here (no indirect part): the total is the wide pale band drawn first, direct inside it
    assert list(fig.data).index(total) < list(fig.data).index(direct)
    assert total.line.width > 2 * direct.line.width and total.opacity < 1


def test_the_effects_page_opens_on_an_attribute_other_than_the_treatment():
    faces = [("Male", None), ("Young", None), ("Face", "Male"), ("Face", "Young"), ("Face", "Beard")]
    assert faces[E.default_effect_outcome(faces, "Face", "Male")] == ("Face", "Young")
    assert faces[E.default_effect_outcome(faces, "Face", "Young")] == ("Face", "Male")
    assert E.default_effect_outcome([("X", None), ("Y", None)], "Y", "X") == 1  # a scalar outcome is itself
    assert E.default_effect_outcome([("X", None), ("Y", None)], "Q", "X") == 1  # unknown: the last
