"""Probe training writes what the probes read: a few steps of each CNN and a small calibration, into
a scratch folder (the shipped weights are never touched)."""

from __future__ import annotations

import numpy as np
import pytest

from core.worlds import probe_training as T
from core.worlds import probes as P
from core.worlds.faces import ATTRIBUTES


@pytest.fixture
def scratch_probe_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "PROBE_DIR", str(tmp_path))
    P.load_net.cache_clear()
    P.thickness_calibration.cache_clear()
    yield tmp_path
    P.load_net.cache_clear()
    P.thickness_calibration.cache_clear()


def test_glyph_split_is_disjoint_and_complete():
    held, train = T.heldout_glyphs(), T.training_glyphs()
    assert not set(held) & set(train) and len(held) + len(train) == len(set(held) | set(train))
    assert (held % 5 == 0).all() and (train % 5 != 0).all()
    x, y = T.digit_examples(held, 8, 16, np.random.default_rng(0))
    assert x.shape == (8, 1, 16, 16) and x.dtype == np.float32 and x.max() == pytest.approx(1.0) and y.shape == (8,)


def test_face_training_world_has_independent_attributes():
    u = T.face_training_world(16).sample(4000, seed=0)
    for a in ATTRIBUTES:
        assert abs(u[a].mean() - (0.6 if a == "Young" else 0.5)) < 0.04, a
    for a, b in (("Male", "Beard"), ("Male", "Lipstick"), ("Male", "Young")):
        assert abs(np.corrcoef(u[a], u[b])[0, 1]) < 0.05, (a, b)


def test_trained_nets_and_calibration_are_read_back(scratch_probe_dir):
    lines: list[str] = []
    digits = T.train_digit_probe(16, steps=3, batch=16, log=lines.append)
    faces = T.train_face_probe(16, steps=2, batch=8, log=lines.append)
    assert lines[0] == f"  digits 16px step 0: loss {float(lines[0].rsplit(' ', 1)[1]):.3f}"
    assert [line.split(":")[0] for line in lines] == [
        "  digits 16px step 0", "  digits 16px step 2", "  faces 16px step 0", "  faces 16px step 1"
    ]
    _, spec = P.load_net("digits_16")
    assert spec["heldout_glyph_accuracy"] == digits["digits_heldout_glyph_accuracy"] and spec["train"]["steps"] == 3
    _, spec = P.load_net("faces_16")
    assert spec["heldout_accuracy"] == {a: faces[f"faces_{a}"] for a in ATTRIBUTES}
    report = T.fit_thickness_calibration(sizes=(16,), n=200)
    assert P.thickness_calibration() == report["calibration"] and set(report["calibration"]) == {"16"}
    assert report["mae_28px_units"]["16"] < 0.5
    assert sorted(p.name for p in scratch_probe_dir.iterdir()) == [
        "digits_16.json", "digits_16.safetensors", "faces_16.json", "faces_16.safetensors",
        "thickness_calibration.json",
    ]
