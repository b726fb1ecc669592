"""workbench.train_page: per-node settings, background jobs and their progress, the page's widgets."""

from __future__ import annotations

import threading

import pytest

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.runs.checkpoint import load_run
from core.runs.train import Progress
from core.worlds.registry import sample_dataset
from workbench import train_page
from workbench.keys import TrainPage


def test_format_eta_and_progress_text():
    assert train_page.format_eta(None) == "…"
    assert train_page.format_eta(65.4) == "1:05"
    assert train_page.format_eta(3723) == "1:02:03"
    p = train_page.NodeProgress("X", step=5, total=20, loss=0.5, eta=12.0, phase="step")
    assert train_page.progress_text(p) == "X: 5/20 steps · ETA 0:12"  # the loss is in the node's status line
    assert p.fraction == 0.25
    assert train_page.progress_text(train_page.NodeProgress("X")) == "X: waiting"


def test_loss_history_is_bounded_and_keeps_its_level():
    p = train_page.NodeProgress("X")
    for s in range(1, 5001):
        p.add_loss(s, 1.0 if s <= 2500 else 3.0)
    assert len(p.losses) < train_page.LOSS_POINTS
    steps = [s for s, _ in p.losses]
    assert steps == sorted(steps) and steps[-1] <= 5000
    first, last = p.losses[0][1], p.losses[-1][1]
    assert first == pytest.approx(1.0) and last == pytest.approx(3.0)


def test_settings_defaults_saved_choices_and_preset_groups():
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8)), Node("C", "continuous")],
             directed=[("A", "I"), ("A", "C")])
    s = train_page.default_settings(g, {"I": {"kind": "vae", "preset": "full"}, "A": {"kind": "nonsense"}}, "cpu")
    assert s["I"] == {"kind": "vae", "preset": "full"}
    assert s["A"] == {"kind": "categorical", "preset": "quick"}
    assert train_page.kind_options(g.node("I")) == ["latent_flow", "vae", "diffusion"]  # the default first
    assert train_page.preset_groups(["C", "I", "A"], s, g) == [("quick", ["A", "C"]), ("full", ["I"])]


def test_cli_commands_do_what_the_page_does():
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    s = {"A": {"kind": "categorical", "preset": "quick"}, "I": {"kind": "vae", "preset": "full"}}
    assert train_page.cli_commands(g, s, graph_file="g.json", data_file="d.npz", run_dir="run", steps=50) == [
        "python -m core train --graph g.json --data d.npz --out run --preset quick --nodes A --steps 50",
        "python -m core train --graph g.json --data d.npz --out run --preset full --nodes I --kind I=vae --steps 50",
    ]
    s["I"] = {"kind": "latent_flow", "preset": "quick"}  # the default kind: no --kind
    assert train_page.cli_commands(g, s, graph_file="g.json", data_file="d.npz", run_dir="run") == [
        "python -m core train --graph g.json --data d.npz --out run --preset quick"]


def test_registry_runs_jobs_reports_errors_and_refuses_a_second_job():
    reg = train_page.JobRegistry()
    gate = threading.Event()

    def slow(job):
        gate.wait(10)
        return "done"

    job = reg.start("ws", ["X"], slow)
    assert train_page.job_state(job) == "running"
    with pytest.raises(WorkbenchError, match="already running"):
        reg.start("ws", ["X"], slow)
    gate.set()
    assert job.wait(10) and job.summary == "done" and train_page.job_state(job) == "finished"

    def bad_input(job):
        raise WorkbenchError("the data set is empty (0 rows)")

    assert reg.start("ws", ["X"], bad_input).wait(10)
    assert reg.get("ws").error == "the data set is empty (0 rows)" and train_page.job_state(reg.get("ws")) == "failed"

    def crash(job):
        return {}["missing"]

    job = reg.start("ws", ["X"], crash)
    job.wait(10)
    assert job.error.startswith("training failed: KeyError: 'missing'") and "\n" not in job.error


def test_callback_tracks_progress_and_asks_to_stop():
    job = train_page.TrainJob("k", ["X"])
    assert job.callback(Progress("X", 10, 100, None, None, "start", "resuming at step 10")) is True
    assert job.current == "X" and job.snapshot()["X"].started_at == 10
    job.callback(Progress("X", 11, 100, 0.7, 5.0))
    job.request_stop()
    assert job.callback(Progress("X", 12, 100, 0.6, 4.0)) is False
    snap = job.snapshot()["X"]
    # the shown loss is the mean of the recent steps, as the run's final_loss is
    assert (snap.step, snap.losses) == (12, [(11, 0.7), (12, 0.6)]) and snap.loss == pytest.approx(0.65)
    job.callback(Progress("X", 12, 100, 0.6, None, "done", "stopped at step 12"))
    assert job.current is None


def test_loss_rows_join_saved_history_and_live_points():
    manifest = {"nodes": {"X": {"loss_history": [[10, 2.0], [20, 1.5]]}, "Y": {"loss_history": [[5, 9.0]]}}}
    live = train_page.NodeProgress("X", started_at=20, losses=[(21, 1.4), (22, 1.3)])
    rows = train_page.loss_rows({"X": live}, manifest, ["X", "Y", "Z"])
    assert [(r["node"], r["step"]) for r in rows] == [("X", 10), ("X", 20), ("X", 21), ("X", 22), ("Y", 5)]


def test_training_work_trains_and_resumes(tmp_path):
    ds, _ = sample_dataset("backdoor", 400, seed=0)
    settings = train_page.default_settings(ds.graph, None, "cpu")
    reg = train_page.JobRegistry()
    job = reg.start("k", ["X"], train_page.training_work(ds.graph, ds, run_path=tmp_path / "run", nodes=["X"],
                                                          settings=settings, steps=4))
    assert job.wait(60) and job.error is None, job.error
    assert load_run(tmp_path / "run").entry("X")["steps_done"] == 4
    job = reg.start("k", ["X"], train_page.training_work(ds.graph, ds, run_path=tmp_path / "run", nodes=["X"],
                                                          settings=settings, steps=7))
    assert job.wait(60) and job.error is None
    assert "resumed from step 4" in job.summary and load_run(tmp_path / "run").entry("X")["steps_done"] == 7
    with pytest.raises(WorkbenchError, match="choose at least one node"):
        train_page.training_work(ds.graph, ds, run_path=tmp_path / "run", nodes=[], settings=settings)


def test_widgets_give_the_chosen_settings_and_the_picked_nodes():
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    shown = train_page.default_settings(g, None, "cpu")  # rows not drawn yet keep these
    state = {TrainPage.kind("I"): "vae", TrainPage.preset("A"): "full", TrainPage.pick("I"): True,
             TrainPage.pick("A"): False}
    assert train_page.chosen_settings(state, g, shown) == {"A": {"kind": "categorical", "preset": "full"},
                                                           "I": {"kind": "vae", "preset": "quick"}}
    assert train_page.picked_nodes(state, g) == ["I"]
    assert train_page.picked_nodes({}, g) == []


def test_job_ended_is_true_once_after_a_running_job_stops():
    state: dict = {}
    assert train_page.job_ended(state, "idle") is False  # never seen running
    assert train_page.job_ended(state, "running") is False
    assert train_page.job_ended(state, "stopping") is False
    assert train_page.job_ended(state, "stopped") is True
    assert train_page.job_ended(state, "stopped") is False  # once
