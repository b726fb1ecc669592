"""Builders the tests share: a tiny ground-truth world and a small trained workspace.

TinyWorld graph: C -> X -> Y, B <-> Y (a hidden U drives both B and Y; no directed path joins them).

    U ~ N(0, 1), C ~ uniform{0, 1, 2}, v ~ U(50, 250)
    X = an RGB image whose channel C is filled with v (others 0)
    Y = mean(X) / 255 + confounding * U + 0.1 e_Y
    B = 1[confounding * U + e_B > 0],  e_B ~ N(0, 1)

So B and Y are associated only through U: with confounding > 0 they correlate observationally and
not at all when B is set by do().  ``make_trained_workspace`` trains a tiny model for a few steps on
a built-in world, so no test trains a big model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.data import Dataset
from core.graph import ADMG, Node
from core.runs import workspace as W
from core.runs.train import TrainOptions, train
from core.worlds.base import World
from core.worlds.registry import sample_dataset

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")



class TinyWorld(World):
    name = "tiny"

    def __init__(self, size: int = 8, confounding: float = 1.0) -> None:
        self.size = size
        self.confounding = confounding
        self.graph = ADMG(
            [
                Node("C", "categorical", levels=3),
                Node("X", "image", shape=(3, size, size)),
                Node("Y", "continuous"),
                Node("B", "binary"),
            ],
            directed=[("C", "X"), ("X", "Y")],
            bidirected=[("B", "Y")],
        )

    def _draw_noise(self, n, rng):
        return {
            "U": rng.normal(size=n),
            "C": rng.integers(0, 3, size=n),
            "v": rng.uniform(50, 250, size=n),
            "eY": rng.normal(size=n),
            "eB": rng.normal(size=n),
        }

    def _run(self, noise, do):
        n = len(noise["U"])
        c = do["C"] if "C" in do else noise["C"].astype(np.int64)
        if "X" in do:
            x = do["X"]
        else:
            x = np.zeros((n, 3, self.size, self.size), dtype=np.uint8)
            x[np.arange(n), c] = np.round(noise["v"]).astype(np.uint8)[:, None, None]
        y = do["Y"] if "Y" in do else x.mean(axis=(1, 2, 3)) / 255 + self.confounding * noise["U"] + 0.1 * noise["eY"]
        b = do["B"] if "B" in do else (self.confounding * noise["U"] + noise["eB"] > 0).astype(np.int64)
        return {"C": np.asarray(c, dtype=np.int64), "X": x, "Y": np.asarray(y, dtype=np.float64), "B": b}


def register_tiny() -> None:
    """Put the tiny world into the registry (as a user-added world would be)."""
    from core.worlds.registry import Param, WorldSpec, register_world

    register_world(
        WorldSpec(
            "tiny",
            "tests.helpers:TinyWorld",
            "test world: C -> X -> Y, B <-> Y",
            (
                Param("size", int, 8, "image side", range=(4, 32)),
                Param("confounding", float, 1.0, "strength of U", range=(0.0, 5.0)),
            ),
        )
    )


def tiny_dataset(n: int = 50, seed: int = 0, size: int = 8) -> Dataset:
    w = TinyWorld(size)
    return Dataset.from_units(w.sample(n, seed), w.graph, {"name": "tiny", "params": {"size": size}, "seed": seed})



def make_trained_workspace(root: Path, world: str = "backdoor", n: int = 3000, steps: int = 150,
                           params: dict | None = None, kinds: dict | None = None, name: str = "trained",
                           train_nodes: list[str] | None = None):
    """A workspace under ``root`` with world data and (unless ``steps == 0``) every node (or
    ``train_nodes``) trained for ``steps`` steps with the quick preset on the CPU.  Returns
    (workspace, dataset, world)."""
    ds, w = sample_dataset(world, n, seed=0, params=params or {})
    ws = W.create_workspace(name, root)
    ws.save_graph(ds.graph, world)
    ws.save_dataset(ds, f"world {world}")
    W.remember_last(ws.name, root)
    if steps and ds.graph.is_markovian:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models: a second thread only adds contention (measured 25x slower under load)
        try:
            train(ds.graph, ds, ws.run_path, nodes=train_nodes,
                  options=TrainOptions(preset="quick", steps=steps, kinds=kinds or {}, device="cpu"), accelerator=None)
        finally:
            torch.set_num_threads(threads)
    return ws, ds, w
