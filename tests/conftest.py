import os

import torch

# Tests must pass on a 2-core CPU machine; keep torch from oversubscribing it.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_workspaces(tmp_path_factory, monkeypatch):
    """The app saves its state in a workspace folder: every test gets an empty workspace root, so
    tests never see each other's (or the user's ./workspaces) graphs and data."""
    monkeypatch.setenv("CAUSAL_WORKBENCH_WORKSPACES", str(tmp_path_factory.mktemp("workspaces")))
    # A first start installs the shipped, trained faces workspace; tests start from an empty one
    # unless they ask for it (tests/core/runs/test_builtin.py, tests/workbench/test_session.py,
    # tests/browser).
    monkeypatch.setenv("CAUSAL_WORKBENCH_DEFAULT", "empty")
