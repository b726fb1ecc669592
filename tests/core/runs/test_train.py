"""Training jobs: learning against known mechanisms, exact resume, stop, skip/refuse, bad data, accelerate, memory."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import WorkbenchError
from core.graph import ADMG
from core.mechanisms.base import node_seed
from core.mechanisms.precision import amp_dtype, cpu_has_bf16_units
from core.mechanisms.schedule import learning_rate
from core.runs.checkpoint import CheckpointError, load_run
from core.runs.train import (
    Progress,
    TrainOptions,
    eta_seconds,
    resolve_device,
    train,
)
from tests.helpers import REPO

ROOT = REPO

GRAPH = ADMG.from_json(
    {
        "nodes": [
            {"name": "Z", "type": "binary"},
            {"name": "X", "type": "continuous"},
            {"name": "Y", "type": "binary"},
            {"name": "I", "type": "image", "shape": [1, 8, 8]},
        ],
        "directed": [["Z", "X"], ["X", "Y"], ["X", "I"]],
        "bidirected": [],
    }
)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def make_data(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Z ~ Bern(0.3); X = 2 Z + N(0, 1); Y ~ Bern(sigmoid(2 X - 2)); I = a square whose brightness is X."""
    rng = np.random.default_rng(seed)
    z = (rng.random(n) < 0.3).astype(np.int64)
    x = 2.0 * z + rng.normal(size=n)
    y = (rng.random(n) < sigmoid(2 * x - 2)).astype(np.int64)
    level = np.clip(128 + 40 * x, 0, 255)
    img = np.zeros((n, 1, 8, 8), dtype=np.uint8)
    img[:, 0, 2:6, 2:6] = level[:, None, None].astype(np.uint8)
    return {"Z": z, "X": x, "Y": y, "I": img}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Two cores shared with other jobs: one intra-op thread trains as fast and never spins."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return make_data(300)


def quick(steps: int, **kw) -> TrainOptions:
    return TrainOptions(preset="quick", steps=steps, kinds={"I": "vae"}, device="cpu", **kw)


def weights(run_path, node):
    return load_run(run_path).load_weights(node)


def same_weights(a, b) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


# ---- pure pieces


def test_node_seed_is_stable_and_distinct():
    assert node_seed(0, "X") == node_seed(0, "X")
    assert len({node_seed(s, v) for s in range(3) for v in "XYZ"}) == 9


def test_eta_is_mean_step_time_times_steps_left():
    assert eta_seconds(10.0, 5, 20) == pytest.approx(40.0)
    assert eta_seconds(0.0, 0, 20) is None
    assert eta_seconds(3.0, 3, 0) == 0.0


def test_a_scheduled_run_resumes_on_the_same_curve(tmp_path, data):
    cosine = {"I": {"train": {"schedule": "cosine"}}}
    opts = quick(12, checkpoint_every=4, overrides=cosine)
    train(GRAPH, data, tmp_path / "straight", nodes=["I"], options=opts)
    train(GRAPH, data, tmp_path / "resumed", nodes=["I"], options=opts,
          callback=lambda p: not (p.phase == "step" and p.step == 5))
    train(GRAPH, data, tmp_path / "resumed", nodes=["I"], options=opts)
    assert same_weights(weights(tmp_path / "straight", "I"), weights(tmp_path / "resumed", "I"))
    plain = train(GRAPH, data, tmp_path / "plain", nodes=["I"], options=quick(12, checkpoint_every=4))
    assert not same_weights(weights(tmp_path / "straight", "I"), weights(tmp_path / "plain", "I"))
    assert plain.nodes["I"].status == "trained"
    state = load_run(tmp_path / "straight").load_node_checkpoint("I").optimizer
    assert state["param_groups"][0]["lr"] == pytest.approx(learning_rate(11, 1e-3, "cosine", [12]))
    with pytest.raises(WorkbenchError, match="schedule must be one of"):
        train(GRAPH, data, tmp_path / "bad", nodes=["I"], options=quick(4, overrides={"I": {"train": {"schedule": "step"}}}))


