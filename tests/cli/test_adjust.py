"""``python -m core adjust``, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.graph import parse_dagitty
from core.identify.estimand import p, product_of, sum_of
from core.worlds.discrete import DiscreteSCM
from tests.helpers import REPO

GRAPH = "dag { Z -> X -> Y ; Z -> Y ; X -> M -> Y ; I -> X ; A -> Z ; A -> Y }"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "adjust", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.dagitty"
    path.write_text(GRAPH)
    return path


def test_json_lists_minimal_sets_and_checks_one(graph_file: Path) -> None:
    out = run_cli("--graph", str(graph_file), "--do", "X", "--outcome", "Y", "--check", "A,Z", "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["minimal_sets"] == [["Z"]] and answer["valid"] is True and answer["reason"] == ""
    assert answer["instruments"] == [{"instrument": "I", "given": []}] and answer["front_door"] is None
    assert answer["formula"] == "sum_{A, Z} P(Y | X, A, Z) P(A, Z)"
    # The formula of the checked set is the interventional truth.
    world = DiscreteSCM(parse_dagitty(GRAPH), seed=2)
    formula = sum_of(["Z", "A"], product_of([p(["Y"], ["X", "Z", "A"]), p(["Z", "A"])]))
    assert np.abs(formula.table(world.observed_joint(), ["Y", "X"]) - world.do_table(["X"], ["Y"])).max() < 1e-12
    bad = json.loads(run_cli("--graph", str(graph_file), "--do", "X", "--outcome", "Y", "--check", "M", "--json").stdout)
    assert bad["valid"] is False and "M is on or after a causal path" in bad["reason"]
    empty = json.loads(run_cli("--graph", str(graph_file), "--do", "X", "--outcome", "Y", "--check", "", "--json").stdout)
    assert empty["valid"] is False and empty["reason"] == "a non-causal path from the treatment to the outcome stays open"


def test_text_answer(graph_file: Path, tmp_path: Path) -> None:
    out = run_cli("--graph", str(graph_file), "--do", "X", "--outcome", "Y", "--include", "A")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:2] == ["minimal adjustment sets for the effect of X on Y:", "  {Z, A}"]
    (tmp_path / "fd.dagitty").write_text("dag { X -> M -> Y ; X <-> Y }")
    fd = run_cli("--graph", str(tmp_path / "fd.dagitty"), "--do", "X", "--outcome", "Y")
    assert "no set of observed variables adjusts" in fd.stdout and "front-door set: {M}" in fd.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--do", "X", "--outcome", "Y", "--check", "Q"], "error: unknown node 'Q' in the adjustment set"),
        (["--do", "X", "--outcome", "Y", "--check", "X,Z"], "error: X is the treatment, so it cannot be in the adjustment set"),
        (["--do", "Q", "--outcome", "Y"], "error: unknown node 'Q' in the treatment"),
        (["--do", "X", "--outcome", " , "], "error: the outcome is empty"),
        (["--do", "X", "--outcome", "X"], "error: X cannot be both a treatment and an outcome"),
    ],
)
def test_bad_input_is_exit_two_with_one_line(graph_file: Path, args: list[str], message: str) -> None:
    out = run_cli("--graph", str(graph_file), *args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().startswith(message) and len(out.stderr.strip().splitlines()) == 1, out.stderr
