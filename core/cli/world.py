"""Sample a built-in ground-truth world into a dataset folder (or a .npz).

    python -m core world NAME --n N --out DIR [--size S] [--seed K] [--param key=value ...]

The folder holds data.csv, images/<column>/<row>.png and meta.json (graph, world, parameters,
fingerprint); it is written atomically, by one writer at a time (a second gets one line naming the
first), and an existing non-empty folder that is not a dataset is never overwritten.  --seed seeds the sampled units; a world's own parameters (including the seed
of a discrete world's random mechanisms) go through --param.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.cli import integer, key_values
from core.errors import WorkbenchError


def _world_list() -> str:
    from core.worlds.registry import WORLDS

    lines = ["worlds:"]
    for spec in WORLDS.values():
        lines.append(f"  {spec.name:<14} {spec.help}")
        for p in spec.params:
            allowed = f" (one of {p.range_text()})" if p.choices else f" ({p.range_text()})" if p.range else ""
            lines.append(f"  {'':<14}   {p.name}={p.default}{allowed}: {p.help}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _world_list()
    parser.add_argument("name", metavar="NAME", help="which world (listed below)")
    parser.add_argument("--n", required=True, help="number of units to sample")
    parser.add_argument("--out", required=True, help="dataset folder to write (or a file ending in .npz)")
    parser.add_argument("--size", help="image side in pixels (image worlds only; same as --param size=S)")
    parser.add_argument("--seed", default="0", help="seed of the sampled units (default 0)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE",
        help="a world parameter (repeatable), e.g. --param confounding=2",
    )


def run(args: argparse.Namespace) -> int:
    from core.data.folder import check_writable
    from core.worlds.registry import check_n, sample_dataset, world_spec

    spec = world_spec(args.name)
    n = check_n(args.n)
    params = key_values(args.param, "--param", "KEY=VALUE")
    if args.size is not None:
        spec.param("size")  # a clear error for worlds without images
        params["size"] = args.size
    seed = integer(args.seed, "--seed")
    spec.check_params(params)
    out = args.out
    # Refuse before sampling (which may take a while), not only when writing.
    target = Path(out)
    if target.suffix.lower() != ".npz":
        check_writable(target)
    else:
        for parent in target.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise WorkbenchError(f"cannot write {out!r}: {str(parent)!r} is a file")
                break
    t0 = time.perf_counter()
    print(f"sampling {n:,} units of {args.name}...", flush=True)
    ds, _world = sample_dataset(args.name, n, seed=seed, params=params)
    t1 = time.perf_counter()
    print(f"writing {out}...", flush=True)
    ds.save(out)
    t2 = time.perf_counter()
    print(
        f"wrote {ds.n} units of {args.name} ({', '.join(ds.columns)}) to {out} "
        f"[sample {t1 - t0:.1f} s, write {t2 - t1:.1f} s, fingerprint {ds.fingerprint[:12]}]"
    )
    return 0