def test_mixed_precision_by_default_only_for_images_and_on_cpus_only_with_bf16_units():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert amp_dtype(cpu, "bf16", True) is torch.bfloat16  # asked for: bf16 on any CPU
    assert amp_dtype(cpu, "auto", False) is None
    assert amp_dtype(cpu, "auto", True) is (torch.bfloat16 if cpu_has_bf16_units() else None)
    assert amp_dtype(cpu, "no", True) is None
    with pytest.raises(WorkbenchError, match="fp16 mixed precision needs a CUDA GPU"):
        amp_dtype(cpu, "fp16", True)
    assert amp_dtype(cuda, "no", True) is None
    assert amp_dtype(cuda, "auto", False) is None
    assert amp_dtype(cuda, "fp16", False) is torch.float16
    assert amp_dtype(cuda, "bf16", True) is torch.bfloat16


def test_device_choice():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(WorkbenchError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(WorkbenchError, match="unknown device"):
        resolve_device("tpu9")


def test_bad_options_are_one_line_errors():
    with pytest.raises(WorkbenchError, match="unknown optimizer 'sgd'"):
        TrainOptions(optimizer="sgd")
    with pytest.raises(WorkbenchError, match="steps must be a positive integer"):
        TrainOptions(steps=0)
    with pytest.raises(WorkbenchError, match="mixed precision"):
        TrainOptions(mixed_precision="fp8")


# ---- learning


def test_trained_models_recover_known_mechanisms(tmp_path):
    """P(Y=1 | X=x) = sigmoid(2x - 2) and E[X | Z=z] = 2z, read off the trained models."""
    d = make_data(3000, seed=1)
    result = train(GRAPH, d, tmp_path / "run", nodes=["X", "Y"], options=quick(200))
    assert {r.status for r in result.nodes.values()} == {"trained"}
    run = load_run(tmp_path / "run")
    y_model = run.load_mechanism("Y")
    xs = torch.linspace(-1.0, 3.0, 9)
    with torch.no_grad():
        p1 = torch.softmax(y_model.logits({"X": xs}), dim=1)[:, 1].numpy()
    assert np.abs(p1 - sigmoid(2 * xs.numpy() - 2)).max() < 0.08
    x_model = run.load_mechanism("X")
    gen = torch.Generator().manual_seed(0)
    for z in (0, 1):
        draws = x_model.sample({"Z": torch.full((4000,), z)}, generator=gen).numpy()
        assert draws.mean() == pytest.approx(2.0 * z, abs=0.12)
        assert draws.std() == pytest.approx(1.0, abs=0.12)
    # the manifest records what a user needs to see
    entry = run.manifest["nodes"]["Y"]
    assert entry["status"] == "trained" and entry["steps_done"] == 200 and entry["total_steps"] == 200
    assert entry["parents"] == ["X"]
    assert entry["loss_history"][-1][0] == 200
    assert entry["loss_history"][-1][1] < entry["loss_history"][0][1]
    assert math.isfinite(entry["metrics"]["eval_loss"]) and entry["metrics"]["device"] == "cpu"
    assert run.manifest["nodes"]["Z"]["status"] == "untrained"  # --nodes X,Y left Z alone


# ---- stop and resume


def test_stopped_then_resumed_training_equals_uninterrupted_training(tmp_path, data):
    """Batches, noise and optimiser state are restored: resume is bit-identical (one process, CPU)."""
    opts = quick(20, checkpoint_every=5)
    train(GRAPH, data, tmp_path / "straight", options=opts)

    def stop_at_8(p: Progress):
        return not (p.phase == "step" and p.step == 8)

    first = train(GRAPH, data, tmp_path / "resumed", options=opts, callback=stop_at_8)
    assert first.stopped and list(first.nodes) == ["Z"]  # the first node (topological order) stopped
    assert first.nodes["Z"].status == "stopped" and first.nodes["Z"].steps_done == 8
    run = load_run(tmp_path / "resumed")
    assert run.status("Z") == "training" and run.entry("Z")["steps_done"] == 8  # a stop saves first

    seen: list[Progress] = []
    second = train(GRAPH, data, tmp_path / "resumed", options=opts, callback=seen.append)
    assert second.nodes["Z"].resumed_from == 8
    starts = [p for p in seen if p.phase == "start"]
    assert [(p.node, p.step) for p in starts] == [("Z", 8), ("X", 0), ("Y", 0), ("I", 0)]
    for v in GRAPH.names:
        assert same_weights(weights(tmp_path / "straight", v), weights(tmp_path / "resumed", v)), v
    assert load_run(tmp_path / "resumed").load_node_checkpoint("Z").loss_history == pytest.approx(
        load_run(tmp_path / "straight").load_node_checkpoint("Z").loss_history
    )


def test_stop_event_from_another_thread_stops_after_a_checkpoint(tmp_path, data):
    reached = threading.Event()
    stop = threading.Event()
    reports: list[Progress] = []

    def callback(p: Progress):
        reports.append(p)
        if p.phase == "step" and p.step >= 3:
            reached.set()

    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("r", train(GRAPH, data, tmp_path / "run", nodes=["I"], options=quick(5000),
                                                    callback=callback, stop=stop))
    )
    worker.start()
    assert reached.wait(120)
    stop.set()
    worker.join(120)
    r = result["r"].nodes["I"]
    assert r.status == "stopped" and 3 <= r.steps_done < 5000
    run = load_run(tmp_path / "run")
    assert run.entry("I")["steps_done"] == r.steps_done and run.status("I") == "training"
    steps = [p.step for p in reports if p.phase == "step"]
    assert steps == list(range(1, r.steps_done + 1))
    assert all(p.total_steps == 5000 and p.node == "I" for p in reports)
    assert all(p.eta_seconds is not None and p.eta_seconds >= 0 for p in reports if p.phase == "step")
    assert reports[-1].phase == "done" and "stopped" in reports[-1].message
    assert run.load_mechanism("I", allow_partial=True).kind == "vae"


