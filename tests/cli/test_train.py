"""``python -m core train``: a run killed with SIGKILL resumes where it stopped; bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core.cli import build_parser, main
from core.data import Dataset
from core.graph import ADMG
from core.runs.checkpoint import load_run
from tests.helpers import REPO

ROOT = REPO
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

GRAPH_JSON = {
    "nodes": [
        {"name": "Z", "type": "binary"},
        {"name": "X", "type": "continuous"},
        {"name": "I", "type": "image", "shape": [1, 8, 8]},
    ],
    "directed": [["Z", "X"], ["X", "I"]],
    "bidirected": [],
}


def columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    x = 2.0 * z + rng.normal(size=n)
    img = np.zeros((n, 1, 8, 8), dtype=np.uint8)
    img[:, 0, 2:6, 2:6] = np.clip(128 + 40 * x, 0, 255).astype(np.uint8)[:, None, None]
    return {"Z": z, "X": x, "I": img}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_train")
    graph = ADMG.from_json(GRAPH_JSON)
    (root / "g.json").write_text(json.dumps(GRAPH_JSON))
    Dataset.from_values(columns(120), graph).save_folder(root / "data")
    return root


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "train", *args], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=ROOT)


def same_weights(a, b) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def manifest_steps(run: Path, node: str) -> tuple[int, str] | None:
    try:
        entry = json.loads((run / "manifest.json").read_text())["nodes"][node]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None
    return entry["steps_done"], entry["status"]


def test_sigkill_mid_training_then_the_same_command_resumes_from_the_last_checkpoint(files, tmp_path, capsys):
    common = ["--graph", str(files / "g.json"), "--data", str(files / "data"), "--nodes", "I", "--kind", "I=vae",
              "--steps", "150", "--checkpoint-every", "10", "--device", "cpu", "--quiet"]
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", *common, "--out", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = manifest_steps(run, "I")
        if state and state[0] >= 10 or proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    killed_at, status = manifest_steps(run, "I")
    assert status == "training" and killed_at % 10 == 0 and 10 <= killed_at < 150
    # the folder a SIGKILL left is loadable: the manifest names complete files only
    assert load_run(run).load_node_checkpoint("I").step == killed_at

    assert main(["train", *common, "--out", str(tmp_path / "ref")]) == 0  # uninterrupted, for comparison
    capsys.readouterr()
    assert main(["train", *common, "--out", str(run)]) == 0  # the same command again
    assert f"I: resuming at step {killed_at}" in capsys.readouterr().err
    final = load_run(run)
    assert final.status("I") == "trained" and final.entry("I")["steps_done"] == 150
    w = final.load_weights("I")
    assert all(torch.isfinite(t).all() for t in w.values() if t.is_floating_point())
    # same seeds, one thread, RNG states restored: killing and resuming changes nothing
    assert same_weights(w, load_run(tmp_path / "ref").load_weights("I"))
    sample = final.load_mechanism("I").sample({"X": torch.linspace(-1, 3, 4)})
    assert sample.shape == (4, 1, 8, 8) and torch.isfinite(sample).all()
    names = sorted(p.name for p in (run / "nodes").iterdir())
    assert names == ["I.150.optim.pt", "I.150.safetensors"]  # old checkpoints and temp files cleaned up

    assert main(["train", *common, "--out", str(run)]) == 0
    assert "I: already trained (150 steps)" in capsys.readouterr().err
    assert same_weights(w, load_run(run).load_weights("I"))


def test_trains_every_node_and_reports(files, tmp_path, capsys):
    code = main(["train", "--graph", str(files / "g.json"), "--data", str(files / "data"), "--out",
                 str(tmp_path / "run"), "--steps", "3", "--kind", "I=vae", "--seed", "7", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Z: categorical trained 3/3 steps" in out and "I: vae trained 3/3 steps" in out
    assert "peak memory" in out
    run = load_run(tmp_path / "run")
    assert run.trained_nodes() == ["Z", "X", "I"]
    assert run.entry("X")["config"]["train"]["seed"] == 7


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing_column", "missing column for graph node 'W'"),
        ("image_shape", "column 'I': images are 1x8x8 (CxHxW), the graph says 3x8x8"),
        ("nan", "column 'X'"),
        ("empty", "empty"),
        ("not_ours", "not empty and is not a run folder"),
        ("corrupt_run", "manifest.json is corrupt (not JSON"),
        ("bad_kind", "--kind takes NODE=KIND"),
        ("wrong_kind", "node X is continuous: use mechanism kind continuous, not vae"),
        ("steps", "--steps must be a positive integer, got '0'"),
        ("unknown_node", "unknown node"),
        ("preset", "--preset must be one of quick, full"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(files, tmp_path, capsys, case, message):
    graph, data, out, extra = files / "g.json", files / "data", tmp_path / "run", []
    if case == "missing_column":
        g = json.loads(json.dumps(GRAPH_JSON))
        g["nodes"].append({"name": "W", "type": "binary"})
        g["directed"].append(["W", "X"])
        graph = tmp_path / "g.json"
        graph.write_text(json.dumps(g))
    elif case == "image_shape":
        g = json.loads(json.dumps(GRAPH_JSON))
        g["nodes"][2]["shape"] = [3, 8, 8]
        graph = tmp_path / "g.json"
        graph.write_text(json.dumps(g))
    elif case == "nan":
        data = write_csv(tmp_path / "d.csv", pd.DataFrame({"Z": [0, 1, 0], "X": [0.5, np.nan, 1.0]}))
        extra = ["--nodes", "X"]
    elif case == "empty":
        data = write_csv(tmp_path / "d.csv", pd.DataFrame({"Z": pd.Series([], dtype=int)}))
        extra = ["--nodes", "Z"]
    elif case == "not_ours":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif case == "corrupt_run":
        out.mkdir()
        (out / "manifest.json").write_text('{"format": "causal-workbench-run", "vers')
    elif case == "bad_kind":
        extra = ["--kind", "I"]
    elif case == "wrong_kind":
        extra = ["--kind", "X=vae"]
    elif case == "steps":
        extra = ["--steps", "0"]
    elif case == "unknown_node":
        extra = ["--nodes", "Q"]
    elif case == "preset":
        extra = ["--preset", "huge"]
    code = main(["train", "--graph", str(graph), "--data", str(data), "--out", str(out), "--steps", "2", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and message in err, err
    if case == "not_ours":
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    elif case == "corrupt_run":
        assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
        assert (out / "manifest.json").read_text().endswith('"vers')
    else:
        assert not out.exists()


def test_bad_input_from_a_real_process_is_one_line_on_stderr(files, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("x")
    r = cli("--graph", str(files / "g.json"), "--data", str(files / "data"), "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "refusing to write into it" in r.stderr


def test_help_explains_every_flag():
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    text = sub.format_help()
    for flag in ("--graph", "--data", "--out", "--preset", "--nodes", "--steps", "--kind", "--seed",
                 "--checkpoint-every", "--device", "--mixed-precision", "--batch-size", "--lr"):
        assert flag in text
