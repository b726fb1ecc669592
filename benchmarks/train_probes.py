"""Retrain the image-world probes and print a short benchmark.

    .venv/bin/python -m benchmarks.train_probes            # retrain everything (~15 min on 1 CPU thread)
    .venv/bin/python -m benchmarks.train_probes --check    # no training: evaluate the stored probes

Prints, per world: sampling throughput (units per second, 10k units), and the probes' held-out
accuracy / error on fresh world samples (and on glyphs no digit probe was trained on).
Trains with one CPU thread so it leaves the machine to others.
"""

from __future__ import annotations

import argparse
import time

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.worlds import probe_training as T  # noqa: E402
from core.worlds import probes as P  # noqa: E402
from core.worlds.faces import ATTRIBUTES, Faces  # noqa: E402
from core.worlds.morpho_digits import MorphoDigits  # noqa: E402
from core.worlds.napkin_digits import NapkinDigits, split_w2  # noqa: E402


def throughput(world, n: int = 10_000) -> float:
    world.sample(64, seed=1)  # warm the glyph caches
    t = time.perf_counter()
    world.sample(n, seed=2)
    return n / (time.perf_counter() - t)


def evaluate(n: int = 3000, seed: int = 123) -> list[tuple[str, str, float]]:
    """(world and size, metric, value) on fresh samples."""
    rows = []
    for size in (16, 28, 32):
        w = NapkinDigits(size)
        u = w.sample(n, seed=seed)
        truth = {
            "W1": (u.noise["D"], u.noise["U1"], u.noise["U2"]),
            "X": (split_w2(u["W2"])[0], 3 * split_w2(u["W2"])[1] + u.noise["shade_X"], u.noise["U2"]),
            "Y": (split_w2(u["W2"])[0], u.noise["U1"], u.noise["U2"]),
        }
        for node, (d, c, t) in truth.items():
            r = w.probe(node).read(u[node])
            for attr, true in (("digit", d), ("colour", c), ("thickness", t)):
                rows.append((f"napkin_digits {size} {node}", f"{attr} accuracy", float((r[attr] == true).mean())))
        m = MorphoDigits(size)
        u = m.sample(n, seed=seed)
        r = m.probe().read(u["image"])
        rows.append((f"morpho_digits {size}", "digit accuracy", float((r["digit"] == u["digit"]).mean())))
        rows.append((f"morpho_digits {size}", "thickness MAE (28-px units)", float(np.abs(r["thickness"] - u["thickness"]).mean())))
        rows.append((f"morpho_digits {size}", "intensity MAE (0..255)", float(np.abs(r["intensity"] - u["intensity"]).mean())))
    for size in P.FACE_SIZES:
        u = T.face_training_world(size).sample(n, seed=seed)
        r = Faces(size).probe().read(u["Face"])
        for a in ATTRIBUTES:
            rows.append((f"faces {size} (balanced)", f"{a} accuracy", float((r[a] == u[a]).mean())))
    for size in P.DIGIT_SIZES:
        _, spec = P.load_net(f"digits_{size}")
        rows.append((f"digits {size}", "accuracy on held-out glyphs", spec["heldout_glyph_accuracy"]))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="evaluate the stored probes without retraining")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: leaves the machine to others)")
    ap.add_argument("--steps", type=int, default=3000, help="training steps per CNN (batch 128)")
    everything = ",".join(["calibration", *(f"digits_{s}" for s in P.DIGIT_SIZES), *(f"faces_{s}" for s in P.FACE_SIZES)])
    ap.add_argument("--nets", default=everything, help="what to retrain, comma-separated (default: everything)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.check:
        t = time.perf_counter()
        nets = [s.strip() for s in args.nets.split(",") if s.strip()]
        for name in nets:
            if name == "calibration":
                print("thickness calibration:", T.fit_thickness_calibration(), flush=True)
            elif name.startswith("digits_"):
                print(T.train_digit_probe(int(name.split("_")[1]), steps=args.steps), flush=True)
            elif name.startswith("faces_"):
                print(T.train_face_probe(int(name.split("_")[1]), steps=args.steps), flush=True)
            else:
                ap.error(f"unknown net {name!r}")
        print(f"trained in {time.perf_counter() - t:.0f} s", flush=True)
    print("\nsampling throughput (10k units, 1 thread)")
    for world in (NapkinDigits(16), NapkinDigits(28), MorphoDigits(28), Faces(28)):
        print(f"  {world.name:14s} {world.size}px  {throughput(world):9.0f} units/s")
    print("\nprobes on fresh world samples")
    for where, metric, value in evaluate():
        print(f"  {where:28s} {metric:32s} {value:8.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
