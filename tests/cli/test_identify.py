"""``python -m core identify``, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.identify.estimand import from_json
from core.worlds.discrete import napkin
from tests.helpers import REPO

ROOT = REPO


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "core", "identify", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def napkin_json(tmp_path: Path) -> Path:
    path = tmp_path / "napkin.json"
    path.write_text(json.dumps(napkin().graph.to_json()))
    return path


def test_json_answer_is_the_contract_and_evaluates_to_the_truth(napkin_json: Path) -> None:
    out = run_cli("--graph", str(napkin_json), "--do", "X", "--outcome", "Y", "--format", "json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert set(answer) == {"identifiable", "estimand", "text", "latex"}
    assert answer["identifiable"] is True
    estimand = from_json(answer["estimand"])
    assert estimand.to_text() == answer["text"]
    world = napkin(seed=4)
    got = estimand.table(world.observed_joint(), ["Y", "X"])
    assert np.abs(got - world.do_table(["X"], ["Y"])).max() < 1e-12


def test_text_and_latex_formats(napkin_json: Path) -> None:
    text = run_cli("--graph", str(napkin_json), "--do", "X", "--outcome", "Y")
    assert text.returncode == 0 and text.stdout.strip() == (
        "[sum_{W1} P(W1) P(X, Y | W1, W2)] / [sum_{W1} P(W1) P(X | W1, W2)]"
    )
    latex = run_cli("--graph", str(napkin_json), "--do", "X", "--outcome", "Y", "--format", "latex")
    assert latex.returncode == 0 and latex.stdout.startswith(r"\frac{\sum_{W_{1}}")


def test_not_identifiable_is_exit_zero_with_hedge(tmp_path: Path) -> None:
    path = tmp_path / "bow.txt"
    path.write_text("dag { X -> Y ; X <-> Y ; Z -> Y }")  # dagitty
    out = run_cli("--graph", str(path), "--do", "X", "--outcome", "Y", "--given", "Z", "--format", "json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["identifiable"] is False
    f, f_prime = answer["hedge"]
    assert set(f_prime) < set(f) and "X" in f and "X" not in f_prime
    assert "not identifiable" in answer["reason"]
    text = run_cli("--graph", str(path), "--do", "X", "--outcome", "Y")
    assert text.returncode == 0 and text.stdout.startswith("P(Y | do(X)) is not identifiable")


def test_multi_variable_query(tmp_path: Path) -> None:
    path = tmp_path / "g.txt"
    path.write_text("dag { X1 -> Z -> X2 -> Y ; X1 -> Y ; Z -> Y ; Z <-> Y ; Y -> W }")
    out = run_cli("--graph", str(path), "--do", "X1,X2", "--outcome", "Y, W", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["identifiable"] is True


@pytest.mark.parametrize(
    ("graph_text", "args", "message"),
    [
        ('{"nodes": [{"name": "X"}], "directed": [["X", "Q"]]', ["--do", "X", "--outcome", "Y"], "error:"),
        ("dag { X -> Y ; Y -> X }", ["--do", "X", "--outcome", "Y"], "directed cycle"),
        ("dag { X -> Y }", ["--do", "Q", "--outcome", "Y"], "unknown node 'Q'"),
        ("dag { X -> Y }", ["--do", "X", "--outcome", "X"], "X cannot be in both the treatment and the outcome"),
        ("dag { X -> Y }", ["--do", "X", "--outcome", ","], "outcome is empty"),
    ],
)
def test_bad_input_is_exit_two_with_one_line(tmp_path: Path, graph_text: str, args: list[str], message: str) -> None:
    path = tmp_path / "g.txt"
    path.write_text(graph_text)
    out = run_cli("--graph", str(path), *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert out.stdout == ""


def test_missing_graph_file_is_exit_two(tmp_path: Path) -> None:
    out = run_cli("--graph", str(tmp_path / "none.json"), "--do", "X", "--outcome", "Y")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
