"""The Explore page's two model galleries of a trained run, timed: 16 images each, one torch thread.

Times ``model_interventional`` and ``model_counterfactual`` (``workbench.explore.galleries``) for
P(OUTCOME | do(TREATMENT = VALUE)) on a trained run, median of three after a warm-up: the sampling
cost of a refresh with the models cached.  Target: both galleries at 64x64 in <= 1 s.

    .venv/bin/python -m benchmarks.gallery_speed --run RUN --data D [--treatment Male --value 1 --outcome Face]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--treatment", default="Male")
    p.add_argument("--value", type=float, default=1)
    p.add_argument("--outcome", default="Face")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # the app's server shares the machine

    from core.data import load_dataset
    from core.runs.checkpoint import load_run
    from workbench.explore.galleries import counterfactual_units, model_counterfactual, model_interventional
    from workbench.explore.models import ModelHub, Sources
    from workbench.explore.question import ExploreQuery

    ds = load_dataset(args.data)
    run = load_run(args.run)
    sources = Sources(ModelHub(), ds, run=run)
    query = ExploreQuery(ds.graph, args.treatment, args.value, args.outcome, n=16, seed=0)
    rows = counterfactual_units(16, 0, ds.n, seed=0)
    parts = {
        "interventional": lambda: model_interventional(sources, query),
        "counterfactual": lambda: model_counterfactual(sources, query, rows),
    }
    for name, draw in parts.items():  # warm-up: models loaded and cached as the page keeps them
        gallery = draw()
        if not gallery.ok:
            raise SystemExit(f"{name} gallery failed: {gallery.message}")
    laps: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(3):
        for name, draw in parts.items():
            t0 = time.perf_counter()
            draw()
            laps[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in laps.items()}
    shape = "x".join(map(str, ds.graph.node(args.outcome).shape))
    print(f"{args.outcome} {shape}, {run.entry(args.outcome).get('kind')}, 16 per gallery, 1 torch thread, "
          f"load {os.getloadavg()[0]:.1f}: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items())
          + f"; both {sum(med.values()):.2f} s (target <= 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
