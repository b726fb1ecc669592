"""The Explore page's two model galleries of a trained run, timed: 16 images each.

Times ``model_interventional`` and ``model_counterfactual`` (``workbench.explore.galleries``) for
P(OUTCOME | do(TREATMENT = VALUE)) on a trained run, median of three after a warm-up: the sampling
cost of a refresh with the models cached.  Counterfactuals are timed twice: for units not seen
before (abduction runs) and for the same units under the other do-value (the latent flow keeps
their abduction).  Target: both galleries at 64x64 in <= 1 s.  ``--threads`` (default 1, a machine
shared with other work) sets torch's threads; the app's server samples with torch's default, one
per core.

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
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1; the app uses one per core)")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))

    from core.data import load_dataset
    from core.runs.checkpoint import load_run
    from workbench.explore.galleries import counterfactual_units, model_counterfactual, model_interventional
    from workbench.explore.models import ModelHub, Sources
    from workbench.explore.question import ExploreQuery

    ds = load_dataset(args.data)
    run = load_run(args.run)
    sources = Sources(ModelHub(), ds, run=run)
    query = ExploreQuery(ds.graph, args.treatment, args.value, args.outcome, n=16, seed=0)
    other = ExploreQuery(ds.graph, args.treatment, 1 - args.value, args.outcome, n=16, seed=0)
    lap = iter(range(1, 1000))
    parts = {
        "interventional": lambda k: model_interventional(sources, query),
        # new units: every lap abducts 16 units it has not seen
        "counterfactual (new units)": lambda k: model_counterfactual(sources, query, counterfactual_units(16, 0, ds.n, seed=k)),
        # the same units under the other do-value: their abduction is reused, only prediction runs
        "counterfactual (new do-value)": lambda k: model_counterfactual(sources, other if k % 2 else query,
                                                                        counterfactual_units(16, 0, ds.n, seed=0)),
    }
    for name, draw in parts.items():  # warm-up: models loaded and cached as the page keeps them
        gallery = draw(0)
        if not gallery.ok:
            raise SystemExit(f"{name} gallery failed: {gallery.message}")
    laps: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(3):
        k = next(lap)
        for name, draw in parts.items():
            t0 = time.perf_counter()
            draw(k)
            laps[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in laps.items()}
    shape = "x".join(map(str, ds.graph.node(args.outcome).shape))
    print(f"{args.outcome} {shape}, {run.entry(args.outcome).get('kind')}, 16 per gallery, {torch.get_num_threads()} torch thread(s), "
          f"load {os.getloadavg()[0]:.1f}, median of 3: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items()))
    print(f"  a new seed (interventional + counterfactual of new units): "
          f"{med['interventional'] + med['counterfactual (new units)']:.2f} s; "
          f"a new do-value: {med['interventional'] + med['counterfactual (new do-value)']:.2f} s (target <= 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
