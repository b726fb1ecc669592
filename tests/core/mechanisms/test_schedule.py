"""Learning-rate schedules: a function of the step, phase by phase."""

from __future__ import annotations

import pytest

from core.errors import WorkbenchError
from core.mechanisms.schedule import COSINE_FLOOR, learning_rate, phase_lengths


def test_a_cosine_schedule_anneals_each_phase_from_lr_to_a_twentieth():
    assert [learning_rate(s, 0.1, "constant", [10]) for s in (0, 5, 50)] == [0.1, 0.1, 0.1]
    phases = [40, 60]  # a latent flow: autoencoder, then velocity field
    assert learning_rate(0, 0.1, "cosine", phases) == pytest.approx(0.1)
    assert learning_rate(20, 0.1, "cosine", phases) == pytest.approx(0.1 * (COSINE_FLOOR + 1) / 2)
    assert learning_rate(39, 0.1, "cosine", phases) < 0.1 * 2 * COSINE_FLOOR
    assert learning_rate(40, 0.1, "cosine", phases) == pytest.approx(0.1)  # the second phase starts afresh
    assert learning_rate(99, 0.1, "cosine", phases) < 0.1 * 2 * COSINE_FLOOR
    assert learning_rate(500, 0.1, "cosine", phases) == pytest.approx(0.1 * COSINE_FLOOR)  # past the plan
    with pytest.raises(WorkbenchError, match="schedule must be one of constant, cosine"):
        learning_rate(0, 0.1, "step", phases)


def test_phases_planned_for_another_total_become_one_phase():
    assert phase_lengths([("autoencoder", 40), ("flow", 60)], 100) == [40, 60]
    assert phase_lengths([("autoencoder", 40), ("flow", 60)], 30) == [30]
    assert phase_lengths([("train", 10)], 10) == [10]
