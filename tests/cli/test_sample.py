"""`python -m core sample`: ID-GEN from graph + data, Neural SCM from a trained run, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.worlds.discrete import frontdoor
from tests.helpers import REPO

ROOT = REPO


def core(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def frontdoor_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fd") / "data"
    r = core("world", "frontdoor", "--n", "20000", "--out", str(out), "--seed", "3")
    assert r.returncode == 0, r.stderr
    return out


def test_idgen_sample_matches_the_exact_interventional_table(frontdoor_data, tmp_path):
    out = tmp_path / "do_x1"
    r = core("sample", "--graph", "assets/graphs/frontdoor.json", "--data", str(frontdoor_data),
             "--do", "X=1", "--outcome", "Y", "--n", "20000", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "p(Y | M) on synthetic" in r.stderr  # the plan is shown before training
    table = pd.read_csv(out / "data.csv")
    assert list(table.columns) == ["X", "Y"] and (table["X"] == 1).all()
    # the registry's frontdoor world is discrete.frontdoor(seed=0) unless told otherwise
    meta = (frontdoor_data / "meta.json").read_text()
    assert '"frontdoor"' in meta
    truth = frontdoor(seed=0).do_table(["X"], ["Y"])[1, 1]
    assert abs(table["Y"].mean() - truth) < 0.03


@pytest.mark.parametrize(
    "args, message",
    [
        (["--graph", "assets/graphs/bow.json", "--do", "X=1", "--outcome", "Y"], "not identifiable"),
        (["--graph", "assets/graphs/frontdoor.json", "--do", "X=7", "--outcome", "Y"], "levels are 0..1"),
        (["--graph", "assets/graphs/frontdoor.json", "--do", "Q=1", "--outcome", "Y"], "unknown node 'Q'"),
        (["--graph", "assets/graphs/frontdoor.json", "--do", "X", "--outcome", "Y"], "expects NODE=VALUE"),
        (["--graph", "assets/graphs/frontdoor.json", "--do", "X=1"], "needs --outcome"),
        (["--do", "X=1", "--outcome", "Y"], "either --run"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(frontdoor_data, tmp_path, args, message):
    out = tmp_path / "out"
    r = core("sample", "--data", str(frontdoor_data), *args, "--n", "10", "--out", str(out))
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and message in last, r.stderr
    assert not out.exists()  # nothing half-written


def test_neural_scm_run_interventions_and_counterfactuals(tmp_path):
    data = tmp_path / "bd"
    assert core("world", "backdoor", "--n", "3000", "--out", str(data)).returncode == 0
    run = tmp_path / "run"
    r = core("train", "--graph", "assets/graphs/backdoor.json", "--data", str(data), "--out", str(run),
             "--steps", "200")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "cf"
    r = core("sample", "--run", str(run), "--data", str(data), "--counterfactual-of", "0-9", "--do", "X=1",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    cf = pd.read_csv(out / "data.csv")
    factual = pd.read_csv(data / "data.csv").iloc[:10]
    assert len(cf) == 10 and (cf["X"] == 1).all()
    # X's non-descendants keep their factual values under abduction-action-prediction
    assert np.array_equal(cf["Z"].to_numpy(), factual["Z"].to_numpy())
    r = core("sample", "--run", str(run), "--do", "X=0", "--n", "50", "--out", str(tmp_path / "int"))
    assert r.returncode == 0, r.stderr
