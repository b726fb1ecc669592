"""The Train page driven headless with Streamlit's AppTest: per-node settings, background jobs that
survive a browser refresh, live progress, stop and resume, errors shown on the page."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import workspace as W
from core.runs.checkpoint import load_run
from core.worlds.registry import sample_dataset
from tests.helpers import APP
from workbench import graph_state, train_page
from workbench.keys import TrainPage

PAGE = "views/train.py"


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


def table_row(at: AppTest, node: str) -> list[str]:
    """The captions of a node's row in the models table: its status and its expected time."""
    captions = [c.value for c in at.main.caption]
    i = next(k for k, c in enumerate(captions) if c.startswith(("training", "untrained", "trained", "paused",
                                                                  "queued", "stopping")) and k >= 0
             and _row_of(at, k) == node)
    return captions[i:i + 2]


def _row_of(at: AppTest, caption_index: int) -> str:
    """Which node's row a caption of the main area sits in (rows are drawn in graph order)."""
    statuses = [k for k, c in enumerate(at.main.caption)
                if c.value.startswith(("training", "untrained", "trained", "paused", "queued", "stopping"))]
    names = list(at.session_state["graph"].names)
    return names[statuses.index(caption_index)] if caption_index in statuses else ""


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
    assert [at.selectbox(key=TrainPage.kind(v)).value for v in ds.graph.names] == ["categorical"] * 3
    assert "`Z`, `X`" in [m.value for m in at.markdown]
    at.number_input(key=TrainPage.STEPS).set_value(40).run()
    assert W.open_workspace("bd").settings["steps"] == 40  # settings are saved with the workspace
    at.button(key=TrainPage.TRAIN_ALL).click().run()
    at = wait_for(at, lambda a: any("Training finished" in s.value for s in a.success))
    texts = progress_texts(at)
    assert len(texts) == 3 and all("40/40 steps" in t and "trained" in t for t in texts), texts
    assert not at.get("plotly_chart")  # the job is over: the loss curves on request
    at.toggle(key=TrainPage.SHOW_LOSS).set_value(True).run()
    assert len(at.get("plotly_chart")) == 1
    # one loss figure per node: its status line (here and in the sidebar), not the progress bar as well
    assert not any("loss" in t for t in texts)
    status = table_row(at, "Y")[0]
    assert status.startswith("trained · 40/40 steps · loss") and f"`Y` {status}" in sidebar_text()
    assert load_run(ws.run_path).trained_nodes() == ["Z", "X", "Y"]


def test_stop_survives_a_refresh_and_resume_continues(backdoor_workspace):
    ws, ds = backdoor_workspace
    at = open_page()
    at.number_input(key=TrainPage.STEPS).set_value(100_000).run()
    at.button(key=TrainPage.train_one("Z")).click().run()
    at = wait_for(at, lambda a: any("Z: " in t and "ETA" in t for t in progress_texts(a)))
    assert at.button(key=TrainPage.STOP).proto.disabled is False
    assert at.button(key=TrainPage.TRAIN_ALL).proto.disabled is True  # one job at a time
    # A browser refresh is a new session: the job and its progress are still there.
    again = open_page()
    assert any(t.startswith("Z: ") and "ETA" in t for t in progress_texts(again))
    assert "`Z` training · " in sidebar_text()
    # the table says so too, with the live loss and ETA (the manifest has no checkpoint of Z yet)
    assert table_row(again, "Z")[0].startswith("training · ") and "ETA" in table_row(again, "Z")[0]
    again.button(key=TrainPage.STOP).click().run()
    again = wait_for(again, lambda a: any("Stopped" in i.value for i in a.info))
    entry = load_run(ws.run_path).entry("Z")
    stopped_at = entry["steps_done"]
    assert 0 < stopped_at < 100_000 and entry["status"] == "training"
    # stopped part way: paused, not "training", in the table and the sidebar
    assert table_row(again, "Z")[0].startswith(f"paused at {stopped_at}/100000 steps")
    assert f"`Z` paused at {stopped_at}/100000 steps" in sidebar_text()
    # Resume with a reachable total: training continues from the checkpoint, not from zero.
    again.number_input(key=TrainPage.STEPS).set_value(stopped_at + 5).run()
    again.button(key=TrainPage.train_one("Z")).click().run()
    again = wait_for(again, lambda a: any("Training finished" in s.value for s in a.success))
    assert f"resumed from step {stopped_at}" in " ".join(s.value for s in again.success)
    assert load_run(ws.run_path).entry("Z")["steps_done"] == stopped_at + 5


def test_errors_are_shown_and_an_incompatible_run_can_be_discarded(backdoor_workspace):
    ws, ds = backdoor_workspace
    at = open_page()
    at.number_input(key=TrainPage.STEPS).set_value(3).run()
    at.button(key=TrainPage.train_one("X")).click().run()
    at = wait_for(at, lambda a: any("Training finished" in s.value for s in a.success))
    # Another mechanism preset for a trained node: refused by core.runs.train with one line, shown on the page.
    at.selectbox(key=TrainPage.preset("X")).set_value("full").run()
    at.number_input(key=TrainPage.STEPS).set_value(6).run()
    at.button(key=TrainPage.train_one("X")).click().run()
    at = wait_for(at, lambda a: bool(a.error))
    assert "was trained with preset quick, not full" in at.error[0].value
    # The graph changes under the trained model (X loses its parent): the page offers a fresh run.
    graph_state.set_graph(at.session_state, ds.graph.without_edges(directed=[("Z", "X")]), "changed")
    at.run()
    assert any("do not fit the current graph" in w.value for w in at.warning)
    at.button(key=TrainPage.DISCARD_RUN).click().run()
    assert not ws.has_run() and not any("do not fit" in w.value for w in at.warning)


def test_the_expected_time_shows_before_training_and_a_long_one_comes_with_advice(backdoor_workspace):
    at = open_page()
    # measured in the background: the page says so, then shows the time per untrained node
    at = wait_for(at, lambda a: not any("measuring" in c.value for c in a.main.caption))
    for v in ("Z", "X", "Y"):
        status, expected = table_row(at, v)
        assert status == "untrained" and expected.startswith("≈ ") and "1,500 steps ×" in expected, expected
    assert any(c.value.startswith("Training every untrained node takes about") for c in at.main.caption)
    assert not at.warning
    # a million steps a node is far over ten minutes: a warning, with what would make it shorter
    at.number_input(key=TrainPage.STEPS).set_value(1_000_000).run()
    at = wait_for(at, lambda a: bool(a.warning) and not any("measuring" in c.value for c in a.main.caption))
    (advice,) = [w.value for w in at.warning]
    assert advice.startswith("Training takes about") and "fewer steps (**Steps per node**" in advice
    assert "GPU" in advice
    assert "1,000,000 steps ×" in table_row(at, "Y")[1]
