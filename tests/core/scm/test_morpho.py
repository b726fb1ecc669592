"""Smoke version of benchmarks/morpho_counterfactuals.py: tiny Neural SCMs on Morpho digits, every
metric of the benchmark computed, and the ones with a known answer checked against it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from benchmarks import morpho_counterfactuals as mc
from core.scm import NeuralSCM
from core.worlds.morpho_digits import MorphoDigits

SIZE = 16


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: two threads on a shared 2-core CPU spin against the other jobs (measured 30x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def world():
    return MorphoDigits(SIZE)


@pytest.fixture(scope="module")
def probe(world):
    return world.probe()


def tiny_args(**kw):
    base = dict(samples=12, units=8, composition_units=4, seed=0)
    base.update(kw)
    return type("Args", (), base)()


@pytest.fixture(scope="module")
def truth_data(world, probe):
    return mc.ground_truth(world, probe, tiny_args())


def fitted_scm(world, kind: str, overrides=None) -> NeuralSCM:
    torch.manual_seed(0)
    scm = NeuralSCM.from_graph(world.graph, kinds={"image": kind}, preset="quick", overrides=overrides)
    data = world.sample(200, seed=3).values
    scm.fit(data, steps=8, batch_size=32)
    return scm


# ---- metrics with known values


def test_histogram_tvd_is_zero_for_equal_samples_and_one_for_disjoint_ones():
    edges = mc.BINS["thickness"]
    a = np.array([1.0, 2.0, 3.0, 3.1])
    assert mc.hist_tvd(a, a[::-1], edges) == 0.0
    assert mc.hist_tvd(a, a + 4.0, edges) == 1.0
    # values beyond the edges land in the end bins: far out and just inside the last bin are equal
    assert mc.hist_tvd(np.array([50.0, -3.0]), np.array([7.9, 0.1]), edges) == 0.0
    # half the mass moved: TVD 1/2
    assert mc.hist_tvd(np.array([1.0, 1.0]), np.array([1.0, 6.0]), edges) == 0.5


def test_pixel_l1_is_on_the_0_255_scale_without_uint8_wraparound():
    a = np.zeros((2, 1, 4, 4), dtype=np.uint8)
    b = np.full((2, 1, 4, 4), 255, dtype=np.uint8)
    assert mc.pixel_l1(a, b) == 255.0 and mc.pixel_l1(b, a) == 255.0
    b[1] = 0
    assert mc.pixel_l1(a, b) == 127.5


def test_thickness_range_and_do_labels(world):
    t = world.sample(5000, seed=1)["thickness"]
    # t = 0.5 + Gamma(10, rate 5): sd sqrt(10)/5 = 0.63, so the 1%-99% span is about 3.0
    assert 2.5 < mc.quantile_range(t) < 3.5
    assert mc.do_label("thickness", 1.5) == "do(t=1.5)" and mc.do_label("intensity", 224.0) == "do(i=224)"


# ---- the columns


def test_truth_column_is_exact_where_the_world_knows_the_answer(world, probe, truth_data):
    truth = mc.evaluate_truth(world, probe, tiny_args(), truth_data)
    for attr, value in mc.INTERVENTIONS:
        lab = mc.do_label(attr, value)
        assert truth[f"cf {lab}: L1 to true cf image"] == 0.0
        assert truth[f"cf {lab}: reversibility L1"] == 0.0  # the world undoes do(pa*) exactly
    assert truth["composition L1 (m=1)"] == 0.0
    # the probes read the world's own images closely (the floor of every model column)
    assert truth["obs: thickness MAE"] < 0.5 and truth["obs: intensity MAE"] < 10


def test_naive_column_is_the_factual_image_unchanged(world, probe, truth_data):
    naive = mc.evaluate_naive(world, probe, tiny_args(), truth_data)
    units = truth_data["units"]
    read = probe.read(units["image"])
    for k, (attr, value) in enumerate(mc.INTERVENTIONS):
        lab = mc.do_label(attr, value)
        true_cf = truth_data["cf"][k]["image"]
        want_l1 = np.abs(units["image"].astype(float) - true_cf.astype(float)).mean()
        assert naive[f"cf {lab}: L1 to true cf image"] == pytest.approx(want_l1)
        assert naive[f"cf {lab}: effectiveness ({attr} MAE)"] == pytest.approx(np.abs(read[attr] - value).mean())
        assert naive[f"cf {lab}: reversibility L1"] == 0.0
    # do(t=5) thickens every stroke: leaving the image unchanged is far from the true counterfactual
    assert naive["cf do(t=5): L1 to true cf image"] > 5


def test_vae_column_runs_every_metric_and_its_null_intervention_is_exact(world, probe, truth_data):
    scm = fitted_scm(world, "vae")
    col = mc.evaluate_model(scm, world, probe, tiny_args(), truth_data, lambda _: None)
    assert set(mc.evaluate_truth(world, probe, tiny_args(), truth_data)) <= set(col)
    assert all(np.isfinite(v) for v in col.values())
    # V = d(z, pa) + u with u the exact residual: abduct-then-predict returns the image, 10 times over
    assert col["composition L1 (m=1)"] < 0.5 and col["composition L1 (m=10)"] < 0.5
    for attr, value in mc.INTERVENTIONS:
        assert 0.0 <= col[f"cf {mc.do_label(attr, value)}: digit preserved %"] <= 100.0


def test_diffusion_null_intervention_is_measured_below_the_scm_shortcut(world, truth_data):
    small = {"block_out_channels": [16, 32]}
    scm = fitted_scm(world, "diffusion", {"image": {"sample_steps": 4, "inversion_steps": 4, "unet": small}})
    units = truth_data["units"].subset(slice(0, 4)).values
    # the SCM returns units whose parents did not change untouched ...
    same = scm.counterfactual_samples(units, {"thickness": units["thickness"]})
    assert mc.pixel_l1(same["image"], units["image"]) == 0.0
    # ... so composition is measured on the mechanism, where DDIM inversion of an untrained model is not exact
    steps = mc.null_composition(scm.mechanisms["image"], units, 2)
    assert len(steps) == 2 and steps[0] > 0.5


def test_report_has_every_row_column_and_target(world, probe, truth_data):
    truth = mc.evaluate_truth(world, probe, tiny_args(), truth_data)
    naive = mc.evaluate_naive(world, probe, tiny_args(), truth_data)
    col = {**{k: 1.0 for k in truth}, "composition L1 (m=1)": 5.0,
           "sampling: units/s (ancestral)": 10.0, "sampling: counterfactuals/s": 2.0}
    cost = {"seconds": 120.0, "steps": 100, "peak_rss_mib": 500.0, "parameters": 10}
    costs = {v: cost for v in (*mc.SCALARS, "vae")}
    report = mc.render_report({"vae": col}, truth, naive, costs, "header")
    for text in ("ours (vae)", "truth (world)", "naive", "anchor", "do(t=5): TVD intensity",
                 "cf do(i=224): L1 to true cf image", "composition L1 (m=10)", "units/s"):
        assert text in report
    assert "composition L1 once 5.00 [target <= 1] MISS" in report
    assert "image node trains in 2.0 min (as logged) [target <= 10 min] PASS" in report
    assert "cf thickness MAE (worst do(t)) 1.000 [target <= 0.15] MISS" in report
    assert "cf intensity MAE (worst do(i)) 1.0 [target <= 5] PASS" in report
    assert "do(i) moves thickness (worst) 1.000 [target <= 0.1] MISS" in report


@pytest.mark.slow  # about 8 s: child processes train every node
def test_main_trains_in_child_processes_and_reuses_the_runs(tmp_path, capfd):
    out = tmp_path / "report.txt"
    argv = ["--kinds", "vae", "--n", "64", "--steps", "3", "--scalar-steps", "3", "--samples", "6", "--units", "4",
            "--composition-units", "2", "--runs", str(tmp_path / "runs"), "--out", str(out)]
    assert mc.main(argv) == 0
    run = tmp_path / "runs" / "s16_n64_seed0_quick"
    manifest = json.loads((run / "image_vae" / "manifest.json").read_text())
    assert manifest["nodes"]["image"]["steps_done"] == 3
    weights = sorted((run / "image_vae").rglob("*.safetensors"))
    first = [os.path.getmtime(w) for w in weights]
    assert weights and "ours (vae)" in out.read_text()
    capfd.readouterr()
    assert mc.main(argv) == 0  # a rerun neither retrains nor re-evaluates
    assert [os.path.getmtime(w) for w in weights] == first
    printed = capfd.readouterr().out
    assert "image (vae) already trained" in printed and "ours (vae): scores from" in printed


def test_bad_kinds_are_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        mc.parse_args(["--kinds", "gan"])
    assert e.value.code == 2
    assert "--kinds takes vae and/or diffusion" in capsys.readouterr().err
