"""Attribution curves against ground truth: closed forms of the synthetic task, a brute-force
Frechet reference, Monte Carlo vs Taylor on a quadratic, and (fast) AHCE vs the direct-only
baseline; the full benchmark setting is marked slow."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.effects.attributions import (
    KINDS,
    MLP,
    SyntheticTask,
    TrainConfig,
    ace_curves,
    centred,
    default_grid,
    fit_input_scm,
    frechet_distance,
    load_predictor,
    mean_scores,
    rmse,
    save_predictor,
    scale_by_truth,
    score_curves,
    train_predictor,
)
from core.errors import WorkbenchError

torch.set_num_threads(1)


def frechet_brute_force(p: np.ndarray, q: np.ndarray) -> float:
    """Minimum over every monotone coupling (lattice path) of the largest matched distance."""
    n, m = len(p), len(q)
    best = np.inf

    def walk(i: int, j: int, worst: float) -> None:
        nonlocal best
        worst = max(worst, float(np.linalg.norm(p[i] - q[j])))
        if worst >= best:
            return
        if i == n - 1 and j == m - 1:
            best = worst
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, worst)

    walk(0, 0, 0.0)
    return best


def test_frechet_matches_brute_force_and_known_values():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.normal(size=(rng.integers(2, 6), 2))
        q = rng.normal(size=(rng.integers(2, 6), 2))
        assert frechet_distance(p, q) == pytest.approx(frechet_brute_force(p, q))
    line = np.linspace(0, 1, 11)
    assert frechet_distance(line, line + 0.3) == pytest.approx(0.3)
    assert frechet_distance(line, line) == 0.0
    # A curve that doubles back is far from a straight one although their point sets are close.
    p = np.array([[0, 0], [1, 0], [0, 0.0], [1, 0]])
    q = np.array([[0, 0], [1, 0.0]])
    assert frechet_distance(p, q) == pytest.approx(frechet_brute_force(p, q)) and frechet_distance(p, q) >= 0.5


def test_scaling_by_truth_keeps_flat_curves_flat():
    truth = [np.linspace(-2, 2, 5), np.zeros(5)]
    scale = scale_by_truth(truth)
    est, tru = scale(np.full(5, 0.04), truth[1])
    assert rmse(est, tru) == pytest.approx(0.01)  # 0.04 / range 4, not blown up to [0, 1]


def test_true_curves_closed_forms():
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(5000, 0)
    grids = {n: default_grid(x[:, i], 21) for i, n in enumerate(task.inputs)}
    t = task.true_curves(grids, n=20000)
    gx, gz = grids["x"], grids["z"]
    # f* = x^3 + log(z^2 + 1e-5) is additive: direct curves are the summands, centred.
    assert np.allclose(t["x"].direct, centred(gx**3), atol=1e-9)
    assert np.allclose(t["x"].indirect, 0, atol=1e-9)
    assert np.allclose(t["z"].direct, centred(np.log(gz**2 + 1e-5)), atol=1e-9)
    assert np.allclose(t["w"].direct, 0, atol=1e-9)
    # Total of w: x = -1.5 w - u_z + u_x, so E[x^3 | do(w=a)] = -3.375 a^3 - 9 s^2 a (+ a z-term).
    gw = grids["w"]
    cubic = centred(-3.375 * gw**3 - 9 * 0.25 * gw)
    zpart = t["w"].total - cubic
    assert np.abs(zpart).max() < np.abs(cubic).max() / 2  # the x-route dominates and has the right shape


def test_learned_scm_regenerates_descendants():
    """f = x (the third input): its total effect of w is dx/dw = -1 - 1/2 = -1.5, direct 0."""
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(4000, 1)
    scm = fit_input_scm(x, task.inputs, task.graph, steps=800, seed=0)

    def f(t):
        return t[:, 2]

    curves = ace_curves(f, x, task.inputs, scm, max_units=1000)
    w = curves["w"]
    slope = np.polyfit(w.grid, w.total, 1)[0]
    assert slope == pytest.approx(-1.5, abs=0.1)
    assert np.allclose(w.direct, 0, atol=1e-6) and np.allclose(w.indirect, w.total)
    z = curves["z"]
    assert np.polyfit(z.grid, z.total, 1)[0] == pytest.approx(-1.0, abs=0.1)  # x = -z - w + u
    assert np.allclose(curves["x"].total, centred(curves["x"].grid), atol=1e-5)
    # Observational: E[x | w = a] has slope -1.5 too (w is a root), by kernel regression.
    assert np.polyfit(w.grid, w.observational, 1)[0] == pytest.approx(-1.5, abs=0.15)
    # Without an SCM (Chattopadhyay's independence assumption) there is no indirect effect.
    flat = ace_curves(f, x, task.inputs, None, max_units=500)
    assert np.allclose(flat["w"].indirect, 0) and np.allclose(flat["w"].total, 0, atol=1e-6)


def test_taylor_is_exact_for_a_quadratic_predictor():
    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(3000, 2)
    scm = fit_input_scm(x, task.inputs, task.graph, steps=300, seed=0)

    def quad(t):
        return t[:, 0] ** 2 - 2 * t[:, 1] * t[:, 2] + 0.5 * t[:, 2] ** 2 + t[:, 1]

    mc = ace_curves(quad, x, task.inputs, scm, max_units=800, method="mc")
    ty = ace_curves(quad, x, task.inputs, scm, max_units=800, method="taylor")
    for name in task.inputs:
        for k in KINDS:
            assert np.allclose(mc[name].get(k), ty[name].get(k), atol=2e-3), (name, k)
    with pytest.raises(WorkbenchError, match="unknown method"):
        ace_curves(quad, x, task.inputs, scm, method="exact")
    with pytest.raises(WorkbenchError, match=r"must be \(n, 3\)"):
        ace_curves(quad, x[:, :2], task.inputs, scm)


def _run(task: SyntheticTask, n: int, steps: int, seed: int = 0):
    x, y = task.sample(n, seed)
    grids = {v: default_grid(x[:, i], 30) for i, v in enumerate(task.inputs)}
    truth = task.true_curves(grids, n=30000)
    cfg = TrainConfig(steps=steps, seed=seed)
    plain, _, _ = train_predictor(x, y, cfg)
    ours, scm, _ = train_predictor(x, y, cfg, task.inputs, task.graph, "y")
    s_ours = mean_scores(score_curves(ace_curves(ours, x, task.inputs, scm, grids, max_units=1000), truth))
    s_base = mean_scores(score_curves(ace_curves(plain, x, task.inputs, None, grids, max_units=1000), truth))
    return s_ours, s_base


def test_ahce_fast_beats_direct_only_on_indirect():
    s_ours, s_base = _run(SyntheticTask(noise=0.5), n=3000, steps=500)
    assert s_ours["indirect"]["rmse"] < 0.5 * s_base["indirect"]["rmse"]
    assert s_ours["total"]["rmse"] < s_base["total"]["rmse"]
    for k in KINDS:
        assert s_ours[k]["rmse"] < 0.1, (k, s_ours)  # loose: 500 steps


@pytest.mark.slow
def test_ahce_full_within_target():
    s_ours, s_base = _run(SyntheticTask(noise=0.5), n=5000, steps=3000)
    for k in KINDS:
        assert s_ours[k]["rmse"] < 0.05, (k, s_ours)
    assert s_ours["indirect"]["rmse"] < s_base["indirect"]["rmse"]
    assert s_ours["indirect"]["frechet"] < s_base["indirect"]["frechet"]


def test_predictor_round_trip_and_bad_files(tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    y = x[:, 0] - x[:, 2] ** 2
    f, _, _ = train_predictor(x, y, TrainConfig(steps=20, hidden=(16,)))
    save_predictor(f, ["a", "b", "c"], tmp_path / "p")
    g, names = load_predictor(tmp_path / "p")
    assert names == ["a", "b", "c"]
    t = torch.from_numpy(x)
    assert torch.allclose(f(t), g(t))
    plain = MLP(2, (8,))
    save_predictor(plain, ["u", "v"], tmp_path / "q")
    h, _ = load_predictor(tmp_path / "q")
    assert torch.allclose(h(t[:, :2]), plain(t[:, :2]))
    with pytest.raises(WorkbenchError, match="predictor.json is missing"):
        load_predictor(tmp_path / "nowhere")
    (tmp_path / "q" / "predictor.safetensors").write_bytes(b"garbage")
    with pytest.raises(WorkbenchError, match="not a readable safetensors file"):
        load_predictor(tmp_path / "q")
    spec = json.loads((tmp_path / "p" / "predictor.json").read_text())
    spec["hidden"] = [32, 32]
    (tmp_path / "p" / "predictor.json").write_text(json.dumps(spec))
    with pytest.raises(WorkbenchError, match="does not fit the architecture"):
        load_predictor(tmp_path / "p")
    (tmp_path / "p" / "predictor.json").write_text("{nope")
    with pytest.raises(WorkbenchError, match="is not JSON"):
        load_predictor(tmp_path / "p")


def test_explain_predictor_by_column_name():
    from core.effects.attributions import explain_predictor

    task = SyntheticTask(noise=0.5)
    x, _ = task.sample(2000, 3)
    cols = {v: x[:, i] for i, v in enumerate(task.inputs)}
    curves = explain_predictor(lambda t: t[:, 2], cols, list(task.inputs), task.graph, scm_steps=400, points=15)
    assert np.polyfit(curves["w"].grid, curves["w"].total, 1)[0] == pytest.approx(-1.5, abs=0.15)
    with pytest.raises(WorkbenchError, match="no column for input q"):
        explain_predictor(lambda t: t[:, 0], cols, ["w", "q"], None)


# --------------------------------------------------------------------------------------------------
# Ground truth from a world's own do(), and an SCM over the data's units


def _linear_world():
    from core.worlds.linear import LinearGaussianWorld

    # A -> M -> B -> Y, A -> Y: E[Y | A, B] = 0.5 A + 1.5 B; A's total slope 0.5 + 1.0 * 0.8 * 1.5 = 1.7
    return LinearGaussianWorld({("A", "M"): 1.0, ("M", "B"): 0.8, ("A", "Y"): 0.5, ("B", "Y"): 1.5},
                               noise={"A": 1.0, "M": 0.5, "B": 0.5, "Y": 0.3})


def test_world_true_curves_match_path_coefficients():
    from core.effects.attributions import world_true_curves

    w = _linear_world()
    grids = {"A": np.linspace(-2, 2, 9), "B": np.linspace(-1, 1, 5)}
    truth = world_true_curves(w, ["A", "B"], lambda v: v["Y"], grids, n=2000)
    for v, total, direct in (("A", 1.7, 0.5), ("B", 1.5, 1.5)):
        g = grids[v]
        # common noise and linear mechanisms: the curves are exactly straight, slope = path coefficients
        np.testing.assert_allclose(truth[v].total, total * (g - g.mean()), atol=1e-9)
        np.testing.assert_allclose(truth[v].direct, direct * (g - g.mean()), atol=1e-9)
        np.testing.assert_allclose(truth[v].indirect, (total - direct) * (g - g.mean()), atol=1e-9)
    # observational slope of Y on A is Cov(A, Y) / Var(A) = 1.7 here (A is a root)
    assert np.polyfit(grids["A"], truth["A"].observational, 1)[0] == pytest.approx(w.observational_slope("A", "Y"), abs=0.1)


def test_morpho_ink_task_truth_has_an_indirect_thickness_effect():
    from core.effects.attributions import morpho_ink_task

    task = morpho_ink_task(size=16)
    x, y = task.sample(300, seed=0)
    assert x.shape == (300, 2) and y.shape == (300,) and 0 < y.mean() < 255
    grids = {v: default_grid(x[:, i], 5) for i, v in enumerate(task.inputs)}
    truth = task.true_curves(grids, n=1500)
    t, i = truth["thickness"], truth["intensity"]
    # thicker strokes carry more ink directly and make the digit brighter (through intensity)
    assert np.all(np.diff(t.direct) > 0) and np.all(np.diff(t.indirect) > 0)
    assert np.ptp(t.indirect) > 0.3 * np.ptp(t.total)
    np.testing.assert_allclose(i.indirect, 0.0, atol=1e-9)  # intensity has no descendant among the inputs


class _ExactLinearSCM:
    """The linear world's counterfactuals from observed values (noise abducted exactly, e = (v - B pa) / s)."""

    def __init__(self, world):
        self.w = world

    def counterfactual_samples(self, units, do):
        w = self.w
        noise = {}
        for v in w.order:
            j = w.index[v]
            mean = sum(w.B[w.index[p], j] * units[p] for p in w.graph.parents(v))
            noise[f"e_{v}"] = (units[v] - mean) / w.S[j]
        n = len(units[w.order[0]])
        return w._run(noise, {k: np.full(n, float(a)) for k, a in do.items()})


def test_scm_inputs_regenerate_through_non_input_nodes():
    from core.effects.attributions import SCMInputs

    w = _linear_world()
    v = w.sample(3000, seed=1).values
    x = np.stack([v["A"], v["B"]], axis=1)
    f = lambda t: 0.5 * t[:, 0] + 1.5 * t[:, 1]  # noqa: E731  the Bayes predictor E[Y | A, B]
    grids = {"A": np.linspace(-2, 2, 9), "B": np.linspace(-1, 1, 5)}
    curves = ace_curves(f, x, ["A", "B"], SCMInputs(_ExactLinearSCM(w), v, ["A", "B"]), grids, max_units=3000)
    g = grids["A"]
    np.testing.assert_allclose(curves["A"].total, 1.7 * (g - g.mean()), atol=1e-5)  # via M, not an input
    np.testing.assert_allclose(curves["A"].direct, 0.5 * (g - g.mean()), atol=1e-5)
    np.testing.assert_allclose(curves["B"].indirect, 0.0, atol=1e-5)
    with pytest.raises(WorkbenchError, match="lack input"):
        SCMInputs(_ExactLinearSCM(w), {"A": v["A"]}, ["A", "B"])
