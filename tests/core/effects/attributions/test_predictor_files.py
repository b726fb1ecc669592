"""Predictor folders: a round trip, and one line for each kind of bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.effects.attributions.networks import MLP
from core.effects.attributions.predictor_files import load_predictor, save_predictor
from core.effects.attributions.training import TrainConfig, train_predictor
from core.errors import WorkbenchError


def test_predictor_round_trip_and_bad_files(tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    y = x[:, 0] - x[:, 2] ** 2
    f, _, _ = train_predictor(x, y, TrainConfig(steps=20, hidden=(16,)))
    save_predictor(f, ["a", "b", "c"], tmp_path / "p")
    g, names = load_predictor(tmp_path / "p")
    assert names == ["a", "b", "c"]
    t = torch.from_numpy(x)
    assert torch.allclose(f(t), g(t))
    plain = MLP(2, (8,))
    save_predictor(plain, ["u", "v"], tmp_path / "q")
    h, _ = load_predictor(tmp_path / "q")
    assert torch.allclose(h(t[:, :2]), plain(t[:, :2]))
    with pytest.raises(WorkbenchError, match="predictor.json is missing"):
        load_predictor(tmp_path / "nowhere")
    (tmp_path / "q" / "predictor.safetensors").write_bytes(b"garbage")
    with pytest.raises(WorkbenchError, match="not a readable safetensors file"):
        load_predictor(tmp_path / "q")
    spec = json.loads((tmp_path / "p" / "predictor.json").read_text())
    spec["hidden"] = [32, 32]
    (tmp_path / "p" / "predictor.json").write_text(json.dumps(spec))
    with pytest.raises(WorkbenchError, match="does not fit the architecture"):
        load_predictor(tmp_path / "p")
    (tmp_path / "p" / "predictor.json").write_text("{nope")
    with pytest.raises(WorkbenchError, match="is not JSON"):
        load_predictor(tmp_path / "p")


@pytest.mark.parametrize("hidden, message", [
    ([100_000, 100_000], "a hidden layer of 100,000 units, more than the limit of 4,096"),
    ([8] * 17, "17 hidden layers, more than the limit of 16"),
    ([4096] * 4, "a network of 50,360,321 parameters, more than the limit of 10,000,000"),
    ([0], "positive layer widths"),
    ("64", "positive layer widths"),
])
def test_a_spec_beyond_the_limits_is_refused_before_anything_is_built(tmp_path, hidden, message):
    save_predictor(MLP(2, (8,)), ["u", "v"], tmp_path / "p")
    spec = json.loads((tmp_path / "p" / "predictor.json").read_text())
    (tmp_path / "p" / "predictor.json").write_text(json.dumps({**spec, "hidden": hidden}))
    with pytest.raises(WorkbenchError, match=message):
        load_predictor(tmp_path / "p")
