"""Speed of the graph answers (every minimal adjustment set plus the implication lists) and
agreement with pgmpy on the same graphs.

    .venv/bin/python benchmarks/graph_answers_speed.py [--sizes 20,60,100] [--graphs 20] [--seed 0]

For each size, ``--graphs`` random ADMGs (``core.worlds.discrete.random_admg``) at four densities
(expected directed degree 2-4, bidirected 0-2 per node) and one query x -> y each (x from the
middle of the causal order, y a late descendant where there is one).  Timed, median of ``--reps``:
all minimal adjustment sets (``minimal_adjustment_sets``), the missing-edge independence list and
the per-node basis (``implied_independencies``), and the three together (the target: <= 100 ms
median at 60 nodes).  Times are CPU time of the process (``time.process_time``, both for us and
for pgmpy), which other jobs on a shared machine do not inflate.

pgmpy runs in a subprocess from the separate virtual environment ``.venv-pgmpy`` (``python3 -m venv
.venv-pgmpy && .venv-pgmpy/bin/pip install pgmpy``; without it the pgmpy columns are skipped with
the reason).  It works on DAGs, so it gets the graphs without bidirected edges: one minimal
adjustment set (``CausalInference.get_minimal_adjustment_set``, graph built outside the timer) and
the local Markov basis of every node (``DAG.local_independencies``) and a minimal d-separator for
every non-adjacent pair (``DAG.minimal_dseparator``, our missing-edge list).  Verdicts compared:
whether an adjustment set exists and whether pgmpy's set is among our minimal ones (or valid but
not minimal); the basis statements node by node; which pairs are separable, and whether each of
pgmpy's separators separates and is minimal by our m-separation.  On graphs of at most
``--all-sets-max`` nodes the inclusion-minimal sets among pgmpy's ``get_all_backdoor_adjustment_sets``
(every valid back-door set, found by trying subsets) are also compared with our full list.
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

from core.graph import ADMG  # noqa: E402
from core.graph.adjustment import minimal_adjustment_sets  # noqa: E402
from core.graph.implications import implied_independencies  # noqa: E402
from core.graph.separation import BitGraph  # noqa: E402
from core.worlds.discrete import random_admg  # noqa: E402

PGMPY_PYTHON = ROOT / ".venv-pgmpy" / "bin" / "python"
DENSITIES = [(2.0, 0.0), (3.0, 0.0), (3.0, 1.0), (4.0, 2.0)]  # (directed, bidirected) expected degree

# Runs inside .venv-pgmpy: reads graphs, prints one JSON line per graph.
PGMPY_WORKER = r"""
import json, sys, time, statistics, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
from pgmpy.base import DAG
from pgmpy.inference import CausalInference

reps, all_sets_max = int(sys.argv[2]), int(sys.argv[3])
for line in open(sys.argv[1]):
    q = json.loads(line)
    try:
        dag = DAG()
        dag.add_nodes_from(q["nodes"])
        dag.add_edges_from([tuple(e) for e in q["directed"]])
        ci = CausalInference(dag)
        times, found = [], None
        for _ in range(reps):
            t0 = time.process_time()
            found = ci.get_minimal_adjustment_set(q["x"], q["y"])
            times.append(time.process_time() - t0)
        basis_times, basis = [], None
        for _ in range(reps):
            t0 = time.process_time()
            basis = dag.local_independencies(q["nodes"])
            basis_times.append(time.process_time() - t0)
        statements = []
        for a in basis.get_assertions():
            statements.append([sorted(a.event1), sorted(a.event2), sorted(a.event3)])
        nodes = q["nodes"]
        adjacent = {frozenset(e) for e in q["directed"]}
        pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:] if frozenset((a, b)) not in adjacent]
        t0 = time.process_time()
        separators = [dag.minimal_dseparator(a, b) for a, b in pairs]
        edges_ms = 1000 * (time.process_time() - t0)
        separators = [[a, b, None if z is None else sorted(z)] for (a, b), z in zip(pairs, separators)]
        out = {"ok": True, "set": None if found is None else sorted(found), "ms": 1000 * statistics.median(times),
               "basis": statements, "basis_ms": 1000 * statistics.median(basis_times),
               "separators": separators, "edges_ms": edges_ms}
        if len(q["nodes"]) <= all_sets_max:
            t0 = time.process_time()
            out["all_sets"] = sorted(sorted(s) for s in ci.get_all_backdoor_adjustment_sets(q["x"], q["y"]))
            out["all_ms"] = 1000 * (time.process_time() - t0)
        print(json.dumps(out), flush=True)
    except Exception as e:  # pgmpy failures are counted, not fatal
        print(json.dumps({"ok": False, "error": type(e).__name__ + ": " + str(e)[:200]}), flush=True)
