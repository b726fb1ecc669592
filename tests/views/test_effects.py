"""The Effects page and its logic: conditioning vs intervention curves (with the spurious gap),
effect sizes with bootstrap intervals, attribute shifts, CSV export.

Ground truth: the back-door world (Simpson-like: the association and the effect have opposite signs)
with exact do-tables, a NeuralSCM trained briefly on its data, ID-GEN on the front-door world, and
the bow world's hedge."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.effects.estimates import WorldSampler
from core.graph import Node
from core.runs import workspace as W
from core.worlds.registry import sample_dataset
from tests.helpers import APP, make_trained_workspace
from workbench import explore as X
from workbench.effects_page import SCM_SOURCES

PAGE = "views/effects.py"


@pytest.fixture(scope="module")
def backdoor(tmp_path_factory):
    """Back-door world, 3000 units, every node trained 150 steps (categorical mechanisms)."""
    root = tmp_path_factory.mktemp("backdoor")
    return (root, *make_trained_workspace(root, "backdoor", n=3000, steps=150))


def open_page(root, monkeypatch) -> AppTest:
    monkeypatch.setenv(W.ENV_ROOT, str(root))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Effects"]
    return at


def compute(at: AppTest) -> dict:
    at.button(key="ef_compute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["ef_result"]


# ---- pure pieces


def test_treatment_values_and_outcome_choices():
    ds, world = sample_dataset("morpho_digits", 200, seed=0, params={"size": 16})
    g = ds.graph
    assert X.treatment_values(g.node("digit"), ds) == list(range(10))
    t = X.treatment_values(g.node("thickness"), ds, k=5)
    q = np.quantile(ds.column("thickness"), [0.05, 0.95])
    assert len(t) == 5 and t == sorted(t) and t[0] == pytest.approx(q[0], rel=1e-3) and t[-1] == pytest.approx(q[1], rel=1e-3)
    with pytest.raises(Exception, match="is an image"):
        X.treatment_values(g.node("image"), ds)
    choices = X.outcome_choices(g, world)
    assert choices[:5] == [("thickness", None), ("intensity", None), ("digit", None), ("image", "thickness"),
                           ("image", "intensity")]
    assert ("image", "digit=3") in choices and ("image", "digit") not in choices  # a mean of digit codes means nothing
    assert X.outcome_label(("image", "digit=3")) == "image · P(digit = 3) (probe)"
    assert X.outcome_label(("image", "thickness")) == "image · thickness (probe)"
    assert X.outcome_choices(g, None) == choices[:3]
    imgs = world.interventional_samples({"digit": 3}, 20, 0).values["image"]
    is3 = X.make_readout(world, g, "image", "digit=3")(imgs)
    assert set(np.unique(is3)) <= {0.0, 1.0} and is3.mean() > 0.8
    with pytest.raises(Exception, match="has no level '12'"):
        X.make_readout(world, g, "image", "digit=12")


def test_value_shares():
    d = X.value_shares(Node("Y", "categorical", levels=3), np.array([0, 2, 2, 2]))
    assert list(d.share) == [0.25, 0.0, 0.75]
    c = X.value_shares(Node("Y", "continuous"), np.linspace(0, 1, 50))
    assert len(c) == 10 and c.share.sum() == pytest.approx(1.0)


def test_truth_curves_match_exact_tables_and_show_the_spurious_gap():
    ds, world = sample_dataset("backdoor", 4000, seed=0)
    curves = X.effect_curves(ds, ds.graph, "X", "Y", [0, 1], truth=WorldSampler(world), n=20000, n_boot=200)
    exact = world.do_table(["X"], ["Y"])[1]  # P(Y=1 | do(X=x)) for x = 0, 1
    truth = curves[curves.source == "intervention (truth)"].set_index("value")
    for x in (0, 1):
        assert truth.loc[x, "low"] - 0.01 <= exact[x] <= truth.loc[x, "high"] + 0.01
    data = ds.values
    obs = curves[curves.source == "conditioning (data)"].set_index("value")
    for x in (0, 1):
        assert obs.loc[x, "mean"] == pytest.approx(data["Y"][data["X"] == x].mean())
    gap = X.spurious_gap(curves, causal="intervention (truth)")
    # this world is Simpson-like: seeing X=1 goes with LESS Y, setting X=1 gives MORE Y
    assert (obs.loc[1, "mean"] - obs.loc[0, "mean"]) < 0 < (exact[1] - exact[0])
    assert gap.set_index("value").loc[0, "spurious"] > 0.1
    sizes = X.effect_sizes(ds, ds.graph, "X", "Y", 1, 0, truth=WorldSampler(world), n=20000, n_boot=300)
    ate = sizes[(sizes.quantity == "ATE") & (sizes.source == "truth")].iloc[0]
    assert ate.low <= exact[1] - exact[0] + 0.01 and exact[1] - exact[0] - 0.01 <= ate.high
    spur = sizes[sizes.quantity == "spurious part"].iloc[0]
    obs_diff = sizes[sizes.quantity == "observational difference"].iloc[0]
    assert spur.estimate == pytest.approx(obs_diff.estimate - ate.estimate)


# ---- the page


def test_trained_model_recovers_the_effect_and_the_gap(backdoor, monkeypatch):
    root, ws, ds, world = backdoor
    at = open_page(root, monkeypatch)
    assert at.session_state["ef_treatment"] == "X" and at.session_state["ef_outcome"] == "Y"
    assert any("Press Compute" in c.value for c in at.caption)
    res = compute(at)
    assert res["error"] is None, res["error"]
    curves = res["curves"]
    exact = world.do_table(["X"], ["Y"])[1]
    model = curves[curves.source == "intervention (model)"].set_index("value")
    data = curves[curves.source == "conditioning (data)"].set_index("value")
    for x in (0, 1):
        assert abs(model.loc[x, "mean"] - exact[x]) < 0.06, (x, model.loc[x, "mean"], exact[x])
    assert abs(data.loc[0, "mean"] - exact[0]) > 0.12  # conditioning is far from the causal answer
    assert len(at.get("plotly_chart")) == 2  # curves + attribute shifts
    assert any(c.value.startswith("Spurious part at each value") for c in at.caption)
    sizes = res["sizes"]
    assert list(sizes.quantity) == ["observational difference", "ATE", "spurious part", "ATE", "spurious part"]
    model_ate = sizes[(sizes.quantity == "ATE") & (sizes.source == "model")].iloc[0]
    assert model_ate.low < model_ate.estimate < model_ate.high and model_ate.estimate > 0
    # attribute shifts: do(X=1) on units never changes Z (not downstream); the naive swap does
    shifts = res["shifts"].set_index(["attribute", "method"])
    assert shifts.loc[("Z", "truth"), "changed_pct"] == 0 and shifts.loc[("Z", "model"), "changed_pct"] == 0
    assert shifts.loc[("Z", "naive conditional"), "changed_pct"] > 20
    # the numbers are downloadable and kept in the workspace
    csv = (ws.results_path / "effects_X_Y.csv").read_text()
    table = pd.read_csv(io.StringIO(csv))
    assert set(table.table) == {"curve", "effect size", "attribute shift"}
    assert len(at.get("download_button")) == 1


def test_confounded_graph_uses_idgen_without_training(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "frontdoor", n=20000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    res = compute(at)
    assert res["error"] is None and not res["notes"]
    exact = world.do_table(["X"], ["Y"])[1]
    model = res["curves"][res["curves"].source == "intervention (model)"].set_index("value")
    for x in (0, 1):
        assert abs(model.loc[x, "mean"] - exact[x]) < 0.05


def test_non_identifiable_shows_the_hedge(monkeypatch, tmp_path):
    make_trained_workspace(tmp_path, "bow", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    res = compute(at)
    assert res["hedge"] is not None and at.error and "not identifiable" in at.error[0].value.lower()
    assert any("**Why:** the hedge is" in m.value for m in at.markdown)


def test_untrained_models_leave_the_model_curve_out(monkeypatch, tmp_path):
    make_trained_workspace(tmp_path, "backdoor", n=1000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    res = compute(at)
    assert res["error"] is None
    assert set(res["curves"].source) == {"conditioning (data)", "intervention (truth)"}
    assert any("no trained model for" in i.value for i in at.info)


# ---- attributions of a predictor


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
    from workbench import effects_page as E

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
    from workbench import effects_page as E

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
    with pytest.raises(Exception, match="both the target and an input"):
        E.train_workspace_predictor(ds, g, "Y", ["A", "Y"], ante_hoc=False, steps=5)
    with pytest.raises(Exception, match="at least one input"):
        E.train_workspace_predictor(ds, g, "Y", [], ante_hoc=False, steps=5)


def test_attribution_section_with_the_workspace_scm(backdoor, monkeypatch):
    """Back-door world (Z -> X -> Y, Z -> Y, binary): a predictor of Y from (Z, X), its inputs' SCM the
    workspace's trained Neural SCM.  Truth from the exact tables: f*(z, x) = P(Y=1 | z, x);
    total(z) = sum_x P(x | z) f*(z, x), direct(z) = sum_x P(x) f*(z, x)."""
    root, ws, ds, world = backdoor
    at = open_page(root, monkeypatch)
    assert "Attributions of a predictor" in [s.value for s in at.subheader]
    assert at.session_state["at_target"] == "Y" and at.session_state["at_inputs"] == ["Z", "X"]
    at.number_input(key="at_steps").set_value(400).run()
    at.button(key="at_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["at_scm"] == "neural"  # every node is trained
    at.number_input(key="at_units").set_value(3000).run()
    at.button(key="at_compute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    res = at.session_state["at_result"]
    assert res["error"] is None, res["error"]
    joint = world.observed_joint().marginal(["Z", "X", "Y"])  # axes (Z, X, Y)
    f = joint[:, :, 1] / joint.sum(2)
    p_x_z = joint.sum(2) / joint.sum((1, 2))[:, None]
    p_x = joint.sum((0, 2))
    total = [p_x_z[z] @ f[z] for z in (0, 1)]
    direct = [p_x @ f[z] for z in (0, 1)]
    frame = res["frame"].set_index(["input", "kind", "value"])["ace"]

    def contrast(inp, kind):
        return frame[(inp, kind, 1.0)] - frame[(inp, kind, 0.0)]

    assert contrast("Z", "total") == pytest.approx(total[1] - total[0], abs=0.05)
    assert contrast("Z", "direct") == pytest.approx(direct[1] - direct[0], abs=0.05)
    assert abs((total[1] - total[0]) - (direct[1] - direct[0])) > 0.03  # a visible indirect part
    assert contrast("Z", "indirect") == pytest.approx((total[1] - total[0]) - (direct[1] - direct[0]), abs=0.04)
    assert contrast("X", "indirect") == 0.0  # X has no descendant among the inputs
    p_z = joint.sum((1, 2))
    assert contrast("X", "direct") == pytest.approx(p_z @ (f[:, 1] - f[:, 0]), abs=0.05)  # X's back-door-adjusted effect
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # curves and the stacked bars (the treatment part was not computed)
    assert any(d.proto.label == "Download the attributions (CSV)" for d in at.get("download_button"))
    at.radio(key="at_format").set_value("svg").run()
    assert not at.exception


def test_confounded_inputs_offer_plain_training_and_no_input_scm(monkeypatch, tmp_path):
    """Napkin world (W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y): the default inputs W1, W2, X of a
    predictor of Y include W1 <-> X, so no input SCM can exist (core.attributions.InputSCM refuses it).
    The page says why before training, offers plain training only, and computes direct-only curves
    instead of failing twice (ante-hoc training, then the fitted SCM)."""
    make_trained_workspace(tmp_path, "napkin", n=1000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    assert at.session_state["at_target"] == "Y" and "W1" in at.session_state["at_inputs"]
    assert at.radio(key="at_mode").options == ["plain"]
    assert any("Ante-hoc training is off" in c.value and "W1 <-> X" in c.value for c in at.caption)
    at.number_input(key="at_steps").set_value(50).run()
    at.button(key="at_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="at_scm").options == [SCM_SOURCES["none"]]
    at.number_input(key="at_units").set_value(100).run()
    at.button(key="at_compute").click().run()
    res = at.session_state["at_result"]
    assert res["error"] is None, res["error"]
    assert (res["frame"].query("kind == 'indirect'")["ace"] == 0).all()  # independent inputs: no indirect part
