"""The attribute-shift table: the truth's, the model's and the naive conditional's changed units."""

from __future__ import annotations

import numpy as np
import pytest

from core.effects.attribute_shifts import attribute_shift_table, changed
from tests.core.effects.closed_forms import P_C, P_M, P_X, MediationWorld, backdoor_truth


def test_attribute_shift_table_truth_model_naive():
    w = MediationWorld()

    def read(cols):
        return {k: np.asarray(cols[k]) for k in ("C", "M", "Z")}

    table = attribute_shift_table(w, "X", 1, read, model=w, n=20000, seed=2)
    pct = {(r.attribute, r.method): r.changed_pct for r in table.itertuples()}
    assert set(table["method"]) == {"model", "naive conditional", "truth"}
    assert pct[("C", "truth")] == 0.0 and pct[("C", "model")] == 0.0  # not downstream of X
    # M(1) != M(0) exactly when u_M falls between P_M[0] and P_M[1].
    assert pct[("M", "truth")] == pytest.approx(100 * (P_M[1] - P_M[0]), abs=1.5)
    # Naive: C is swapped for that of a random X=1 unit; P(C=1 | X=1) vs the units' P(C=1 | X=0).
    pc1 = P_C * P_X[1] / (P_C * P_X[1] + (1 - P_C) * P_X[0])
    pc0 = P_C * (1 - P_X[1]) / (P_C * (1 - P_X[1]) + (1 - P_C) * (1 - P_X[0]))
    assert pct[("C", "naive conditional")] == pytest.approx(100 * (pc0 * (1 - pc1) + (1 - pc0) * pc1), abs=2.0)
    desc = {r.attribute: r.descendant for r in table.itertuples()}
    assert desc == {"C": False, "M": True, "Z": True}


def test_changed_counts_integers_exactly_and_floats_beyond_a_tolerance():
    assert changed(np.array([0, 1, 2]), np.array([0, 2, 2]), None).tolist() == [False, True, False]
    before = np.array([0.0, 1.0, 2.0, 3.0])  # sd 1.118: default tolerance 0.28
    assert changed(before, before + [0.1, 0.3, 0.0, -1.0], None).tolist() == [False, True, False, True]
    assert changed(before, before + 0.1, 0.05).all()


def test_a_trained_scm_changes_only_descendants(tmp_path):
    from core.effects.samplers import SCMSampler
    from core.runs.checkpoint import load_run
    from core.runs.train import TrainOptions, train
    from core.scm import NeuralSCM

    w, _, _ = backdoor_truth()
    units = w.sample(2000, seed=4)
    train(w.graph, dict(units.values), tmp_path / "run", options=TrainOptions(preset="quick", steps=60), accelerator=None)
    run = load_run(tmp_path / "run")
    model = SCMSampler(NeuralSCM(run.graph, run.mechanisms()))
    table = attribute_shift_table(w, "X", 1, lambda c: {"Z": c["Z"], "Y": c["Y"]}, model=model, n=3000, seed=1)
    pct = {(r.attribute, r.method): r.changed_pct for r in table.itertuples()}
    assert pct[("Z", "model")] == 0.0 and pct[("Z", "truth")] == 0.0
    assert pct[("Z", "naive conditional")] > 5.0  # Z confounds X and Y: conditioning swaps it
