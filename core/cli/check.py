"""Check a trained run: the soundness of its image counterfactuals, or (``--models``) every model.

    python -m core check --run RUN --data D [--nodes IMG[,IMG2]] [--units N] [--reader auto|probe|trained] [--json]
    python -m core check --run RUN --data D --models [--nodes A,B] [--steps N] [--eval-rows N] [--json] [--no-save]

``--models`` is the model check, for data without a ground-truth world: each trained node's
held-out negative log-likelihood (the VAE's negative ELBO; diffusion's denoising loss) against a
parent-blind baseline of the same kind trained --steps steps with the parents shuffled (and, for
scalar nodes, a reference trained as briefly with them), plus, for image nodes, the soundness suite
below with read-outs trained on the data; then a verdict per node (good, doubtful, poor) with the
reason and what to try.  Held-out rows are those the data set holds out (imported layouts hold some
out; training never sees them); otherwise the scores are in-sample, and say so.  The results are
saved in the run folder (model_check.json) unless --no-save.

Without ``--models``:

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
    p.add_argument("--models", action="store_true", help="the model check: likelihood against a parent-blind "
                   "baseline, soundness of image nodes, a verdict per node")
    p.add_argument("--steps", type=int, default=600, help="--models: steps of the short baseline (default 600; "
                   "image nodes at most --image-steps)")
    p.add_argument("--image-steps", type=int, default=300, help="--models: baseline steps for image nodes (default 300)")
    p.add_argument("--eval-rows", type=int, default=1000, help="--models: rows scored (default 1000)")
    p.add_argument("--device", default="auto", help="--models: auto (CUDA > MPS > CPU, the default), cpu, cuda, mps")
    p.add_argument("--no-save", action="store_true", help="--models: do not save the results in the run folder")


def run(args: argparse.Namespace) -> int:
    from core.runs.manifest import MAX_STEPS, read_run_manifest
    from core.worlds.registry import MAX_UNITS

    if not 2 <= args.units <= MAX_UNITS:
        raise WorkbenchError(f"--units must be between 2 and {MAX_UNITS:,}, got {args.units}")
    if not 1 <= args.reader_steps <= MAX_STEPS:
        raise WorkbenchError(f"--reader-steps must be between 1 and {MAX_STEPS:,}, got {args.reader_steps}")
    read_run_manifest(args.run)  # a bad run is refused before torch is imported
    if args.models:
        return model_check(args)
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


def model_check(args: argparse.Namespace) -> int:
    """``--models``: run the model check, print it (text or one JSON object), save it in the run."""
    import sys

    from core.check.model_check import CheckOptions, format_report, run_model_check, save_model_check
    from core.cli.effects import run_data
    from core.runs.checkpoint import load_run

    options = CheckOptions(steps=args.steps, image_steps=args.image_steps, eval_rows=args.eval_rows, units=args.units,
                           reader_steps=args.reader_steps, realism=not args.no_realism, seed=args.seed,
                           device=args.device)
    trained = load_run(args.run)
    dataset = run_data(trained, args.data)

    def progress(text: str, done: int, total: int) -> None:
        print(f"[{done}/{total}] {text}", file=sys.stderr, flush=True)

    check = run_model_check(trained, dataset, split_names(args.nodes), options=options, progress=progress)
    if not args.no_save:
        path = save_model_check(trained, check)
        print(f"saved {path}", file=sys.stderr)
    print(json.dumps(check.to_json()) if args.json else format_report(check))
    return 0
