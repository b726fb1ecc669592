"""The Train page's "Model check" panel driven headless with Streamlit's AppTest: run the check in
the background, see the verdicts, find them again after a refresh without recomputing."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from core.runs import workspace as W
from tests.helpers import APP, make_trained_workspace
from workbench.keys import ModelCheckPanel as K


def open_train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("views/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_check_runs_in_the_background_and_its_verdicts_come_back(tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_ROOT, str(tmp_path))
    make_trained_workspace(tmp_path, "backdoor", n=600, steps=30)
    at = open_train_page()
    assert any("Not checked yet" in c.value for c in at.caption)
    at.button(key=K.RUN).click().run()
    t0 = time.time()
    while not any("on 600 training rows" in s.value for s in at.success):
        assert time.time() - t0 < 300, "the model check did not finish"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert list(table["node"]) == ["Z", "X", "Y"] and set(table["verdict"]) <= {"good", "doubtful", "poor"}
    again = open_train_page()  # a refresh: the saved results, no recomputing
    assert any("on 600 training rows" in s.value for s in again.success)
    assert again.button(key=K.RUN).label == "Check the models again"