def test_trained_nodes_are_skipped_extended_or_protected(tmp_path, data):
    train(GRAPH, data, tmp_path / "run", nodes=["Z"], options=quick(10))
    before = weights(tmp_path / "run", "Z")
    again = train(GRAPH, data, tmp_path / "run", nodes=["Z"], options=quick(10))
    assert again.nodes["Z"].status == "skipped"
    assert same_weights(before, weights(tmp_path / "run", "Z"))
    longer = train(GRAPH, data, tmp_path / "run", nodes=["Z"], options=quick(15))
    assert longer.nodes["Z"].resumed_from == 10 and longer.nodes["Z"].steps_done == 15
    train(GRAPH, data, tmp_path / "run", nodes=["I"], options=quick(5))
    image_before = weights(tmp_path / "run", "I")
    with pytest.raises(CheckpointError, match="node I .* was trained with kind vae, not diffusion"):
        train(GRAPH, data, tmp_path / "run", nodes=["I"],
              options=TrainOptions(preset="quick", steps=5, kinds={"I": "diffusion"}, device="cpu"))
    assert same_weights(image_before, weights(tmp_path / "run", "I"))
    # without an explicit kind, a started node keeps the kind it was trained with
    kept = train(GRAPH, data, tmp_path / "run", nodes=["I"], options=TrainOptions(steps=7, device="cpu"))
    assert kept.nodes["I"].kind == "vae" and kept.nodes["I"].resumed_from == 5
    with pytest.raises(CheckpointError, match="preset quick, not full"):
        train(GRAPH, data, tmp_path / "run", nodes=["Z"], options=TrainOptions(preset="full", steps=20, device="cpu"))


def test_config_overrides_reach_the_stored_mechanism_and_survive_a_resume(tmp_path, data):
    conditional = {"I": {"scale": "conditional"}}
    train(GRAPH, data, tmp_path / "run", nodes=["I"], options=quick(4, overrides=conditional))
    run = load_run(tmp_path / "run")
    assert run.entry("I")["config"]["scale"] == "conditional"
    assert run.load_mechanism("I").conditional_scale
    assert any(k.startswith("residual_scale_head.") for k in weights(tmp_path / "run", "I"))
    longer = train(GRAPH, data, tmp_path / "run", nodes=["I"], options=quick(6))  # no override: kept as stored
    assert longer.nodes["I"].resumed_from == 4 and load_run(tmp_path / "run").entry("I")["config"]["scale"] == "conditional"
    with pytest.raises(WorkbenchError, match="VAE scale must be"):
        train(GRAPH, data, tmp_path / "other", nodes=["I"], options=quick(4, overrides={"I": {"scale": "per-image"}}))
    assert not (tmp_path / "other" / "I").exists()


