"""The Train page and its logic (``core.ui_train``): per-node settings, background jobs that survive a
browser refresh, live progress, stop and resume, errors shown on the page."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.errors import WorkbenchError
from core.graph import ADMG, Node
from core.runs import workspace as W
from core.runs.checkpoint import load_run
from core.runs.train import Progress
from core.worlds.registry import sample_dataset
from tests.helpers import APP
from workbench import train_page

PAGE = "views/train.py"


# ---- pure pieces


def test_format_eta_and_progress_text():
    assert train_page.format_eta(None) == "…"
    assert train_page.format_eta(65.4) == "1:05"
    assert train_page.format_eta(3723) == "1:02:03"
    p = train_page.NodeProgress("X", step=5, total=20, loss=0.5, eta=12.0, phase="step")
    assert train_page.progress_text(p) == "X: 5/20 steps · loss 0.5 · ETA 0:12"
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
    assert train_page.kind_options(g.node("I")) == ["diffusion", "vae"]
    assert train_page.preset_groups(["C", "I", "A"], s, g) == [("quick", ["A", "C"]), ("full", ["I"])]


def test_cli_commands_do_what_the_page_does():
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    s = {"A": {"kind": "categorical", "preset": "quick"}, "I": {"kind": "vae", "preset": "full"}}
    assert train_page.cli_commands(g, s, "g.json", "d.npz", "run", steps=50) == [
        "python -m core train --graph g.json --data d.npz --out run --preset quick --nodes A --steps 50",
        "python -m core train --graph g.json --data d.npz --out run --preset full --nodes I --kind I=vae --steps 50",
    ]
    s["I"] = {"kind": "diffusion", "preset": "quick"}
    assert train_page.cli_commands(g, s, "g.json", "d.npz", "run") == [
        "python -m core train --graph g.json --data d.npz --out run --preset quick"]


def test_registry_runs_jobs_reports_errors_and_refuses_a_second_job():
    reg = train_page.JobRegistry()
    gate = __import__("threading").Event()

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
    assert (snap.step, snap.loss, snap.losses) == (12, 0.6, [(11, 0.7), (12, 0.6)])
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
    job = reg.start("k", ["X"], train_page.training_work(ds.graph, ds, tmp_path / "run", ["X"], settings, steps=4))
    assert job.wait(60) and job.error is None, job.error
    assert load_run(tmp_path / "run").entry("X")["steps_done"] == 4
    job = reg.start("k", ["X"], train_page.training_work(ds.graph, ds, tmp_path / "run", ["X"], settings, steps=7))
    assert job.wait(60) and job.error is None
    assert "resumed from step 4" in job.summary and load_run(tmp_path / "run").entry("X")["steps_done"] == 7
    with pytest.raises(WorkbenchError, match="choose at least one node"):
        train_page.training_work(ds.graph, ds, tmp_path / "run", [], settings)


# ---- the page


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Train"]
    return at


def wait_for(at: AppTest, done, timeout: float = 60.0) -> AppTest:
    t0 = time.time()
    while time.time() - t0 < timeout:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(0.3)
    raise AssertionError("timed out")


def sidebar_text() -> str:
    """The sidebar of a fresh session (AppTest drops the entry script's sidebar after switch_page)."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    return " ".join(m.value for m in at.sidebar.markdown)


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


@pytest.fixture
def backdoor_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_ROOT, str(tmp_path))
    ds, world = sample_dataset("backdoor", 1500, seed=0)
    ws = W.create_workspace("bd", tmp_path)
    ws.save_graph(ds.graph, "backdoor")
    ws.save_dataset(ds, "world backdoor")
    W.remember_last("bd", tmp_path)
    yield ws, ds
    assert train_page.stop_all(timeout=30) == 0  # no training thread outlives its test


def test_page_without_data_says_so():
    at = open_page()
    assert any("No data yet" in i.value for i in at.info)


def test_train_all_shows_progress_and_updates_the_sidebar(backdoor_workspace):
    ws, ds = backdoor_workspace
    at = open_page()
    # the table: one row per node with its parents, mechanism and preset choices
    assert [s.value for s in at.selectbox if s.key.startswith("train_kind_")] == ["categorical"] * 3
    assert "`Z`, `X`" in [m.value for m in at.markdown]
    at.number_input(key="train_steps").set_value(40).run()
    assert W.open_workspace("bd").settings["steps"] == 40  # settings are saved with the workspace
    at.button(key="train_all").click().run()
    at = wait_for(at, lambda a: any("Training finished" in s.value for s in a.success))
    texts = progress_texts(at)
    assert len(texts) == 3 and all("40/40 steps" in t and "trained" in t for t in texts), texts
    assert len(at.get("plotly_chart")) == 1  # the loss curves
    assert "`Y` trained · 40/40 steps · loss" in sidebar_text()
    assert load_run(ws.run_path).trained_nodes() == ["Z", "X", "Y"]


def test_stop_survives_a_refresh_and_resume_continues(backdoor_workspace):
    ws, ds = backdoor_workspace
    at = open_page()
    at.number_input(key="train_steps").set_value(100_000).run()
    at.button(key="train_one_Z").click().run()
    at = wait_for(at, lambda a: any("Z: " in t and "ETA" in t for t in progress_texts(a)))
    assert at.button(key="train_stop").proto.disabled is False
    assert at.button(key="train_all").proto.disabled is True  # one job at a time
    # A browser refresh is a new session: the job and its progress are still there.
    again = open_page()
    assert any(t.startswith("Z: ") and "ETA" in t for t in progress_texts(again))
    assert "`Z` training · " in sidebar_text()
    again.button(key="train_stop").click().run()
    again = wait_for(again, lambda a: any("Stopped" in i.value for i in a.info))
    entry = load_run(ws.run_path).entry("Z")
    stopped_at = entry["steps_done"]
    assert 0 < stopped_at < 100_000 and entry["status"] == "training"
    # Resume with a reachable total: training continues from the checkpoint, not from zero.
    again.number_input(key="train_steps").set_value(stopped_at + 5).run()
    again.button(key="train_one_Z").click().run()
    again = wait_for(again, lambda a: any("Training finished" in s.value for s in a.success))
    assert f"resumed from step {stopped_at}" in " ".join(s.value for s in again.success)
    assert load_run(ws.run_path).entry("Z")["steps_done"] == stopped_at + 5


def test_errors_are_shown_and_an_incompatible_run_can_be_discarded(backdoor_workspace):
    ws, ds = backdoor_workspace
    at = open_page()
    at.number_input(key="train_steps").set_value(3).run()
    at.button(key="train_one_X").click().run()
    at = wait_for(at, lambda a: any("Training finished" in s.value for s in a.success))
    # Another mechanism preset for a trained node: refused by core.train with one line, shown on the page.
    at.selectbox(key="train_preset_X").set_value("full").run()
    at.number_input(key="train_steps").set_value(6).run()
    at.button(key="train_one_X").click().run()
    at = wait_for(at, lambda a: bool(a.error))
    assert "was trained with preset quick, not full" in at.error[0].value
    # The graph changes under the trained model (X loses its parent): the page offers a fresh run.
    from workbench import graph_state

    graph_state.set_graph(at.session_state, ds.graph.without_edges(directed=[("Z", "X")]), "changed")
    at.run()
    assert any("do not fit the current graph" in w.value for w in at.warning)
    at.button(key="train_discard").click().run()
    assert not ws.has_run() and not any("do not fit" in w.value for w in at.warning)
