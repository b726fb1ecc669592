"""Sample observational, interventional or counterfactual units and write them as a dataset folder.

Two sources of a sampler:

* ``--run RUN``: a trained Neural SCM (``python -m core train``) on a graph WITHOUT hidden
  confounders; supports ``--counterfactual-of DATA`` (abduction-action-prediction on those rows).
* ``--graph G --data D``: ID-GEN compiles P(outcome | do(...), given) on a graph WITH hidden
  confounders into conditional models, trains them on D (tables for discrete nodes, mechanisms
  otherwise; ``--preset`` and ``--steps`` apply) and samples.

Values: ``--do X=1`` (a level or a number), ``--do X=path/to/image.png`` for an image node; several
``--do``/``--given`` flags or comma-separated ``X=1,Z=0``.  Every flag is checked before any data
is read or any model trained; ``--n`` is at most 1,000,000, and ``--out`` may not be (or hold, or lie
inside) an input of the command.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from core.cli import bounded_integer, check_output, split_names
from core.errors import WorkbenchError
from core.graph import ADMG, load_graph
from core.worlds.registry import MAX_UNITS


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("sampler (one of)")
    src.add_argument("--run", help="run folder of a trained Neural SCM (Markovian graphs)")
    src.add_argument("--graph", help="graph file (JSON or dagitty) for ID-GEN, with --data")
    p.add_argument("--data", help="dataset folder or CSV: training data for ID-GEN, or the units for --counterfactual-of")
    p.add_argument("--outcome", help="outcome node(s), comma-separated (default: every node)")
    p.add_argument("--do", action="append", default=[], metavar="X=V", help="intervention, e.g. X=1 or X=img.png")
    p.add_argument("--given", action="append", default=[], metavar="Z=V", help="conditioning value (ID-GEN)")
    p.add_argument("--counterfactual-of", dest="counterfactual_of", metavar="DATA_ROWS",
                   help="with --run: rows of --data to take counterfactuals of, e.g. 0-15 or 3,7,9")
    p.add_argument("--n", default="100", help=f"number of units (default 100, at most {MAX_UNITS:,})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", choices=["quick", "full"], help="ID-GEN mechanism preset (default by device)")
    p.add_argument("--steps", help="ID-GEN training steps per neural model")
    p.add_argument("--out", required=True, help="dataset folder to write (must not exist, or be one of ours)")


def parse_assignments(items: list[str], graph: ADMG, what: str) -> dict[str, Any]:
    """``["X=1", "Z=0,W=img.png"]`` -> values typed by the graph's nodes (numbers must be finite)."""
    out: dict[str, Any] = {}
    for item in items:
        for part in split_names(item):
            name, eq, raw = part.partition("=")
            name, raw = name.strip(), raw.strip()
            if not eq or not name or not raw:
                raise WorkbenchError(f"--{what} expects NODE=VALUE, got {part!r}")
            node = graph.node(name)
            if node.type == "image":
                from core.data import read_image

                img = read_image(Path(raw), f"--{what} {name}")
                if tuple(img.shape) != tuple(node.shape):
                    raise WorkbenchError(f"--{what} {name}: image {raw} has shape {img.shape}, the node needs {node.shape}")
                out[name] = img
            elif node.is_discrete:
                try:
                    out[name] = int(raw)
                except ValueError:
                    raise WorkbenchError(f"--{what} {name}: {node.type} levels are integers, got {raw!r}") from None
                if not 0 <= out[name] < node.levels:
                    raise WorkbenchError(f"--{what} {name}={raw}: levels are 0..{node.levels - 1}")
            else:
                try:
                    out[name] = float(raw)
                except ValueError:
                    raise WorkbenchError(f"--{what} {name}: expected a number, got {raw!r}") from None
                if not math.isfinite(out[name]):
                    raise WorkbenchError(f"--{what} {name}={raw}: the value must be a finite number")
    return out


def image_paths(items: list[str], graph: ADMG) -> list[str]:
    """The image files named by ``--do``/``--given`` values of image nodes (inputs of the command)."""
    paths = []
    for item in items:
        for part in split_names(item):
            name, _, raw = part.partition("=")
            if name.strip() in graph and graph.node(name.strip()).type == "image":
                paths.append(raw.strip())
    return paths


