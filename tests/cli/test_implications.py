"""``python -m core implications``, run as a real subprocess, with and without data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.data import Dataset
from core.graph import parse_dagitty
from core.worlds.discrete import DiscreteSCM
from tests.helpers import REPO


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "implications", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=180)


def test_lists_independences_and_verma_constraints(tmp_path: Path) -> None:
    path = tmp_path / "g.dagitty"
    path.write_text("dag { a -> b -> c -> d ; b <-> d }")
    out = run_cli("--graph", str(path), "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["independencies"] == [{"left": ["a"], "right": ["c"], "given": ["b"]}]
    (verma,) = answer["verma_constraints"]
    assert verma["free_of"] == ["a"] and verma["text"] == "Q[d](c, d) does not depend on a"
    text = run_cli("--graph", str(path))
    assert text.stdout.splitlines()[0] == "a _||_ c | b"
    assert text.stdout.splitlines()[1].startswith("equality constraint: Q[d](c, d) does not depend on a")


def test_tests_the_claims_on_data_and_finds_a_planted_violation(tmp_path: Path) -> None:
    truth = parse_dagitty("dag { a -> b -> c ; a -> d ; c -> d }")
    world = DiscreteSCM(truth.with_edges([("a", "c")]), seed=5, alpha=0.6)  # the data hold an edge the graph lacks
    Dataset.from_units(world.sample(3000, seed=1), world.graph).save(tmp_path / "data")
    graph = tmp_path / "g.dagitty"
    graph.write_text(truth.to_dagitty())
    out = run_cli("--graph", str(graph), "--data", str(tmp_path / "data"), "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    contradicted = [(t["left"], t["right"]) for t in answer["tests"] if t["contradicted"]]
    assert ("a", "c") in contradicted and answer["contradicted"] == len(contradicted)
    assert all(t["method"] == "G-test" for t in answer["tests"])
    text = run_cli("--graph", str(graph), "--data", str(tmp_path / "data"))
    assert "CONTRADICTED" in text.stdout and "tested claims contradicted by the data" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "all"], "error: unknown --kind 'all'"),
        (["--alpha", "2"], "error: --alpha must be between 0 and 1"),
        (["--alpha", "x"], "error: --alpha must be a number"),
        (["--correction", "bonferroni"], "error: unknown --correction 'bonferroni'"),
        (["--data", "/nonexistent/data"], "error: data not found"),
    ],
)
def test_bad_input_is_exit_two_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "g.dagitty"
    path.write_text("dag { a -> b -> c }")
    out = run_cli("--graph", str(path), *args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().startswith(message) and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_data_with_a_missing_column_is_one_line(tmp_path: Path) -> None:
    world = DiscreteSCM(parse_dagitty("dag { a -> b }"), seed=1)
    Dataset.from_units(world.sample(50), world.graph).save(tmp_path / "data")
    path = tmp_path / "g.dagitty"
    path.write_text("dag { a -> b -> c }")
    out = run_cli("--graph", str(path), "--data", str(tmp_path / "data"))
    assert out.returncode == 2 and "missing column for graph node 'c'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
