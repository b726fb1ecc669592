"""Data sets and a trained workspace shared by the Explore logic's tests."""

from __future__ import annotations

import pytest

from core.worlds.registry import sample_dataset
from tests.helpers import make_trained_workspace


@pytest.fixture(scope="module")
def frontdoor():
    """The front-door world (X -> M -> Y, X <-> Y), 50 000 units: (dataset, world)."""
    return sample_dataset("frontdoor", 50_000, seed=0)


@pytest.fixture(scope="module")
def backdoor_partial(tmp_path_factory):
    """Back-door world with Z and Y trained a few steps and X left untrained: (workspace, dataset, world)."""
    root = tmp_path_factory.mktemp("backdoor")
    return make_trained_workspace(root, "backdoor", n=2000, steps=5, train_nodes=["Z", "Y"])