def parse_rows(text: str, n: int) -> np.ndarray:
    """``0-15`` or ``3,7,9`` as row numbers, each checked against ``n`` rows before any range is built."""
    rows: list[int] = []
    for part in split_names(text):
        a, dash, b = part.partition("-")
        try:
            first, last = int(a), int(b) if dash else int(a)
        except ValueError:
            raise WorkbenchError(f"--counterfactual-of: bad row range {part!r} (use 0-15 or 3,7,9)") from None
        for r in (first, last):
            if not 0 <= r < n:
                raise WorkbenchError(f"--counterfactual-of: rows must be in 0..{n - 1}, got {r}")
        rows += range(first, last + 1)
    if not rows:
        raise WorkbenchError(f"--counterfactual-of: rows must be in 0..{n - 1}")
    return np.asarray(rows)


def run(args: argparse.Namespace) -> int:
    from core.data import Dataset, load_dataset
    from core.runs.manifest import MAX_STEPS

    n = bounded_integer(args.n, "--n", 1, MAX_UNITS)
    steps = None if args.steps is None else bounded_integer(args.steps, "--steps", 1, MAX_STEPS)
    if bool(args.run) == bool(args.graph):
        raise WorkbenchError("give either --run RUN (a trained Neural SCM) or --graph G --data D (ID-GEN)")
    check_output(args.out, {"--data": args.data, "--run": args.run, "--graph": args.graph})
    if Path(args.out).suffix.lower() != ".npz":
        from core.data.folder import check_writable

        check_writable(args.out)  # before anything is read or trained, not only when writing
    if args.run:
        from core.runs.manifest import manifest_graph, read_run_manifest

        graph = manifest_graph(read_run_manifest(args.run), Path(args.run))  # checked before torch is imported
        do = parse_assignments(args.do, graph, "do")
        for path in image_paths(args.do, graph):
            check_output(args.out, {"--do": path})
        if args.given:
            raise WorkbenchError("--given needs ID-GEN: use --graph G --data D")
        keep = split_names(args.outcome) or list(graph.names)
        graph.check_nodes(keep, "--outcome")
        if args.counterfactual_of:
            if not args.data:
                raise WorkbenchError("--counterfactual-of needs --data with the factual units")
            data = load_dataset(args.data, graph)
            rows = parse_rows(args.counterfactual_of, data.n)
        from core.runs.checkpoint import load_run
        from core.scm import NeuralSCM

        trained = load_run(args.run)
        graph = trained.graph
        scm = NeuralSCM(graph, trained.mechanisms())
        if args.counterfactual_of:
            values = scm.counterfactual_samples({k: v[rows] for k, v in data.values.items()}, do)
        else:
            values = scm.interventional_samples(do, n, seed=args.seed)
    else:
        if not args.data:
            raise WorkbenchError("ID-GEN needs --data (the observational training data)")
        if args.counterfactual_of:
            raise WorkbenchError("--counterfactual-of needs a trained Neural SCM (--run)")
        graph = load_graph(args.graph)
        outcome = split_names(args.outcome)
        if not outcome:
            raise WorkbenchError("ID-GEN needs --outcome")
        graph.check_nodes(outcome, "--outcome")
        do = parse_assignments(args.do, graph, "do")
        given = parse_assignments(args.given, graph, "given")
        for path in image_paths(args.do + args.given, graph):
            check_output(args.out, {"--do/--given": path})
        data = load_dataset(args.data, graph)
        from core.idgen import IDGen, mechanism_factory

        options = {k: v for k, v in (("preset", args.preset), ("steps", steps)) if v is not None}
        gen = IDGen(graph, data.values, model_factory=mechanism_factory(seed=args.seed, **options), seed=args.seed,
                    data_key=data.fingerprint)
        plan = gen.plan_query(outcome, list(do), list(given))
        print(f"ID-GEN plan: {len(plan.models)} conditional models", file=sys.stderr)
        for i, spec in enumerate(plan.models, 1):
            print(f"  [{i}/{len(plan.models)}] {spec.describe()}", file=sys.stderr)
        gen.fit(outcome, list(do), list(given))
        values = gen.sample(do=do, n=n, given=given, seed=args.seed)
        keep = [*graph.sort(set(outcome) | set(do) | set(given))]
    sub = graph.subgraph(keep)
    out = Dataset.from_values({k: np.asarray(values[k]) for k in keep}, sub)
    path = out.save(args.out)
    print(f"wrote {len(next(iter(values.values())))} units ({', '.join(keep)}) to {path}")
    return 0
