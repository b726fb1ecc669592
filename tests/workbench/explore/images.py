"""A tiny image data set for the Explore logic's tests -- ``A`` (binary) -> ``I`` (8x8 grey), with a
bright square in the images of the units that have ``A = 1`` -- and runs trained on it for a few
steps (speed, not quality)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.data import Dataset
from core.graph import ADMG, Node
from core.runs.checkpoint import Run, load_run
from core.runs.train import TrainOptions, train


def squares(n: int = 64, seed: int = 0) -> Dataset:
    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    a = np.random.default_rng(seed).integers(0, 2, n)
    imgs = np.zeros((n, 1, 8, 8), np.uint8)
    imgs[a == 1, :, 2:6, 2:6] = 200
    return Dataset.from_values({"A": a, "I": imgs}, g)


def trained_run(dataset: Dataset, folder: Path, *, steps: int, kinds: dict[str, str] | None = None,
                nodes: list[str] | None = None) -> Run:
    """Every node of the data's graph (or ``nodes``) trained ``steps`` steps with the quick preset,
    on one CPU thread (tiny models: a second thread only adds contention)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(dataset.graph, dataset, folder, nodes=nodes,
              options=TrainOptions(preset="quick", steps=steps, kinds=kinds or {}, device="cpu"), accelerator=None)
    finally:
        torch.set_num_threads(threads)
    return load_run(folder)
