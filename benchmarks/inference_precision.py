"""A latent-flow image model of a trained run, sampled and abducted in float32 and in bf16 autocast.

For each precision (and 1 or 3 fixed-point iterations per inverted Euler step) on world faces
(``--size``, ``--n`` units from seed 7): the time of 16 and of ``--n`` samples and of abducting
``--units`` faces; how often the probe reads each given parent back from the samples; and the
counterfactual that flips Male (other parents kept): Male read back, Young and Eyeglasses kept,
composition (the null intervention, 0-255 L1) and reversibility (flip, then back).

    .venv/bin/python -m benchmarks.inference_precision --run RUN [--node Face --size 32 --threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True)
    p.add_argument("--node", default="Face")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from core.data.images import images_to_uint8 as to_uint8
    from core.data.images import images_to_unit_range
    from core.runs.checkpoint import load_run
    from core.worlds.registry import get_world

    model = load_run(args.run).load_mechanism(args.node)
    model.eval()
    world = get_world("faces", size=args.size)
    probe = world.probe()
    data = world.sample(args.n, seed=7).values
    names = [q.name for q in model.parent_nodes]
    parents = {k: torch.from_numpy(np.asarray(data[k])) for k in names}
    x = images_to_unit_range(data[args.node])
    n = args.units
    factual = {k: v[:n] for k, v in parents.items()}
    flipped = {**factual, "Male": 1 - factual["Male"]}
    read_factual = probe.read(data[args.node][:n])
    for bf16, iterations in ((False, 1), (False, 3), (True, 1), (True, 3)):
        model.config["inference_precision"] = "bf16" if bf16 else "no"
        model.config["inversion_iterations"] = iterations
        first16 = {k: v[:16] for k, v in parents.items()}
        model.predict(first16, model.draw_noise(16, torch.Generator().manual_seed(1)))  # warm-up
        t0 = time.perf_counter()
        model.predict(first16, model.draw_noise(16, torch.Generator().manual_seed(2)))
        t16 = time.perf_counter() - t0
        t0 = time.perf_counter()
        samples = model.predict(parents, model.draw_noise(args.n, torch.Generator().manual_seed(0)))
        tn = time.perf_counter() - t0
        t0 = time.perf_counter()
        u = model.abduct(factual, x[:n])
        ta = time.perf_counter() - t0
        cf, back = model.predict(flipped, u), model.predict(factual, u)
        there_and_back = model.predict(factual, model.abduct(flipped, cf))
        read = probe.read(to_uint8(samples))
        agree = " ".join(f"{k} {np.mean(read[k] == np.asarray(data[k])):.3f}" for k in read if k in names)
        r = probe.read(to_uint8(cf))
        xs = data[args.node][:n].astype(float)
        print(f"{'bf16' if bf16 else 'fp32'}, {iterations} iteration(s): 16 samples {t16:.3f} s, {args.n} samples "
              f"{tn:.2f} s, abduct {n} {ta:.2f} s")
        print(f"   samples agree with their parents: {agree}")
        print(f"   cf flip Male: Male {np.mean(r['Male'] == flipped['Male'].numpy()):.3f}, Young kept "
              f"{np.mean(r['Young'] == read_factual['Young']):.3f}, Eyeglasses kept "
              f"{np.mean(r['Eyeglasses'] == read_factual['Eyeglasses']):.3f}; composition "
              f"{np.abs(to_uint8(back) - xs).mean():.3f}, reversibility {np.abs(to_uint8(there_and_back) - xs).mean():.2f}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
