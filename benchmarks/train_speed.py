"""Training speed of the image mechanisms against the machine's limit, in one run.

For each mechanism kind, image size and dtype: the model's FLOPs per training step (forward and
backward, counted by torch's FlopCounterMode), the median step time, the FLOP rate that gives, and
the measured peak of a large matmul in the same dtype on the same device: the fraction of the
machine's limit the step uses.  Also the expected wall time of the preset's steps (the latent flow's
autoencoder and flow phases are timed separately).

    .venv/bin/python -m benchmarks.train_speed                                  # CPU, quick presets
    .venv/bin/python -m benchmarks.train_speed --kinds latent_flow --sizes 64 --dtypes fp32,bf16
    .venv/bin/python -m benchmarks.train_speed --device cuda --preset full        # a GPU box
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from benchmarks import common

SHAPES = {16: (3, 16, 16), 28: (1, 28, 28), 32: (1, 32, 32), 64: (3, 64, 64), 128: (3, 128, 128)}


def matmul_peak(device: str, dtype: str, size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of a ``size``-square matmul (median of ``repeats``)."""
    import torch

    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(size, size, device=device, dtype=dt)
    b = torch.randn(size, size, device=device, dtype=dt)
    times = []
    for _ in range(repeats + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        (a @ b).sum().item()
        times.append(time.perf_counter() - t0)
    return 2 * size**3 / statistics.median(times[2:]) / 1e9


def build(kind: str, size: int, preset: str, device: str):
    from core.graph import Node
    from core.mechanisms import make_mechanism

    shape = SHAPES[size]
    parents = [Node("a", "binary"), Node("b", "continuous")]
    mech = make_mechanism(Node("image", "image", shape=shape), parents, kind=kind, preset=preset, seed=0)
    return mech.to(device)


def batch(mech, device: str, n: int):
    import torch

    g = torch.Generator().manual_seed(0)
    pa = {"a": torch.randint(0, 2, (n,), generator=g).to(device), "b": torch.randn(n, generator=g).to(device)}
    x = (torch.rand((n, *mech.node.shape), generator=g) * 2 - 1).to(device)
    return pa, x


def step_flops(mech, pa, x) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        loss = mech.loss(pa, x)
        loss.float().backward()
    mech.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 1e9


def time_steps(mech, pa, x, dtype: str, device: str, steps: int, channels_last: bool) -> float:
    import torch

    opt = torch.optim.Adam(mech.parameters(), 1e-4)
    if channels_last:
        mech.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    for _ in range(steps + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=dtype == "bf16"):
            loss = mech.loss(pa, x)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    mech.to(memory_format=torch.contiguous_format)
    return statistics.median(times[2:]) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", default="latent_flow,vae,diffusion")
    p.add_argument("--sizes", default="32,64")
    p.add_argument("--dtypes", default="fp32,bf16")
    p.add_argument("--preset", default="quick", choices=("quick", "full"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=8, help="timed steps per cell (median)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: the preset's)")
    p.add_argument("--channels-last", action="store_true", help="also time channels_last memory format")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    common.set_threads(args.threads)
    out = open(args.out, "w") if args.out else None  # noqa: SIM115 (closed at exit)
    screen = common.log_to()

    def log(msg: str = "") -> None:
        screen(msg)
        if out is not None:
            print(msg, file=out, flush=True)

    log(f"training speed, preset {args.preset}, device {args.device}, {args.threads} thread(s), "
        f"load average {os.getloadavg()[0]:.1f}")
    peaks = {d: matmul_peak(args.device, d) for d in args.dtypes.split(",")}
    log("matmul peak (2048^2): " + ", ".join(f"{d} {v:.0f} GFLOP/s" for d, v in peaks.items()))
    rows = []
    for kind in args.kinds.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            mech = build(kind, size, args.preset, args.device)
            n = args.batch or int(mech.config["train"]["batch_size"])
            pa, x = batch(mech, args.device, n)
            mech.prepare(pa, x)
            mech.train()
            for phase, steps in mech.phases():
                mech.set_phase(phase)
                flops = step_flops(mech, pa, x)
                for dtype in args.dtypes.split(","):
                    for cl in ((False, True) if args.channels_last else (False,)):
                        mech.set_phase(phase)
                        ms = time_steps(mech, pa, x, dtype, args.device, args.steps, cl)
                        rate = flops / (ms / 1000)
                        rows.append([kind, f"{size}px", phase, dtype + (" cl" if cl else ""), n, f"{flops:.1f}",
                                     f"{ms:.0f}", f"{rate:.0f}", f"{100 * rate / peaks[dtype]:.0f}%",
                                     steps, f"{steps * ms / 60000:.1f}"])
                        log("  " + " ".join(str(c) for c in rows[-1]))
    log(common.format_table(["kind", "size", "phase", "dtype", "batch", "GFLOP/step", "ms/step", "GFLOP/s",
                             "of peak", "preset steps", "minutes"], rows))
    log(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
