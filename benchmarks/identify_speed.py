"""Speed and verdict agreement of our ID against y0 on random ADMGs.

    .venv/bin/python -m benchmarks.identify_speed [--sizes 20,60,100,200] [--graphs 20] [--seed 0]

For each size, ``--graphs`` random ADMGs spread over several densities (expected directed degree
2-5, bidirected 1-8 per node), one query P(y | do(x)) each: x one or two nodes from the middle of
the causal order, y one or two descendants of x, late in the causal order where possible (else later nodes), so both
verdicts occur.  The same queries go to y0 (``identify_outcomes``), which runs in a subprocess using
the separate virtual environment ``.venv-y0`` (``python3 -m venv .venv-y0 && .venv-y0/bin/pip
install y0``; it has no torch); without it, the y0 columns are skipped with a printed reason.

Columns: queries, identifiable (ours), verdict agreement where y0 did not crash, y0 crashes, our
median and worst ms per query, y0's median ms, and the median over queries of y0 time / our time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from core.identify import NotIdentifiable, identify  # noqa: E402
from core.worlds.discrete import random_admg  # noqa: E402

Y0_PYTHON = ROOT / ".venv-y0" / "bin" / "python"
DENSITIES = [(2.0, 1.0), (3.0, 3.0), (3.0, 6.0), (5.0, 8.0)]

# Runs inside .venv-y0: reads queries, prints one JSON line per query.
Y0_WORKER = r"""
import json, sys, time, statistics
from y0.dsl import Variable
from y0.graph import NxMixedGraph
from y0.algorithm.identify import identify_outcomes

def tree(e):
    # y0 expression -> our TREE JSON (same scoping of summed variables)
    kind = type(e).__name__
    if kind == "Probability":
        return {"op": "P", "vars": [v.name for v in e.children], "given": [v.name for v in e.parents]}
    if kind == "Sum":
        return {"op": "sum", "over": sorted(v.name for v in e.ranges), "of": tree(e.expression)}
    if kind == "Product":
        return {"op": "prod", "of": [tree(c) for c in e.expressions]}
    if kind == "Fraction":
        return {"op": "frac", "num": tree(e.numerator), "den": tree(e.denominator)}
    if kind == "One":
        return {"op": "one"}
    raise TypeError("cannot convert " + kind)


reps = int(sys.argv[2])
for line in open(sys.argv[1]):
    q = json.loads(line)
    v = {n: Variable(n) for n in q["nodes"]}
    try:
        g = NxMixedGraph.from_edges(
            nodes=[v[n] for n in q["nodes"]],
            directed=[(v[a], v[b]) for a, b in q["directed"]],
            undirected=[(v[a], v[b]) for a, b in q["bidirected"]],
        )
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            rv = identify_outcomes(g, {v[n] for n in q["x"]}, {v[n] for n in q["y"]})
            times.append(time.perf_counter() - t0)
        out = {"ok": True, "identifiable": rv is not None, "ms": 1000 * statistics.median(times)}
        if q.get("tree") and rv is not None:
            out["tree"] = tree(rv)
            out["text"] = rv.to_text()
        print(json.dumps(out), flush=True)
    except Exception as e:  # y0 crashes are counted, not fatal
        print(json.dumps({"ok": False, "error": type(e).__name__ + ": " + str(e)[:200]}), flush=True)
