"""Explore page responsiveness: how long one gallery refresh takes for 16 images on this CPU.

Target: changing a control refreshes a 16-image gallery in <= 2 s at 16x16-28x28 with the trained
models cached, and in <= 1 s at 64x64.  The page's fragment calls, in this order (``views/explore.py``):
``observational_gallery``, ``model_interventional``, ``model_counterfactual``, and on a built-in
world ``truth_interventional`` and ``truth_counterfactual`` (``workbench.explore.galleries`` and
``workbench.explore.truth``).  We time exactly those functions
for n = 16 on the Morpho-MNIST world (thickness -> intensity -> image <- digit), with

* the unconditional query ``P(image | do(thickness = 3))`` and the conditional one
  ``P(image | do(thickness = 3), digit = 3)`` (rejection: digits drawn and filtered first, then 16
  images for the kept units; the world's truth by rejection on its own draws);
* image mechanisms VAE, diffusion and latent flow (``--kinds``), the diffusion one with the page's
  default preview of 10 DDIM steps and with the model's own 25;
* 16x16 and 28x28 images by default, any world size with ``--sizes`` (e.g. 64).

The models are TINY TRAINING RUNS made here (a few steps, one thread): speed, not quality, is
measured -- sampling cost does not depend on how long a network was trained.  Each number is the
median over ``--repeats`` refreshes after one warm-up (the page keeps loaded models in
``st.cache_resource``, so a refresh never reloads them).  One torch thread: the app's server shares
this 2-core machine.

    .venv/bin/python -m benchmarks.explore_refresh [--sizes 16,28] [--repeats 3] [--steps 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.common import format_table, log_to  # noqa: E402
from core.runs.checkpoint import load_run  # noqa: E402
from core.runs.train import TrainOptions, train  # noqa: E402
from core.worlds.registry import sample_dataset  # noqa: E402
from workbench.explore.galleries import (  # noqa: E402
    Gallery,
    counterfactual_units,
    model_counterfactual,
    model_interventional,
    observational_gallery,
)
from workbench.explore.models import ModelHub, Sources  # noqa: E402
from workbench.explore.question import ExploreQuery  # noqa: E402
from workbench.explore.truth import truth_counterfactual, truth_interventional  # noqa: E402

TARGET_S = 2.0  # up to 28x28
TARGET_64_S = 1.0  # at 64x64 for the interventional + counterfactual galleries of the latent flow


def target_seconds(size: int) -> float:
    return TARGET_64_S if size >= 64 else TARGET_S

N = 16
TREATMENT, OUTCOME, VALUE, GIVEN = "thickness", "image", 3.0, {"digit": 3}


def tiny_run(ds, kind: str, steps: int, folder: Path):
    """Every node trained ``steps`` steps with the quick preset (image node: ``kind``)."""
    t0 = time.perf_counter()
    train(ds.graph, ds, folder, options=TrainOptions(preset="quick", steps=steps, kinds={"image": kind}, device="cpu"),
          accelerator=None)
    return load_run(folder), time.perf_counter() - t0


def refresh_parts(sources: Sources, sample_steps: int | None, given: dict) -> dict[str, Callable[[], Gallery]]:
    """The fragment's calls, one closure each (same arguments as the page)."""
    ds = sources.dataset
    query = ExploreQuery(ds.graph, TREATMENT, VALUE, OUTCOME, given, n=N, seed=0)
    rows = counterfactual_units(N, 0, ds.n, seed=0)
    return {
        "observational": lambda: observational_gallery(ds, query),
        "interventional": lambda: model_interventional(sources, query, sample_steps=sample_steps),
        "counterfactual": lambda: model_counterfactual(sources, query, rows, sample_steps=sample_steps),
        "truth do": lambda: truth_interventional(sources.world, query),
        "truth cf": lambda: truth_counterfactual(sources, query, rows),
    }


def time_refresh(parts: dict, repeats: int) -> dict[str, float]:
    """Median seconds per part over ``repeats`` refreshes, after a warm-up refresh."""
    for f in parts.values():
        gal = f()
        if not gal.ok:
            raise SystemExit(f"gallery failed: {gal.title}: {gal.message}")
    laps: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(repeats):
        for k, f in parts.items():
            t0 = time.perf_counter()
            f()
            laps[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in laps.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="16,28")
    ap.add_argument("--kinds", default="vae,diffusion,latent_flow", help="image mechanisms (default all three)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=15, help="training steps per node of the tiny runs")
    ap.add_argument("--rows", type=int, default=400, help="data rows")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    log = log_to()
    log(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores); torch threads 1")
    table, train_s = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            ds, world = sample_dataset("morpho_digits", args.rows, seed=0, params={"size": size})
            for kind in args.kinds.split(","):
                run, secs = tiny_run(ds, kind, args.steps, Path(tmp) / f"{kind}{size}")
                train_s += secs
                sources = Sources(ModelHub(), ds, run=run, world=world)
                previews = (10, None) if kind == "diffusion" else (None,)
                for steps in previews:
                    label = f"diffusion, {steps or 25} DDIM steps" if kind == "diffusion" else kind
                    for given in ({}, GIVEN):
                        parts = time_refresh(refresh_parts(sources, steps, given), args.repeats)
                        total = sum(parts.values())
                        query = "| do(t), digit = 3" if given else "| do(t)"
                        target = target_seconds(size)
                        table.append([f"{size}x{size}", label, query, *parts.values(), total, target,
                                      "yes" if total <= target else "NO"])
                        log(f"{size}x{size} {label} {query}: {total:.2f} s")
    headers = ["size", "image model", "query", *refresh_parts(Sources(ModelHub(), ds), None, {}).keys(), "refresh s",
               "target s", "met"]
    log("")
    log(f"Explore refresh, n = {N} per gallery, median of {args.repeats} after a warm-up; seconds per core call "
        f"(tiny runs: {args.steps} training steps per node, {train_s:.0f} s of training in all; speed, not quality)")
    log(format_table(headers, table, floatfmt="{:.3f}"))
    log(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
