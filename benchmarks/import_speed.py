"""Import speed and memory: N JPEG photos of 178x218 (CelebA's aligned size) in CelebA's layout,
imported to 64x64 centre crops.

    .venv/bin/python benchmarks/import_speed.py                      # 20,000 photos -> 64x64
    .venv/bin/python benchmarks/import_speed.py --n 5000 --size 32 --keep /tmp/photos

The photos are drawn procedurally with Pillow (a face-like ellipse on a gradient, with noise so the
JPEGs are not trivially small) into a temporary folder beside ``list_attr_celeba.txt`` with five
random attributes.  The import (``core.data.load.open_source`` + ``core.data.sources.import_to``,
writing one .npz) runs in a fresh process, so its peak resident memory (``ru_maxrss``) is the
import's own; the process's memory after its imports (Python, numpy, pandas, Pillow) is printed
as the baseline.  Memory must grow with the OUTPUT (N x 3 x 64 x 64 bytes), not the input
(N x 3 x 218 x 178 bytes at full resolution).

Rows: ours (JPEG draft decoding at 1/2 scale, one image at a time), and a naive decoder on the
first ``--naive`` photos (full decode, then the same crop) for the throughput without draft mode.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ATTRIBUTES = ("Male", "Young", "Smiling", "Eyeglasses", "Wearing_Hat")


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def rss_mib() -> float:
    """Resident memory now (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mib()


def make_photos(root: Path, n: int, width: int = 178, height: int = 218, seed: int = 0) -> float:
    """``n`` JPEG photos and CelebA's attribute list under ``root``; returns seconds taken."""
    from PIL import Image, ImageDraw

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True, exist_ok=True)
    t = (np.arange(height) / height)[:, None, None]  # the gradient's weight by row
    grain = rng.normal(0, 6, (8, height, width, 3)).astype(np.float32)  # a few noise tiles, reused
    lines = [str(n), " ".join(ATTRIBUTES)]
    for i in range(n):
        top, bottom = rng.integers(40, 255, 3), rng.integers(40, 255, 3)
        pixels = (top * (1 - t) + bottom * t + grain[i % 8]).clip(0, 255).astype(np.uint8)
        im = Image.fromarray(pixels)
        draw = ImageDraw.Draw(im)
        cx, cy = width / 2 + rng.normal(0, 5), height / 2 + rng.normal(0, 5)
        rx, ry = rng.uniform(45, 60), rng.uniform(60, 80)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=tuple(int(v) for v in rng.integers(120, 240, 3)))
        for ex in (-20, 20):
            draw.ellipse((cx + ex - 6, cy - 15, cx + ex + 6, cy - 7), fill=(30, 30, 40))
        name = f"{i + 1:06d}.jpg"
        im.save(folder / name, "JPEG", quality=90)
        lines.append(name + " " + " ".join(f"{v:2d}" for v in rng.choice((-1, 1), len(ATTRIBUTES))))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    return time.perf_counter() - t0


def run_import(root: Path, out: Path, size: int, naive: int) -> dict[str, float]:
    """The import, measured in this (fresh) process."""
    import pandas  # noqa: F401 - the baseline includes every library the import uses
    from PIL import Image, ImageOps

    from core.data.load import open_source
    from core.data.sources import Preparation, import_to

    base = rss_mib()
    times: dict[str, float] = {}
    marks = {"start": time.perf_counter()}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in marks:
            marks[phase] = time.perf_counter()

    t0 = time.perf_counter()
    source = open_source(root)
    times["open"] = time.perf_counter() - t0
    ds = import_to(source, out, Preparation((size, size)), progress=progress)
    end = time.perf_counter()
    times["check headers"] = marks.get("reading", end) - marks.get("checking", t0)
    times["decode+crop"] = marks.get("writing", end) - marks.get("reading", end)
    times["write npz"] = end - marks.get("writing", end)
    times["total"] = end - t0
    peak = peak_rss_mib()
    files = sorted((root / "img_align_celeba").iterdir())[:naive]
    t1 = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            np.asarray(ImageOps.fit(im.convert("RGB"), (size, size), method=Image.Resampling.BICUBIC))
    naive_seconds = time.perf_counter() - t1
    return {**times, "rows": ds.n, "baseline_mib": base, "peak_mib": peak,
            "output_mib": ds.images["image"].nbytes / 2**20, "naive_n": len(files), "naive_seconds": naive_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="photos (default 20000)")
    parser.add_argument("--size", type=int, default=64, help="output side (default 64)")
    parser.add_argument("--naive", type=int, default=1000, help="photos the naive decoder times (default 1000)")
    parser.add_argument("--keep", default=None, help="generate into (or reuse) this folder and keep it")
    parser.add_argument("--_import", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._import:
        print(json.dumps(run_import(Path(args._import[0]), Path(args._import[1]), args.size, args.naive)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="cw-import-bench-"))
    root = Path(args.keep) if args.keep else tmp / "celeba"
    try:
        if not (root / "list_attr_celeba.txt").is_file():
            seconds = make_photos(root, args.n)
            print(f"generated {args.n:,} JPEGs of 178x218 in {seconds:.1f} s")
        input_bytes = sum(p.stat().st_size for p in (root / "img_align_celeba").iterdir())
        proc = subprocess.run([sys.executable, "-m", "benchmarks.import_speed", "--size", str(args.size),
                               "--naive", str(args.naive), "--_import", str(root), str(tmp / "out.npz")],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr.strip().splitlines()[-1])
        r = json.loads(proc.stdout)
        n = int(r["rows"])
        full_res = n * 3 * 218 * 178 / 2**20
        print(f"import of {n:,} JPEGs ({input_bytes / 2**20:.0f} MiB on disk, {full_res:.0f} MiB decoded at "
              f"full size) into {args.size}x{args.size} centre crops ({r['output_mib']:.0f} MiB):")
        print(f"  {'phase':<15} {'seconds':>8} {'images/s':>9}")
        for phase in ("open", "check headers", "decode+crop", "write npz", "total"):
            rate = n / r[phase] if r[phase] > 0 and phase in ("check headers", "decode+crop", "total") else float("nan")
            print(f"  {phase:<15} {r[phase]:8.1f} {rate:9.0f}")
        if r["naive_n"]:
            print(f"  naive decoder (full decode, then crop): {r['naive_n'] / r['naive_seconds']:.0f} images/s "
                  f"on the first {r['naive_n']}")
        print(f"peak RSS {r['peak_mib']:.0f} MiB = {r['baseline_mib']:.0f} MiB after imports + "
              f"{r['peak_mib'] - r['baseline_mib']:.0f} MiB for the import (output {r['output_mib']:.0f} MiB, "
              f"input at full size {full_res:.0f} MiB)")
        print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