"""


def make_queries(n: int, count: int, seed: int) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(seed * 1000 + n)
    out = []
    for i in range(count):
        d_dir, d_bi = DENSITIES[i % len(DENSITIES)]
        g = random_admg(n, min(1.0, d_dir / (n - 1)), min(1.0, d_bi / (n - 1)), seed=int(rng.integers(1 << 30)))
        order = list(g.topological_order())
        k_x = 1 + int(rng.random() < 0.3)
        lo, hi = n // 4, max(n // 4 + k_x, 3 * n // 4)
        x = [order[j] for j in rng.choice(np.arange(lo, hi), size=k_x, replace=False)]
        desc = sorted(g.descendants(x) - set(x), key=order.index)
        late = [v for v in desc if order.index(v) >= 3 * n // 4]
        pool = late or desc or [v for v in order[order.index(x[-1]) + 1 :] if v not in x] or [v for v in order if v not in x]
        k_y = min(len(pool), 1 + int(rng.random() < 0.3))
        y = [pool[j] for j in rng.choice(len(pool), size=k_y, replace=False)]
        out.append({"graph": g, "x": x, "y": y})
    return out


def identify_or_none(g, x, y):
    try:
        return identify(g, x, y)
    except NotIdentifiable:
        return None


def time_ours(query: dict, reps: int) -> tuple[bool, float]:
    """Median time of identify() (verdict AND estimand, as y0 builds its expression too)."""
    g, x, y = query["graph"], query["x"], query["y"]
    verdict = identify_or_none(g, x, y) is not None
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        identify_or_none(g, x, y)
        times.append(time.perf_counter() - t0)
    return verdict, 1000 * statistics.median(times)


def run_y0(queries: list[dict], reps: int, timeout: float) -> list[dict] | str:
    if not Y0_PYTHON.exists():
        return f"y0 skipped: {Y0_PYTHON} not found (python3 -m venv .venv-y0 && .venv-y0/bin/pip install y0)"
    with tempfile.TemporaryDirectory() as tmp:
        qpath = Path(tmp) / "queries.jsonl"
        with open(qpath, "w") as fh:
            for q in queries:
                g = q["graph"]
                row = {
                    "nodes": list(g.names),
                    "directed": [list(e) for e in g.directed],
                    "bidirected": [list(e) for e in g.bidirected],
                    "x": q["x"],
                    "y": q["y"],
                    "tree": q.get("tree", False),
                }
                fh.write(json.dumps(row) + "\n")
        wpath = Path(tmp) / "worker.py"
        wpath.write_text(Y0_WORKER)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        try:
            proc = subprocess.run(
                [str(Y0_PYTHON), str(wpath), str(qpath), str(reps)], capture_output=True, text=True, timeout=timeout, env=env
            )
        except subprocess.TimeoutExpired:
            return f"y0 skipped: no answer within {timeout:.0f} s"
        lines = [json.loads(s) for s in proc.stdout.splitlines() if s.startswith("{")]
        if len(lines) != len(queries):
            return f"y0 skipped: worker failed ({proc.stderr.strip().splitlines()[-1:] or 'no output'})"
        return lines


def truth_check(count: int, seed: int, timeout: float) -> list[str]:
    """Evaluate our and y0's estimands on the exact joint of random discrete SCMs (4-6 nodes, latent
    confounders explicit; half of the graphs with a planted napkin) and count the ones that differ
    from the true P(y | do(x)) by > 1e-6."""
    import numpy as np

    from core.identify.estimand import from_json
    from core.worlds.discrete import DiscreteSCM

    rng = np.random.default_rng(seed)
    queries = []
    for i in range(count):
        n = int(rng.integers(4, 7))
        g = random_admg(n, float(rng.choice([0.3, 0.5])), float(rng.choice([0.15, 0.3, 0.45])), seed=int(rng.integers(1 << 30)))
        names = list(g.names)
        rng.shuffle(names)
        kx, ky = 1 + int(rng.random() < 0.3), 1 + int(rng.random() < 0.3)
        x, y = names[:kx], names[kx : kx + ky]
        if i % 2:
            # plant a napkin on four nodes a < b < c < d (a -> b -> c -> d, a <-> c, a <-> d), ask P(d | do(c)):
            # the pattern where lines 6/7 need conditionals of the CURRENT distribution
            order = list(g.topological_order())
            a, b, c, d = (order[j] for j in sorted(rng.choice(n, 4, replace=False)))
            g = g.with_edges(
                [e for e in [(a, b), (b, c), (c, d)] if not g.has_directed(*e)],
                [e for e in [(a, c), (a, d)] if not g.has_bidirected(*e)],
            )
            x, y = [c], [d]
        queries.append({"graph": g, "x": x, "y": y, "tree": True})
    y0 = run_y0(queries, 1, timeout)
    ours_wrong = ours_id = 0
    for q in queries:
        e = identify_or_none(q["graph"], q["x"], q["y"])
        if e is None:
            continue
        ours_id += 1
        world = DiscreteSCM(q["graph"], seed=1, alpha=0.5)
        got = e.table(world.observed_joint(), q["y"] + q["x"])
        ours_wrong += bool(np.abs(got - world.do_table(q["x"], q["y"])).max() > 1e-6)
    lines = [f"exact ground truth, {count} random 4-6 node queries: ours {ours_wrong}/{ours_id} estimands wrong"]
    if isinstance(y0, str):
        return lines + [y0]
    y0_wrong = y0_id = 0
    example, worst = None, 0.0
    for q, r in zip(queries, y0, strict=True):
        if not r["ok"] or "tree" not in r:
            continue
        y0_id += 1
        world = DiscreteSCM(q["graph"], seed=1, alpha=0.5)
        got = from_json(r["tree"]).table(world.observed_joint(), q["y"] + q["x"])
        err = float(np.abs(got - world.do_table(q["x"], q["y"])).max())
        if err > 1e-6:
            y0_wrong += 1
            if err > worst:
                worst = err
                g = q["graph"]
                edges = ", ".join([f"{a}->{b}" for a, b in g.directed] + [f"{a}<->{b}" for a, b in g.bidirected])
                example = (
                    f"  worst: graph {{{edges}}}, P({', '.join(q['y'])} | do({', '.join(q['x'])})): "
                    f"y0 says {r['text']}, off by {err:.2g}"
                )
    crashes = [r["error"] for r in y0 if not r["ok"]]
    lines[0] += f"; y0 {y0_wrong}/{y0_id} wrong ({len(crashes)} crashes)"
    lines += [example] if example else []
    lines += [f"  y0 crashed {crashes.count(c)}x: {c}" for c in sorted(set(crashes))]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,60,100,200")
    parser.add_argument("--graphs", type=int, default=20, help="graphs (queries) per size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=7, help="timing repetitions per query (ours)")
    parser.add_argument("--y0-reps", type=int, default=3)
    parser.add_argument("--y0-timeout", type=float, default=900.0, help="seconds for all y0 queries of one size")
    parser.add_argument("--truth", type=int, default=200, help="small random queries checked against exact ground truth (0: skip)")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    header = f"{'nodes':>5} {'queries':>7} {'ident.':>6} {'agree':>9} {'y0 crash':>8} {'ours ms':>8} {'max ms':>7} {'y0 ms':>8} {'y0/ours':>8}"
    print(header)
    print("-" * len(header))
    notes = []
    for n in (int(s) for s in args.sizes.split(",")):
        queries = make_queries(n, args.graphs, args.seed)
        ours = [time_ours(q, args.reps) for q in queries]
        y0 = run_y0(queries, args.y0_reps, args.y0_timeout)
        ident = sum(v for v, _ in ours)
        our_ms = statistics.median(t for _, t in ours)
        our_max = max(t for _, t in ours)
        if isinstance(y0, str):
            notes.append(f"{n} nodes: {y0}")
            print(f"{n:>5} {len(queries):>7} {ident:>6} {'-':>9} {'-':>8} {our_ms:>8.3f} {our_max:>7.2f} {'-':>8} {'-':>8}")
            continue
        done = [(o, r) for o, r in zip(ours, y0, strict=True) if r["ok"]]
        crashes = [r["error"] for r in y0 if not r["ok"]]
        agree = sum(o[0] == r["identifiable"] for o, r in done)
        y0_ms = statistics.median(r["ms"] for _, r in done) if done else float("nan")
        ratio = statistics.median(r["ms"] / o[1] for o, r in done) if done else float("nan")
        print(
            f"{n:>5} {len(queries):>7} {ident:>6} {f'{agree}/{len(done)}':>9} {len(crashes):>8} "
            f"{our_ms:>8.3f} {our_max:>7.2f} {y0_ms:>8.2f} {ratio:>7.1f}x"
        )
        for o, r, q in zip(ours, y0, queries, strict=True):
            if r["ok"] and o[0] != r["identifiable"]:
                notes.append(f"{n} nodes: verdicts differ on x={q['x']} y={q['y']} (ours {o[0]}, y0 {r['identifiable']})")
        for c in sorted(set(crashes)):
            notes.append(f"{n} nodes: y0 crashed {crashes.count(c)}x: {c}")
    for line in notes:
        print(line)
    if args.truth:
        for line in truth_check(args.truth, args.seed, args.y0_timeout):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