"""


def make_queries(n: int, count: int, seed: int, densities: list[tuple[float, float]] = DENSITIES) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(seed * 1000 + n)
    out = []
    for i in range(count):
        d_dir, d_bi = densities[i % len(densities)]
        g = random_admg(n, min(1.0, d_dir / (n - 1)), min(1.0, d_bi / (n - 1)), seed=int(rng.integers(1 << 30)))
        order = list(g.topological_order())
        x = order[int(rng.integers(n // 4, max(n // 4 + 1, n // 2)))]
        desc = [v for v in order if v in g.descendants([x]) and v != x]
        late = [v for v in desc if order.index(v) >= 3 * n // 4] or desc or [v for v in order[order.index(x) + 1 :]]
        y = late[int(rng.integers(len(late)))]
        out.append({"graph": g, "x": x, "y": y})
    return out


def answers(g: ADMG, x: str, y: str) -> tuple[list[tuple[str, ...]], int, int]:
    sets = minimal_adjustment_sets(g, [x], [y])
    return sets, len(implied_independencies(g, "missing_edge")), len(implied_independencies(g, "basis"))


def median_ms(fn, reps: int) -> float:
    """Median CPU milliseconds of ``fn()`` (process time: other jobs on a shared machine do not inflate
    it), each run from a cold start (the bitset view of the graph is rebuilt, not taken from its cache)."""
    times = []
    for _ in range(reps):
        BitGraph.clear_cache()
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return 1000 * statistics.median(times)


def time_ours(q: dict, reps: int) -> dict:
    g, x, y = q["graph"], q["x"], q["y"]
    return {
        "sets_ms": median_ms(lambda: minimal_adjustment_sets(g, [x], [y]), reps),
        "edges_ms": median_ms(lambda: implied_independencies(g, "missing_edge"), reps),
        "basis_ms": median_ms(lambda: implied_independencies(g, "basis"), reps),
        "all_ms": median_ms(lambda: answers(g, x, y), reps),
        "sets": minimal_adjustment_sets(g, [x], [y]),
    }


def run_pgmpy(queries: list[dict], reps: int, all_sets_max: int, timeout: float) -> list[dict] | str:
    if not PGMPY_PYTHON.exists():
        return f"pgmpy skipped: {PGMPY_PYTHON} not found (python3 -m venv .venv-pgmpy && .venv-pgmpy/bin/pip install pgmpy)"
    with tempfile.TemporaryDirectory() as tmp:
        qpath = Path(tmp) / "graphs.jsonl"
        with open(qpath, "w") as fh:
            for q in queries:
                g = q["graph"]
                fh.write(json.dumps({"nodes": list(g.names), "directed": [list(e) for e in g.directed],
                                     "x": q["x"], "y": q["y"]}) + "\n")
        wpath = Path(tmp) / "worker.py"
        wpath.write_text(PGMPY_WORKER)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        try:
            proc = subprocess.run([str(PGMPY_PYTHON), str(wpath), str(qpath), str(reps), str(all_sets_max)],
                                  capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return f"pgmpy skipped: no answer within {timeout:.0f} s"
        lines = [json.loads(s) for s in proc.stdout.splitlines() if s.startswith("{")]
        if len(lines) != len(queries):
            return f"pgmpy skipped: worker failed ({proc.stderr.strip().splitlines()[-1:] or 'no output'})"
        return lines


def basis_agrees(g: ADMG, statements: list[list[list[str]]]) -> bool:
    """pgmpy's local independencies against our basis list, node by node (a node whose statement
    is empty is absent from both)."""
    ours = {s.left[0]: (sorted(s.right), sorted(s.given)) for s in implied_independencies(g, "basis")}
    theirs = {a[0][0]: (a[1], a[2]) for a in statements if len(a[0]) == 1}
    return ours == theirs


def separators_agree(g: ADMG, separators: list[list]) -> bool:
    """pgmpy's minimal d-separator of each non-adjacent pair against our missing-edge list: the same
    pairs are separable, and each of pgmpy's sets separates by our m-separation and is minimal."""
    from core.graph.separation import separated

    ours = {frozenset(s.left + s.right) for s in implied_independencies(g, "missing_edge")}
    for a, b, z in separators:
        if (z is not None) != (frozenset((a, b)) in ours):
            return False
        if z is not None and not (separated(g, [a], [b], z)
                                  and all(not separated(g, [a], [b], [v for v in z if v != w]) for w in z)):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,60,100")
    parser.add_argument("--graphs", type=int, default=20, help="graphs (queries) per size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=5, help="timing repetitions per graph")
    parser.add_argument("--all-sets-max", type=int, default=12, help="largest graph on which pgmpy lists all sets")
    parser.add_argument("--pgmpy-timeout", type=float, default=900.0, help="seconds for all pgmpy graphs of one size")
    args = parser.parse_args(argv)
    header = (f"{'nodes':>5} {'graphs':>6} {'sets':>6} {'sets ms':>8} {'edges ms':>9} {'basis ms':>9} {'all ms':>7} "
              f"{'max ms':>7} | {'DAGs':>4} {'sets ok':>8} {'basis ok':>8} {'seps ok':>8} {'pgmpy 1-set ms':>14} "
              f"{'pgmpy edges ms':>14} {'pgmpy basis ms':>14}")
    print(header)
    print("-" * len(header))
    notes = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        queries = make_queries(n, args.graphs, args.seed)
        ours = [time_ours(q, args.reps) for q in queries]
        med = {k: statistics.median(o[k] for o in ours) for k in ("sets_ms", "edges_ms", "basis_ms", "all_ms")}
        worst = max(o["all_ms"] for o in ours)
        n_sets = statistics.median(len(o["sets"]) for o in ours)
        dags = [(q, o) for q, o in zip(queries, ours, strict=True) if not q["graph"].bidirected]
        pg = run_pgmpy([q for q, _ in dags], args.reps, args.all_sets_max, args.pgmpy_timeout) if dags else "no DAGs"
        line = (f"{n:>5} {len(queries):>6} {n_sets:>6.0f} {med['sets_ms']:>8.2f} {med['edges_ms']:>9.2f} "
                f"{med['basis_ms']:>9.2f} {med['all_ms']:>7.2f} {worst:>7.1f} | {len(dags):>4} ")
        if isinstance(pg, str):
            notes.append(f"{n} nodes: {pg}")
            print(line + f"{'-':>8} {'-':>8} {'-':>8} {'-':>14} {'-':>14} {'-':>14}")
            continue
        agree = basis_ok = seps_ok = done = 0
        for (q, o), r in zip(dags, pg, strict=True):
            if not r["ok"]:
                notes.append(f"{n} nodes: pgmpy failed: {r['error']}")
                continue
            done += 1
            ours_sets = {tuple(sorted(s)) for s in o["sets"]}
            same = (r["set"] is None) == (not ours_sets) and (r["set"] is None or _consistent(q, r["set"], ours_sets))
            if "all_sets" in r:  # pgmpy lists every valid back-door set: compare its minimal ones
                theirs = [set(s) for s in r["all_sets"]]
                if not theirs and r["set"] == []:
                    theirs = [set()]  # pgmpy lists no set when none is needed (its one-set answer: the empty set)
                minimal = {tuple(sorted(s)) for s in theirs if not any(t < s for t in theirs)}
                same = same and minimal == ours_sets
            agree += same
            if not same:
                notes.append(f"{n} nodes: sets differ for {q['x']} -> {q['y']}: pgmpy {r['set']}, "
                             f"ours {sorted(ours_sets)[:3]}")
            basis_ok += basis_agrees(q["graph"], r["basis"])
            seps_ok += separators_agree(q["graph"], r["separators"])
        pg_ms = statistics.median(r["ms"] for r in pg if r["ok"])
        pg_edges = statistics.median(r["edges_ms"] for r in pg if r["ok"])
        pg_basis = statistics.median(r["basis_ms"] for r in pg if r["ok"])
        print(line + f"{f'{agree}/{done}':>8} {f'{basis_ok}/{done}':>8} {f'{seps_ok}/{done}':>8} {pg_ms:>14.2f} "
              f"{pg_edges:>14.2f} {pg_basis:>14.2f}")
    for note in notes:
        print(note)
    return 0


def _consistent(q: dict, pg_set: list[str], ours: set[tuple[str, ...]]) -> bool:
    """pgmpy's one set agrees with our list when it is in it, or is valid by our criterion without
    being inclusion-minimal (pgmpy's "minimal" set is the smallest it found, not always minimal)."""
    from core.graph.adjustment import is_adjustment_set

    if tuple(sorted(pg_set)) in ours:
        return True
    g, x, y = q["graph"], q["x"], q["y"]
    valid = is_adjustment_set(g, [x], [y], pg_set)
    return valid and any(is_adjustment_set(g, [x], [y], [v for v in pg_set if v != w]) for w in pg_set)


if __name__ == "__main__":
    raise SystemExit(main())
