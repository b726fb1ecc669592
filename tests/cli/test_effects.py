"""`python -m core effects`: from a ground-truth world, from a trained Neural SCM, and from a run on a
graph WITH hidden confounders (ID-GEN fitted on the run's training data, found with --data and
checked by fingerprint), against the exact do-tables of discrete worlds; bad input, non-identifiable
queries and wrong data get one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.cli import main
from core.data import Dataset
from core.graph import parse_dagitty
from core.runs.train import TrainOptions, train
from core.worlds.discrete import DiscreteSCM, bow, napkin
from tests.core.effects.closed_forms import backdoor_truth

torch.set_num_threads(1)


def cli(argv, capsys):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def trained_run(tmp_path, world, n, seed=1, name="run"):
    """A run folder trained (briefly: ID-GEN never reads its weights) on n world units saved as a
    dataset folder, the way `python -m core world` + `python -m core train` make them."""
    units = world.sample(n, seed=seed)
    ds = Dataset.from_units(units, world.graph)
    data = ds.save(tmp_path / f"{name}_data")
    train(world.graph, ds, tmp_path / name, options=TrainOptions(preset="quick", steps=20), accelerator=None)
    return tmp_path / name, data


def strong_napkin() -> DiscreteSCM:
    """The napkin (W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y) with strong hand-made tables, so that the
    association of X and Y is far from the effect (random tables barely open the back-door path)."""
    w = DiscreteSCM(parse_dagitty("dag { W1 -> W2 -> X -> Y ; W1 <-> X ; W1 <-> Y }"), seed=0)
    copy = lambda p: np.array([[p, 1 - p], [1 - p, p]])  # noqa: E731  rows P(child | parent)
    u_x = next(u for u in w.parents["W1"] if "X" in u)
    u_y = next(u for u in w.parents["W1"] if "Y" in u)
    # W1 copies U_W1_Y, W2 copies W1, X copies W2 (how faithfully: U_W1_X); P(Y=1) = 0.1 + 0.3 X + 0.5 U_W1_Y
    w.set_table("W1", np.array([[copy(0.9)[b] for b in (0, 1)] for _ in (0, 1)])
                if w.parents["W1"].index(u_y) == 1 else np.array([[copy(0.9)[a]] * 2 for a in (0, 1)]))
    w.set_table("W2", copy(0.9))
    tx = np.empty((2, 2, 2))
    ty = np.empty((2, 2, 2))
    for a in (0, 1):
        for b in (0, 1):
            vals = dict(zip(w.parents["X"], (a, b), strict=True))
            tx[a, b] = copy(0.95 if vals[u_x] else 0.75)[vals["W2"]]
            vals = dict(zip(w.parents["Y"], (a, b), strict=True))
            py = 0.1 + 0.3 * vals["X"] + 0.5 * vals[u_y]
            ty[a, b] = [1 - py, py]
    w.set_table("X", tx)
    w.set_table("Y", ty)
    for u in (u_x, u_y):
        w.set_table(u, np.array([0.5, 0.5]))
    return w


@pytest.fixture(scope="module")
def napkin_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("napkin")
    w = strong_napkin()
    run, data = trained_run(tmp, w, 40_000)
    return w, run, data


def test_napkin_run_matches_the_exact_do_table(napkin_run, capsys):
    w, run, data = napkin_run
    do = w.do_table(["X"], ["Y"])  # axes (Y, X)
    exact_ate = do[1, 1] - do[1, 0]
    pxy = w.observed_joint().marginal(["X", "Y"])  # axes (X, Y)
    exact_obs = pxy[1, 1] / pxy[1].sum() - pxy[0, 1] / pxy[0].sum()
    rc, out, err = cli(["effects", "--run", run, "--data", data, "--treatment", "X", "--outcome", "Y",
                        "--n", 40_000, "--boot", 300, "--json"], capsys)
    assert rc == 0, err
    assert "ID-GEN fits" in err  # the plan's models, on stderr; stdout is pure JSON
    eff = json.loads(out)["effect"]
    # Error sources: the 40k training rows behind the tables and 40k samples per arm.
    assert abs(eff["ate"]["value"] - exact_ate) < 0.03
    assert abs(eff["do_a"]["value"] - do[1, 1]) < 0.03 and abs(eff["do_b"]["value"] - do[1, 0]) < 0.03
    assert abs(eff["obs_difference"]["value"] - exact_obs) < 0.03
    # the world's confounding is strong enough that the naive contrast is far from the effect
    assert abs(exact_obs - exact_ate) > 0.15
    assert eff["ate"]["low"] < eff["ate"]["value"] < eff["ate"]["high"]


def test_conditional_effect_given_a_pre_treatment_covariate(tmp_path, capsys):
    """--given C=c on a confounded graph: ID-GEN answers P(Y | do(X), C) natively (IDC)."""
    w = DiscreteSCM(parse_dagitty("dag { C -> X -> M -> Y ; C -> Y ; X <-> Y }"), seed=3, alpha=0.2, floor=0.1)
    run, data = trained_run(tmp_path, w, 40_000)
    do = w.do_table(["X"], ["Y"], ["C"])  # axes (Y, X, C)
    for c in (0, 1):
        rc, out, err = cli(["effects", "--run", run, "--data", data, "--treatment", "X", "--outcome", "Y",
                            "--given", f"C={c}", "--n", 40_000, "--boot", 200], capsys)
        assert rc == 0, err
        lines = out.strip().splitlines()
        assert lines[0].startswith(f"E[Y | do(X=1), C={c}] = ")
        value = float(lines[2].split("=")[-1].split("[")[0])  # "ATE (X: 0 -> 1) = +0.1 [...]"
        assert abs(value - (do[1, 1, c] - do[1, 0, c])) < 0.03


def test_not_identifiable_gives_the_hedge(tmp_path, capsys):
    run, data = trained_run(tmp_path, bow(seed=0), 2000)
    rc, out, err = cli(["effects", "--run", run, "--data", data, "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and out == ""
    line = err.strip()
    assert len(line.splitlines()) == 1 and "not identifiable" in line and "hedge" in line


def test_data_is_required_and_must_be_the_runs(napkin_run, tmp_path, capsys):
    w, run, data = napkin_run
    rc, _, err = cli(["effects", "--run", run, "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and "hidden confounders" in err and "--data" in err and len(err.strip().splitlines()) == 1
    other = Dataset.from_units(w.sample(500, seed=9), w.graph).save(tmp_path / "other")
    rc, _, err = cli(["effects", "--run", run, "--data", other, "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and "is not the data run" in err and len(err.strip().splitlines()) == 1
    rc, _, err = cli(["effects", "--run", run, "--data", data, "--treatment", "X", "--outcome", "Y",
                      "--mediator", "W2"], capsys)
    assert rc == 2 and "not on a directed path" in err
    rc, _, err = cli(["effects", "--run", run, "--data", data, "--treatment", "W2", "--outcome", "Y",
                      "--mediator", "X"], capsys)
    assert rc == 2 and "without bidirected edges" in err and len(err.strip().splitlines()) == 1
    rc, _, err = cli(["effects", "--world", "napkin", "--data", data, "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and "--data applies to --run only" in err


def test_a_dict_trained_run_accepts_its_data_folder(tmp_path, capsys):
    """train() from a dict fingerprints the graph's columns only; a saved folder with an extra
    column is still recognised as the same data."""
    w = napkin(seed=0)
    units = w.sample(3000, seed=2)
    train(w.graph, dict(units.values), tmp_path / "run", options=TrainOptions(preset="quick", steps=5), accelerator=None)
    extra = {**units.values, "note": np.arange(3000) % 2}
    from core.graph import ADMG, Node

    g = ADMG([*w.graph.nodes, Node("note", "binary")], directed=w.graph.directed, bidirected=w.graph.bidirected)
    folder = Dataset.from_values(extra, g).save(tmp_path / "data")
    rc, out, err = cli(["effects", "--run", tmp_path / "run", "--data", folder, "--treatment", "X", "--outcome", "Y",
                        "--n", 2000, "--boot", 100], capsys)
    assert rc == 0, err
    assert out.startswith("E[Y | do(X=1)] = ")


# --------------------------------------------------------------------------------------------------
# A ground-truth world, and a trained Neural SCM


def test_cli_world_json_matches_exact_tables(capsys):
    w, ate, obs = backdoor_truth()
    rc, out, _ = cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--n", "20000", "--json"], capsys)
    assert rc == 0
    eff = json.loads(out)["effect"]

    def within(est, truth):  # 1.5 half-widths of a 95% interval: about 3 standard errors
        return abs(est["value"] - truth) <= 1.5 * (est["high"] - est["low"]) / 2

    assert within(eff["ate"], ate)
    assert within(eff["obs_difference"], obs)  # exact, from the tables
    assert np.sign(obs) != np.sign(ate)  # back-door: the association has the wrong sign
    rc, out, _ = cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--given", "Z", "--n", "3000"], capsys)
    assert rc == 0 and "Z=0" in out and "Z=1" in out


def test_cli_bad_input_is_one_line(capsys):
    rc, out, err = cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--mediator", "Z"], capsys)
    assert rc == 2 and err.strip() == "error: mediator Z is not on a directed path from X to Y"
    rc, _, err = cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--readout", "a"], capsys)
    assert rc == 2 and "not an image" in err and len(err.strip().splitlines()) == 1
    rc, _, err = cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Q"], capsys)
    assert rc == 2 and "Q" in err and len(err.strip().splitlines()) == 1
    rc, _, err = cli(["effects", "--world", "backdoor", "--treatment", "X", "--outcome", "Y", "--values", "1"], capsys)
    assert rc == 2 and "two values" in err
    rc, _, err = cli(["effects", "--world", "backdoor", "--param", "seed", "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and err.strip() == "error: --param takes K=V, got 'seed'"


def test_cli_run_from_a_trained_scm(tmp_path, capsys):
    w, ate, _ = backdoor_truth()
    units = w.sample(2000, seed=4)
    train(w.graph, dict(units.values), tmp_path / "run", options=TrainOptions(preset="quick", steps=60), accelerator=None)
    rc, out, err = cli(["effects", "--run", str(tmp_path / "run"), "--treatment", "X", "--outcome", "Y", "--n", "4000", "--json"], capsys)
    assert rc == 0, err
    eff = json.loads(out)["effect"]
    assert abs(eff["ate"]["value"] - ate) < 0.05
    assert eff["obs_difference"]["high"] < 0 < eff["ate"]["value"]  # the trained model sees the sign flip
    rc, _, err = cli(["effects", "--run", str(tmp_path / "nowhere"), "--treatment", "X", "--outcome", "Y"], capsys)
    assert rc == 2 and "does not exist" in err