# ---- bad input


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("X"), "missing column for graph node 'X'"),
        (lambda d: d["X"].__setitem__(5, np.nan), r"row 5, column 'X': nan"),
        (lambda d: d.__setitem__("I", np.zeros((len(d["Z"]), 3, 8, 8), np.uint8)), "column 'I': images are 3x8x8"),
        (lambda d: d.update({k: v[:0] for k, v in d.items()}), "empty"),
        (lambda d: d["Z"].__setitem__(0, 7), r"row 0, column 'Z': value 7 is outside 0..1"),
    ],
)
def test_bad_data_is_refused_before_anything_is_written(tmp_path, data, change, message):
    d = {k: v.copy() for k, v in data.items()}
    change(d)
    with pytest.raises(WorkbenchError, match=message) as e:
        train(GRAPH, d, tmp_path / "run", options=quick(5))
    assert "\n" not in str(e.value)
    assert not (tmp_path / "run").exists()


def test_data_only_needs_the_trained_nodes_and_their_parents(tmp_path, data):
    d = {"X": data["X"], "Y": data["Y"]}
    result = train(GRAPH, d, tmp_path / "run", nodes=["Y"], options=quick(3))
    assert result.nodes["Y"].status == "trained"
    with pytest.raises(WorkbenchError, match="unknown node"):
        train(GRAPH, d, tmp_path / "run", nodes=["Q"], options=quick(3))


def test_other_data_is_refused_for_a_started_run(tmp_path, data):
    train(GRAPH, data, tmp_path / "run", nodes=["Z"], options=quick(3))
    with pytest.raises(CheckpointError, match="trained on different data"):
        train(GRAPH, make_data(300, seed=9), tmp_path / "run", nodes=["Z"], options=quick(3))


# ---- accelerate


def test_accelerate_path_on_cpu_matches_the_plain_loop(tmp_path, data):
    from accelerate import Accelerator

    # the plain loop's bf16 autocast on a CPU with bf16 units is its own; an Accelerator brings its
    # mixed precision (none here), so both run in float32 for the comparison
    opts = quick(12, checkpoint_every=5, mixed_precision="no")
    train(GRAPH, data, tmp_path / "plain", nodes=["X", "I"], options=opts, accelerator=None)
    acc = Accelerator(cpu=True)
    result = train(GRAPH, data, tmp_path / "acc", nodes=["X", "I"], options=opts, accelerator=acc)
    assert result.nodes["I"].metrics["processes"] == 1
    for v in ("X", "I"):
        assert same_weights(weights(tmp_path / "plain", v), weights(tmp_path / "acc", v)), v
    assert load_run(tmp_path / "acc").load_mechanism("I").kind == "vae"




