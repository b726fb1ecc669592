"""Check a trained run: the soundness of its image counterfactuals, one table per image node.

    python -m core check --run RUN --data D [--nodes IMG[,IMG2]] [--units N] [--reader auto|probe|trained] [--json]

Composition and reversibility (0-255 L1 distances of null and there-and-back interventions),
effectiveness (each parent changed to another value of the data, read back from the
counterfactual image) and minimality (the parents the intervention does not cause, read back
unchanged), and realism (a classifier two-sample test: 0.5 means real and generated images are
indistinguishable).  Read-outs are the data's ground-truth world probes where it has them, else CNNs
trained on the data; each read-out's own held-out score is printed next to the numbers that use it.
With hidden confounders, a parent whose counterfactual would re-evaluate a confounded descendant is
skipped (the rest does not depend on them); D must be the data the run was trained on.
``--json`` prints one object per node and metric.
"""

from __future__ import annotations

import argparse
import json

from core.cli import split_names
from core.errors import WorkbenchError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run folder (python -m core train)")
    p.add_argument("--data", required=True, help="the data set the run was trained on")
    p.add_argument("--nodes", default=None, help="image nodes to check (default: every image node)")
    p.add_argument("--units", type=int, default=256, help="units of the data the checks use (default 256)")
    p.add_argument("--reader", choices=("auto", "probe", "trained"), default="auto",
                   help="read-outs: the world's probes (auto where they exist) or CNNs trained on the data")
    p.add_argument("--reader-steps", type=int, default=1500, help="training steps of a trained read-out (default 1500)")
    p.add_argument("--no-realism", action="store_true", help="skip the classifier two-sample test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per node and metric")


def run(args: argparse.Namespace) -> int:
    from core.runs.manifest import MAX_STEPS, read_run_manifest
    from core.worlds.registry import MAX_UNITS

    if not 2 <= args.units <= MAX_UNITS:
        raise WorkbenchError(f"--units must be between 2 and {MAX_UNITS:,}, got {args.units}")
    if not 1 <= args.reader_steps <= MAX_STEPS:
        raise WorkbenchError(f"--reader-steps must be between 1 and {MAX_STEPS:,}, got {args.reader_steps}")
    read_run_manifest(args.run)  # a bad run is refused before torch is imported
    from core.check.soundness import format_table
    from core.check.suite import check_run
    from core.cli.effects import run_data
    from core.runs.checkpoint import load_run
    from core.scm import NeuralSCM

    trained = load_run(args.run)
    hidden = trained.graph.bidirected
    untrained = [v for v in trained.graph.names if v not in trained.trained_nodes()]
    if untrained:
        raise WorkbenchError(f"run {args.run} has untrained nodes ({', '.join(untrained)}): train them first")
    dataset = run_data(trained, args.data)
    # the checks use the image mechanisms and the counterfactuals of parents whose descendants are
    # not confounded, which the directed part of the graph computes exactly (see core.check.soundness)
    scm = NeuralSCM(trained.graph.without_edges(bidirected=hidden), trained.mechanisms())
    rows = check_run(scm, dataset, split_names(args.nodes), units=args.units, seed=args.seed, reader=args.reader,
                     reader_steps=args.reader_steps, realism=not args.no_realism, hidden=hidden)
    if args.json:
        for row in rows:
            print(json.dumps(row.to_json()))
    else:
        print(format_table(rows))
    return 0
