"""The Effects page and its logic: conditioning vs intervention curves (with the spurious gap),
effect sizes with bootstrap intervals, attribute shifts, CSV export.

Ground truth: the back-door world (Simpson-like: the association and the effect have opposite signs)
with exact do-tables, a NeuralSCM trained briefly on its data, ID-GEN on the front-door world, and
the bow world's hedge."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import test_workspace
from streamlit.testing.v1 import AppTest

from core import ui_explore as X
from core import workspace as W
from core.effects import WorldSampler
from core.graph import Node
from core.worlds.registry import sample_dataset

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "views/effects.py"


@pytest.fixture(scope="module")
def backdoor(tmp_path_factory):
    """Back-door world, 3000 units, every node trained 150 steps (categorical mechanisms)."""
    root = tmp_path_factory.mktemp("backdoor")
    return (root, *test_workspace.make_trained_workspace(root, "backdoor", n=3000, steps=150))


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
    ws, ds, world = test_workspace.make_trained_workspace(tmp_path, "frontdoor", n=20000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    res = compute(at)
    assert res["error"] is None and not res["notes"]
    exact = world.do_table(["X"], ["Y"])[1]
    model = res["curves"][res["curves"].source == "intervention (model)"].set_index("value")
    for x in (0, 1):
        assert abs(model.loc[x, "mean"] - exact[x]) < 0.05


def test_non_identifiable_shows_the_hedge(monkeypatch, tmp_path):
    test_workspace.make_trained_workspace(tmp_path, "bow", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    res = compute(at)
    assert res["hedge"] is not None and at.error and "not identifiable" in at.error[0].value.lower()
    assert any("**Why:** the hedge is" in m.value for m in at.markdown)


def test_untrained_models_leave_the_model_curve_out(monkeypatch, tmp_path):
    test_workspace.make_trained_workspace(tmp_path, "backdoor", n=1000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    res = compute(at)
    assert res["error"] is None
    assert set(res["curves"].source) == {"conditioning (data)", "intervention (truth)"}
    assert any("no trained model for" in i.value for i in at.info)
