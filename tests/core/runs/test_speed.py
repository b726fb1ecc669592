"""Expected training time: measured step times per phase, re-split (not re-measured) for new step counts."""

from __future__ import annotations

from core.graph import ADMG, Node
from core.runs import speed


def test_phases_are_measured_once_and_split_by_the_step_count():
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    speed._seconds_per_phase.cache_clear()
    first = speed.expected_training(g, "I", kind="latent_flow", preset="quick", steps=30, batch_size=4)
    assert [(p.phase, p.steps) for p in first] == [("autoencoder", 15), ("flow", 15)]  # the 8x8 preset's even split
    assert all(p.seconds_per_step > 0 and p.seconds == p.steps * p.seconds_per_step for p in first)
    longer = speed.expected_training(g, "I", kind="latent_flow", preset="quick", steps=300, batch_size=4)
    assert [(p.phase, p.steps) for p in longer] == [("autoencoder", 150), ("flow", 150)]
    assert [p.seconds_per_step for p in longer] == [p.seconds_per_step for p in first]
    assert speed._seconds_per_phase.cache_info().misses == 1  # the new step count was not re-measured
