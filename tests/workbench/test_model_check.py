"""The Train page's model check panel logic: a background job that saves its results in the run,
the saved results read back (current or stale), and the tables the panel shows."""

from __future__ import annotations

import pytest

from core.check.model_check import CheckOptions
from core.errors import WorkbenchError
from core.runs.checkpoint import load_run
from tests.helpers import make_trained_workspace
from workbench import model_check

SMALL = CheckOptions(steps=20, eval_rows=50, fit_rows=200)


def test_a_background_check_is_saved_and_shown_again(tmp_path):
    ws, ds, _ = make_trained_workspace(tmp_path, "backdoor", n=300, steps=20)
    assert model_check.saved_check(ws) == (None, False)
    registry = model_check.new_registry()
    job = registry.start(ws, ds, SMALL)
    assert job.wait(120) and model_check.job_state(job) == "finished", job.error
    saved, current = model_check.saved_check(ws)
    assert current and list(saved.nodes) == ["Z", "X", "Y"]
    table = model_check.verdict_table(saved)
    assert list(table["node"]) == ["Z", "X", "Y"] and set(table["verdict"]) <= {"good", "doubtful", "poor"}
    lines = model_check.verdict_lines(saved)
    assert len(lines) == 3 and lines[0].startswith("**Z** · :") and "]" in lines[0]
    line = model_check.summary_line(saved, current)
    assert "training rows (the data holds none out)" in line  # world data: no split, in-sample scores
    load_run(ws.run_path).reset_node("Y")
    saved, current = model_check.saved_check(ws)
    assert not current and "run the check again" in model_check.summary_line(saved, current)


def test_nothing_to_check_and_stopping(tmp_path):
    ws, ds, _ = make_trained_workspace(tmp_path, "backdoor", n=300, steps=0)
    registry = model_check.new_registry()
    with pytest.raises(WorkbenchError, match="is not a run folder|no trained model to check yet"):
        registry.start(ws, ds, SMALL)
    ws2, ds2, _ = make_trained_workspace(tmp_path, "backdoor", n=300, steps=20, name="two")
    job = registry.start(ws2, ds2, CheckOptions(steps=2000, eval_rows=50))
    with pytest.raises(WorkbenchError, match="a model check is already running in this workspace"):
        registry.start(ws2, ds2, SMALL)
    job.request_stop()
    assert job.wait(120) and model_check.job_state(job) == "stopped"
    assert model_check.saved_check(ws2) == (None, False)  # a stopped check saves nothing
