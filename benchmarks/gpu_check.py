"""One GPU check of the image presets: training speed, peak GPU memory and the soundness table.

For each (world, size) cell and each image mechanism kind: sample the world's data, train every node
(the image node for ``--steps`` steps with the ``--preset`` preset, the scalar nodes for
``--scalar-steps``) through ``core.runs.train`` exactly as the Train page and ``python -m core
train`` do (bf16 autocast and channels_last on CUDA), then print the image node's steps/s, the peak
GPU memory of its training, and the soundness suite (``core.check``) read by the world's probes.
Cells stop being started once ``--budget-minutes`` have passed, so the whole check fits a lent GPU's
time; the table says which cells were skipped.

    bash benchmarks/gpu_check.sh                              # CUDA, full preset, latent flow
    .venv/bin/python -m benchmarks.gpu_check --kinds latent_flow,vae --cells morpho_digits:32,faces:64
    .venv/bin/python -m benchmarks.gpu_check --device cpu --preset quick --steps 20 --n 300 --units 16   # dry run
"""

from __future__ import annotations

import argparse
import tempfile
import time

from benchmarks import common


def parse_cells(text: str) -> list[tuple[str, int]]:
    cells = []
    for part in text.split(","):
        world, _, size = part.partition(":")
        cells.append((world.strip(), int(size)))
    return cells


def check_cell(world: str, size: int, kind: str, args: argparse.Namespace, log) -> list[str]:
    import torch

    from core.check.soundness import format_table
    from core.check.suite import check_run
    from core.runs.checkpoint import load_run
    from core.runs.train import TrainOptions, train
    from core.scm import NeuralSCM
    from core.worlds.registry import sample_dataset

    dataset, w = sample_dataset(world, args.n, seed=args.seed, params={"size": size})
    graph = w.graph
    image = next(v.name for v in graph.nodes if v.type == "image")
    scalars = [v for v in graph.names if v != image]
    with tempfile.TemporaryDirectory() as tmp:
        common_opts = {"preset": args.preset, "device": args.device, "seed": args.seed}
        train(graph, dataset, tmp, nodes=scalars, options=TrainOptions(steps=args.scalar_steps, **common_opts),
              accelerator=None)
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        train(graph, dataset, tmp, nodes=[image], accelerator=None,
              options=TrainOptions(steps=args.steps, kinds={image: kind}, **common_opts))
        seconds = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else float("nan")
        run = load_run(tmp)
        metrics = run.entry(image).get("metrics", {})
        hidden = graph.bidirected
        scm = NeuralSCM(graph.without_edges(bidirected=hidden), run.mechanisms(args.device))
        rows = check_run(scm, dataset, [image], units=args.units, seed=args.seed, hidden=hidden)
    log(f"\n{world} {size}x{size}, {kind}, preset {args.preset}: {args.steps} steps in {seconds:.0f} s "
        f"({metrics.get('steps_per_second')} steps/s, {metrics.get('mixed_precision')}), "
        f"peak GPU memory {peak:.2f} GiB, {metrics.get('parameters')} parameters")
    log(format_table(rows))
    return [world, f"{size}px", kind, str(args.steps), f"{metrics.get('steps_per_second')}", f"{peak:.2f}",
            f"{seconds:.0f}"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--preset", choices=("quick", "full"), default="full")
    p.add_argument("--kinds", default="latent_flow", help="image mechanisms (default latent_flow)")
    p.add_argument("--cells", default="morpho_digits:32,faces:64", help="world:size, comma-separated")
    p.add_argument("--steps", type=int, default=3000, help="image-node training steps per cell (default 3000)")
    p.add_argument("--scalar-steps", type=int, default=1000, help="training steps of each scalar node (default 1000)")
    p.add_argument("--n", type=int, default=10000, help="training rows per cell (default 10000)")
    p.add_argument("--units", type=int, default=256, help="units of the soundness suite (default 256)")
    p.add_argument("--budget-minutes", type=float, default=13.0, help="start no cell after this (default 13)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    log = common.log_to()
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        log("no CUDA GPU here: run with --device cpu for a dry run")
        return 2
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    log(f"GPU check on {name}, torch {torch.__version__}, preset {args.preset}")
    start = time.perf_counter()
    table = []
    for world, size in parse_cells(args.cells):
        for kind in args.kinds.split(","):
            if (time.perf_counter() - start) / 60 > args.budget_minutes:
                table.append([world, f"{size}px", kind, "-", "skipped: over budget", "-", "-"])
                continue
            table.append(check_cell(world, size, kind, args, log))
    log("\n" + common.format_table(["world", "size", "kind", "steps", "steps/s", "peak GiB", "seconds"], table))
    log(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
