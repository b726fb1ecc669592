"""The Effects page (``views/effects.py``): conditioning vs intervention curves (with the spurious
gap), effect sizes with bootstrap intervals, attribute shifts, CSV export; then the attributions of
a predictor trained on the page.

Ground truth: the back-door world (Simpson-like: the association and the effect have opposite signs)
with exact do-tables, a NeuralSCM trained briefly on its data, ID-GEN on the front-door world, and
the bow world's hedge.  The curves' logic is tested in ``tests/workbench/explore/test_curves.py``,
the predictors' in ``tests/workbench/test_effects_page.py``."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.runs import workspace as W
from tests.helpers import APP, make_trained_workspace
from workbench.effects_page import SCM_SOURCES
from workbench.keys import EffectsPage as K

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
    at.button(key=K.COMPUTE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state[K.RESULT]


# ---- the page


def test_trained_model_recovers_the_effect_and_the_gap(backdoor, monkeypatch):
    root, ws, ds, world = backdoor
    at = open_page(root, monkeypatch)
    assert at.session_state[K.TREATMENT] == "X" and at.session_state[K.OUTCOME] == "Y"
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
    # the text says which units: those whose X is not already 1 (so X itself changes in all of them)
    n = int(res["shifts"]["n"].iloc[0])
    assert any(m.value.startswith(f"Under do(X = 1) applied to each of the {n:,} sampled units whose X is not already 1")
               for m in at.markdown), [m.value[:80] for m in at.markdown]
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


def test_attribution_section_with_the_workspace_scm(backdoor, monkeypatch):
    """Back-door world (Z -> X -> Y, Z -> Y, binary): a predictor of Y from (Z, X), its inputs' SCM the
    workspace's trained Neural SCM.  Truth from the exact tables: f*(z, x) = P(Y=1 | z, x);
    total(z) = sum_x P(x | z) f*(z, x), direct(z) = sum_x P(x) f*(z, x)."""
    root, ws, ds, world = backdoor
    at = open_page(root, monkeypatch)
    assert "Attributions of a predictor" in [s.value for s in at.subheader]
    assert at.session_state[K.TARGET] == "Y" and at.session_state[K.INPUTS] == ["Z", "X"]
    at.number_input(key=K.TRAINING_STEPS).set_value(400).run()
    at.button(key=K.TRAIN).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[K.INPUT_SCM] == "neural"  # every node is trained
    at.number_input(key=K.UNITS).set_value(3000).run()
    at.button(key=K.COMPUTE_ATTRIBUTIONS).click().run()
    assert not at.exception, [e.value for e in at.exception]
    res = at.session_state[K.ATTRIBUTIONS]
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
    at.radio(key=K.IMAGE_FORMAT).set_value("svg").run()
    assert not at.exception


def test_confounded_inputs_offer_plain_training_and_no_input_scm(monkeypatch, tmp_path):
    """Napkin world (W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y): the default inputs W1, W2, X of a
    predictor of Y include W1 <-> X, so no input SCM can exist (core.effects.attributions.InputSCM refuses it).
    The page says why before training, offers plain training only, and computes direct-only curves
    instead of failing twice (ante-hoc training, then the fitted SCM)."""
    make_trained_workspace(tmp_path, "napkin", n=1000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    assert at.session_state[K.TARGET] == "Y" and "W1" in at.session_state[K.INPUTS]
    assert at.radio(key=K.TRAINING_MODE).options == ["plain"]
    assert any("Ante-hoc training is off" in c.value and "W1 <-> X" in c.value for c in at.caption)
    at.number_input(key=K.TRAINING_STEPS).set_value(50).run()
    at.button(key=K.TRAIN).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key=K.INPUT_SCM).options == [SCM_SOURCES["none"]]
    at.number_input(key=K.UNITS).set_value(100).run()
    at.button(key=K.COMPUTE_ATTRIBUTIONS).click().run()
    res = at.session_state[K.ATTRIBUTIONS]
    assert res["error"] is None, res["error"]
    assert (res["frame"].query("kind == 'indirect'")["ace"] == 0).all()  # independent inputs: no indirect part
