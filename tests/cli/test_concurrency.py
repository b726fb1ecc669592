"""Second writers and kills at random moments, with real ``python -m core`` processes.

Two ``train`` processes on one run folder: the second stops at once with one line naming the first,
which finishes; a writer killed with SIGKILL at a random moment leaves a folder that loads at once and
that the next ``train`` resumes, and no node the run ever reported trained is lost; a ``world`` killed
while writing leaves a temporary folder that the next writer of that data set removes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.data import load_dataset
from core.runs.checkpoint import load_run
from core.worlds.registry import sample_dataset
from tests.helpers import REPO

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", *args], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 300.0, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("concurrency")
    ds, _ = sample_dataset("backdoor", 2000, seed=0)
    ds.save(root / "data")
    (root / "g.json").write_text(json.dumps(ds.graph.to_json()))
    return root


def train_args(files: Path, out: Path, *more: str) -> list[str]:
    return ["train", "--graph", str(files / "g.json"), "--data", str(files / "data"), "--out", str(out),
            "--preset", "quick", "--device", "cpu", "--quiet", *more]


@pytest.mark.slow
def test_a_second_trainer_gets_one_line_naming_the_first_and_nothing_is_lost(files, tmp_path):
    out = tmp_path / "run"
    first = start(*train_args(files, out, "--nodes", "Z", "--steps", "3000", "--checkpoint-every", "100"))
    wait_for(lambda: (out / ".lock.holder").exists() or first.poll() is not None)
    assert first.poll() is None, first.stderr.read()
    second = subprocess.run([sys.executable, "-m", "core", *train_args(files, out, "--nodes", "Y", "--steps", "20")],
                            cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"is in use by process {first.pid} since" in lines[0], second.stderr
    assert first.wait(600) == 0, first.stderr.read()
    again = subprocess.run([sys.executable, "-m", "core", *train_args(files, out, "--nodes", "Y", "--steps", "20")],
                           cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    run = load_run(out)
    assert set(run.trained_nodes()) == {"Z", "Y"}
    assert set(run.mechanisms()) == {"Z", "Y"}
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "nodes"]


@pytest.mark.slow
def test_kills_at_random_moments_leave_a_run_that_loads_and_resumes(files, tmp_path):
    out = tmp_path / "run"
    rng = random.Random(0)
    reported: set[str] = set()
    for _ in range(4):
        proc = start(*train_args(files, out, "--steps", "400", "--checkpoint-every", "20"))
        time.sleep(rng.uniform(1.0, 8.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (out / "manifest.json").exists():
            run = load_run(out)  # loads at once, whatever the moment of the kill
            trained = set(run.trained_nodes())
            assert reported <= trained, f"lost {reported - trained}"
            reported = trained
            for node in trained:
                run.load_mechanism(node)
    final = subprocess.run([sys.executable, "-m", "core", *train_args(files, out, "--steps", "400")], cwd=REPO,
                           env=ENV, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr
    run = load_run(out)
    assert set(run.trained_nodes()) == {"Z", "X", "Y"} and set(run.mechanisms()) == {"Z", "X", "Y"}
    assert not [p for p in (out / "nodes").iterdir() if p.name.startswith(".")], "no orphaned temporary files"


@pytest.mark.slow
def test_a_world_killed_while_writing_leaves_an_orphan_the_next_writer_removes(tmp_path):
    out = tmp_path / "big"
    proc = start("world", "backdoor", "--n", "1000000", "--out", str(out))
    wait_for(lambda: any(p.name.startswith(".big.") and p.name.endswith(".tmp") for p in tmp_path.iterdir())
             or proc.poll() is not None, every=0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    orphans = [p for p in tmp_path.iterdir() if p.name.startswith(".big.") and p.name.endswith(".tmp")]
    assert orphans, "the writer was killed before it began writing"
    done = subprocess.run([sys.executable, "-m", "core", "world", "backdoor", "--n", "50", "--out", str(out)],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]
    assert load_dataset(out).n == 50
