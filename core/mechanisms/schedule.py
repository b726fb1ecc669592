"""Learning-rate schedules of the trainers: a function of the step, so a resumed run continues the curve.

Both trainers use it: the workspace trainer (``core.runs.train``, with checkpoints) and the small loop
``Mechanism.fit`` (ID-GEN's models).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.errors import WorkbenchError

LR_SCHEDULES = ("constant", "cosine")
COSINE_FLOOR = 1 / 20  # a cosine ends each phase at lr / 20


def learning_rate(step: int, lr: float, schedule: str, phases: Sequence[int]) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of a model whose training phases take
    ``phases`` steps in order: ``lr`` throughout for "constant"; for "cosine", in the phase that
    starts at step a and lasts L steps,

        lr_step = lr * (f + (1 - f) * (1 + cos(pi * (step - a) / L)) / 2),   f = 1/20,

    so each phase (a latent flow's autoencoder, then its velocity field) starts at ``lr`` and ends
    near ``lr / 20``: the last steps average out mini-batch noise instead of following it.  Steps
    past the last phase stay at the floor."""
    if schedule not in LR_SCHEDULES:
        raise WorkbenchError(f"learning-rate schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
    if schedule == "constant":
        return lr
    start = 0
    for k, length in enumerate(phases):
        if step < start + length or k == len(phases) - 1:
            progress = min(1.0, max(0, step - start) / max(1, length))
            return lr * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * progress)))
        start += length
    return lr


def phase_lengths(phases: Sequence[tuple[str, int]], total_steps: int) -> list[int]:
    """The steps of each training phase, or one phase of ``total_steps`` where the phases were
    planned for another total."""
    lengths = [int(steps) for _, steps in phases]
    return lengths if sum(lengths) == total_steps else [int(total_steps)]
