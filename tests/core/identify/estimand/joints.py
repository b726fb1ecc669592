"""Random joint tables and brute-force loops the estimand tests compare against."""

from __future__ import annotations

import itertools

import numpy as np

from core.identify.estimand import JointTable


def random_joint(names=("A", "B", "C", "D"), cards=(2, 3, 2, 2), seed=0) -> JointTable:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(int(np.prod(cards)))).reshape(cards)
    return JointTable(names, cards, probs)


def brute(joint: JointTable, f) -> np.ndarray:
    """Evaluate a python function of an assignment dict over all cells of the joint, by loops."""
    out = np.zeros(joint.cards)
    for cell in itertools.product(*(range(c) for c in joint.cards)):
        out[cell] = f(dict(zip(joint.names, cell, strict=True)))
    return out


def prob(joint: JointTable, event: dict) -> float:
    total = 0.0
    for cell in itertools.product(*(range(c) for c in joint.cards)):
        a = dict(zip(joint.names, cell, strict=True))
        if all(a[k] == v for k, v in event.items()):
            total += joint.probs[cell]
    return total