@pytest.mark.slow
def test_two_processes_with_torchrun_on_cpu(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_port", "29533", "-m", "tests.core.runs.ddp_worker",
         str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [ln.split() for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    assert len(lines) == 2 and ["2", "6"] in [ln[1:3] for ln in lines]
    # each process drew its own batches; identical weights mean DDP averaged the gradients
    assert lines[0][3] == lines[1][3]
    run = load_run(tmp_path / "run")
    assert run.status("I") == "trained" and run.entry("I")["metrics"]["processes"] == 2
    mech = run.load_mechanism("I")
    sample = mech.sample({"X": torch.zeros(4)})
    assert torch.isfinite(sample).all()


# ---- memory


MEMORY_SCRIPT = """
import sys, json, torch
torch.set_num_threads(1)
import numpy as np
from core.graph import ADMG
from core.runs.train import train, TrainOptions, peak_rss_bytes
g = ADMG.from_json({{"nodes": [{{"name": "D", "type": "categorical", "levels": 10}},
                               {{"name": "I", "type": "image", "shape": [3, 16, 16]}}],
                    "directed": [["D", "I"]], "bidirected": []}})
rng = np.random.default_rng(0)
n = 2000
data = {{"D": rng.integers(0, 10, n), "I": rng.integers(0, 256, (n, 3, 16, 16)).astype(np.uint8)}}
r = train(g, data, sys.argv[1], nodes=["I"],
          options=TrainOptions(preset="quick", steps=int(sys.argv[3]), kinds={{"I": sys.argv[2]}}, device="cpu"))
print(json.dumps({{"peak_mib": peak_rss_bytes() / 2**20, "batch": r.nodes["I"].metrics["batch_size"],
                  "params": r.nodes["I"].metrics["parameters"]}}))
"""


@pytest.mark.slow  # about 5 s per kind in a child process; benchmarks report every image node's peak RSS
@pytest.mark.parametrize("kind", ["latent_flow", "diffusion", "vae"])
def test_peak_memory_of_quick_image_training_is_small(tmp_path, kind):
    """Quick preset, 3x16x16 image node with a categorical parent, full preset batch: peak RSS <= 4 GiB."""
    script = tmp_path / "mem.py"
    script.write_text(MEMORY_SCRIPT.format())
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run"), kind, "8"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},  # this checkout's core, not an installed one
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\npeak RSS, quick {kind} 3x16x16 (batch {report['batch']}, {report['params']} parameters): "
          f"{report['peak_mib']:.0f} MiB")
    assert report["peak_mib"] < 4096


@pytest.fixture(autouse=True)
def _no_leftover_accelerate_state():
    yield
    # Accelerator() is a process-wide singleton; keep one test's accelerator out of the next
    try:
        from accelerate.state import AcceleratorState, PartialState

        AcceleratorState._reset_state(True)
        PartialState._reset_state()
    except Exception:  # older/newer accelerate without these hooks: nothing to clean
        pass



# ---- one trainer per run folder


def test_a_second_trainer_of_one_run_folder_is_refused_and_the_first_loses_nothing(tmp_path, data):
    """Thread A trains Z and pauses inside its first step; thread B asks to train Y into the same folder."""
    out = tmp_path / "run"
    started, go_on = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def pause_once(p: Progress) -> bool:
        if p.phase == "step" and not started.is_set():
            started.set()
            go_on.wait(60)
        return True

    def trainer_a() -> None:
        results["a"] = train(GRAPH, data, out, nodes=["Z"], options=quick(5), callback=pause_once, accelerator=None)

    a = threading.Thread(target=trainer_a)
    a.start()
    assert started.wait(60)
    with pytest.raises(WorkbenchError, match=rf"run folder .*run is in use by process {os.getpid()} since"):
        train(GRAPH, data, out, nodes=["Y"], options=quick(5), accelerator=None)
    go_on.set()
    a.join(120)
    assert results["a"].nodes["Z"].status == "trained"
    assert load_run(out).trained_nodes() == ["Z"]
    train(GRAPH, data, out, nodes=["Y"], options=quick(5), accelerator=None)  # once A is done, B may go
    assert load_run(out).trained_nodes() == ["Z", "Y"]


def test_an_unusable_device_leaves_no_run_folder(tmp_path, data):
    with pytest.raises(WorkbenchError, match="device mps asked for|device cuda asked for"):
        train(GRAPH, data, tmp_path / "run", nodes=["Z"], options=TrainOptions(preset="quick", steps=2,
              device="cuda" if not torch.cuda.is_available() else "mps"), accelerator=None)
    assert not (tmp_path / "run").exists()


def test_rows_the_data_holds_out_are_never_trained_on(tmp_path):
    """A held-out split (imported data) stays out of training: A is 0 on every training row and 1
    on every held-out row, so a model that saw the held-out rows would put mass on A = 1."""
    import pandas as pd

    from core.data import Dataset
    from core.graph import Node

    n = 500
    values = np.zeros(n, dtype=np.int64)
    values[400:] = 1
    ds = Dataset(pd.DataFrame({"A": values}), nodes={"A": Node("A", "binary")},
                 split={"rows": [[400, 500]], "source": "test"})
    graph = ADMG([Node("A", "binary")])
    train(graph, ds, tmp_path / "run", options=TrainOptions(preset="quick", steps=150, device="cpu"), accelerator=None)
    run = load_run(tmp_path / "run")
    mech = run.load_mechanism("A")
    with torch.no_grad():
        p1 = float(mech.log_prob({}, torch.ones(1, dtype=torch.int64)).exp())
    assert p1 < 0.05  # trained on every row it would be 0.2
    assert run.fingerprint == ds.fingerprint and run.manifest["data"]["rows"] == n
