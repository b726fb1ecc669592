"""Effects against closed forms: a discrete world (exact sums over its tables) and a linear-Gaussian
world (path coefficients).  Samplers are the worlds themselves, so every gap is Monte Carlo error,
which the bootstrap intervals must cover."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.effects.estimates import (
    Estimate,
    WorldSampler,
    attribute_shift_table,
    average_effect,
    bootstrap_means,
    conditional_effects,
    mediation_effects,
    percentile_interval,
)
from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.worlds.base import World
from core.worlds.linear import LinearGaussianWorld

# --------------------------------------------------------------------------------------------------
# A discrete world: C -> X, C -> Y, X -> M, M -> Y, X -> Y (all binary), W -> Y; Z is a leaf of X.
# Each v = 1[u_v < p_v(parents)] with u_v ~ U(0, 1): everything has a closed form.

P_C = 0.3
P_X = {0: 0.2, 1: 0.8}  # P(X=1 | C)
P_M = {0: 0.25, 1: 0.7}  # P(M=1 | X)
P_Y = {(x, m, c): 0.1 + 0.3 * x + 0.35 * m + 0.2 * c - 0.15 * x * m for x in (0, 1) for m in (0, 1) for c in (0, 1)}
P_Z = {0: 0.4, 1: 0.9}  # P(Z=1 | X)


class MediationWorld(World):
    name = "mediation"

    def __init__(self, hidden_c: bool = False) -> None:
        names = ["X", "M", "Y", "Z"] if hidden_c else ["C", "X", "M", "Y", "Z"]
        directed = [("X", "M"), ("M", "Y"), ("X", "Y"), ("X", "Z")]
        if not hidden_c:
            directed += [("C", "X"), ("C", "Y")]
        self.hidden_c = hidden_c
        self.graph = ADMG(
            [Node(v, "binary") for v in names], directed=directed, bidirected=[("X", "Y")] if hidden_c else []
        )

    def _draw_noise(self, n, rng):
        return {f"u_{v}": rng.random(n) for v in "CXMYZ"}

    def _run(self, noise, do):
        out = {}
        c = (noise["u_C"] < P_C).astype(np.int64)
        if not self.hidden_c:
            out["C"] = do.get("C", c)
            c = out["C"]
        px = np.where(c == 1, P_X[1], P_X[0])
        out["X"] = do.get("X", (noise["u_X"] < px).astype(np.int64))
        x = np.asarray(out["X"])
        out["M"] = do.get("M", (noise["u_M"] < np.where(x == 1, P_M[1], P_M[0])).astype(np.int64))
        m = np.asarray(out["M"])
        py = 0.1 + 0.3 * x + 0.35 * m + 0.2 * c - 0.15 * x * m
        out["Y"] = do.get("Y", (noise["u_Y"] < py).astype(np.int64))
        out["Z"] = do.get("Z", (noise["u_Z"] < np.where(x == 1, P_Z[1], P_Z[0])).astype(np.int64))
        return out


def p_c(c):
    return P_C if c == 1 else 1 - P_C


def bern(p, v):
    return p if v == 1 else 1 - p


def exact_do(x):
    return sum(p_c(c) * bern(P_M[x], m) * P_Y[(x, m, c)] for c, m in itertools.product((0, 1), (0, 1)))


def exact_obs(x):
    w = {c: p_c(c) * bern(P_X[c], x) for c in (0, 1)}
    z = sum(w.values())
    return sum(w[c] / z * bern(P_M[x], m) * P_Y[(x, m, c)] for c, m in itertools.product((0, 1), (0, 1)))


def exact_nested(a, b):
    """E[Y(a, M(b))]: M's and Y's noises are independent of C and of each other."""
    return sum(p_c(c) * bern(P_M[b], m) * P_Y[(a, m, c)] for c, m in itertools.product((0, 1), (0, 1)))


def exact_cde(m):
    return sum(p_c(c) * (P_Y[(1, m, c)] - P_Y[(0, m, c)]) for c in (0, 1))


def near(est: Estimate, truth: float, tol: float) -> bool:
    """Within the interval (allowing a hair of slack) and within an absolute tolerance."""
    width = est.high - est.low
    return est.low - 0.1 * width <= truth <= est.high + 0.1 * width and abs(est.value - truth) < tol


# --------------------------------------------------------------------------------------------------


def test_bootstrap_is_vectorised_seeded_and_right():
    x = np.random.default_rng(0).normal(3.0, 2.0, 2000)
    a = bootstrap_means(x, 500, seed=1)
    b = bootstrap_means(x, 500, seed=1)
    assert np.array_equal(a, b) and a.shape == (500,)
    assert abs(a.std() - 2.0 / np.sqrt(2000)) < 0.01  # standard error of the mean
    paired = bootstrap_means(np.stack([x, 2 * x], 1), 300, seed=2)
    assert np.allclose(paired[:, 1], 2 * paired[:, 0])  # columns resampled together
    est = percentile_interval(x.mean(), a)
    assert est.low < 3.0 < est.high


def test_average_effect_discrete_exact():
    w = MediationWorld()
    rep = average_effect(w, "X", "Y", n=20000, seed=3)
    ate = exact_do(1) - exact_do(0)
    assert near(rep.do_a, exact_do(1), 0.02) and near(rep.do_b, exact_do(0), 0.02)
    assert near(rep.ate, ate, 0.025)
    assert near(rep.risk_ratio, exact_do(1) / exact_do(0), 0.15)
    obs = exact_obs(1) - exact_obs(0)
    assert near(rep.obs_difference, obs, 0.03)
    assert near(rep.spurious, obs - ate, 0.04)
    assert obs - ate > 0.05  # the world is confounded: the gap is real and the estimate sees it
    assert rep.spurious.low > 0


def test_conditional_effect_on_a_descendant_matches_exact():
    """E[Y | do(X=x), Z=z]: Z is a child of X only, so given do(X) it is independent of Y: the
    conditional effect equals the marginal one; conditioning is done by rejection."""
    w = MediationWorld()
    reps = conditional_effects(w, "X", "Y", "Z", n=8000, seed=5, observational=False)
    for z in (0, 1):
        assert near(reps[z].ate, exact_do(1) - exact_do(0), 0.04)


def test_mediation_discrete_exact():
    w = MediationWorld()
    rep = mediation_effects(w, "X", "M", "Y", n=20000, seed=7)
    nde = exact_nested(1, 0) - exact_nested(0, 0)
    nie = exact_nested(1, 1) - exact_nested(1, 0)
    assert near(rep.nde, nde, 0.02)
    assert near(rep.nie, nie, 0.02)
    assert abs(rep.nie_reverse.value + rep.nie.value) < 1e-12
    assert near(rep.total, exact_do(1) - exact_do(0), 0.025)
    assert abs(rep.total_units.value - (rep.nde.value + rep.nie.value)) < 1e-12
    assert rep.consistent
    for m in (0, 1):
        assert near(rep.cde[f"M={m}"], exact_cde(m), 0.025)
    assert abs(exact_cde(0) - exact_cde(1)) > 0.1  # interaction: the CDE depends on m


def test_linear_gaussian_closed_forms():
    w = LinearGaussianWorld(
        {("X", "M"): 1.5, ("M", "Y"): -0.8, ("X", "Y"): 0.7, ("W", "X"): 0.5}, noise=1.0, hidden={"U": {"X": 1.0, "Y": 2.0}}
    )
    assert w.graph.has_bidirected("X", "Y")
    te = w.total_effect("X", "Y")
    assert te == pytest.approx(0.7 - 1.2)
    rep = average_effect(w, "X", "Y", a=1.0, b=0.0, n=20000, seed=11)
    assert near(rep.ate, te, 0.06)
    # The observational side uses nearest-neighbour windows; compare with the exact slope.
    rep2 = average_effect(w, "X", "Y", a=1.0, b=-1.0, n=40000, seed=12)
    slope = w.observational_slope("X", "Y")
    assert abs(rep2.obs_difference.value - 2 * slope) < 0.25
    assert abs(rep2.spurious.value - 2 * (slope - te)) < 0.3
    med = mediation_effects(w, "X", "M", "Y", a=1.0, b=0.0, n=10000, seed=13)
    assert med.nde.value == pytest.approx(0.7, abs=1e-9)  # linear: exact on every unit
    assert med.nie.value == pytest.approx(1.5 * -0.8, abs=1e-9)
    assert near(med.cde[next(iter(med.cde))], 0.7, 0.08)
    assert near(med.total, te, 0.06)


def test_zero_effect_when_treatment_is_not_an_ancestor():
    w = MediationWorld()
    rep = average_effect(w, "Z", "Y", n=4000, seed=1)
    assert rep.ate == Estimate(0.0, 0.0, 0.0)
    assert rep.notes and "not an ancestor" in rep.notes[0]
    # ... while Y and Z are associated through X: the whole observational difference is spurious.
    assert rep.spurious.value == rep.obs_difference.value
    assert rep.obs_difference.low > 0


def test_bad_mediator_and_bad_names():
    w = MediationWorld()
    lin = LinearGaussianWorld({("X", "Y"): 1.0, ("X", "Z"): 1.0})
    with pytest.raises(WorkbenchError, match="conditioning on continuous Z needs a sampler that conditions natively"):
        average_effect(lin, "X", "Y", given={"Z": 0.5}, n=100)
    with pytest.raises(WorkbenchError, match="mediator Z is not on a directed path from X to Y"):
        mediation_effects(w, "X", "Z", "Y", n=100)
    with pytest.raises(WorkbenchError, match="mediator C is not on a directed path"):
        mediation_effects(w, "X", "C", "Y", n=100)
    with pytest.raises(WorkbenchError, match="Q"):
        average_effect(w, "Q", "Y", n=100)
    with pytest.raises(WorkbenchError, match="same node"):
        average_effect(w, "X", "X", n=100)


class LearnedLookalike(WorldSampler):
    """A sampler that claims to be learned (so identification applies) but draws from the world."""

    ground_truth = False


def test_not_identifiable_on_a_bow_for_learned_samplers():
    identify = pytest.importorskip("core.identify")
    w = MediationWorld(hidden_c=True)
    bow = ADMG([Node("X"), Node("Y")], directed=[("X", "Y")], bidirected=[("X", "Y")])

    class Bow(World):
        graph = bow

        def _draw_noise(self, n, rng):
            return {"u": rng.random(n), "e": rng.random(n)}

        def _run(self, noise, do):
            x = do.get("X", (noise["u"] < 0.5).astype(np.int64))
            return {"X": x, "Y": ((noise["e"] + 0.3 * x + 0.3 * (noise["u"] < 0.5)) > 0.8).astype(np.int64)}

    with pytest.raises(identify.NotIdentifiable):
        average_effect(LearnedLookalike(Bow()), "X", "Y", n=200)
    # The ground truth itself always answers (the truth needs no identification).
    assert average_effect(Bow(), "X", "Y", n=200).ate is not None
    # Natural effects from a learned model with hidden confounders: refused with one line.
    with pytest.raises(WorkbenchError, match="bidirected"):
        mediation_effects(LearnedLookalike(w), "X", "M", "Y", n=100)


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


class ImageWorld(World):
    """X -> Y where Y is a 1x2x2 image whose brightness is 60 + 100 X + noise."""

    name = "image"
    graph = ADMG([Node("X"), Node("Y", "image", shape=(1, 2, 2))], directed=[("X", "Y")])

    def _draw_noise(self, n, rng):
        return {"u": rng.random(n), "e": rng.normal(0, 10, (n, 1, 2, 2))}

    def _run(self, noise, do):
        x = do.get("X", (noise["u"] < 0.5).astype(np.int64))
        img = np.clip(60 + 100 * np.asarray(x)[:, None, None, None] + noise["e"], 0, 255).astype(np.uint8)
        return {"X": x, "Y": do.get("Y", img)}


def test_image_outcome_through_a_readout():
    w = ImageWorld()
    with pytest.raises(WorkbenchError, match="Y is an image: give a read-out"):
        average_effect(w, "X", "Y", n=100)
    rep = average_effect(w, "X", "Y", n=2000, readout=lambda im: im.reshape(len(im), -1).mean(1) / 255)
    assert rep.ate.value == pytest.approx(100 / 255, abs=0.01)
    assert rep.risk_ratio is None


# --------------------------------------------------------------------------------------------------
# Command line


def _cli(argv, capsys):
    from core.cli import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _backdoor_truth():
    from core.worlds.discrete import backdoor

    w = backdoor()
    do = w.do_table(["X"], ["Y"])  # axes (Y, X)
    pxy = w.observed_joint().marginal(["X", "Y"])  # axes (X, Y)
    obs = pxy[1, 1] / pxy[1].sum() - pxy[0, 1] / pxy[0].sum()
    return w, do[1, 1] - do[1, 0], obs


def test_cli_world_json_matches_exact_tables(capsys):
    import json

    w, ate, obs = _backdoor_truth()
    rc, out, _ = _cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--n", "20000", "--json"], capsys)
    assert rc == 0
    eff = json.loads(out)["effect"]

    def within(est, truth):  # 1.5 half-widths of a 95% interval: about 3 standard errors
        return abs(est["value"] - truth) <= 1.5 * (est["high"] - est["low"]) / 2

    assert within(eff["ate"], ate)
    assert within(eff["obs_difference"], obs)  # exact, from the tables
    assert np.sign(obs) != np.sign(ate)  # back-door: the association has the wrong sign
    rc, out, _ = _cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--given", "Z", "--n", "3000"], capsys)
    assert rc == 0 and "Z=0" in out and "Z=1" in out


def test_cli_bad_input_is_one_line(capsys):
    rc, out, err = _cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--mediator", "Z"], capsys)
    assert rc == 2 and err.strip() == "error: mediator Z is not on a directed path from X to Y"
    rc, _, err = _cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--readout", "a"], capsys)
    assert rc == 2 and "not an image" in err and len(err.strip().splitlines()) == 1
    rc, _, err = _cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Q"], capsys)
    assert rc == 2 and "Q" in err and len(err.strip().splitlines()) == 1
    rc, _, err = _cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--values", "1"], capsys)
    assert rc == 2 and "two values" in err


def test_cli_run_from_a_trained_scm(tmp_path, capsys):
    import json

    from core.runs.train import TrainOptions, train

    w, ate, _ = _backdoor_truth()
    units = w.sample(2000, seed=4)
    train(w.graph, dict(units.values), tmp_path / "run", options=TrainOptions(preset="quick", steps=60), accelerator=None)
    rc, out, err = _cli(["effects", "--run", str(tmp_path / "run"), "--treatment", "X", "--outcome", "Y", "--n", "4000", "--json"], capsys)
    assert rc == 0, err
    eff = json.loads(out)["effect"]
    assert abs(eff["ate"]["value"] - ate) < 0.05
    assert eff["obs_difference"]["high"] < 0 < eff["ate"]["value"]  # the trained model sees the sign flip
    rc, _, err = _cli(["effects", "--run", str(tmp_path / "nowhere"), "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and "does not exist" in err
    # The trained SCM's counterfactuals in the attribute-shift table: only descendants may change.
    from core.effects.estimates import SCMSampler
    from core.runs.checkpoint import load_run
    from core.scm import NeuralSCM

    run = load_run(tmp_path / "run")
    model = SCMSampler(NeuralSCM(run.graph, run.mechanisms()))
    table = attribute_shift_table(w, "X", 1, lambda c: {"Z": c["Z"], "Y": c["Y"]}, model=model, n=3000, seed=1)
    pct = {(r.attribute, r.method): r.changed_pct for r in table.itertuples()}
    assert pct[("Z", "model")] == 0.0 and pct[("Z", "truth")] == 0.0
    assert pct[("Z", "naive conditional")] > 5.0  # Z confounds X and Y: conditioning swaps it


def test_idgen_sampler_frontdoor_and_native_conditioning():
    """ID-GEN (tabular models) through the Sampler protocol: the front-door effect, and a conditional
    effect given Z that ID-GEN answers natively (IDC), both against the world's exact tables."""
    from core.effects.estimates import IDGenSampler
    from core.idgen import IDGen
    from core.worlds.discrete import backdoor, frontdoor

    w = frontdoor(seed=3)
    gen = IDGen(w.graph, dict(w.sample(30000, seed=1).values))
    rep = average_effect(IDGenSampler(gen, "Y"), "X", "Y", n=20000, seed=2)
    exact_fd = w.do_table(["X"], ["Y"])
    assert abs(rep.ate.value - (exact_fd[1, 1] - exact_fd[1, 0])) < 0.03
    b = backdoor(seed=0)
    gen = IDGen(b.graph, dict(b.sample(30000, seed=1).values))
    sampler = IDGenSampler(gen, "Y")
    exact_bd = b.do_table(["X"], ["Y"], ["Z"])  # axes (Y, X, Z)
    for z in (0, 1):
        rep = average_effect(sampler, "X", "Y", given={"Z": z}, n=20000, seed=3, observational=False)
        assert abs(rep.ate.value - (exact_bd[1, 1, z] - exact_bd[1, 0, z])) < 0.03
