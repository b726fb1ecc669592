"""Average, conditional, direct and indirect effects with bootstrap intervals.

From a trained run (``--run RUN``) or from a built-in ground-truth world (``--world NAME``).  A run
whose graph has no bidirected edges is a NeuralSCM loaded from its checkpoints; a run whose graph HAS
them (hidden confounders) is answered by ID-GEN, which fits the conditional models the query needs on
the run's training data (``--data D``: refused unless its fingerprint is the one the run recorded;
tables for discrete nodes, so discrete graphs are exact up to sampling).  A query that is not
identifiable gets one line naming the hedge.  Examples:

    python -m core effects --world backdoor --treatment X --outcome Y
    python -m core effects --world backdoor --treatment X --outcome Y --given Z      (each level of Z)
    python -m core effects --run runs/med --treatment X --outcome Y --mediator M --json
    python -m core effects --run runs/napkin --data data/napkin --treatment X --outcome Y   (ID-GEN)

Image outcomes are averaged through a read-out: ``--readout ATTR`` reads attribute ATTR of the
outcome images with the world's probe (``--world`` only).  Limits: ``--n`` 1..1,000,000 samples per
arm, ``--boot`` 10..100,000 resamples, and ``--n`` times ``--boot`` at most 1,000,000,000.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING

import numpy as np

from core.cli import bounded_integer, key_values, split_names
from core.errors import WorkbenchError
from core.worlds.registry import MAX_UNITS

MIN_BOOT, MAX_BOOT = 10, 100_000  # bootstrap resamples: fewer cannot place a 95% interval's ends
MAX_RESAMPLED = 10**9  # samples per arm times resamples: the bootstrap's work

if TYPE_CHECKING:
    from core.data import Dataset
    from core.effects import IDGenSampler, Readout, Sampler
    from core.idgen import ModelSpec
    from core.runs.checkpoint import Run
    from core.worlds import World


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' line breaks
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="a trained run folder (python -m core train ... --out RUN)")
    src.add_argument("--world", help="a built-in ground-truth world (see python -m core world --help)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="a world parameter (repeatable)")
    p.add_argument("--treatment", required=True, help="the node to intervene on")
    p.add_argument("--outcome", required=True, help="the node whose mean we compare")
    p.add_argument("--mediator", help="mediator node(s) M[,M2]: natural direct/indirect and controlled direct effects")
    p.add_argument(
        "--given", help="Z=v: the effect given Z=v; Z alone: the effect within each level of a discrete Z"
    )
    p.add_argument("--values", metavar="A,B", help="compare do(T=A) with do(T=B) (default 1,0; mean +- sd if continuous)")
    p.add_argument("--readout", metavar="ATTR", help="for an image outcome: the probe attribute to average")
    p.add_argument("--n", default="4000", help=f"samples per arm (default 4000, at most {MAX_UNITS:,})")
    p.add_argument("--boot", default="1000",
                   help=f"bootstrap resamples for the intervals (default 1000; {MIN_BOOT}..{MAX_BOOT:,})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", help="with --run: the run's training data (needed when the graph has hidden confounders)")
    p.add_argument("--preset", choices=["quick", "full"], help="ID-GEN's neural models: preset (default by device)")
    p.add_argument("--steps", type=int, help="ID-GEN's neural models: training steps each (default: the preset's)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _value(text: str, node_type: str) -> int | float:
    """A --values / --given value of a node of ``node_type``: a finite number, or a level."""
    try:
        value = float(text) if node_type == "continuous" else int(text)
    except ValueError:
        kind = "a number" if node_type == "continuous" else "a whole number (a level)"
        raise WorkbenchError(f"{text!r} is not {kind}") from None
    if not math.isfinite(value):
        raise WorkbenchError(f"{text!r} is not a finite number")
    return value


def load_sampler(args: argparse.Namespace) -> tuple[Sampler, World | None]:
    """(sampler, world or None) from --run or --world."""
    from core.effects import SCMSampler, WorldSampler

    if args.world:
        from core.worlds.registry import get_world

        for flag in ("data", "preset", "steps"):
            if getattr(args, flag) is not None:
                raise WorkbenchError(f"--{flag} applies to --run only")
        world = get_world(args.world, **key_values(args.param, "--param", "K=V"))
        return WorldSampler(world), world
    if args.param:
        raise WorkbenchError("--param applies to --world only")
    from core.runs.manifest import read_run_manifest

    read_run_manifest(args.run)  # a bad run is refused before torch is imported
    from core.runs.checkpoint import load_run

    run = load_run(args.run)
    if run.graph.bidirected:
        if not args.data:
            a, b = run.graph.bidirected[0]
            raise WorkbenchError(
                f"run {args.run} has hidden confounders ({a} <-> {b}): ID-GEN answers from the training data, "
                "give it with --data D"
            )
        return idgen_sampler(run, args), None
    for flag in ("preset", "steps"):
        if getattr(args, flag) is not None:
            raise WorkbenchError(f"--{flag} applies to ID-GEN (runs whose graph has bidirected edges)")
    from core.scm import NeuralSCM

    if args.data:
        run_data(run, args.data)  # only checked: the NeuralSCM needs no data
    untrained = [v for v in run.graph.names if v not in run.trained_nodes()]
    if untrained:
        raise WorkbenchError(f"run {args.run} has untrained nodes ({', '.join(untrained)}): train them first")
    return SCMSampler(NeuralSCM(run.graph, run.mechanisms())), None


def run_data(run: Run, path: str) -> Dataset:
    """The data set at ``path`` if it is the one ``run`` was trained on (same content fingerprint;
    training from a folder fingerprints every column, training from a dict only the graph's)."""
    from core.data import Dataset, load_dataset

    ds = load_dataset(path, run.graph)
    want = run.fingerprint
    if not want:
        raise WorkbenchError(f"run {run.path} records no data fingerprint: cannot tell whether {path} is its data")
    if ds.fingerprint == want:
        return ds
    graph_only = Dataset.from_values({v: ds.column(v) for v in run.graph.names}, run.graph)
    if graph_only.fingerprint == want:
        return graph_only
    run.check_preparation(ds.preparation)  # data resized otherwise says so, not just "other data"
    raise WorkbenchError(
        f"{path} is not the data run {run.path} was trained on (fingerprint {ds.fingerprint[:12]}, "
        f"the run's {want[:12]})"
    )


def idgen_sampler(run: Run, args: argparse.Namespace) -> IDGenSampler:
    """An ID-GEN sampler over the run's graph and data; neural models take the run's mechanism kinds."""
    from core.effects import IDGenSampler
    from core.idgen import IDGen, mechanism_factory
    from core.runs.manifest import MAX_STEPS

    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise WorkbenchError(f"--steps must be between 1 and {MAX_STEPS:,}, got {args.steps}")
    ds = run_data(run, args.data)
    kinds = {v: run.entry(v).get("kind") for v in run.graph.names if v in run.manifest.get("nodes", {})}
    options = {k: v for k, v in (("preset", args.preset), ("steps", args.steps)) if v is not None}
    trained = set(run.trained_nodes())

    def autoencoders(name: str):  # the run's latent image model of a node lends its autoencoder
        if name in trained and kinds.get(name) == "latent_flow" and run.fingerprint == ds.fingerprint:
            return run.load_mechanism(name)
        return None

    factory = mechanism_factory(kinds={v: k for v, k in kinds.items() if k}, seed=args.seed,
                                autoencoders=autoencoders, **options)
    gen = IDGen(run.graph, {v: ds.column(v) for v in run.graph.names}, model_factory=factory, seed=args.seed,
                data_key=ds.fingerprint[:16])

    def progress(i: int, total: int, spec: ModelSpec) -> None:
        """Each conditional model as it is fitted (stderr: stdout stays clean for --json)."""
        if spec.key not in gen.cache:
            print(f"ID-GEN fits {spec.describe()}", file=sys.stderr, flush=True)

    return IDGenSampler(gen, args.outcome, progress=progress)


def _readout(args: argparse.Namespace, sampler: Sampler, world: World | None) -> Readout | None:
    from core.effects import probe_readout

    node = sampler.graph.node(args.outcome) if args.outcome in sampler.graph else None
    if args.readout is None:
        return None
    if node is None or node.type != "image":
        raise WorkbenchError(f"--readout applies to image outcomes; {args.outcome} is not an image")
    if world is None or not hasattr(world, "probe"):
        raise WorkbenchError("--readout needs a world's probe: use --world")
    return probe_readout(world.probe(args.outcome), args.readout)


def _jsonable(obj: object) -> object:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def check_sizes(args: argparse.Namespace) -> tuple[int, int]:
    """(samples per arm, bootstrap resamples), each within its limit, and their product too."""
    n = bounded_integer(args.n, "--n", 1, MAX_UNITS)
    boot = bounded_integer(args.boot, "--boot", MIN_BOOT, MAX_BOOT)
    if n * boot > MAX_RESAMPLED:
        raise WorkbenchError(f"--n {n:,} times --boot {boot:,} is more than {MAX_RESAMPLED:,} resampled values: "
                             "lower one of them")
    return n, boot


def run(args: argparse.Namespace) -> int:
    from core.effects import average_effect, conditional_effects, mediation_effects

    n, boot = check_sizes(args)
    sampler, world = load_sampler(args)
    g = sampler.graph
    g.check_nodes([args.treatment, args.outcome], "effects")
    readout = _readout(args, sampler, world)
    a = b = None
    if args.values:
        parts = split_names(args.values)
        if len(parts) != 2:
            raise WorkbenchError(f"--values takes two values A,B; got {args.values!r}")
        t = g.node(args.treatment).type
        a, b = _value(parts[0], t), _value(parts[1], t)
    common = {"n": n, "seed": args.seed, "readout": readout, "n_boot": boot}
    if args.mediator:
        rep = mediation_effects(sampler, args.treatment, split_names(args.mediator), args.outcome, a=a, b=b, **common)
        payload, lines = {"mediation": rep.to_dict()}, rep.lines()
    elif args.given and "=" not in args.given:
        reps = conditional_effects(sampler, args.treatment, args.outcome, args.given.strip(), a=a, b=b, **common)
        payload = {"by": args.given.strip(), "effects": {str(z): r.to_dict() for z, r in reps.items()}}
        lines = [line for r in reps.values() for line in [*r.lines(), ""]]
    else:
        given = {}
        if args.given:
            z, v = args.given.split("=", 1)
            z = z.strip()
            g.check_nodes([z], "given")
            given = {z: _value(v.strip(), g.node(z).type)}
        rep = average_effect(sampler, args.treatment, args.outcome, a=a, b=b, given=given, **common)
        payload, lines = {"effect": rep.to_dict()}, rep.lines()
    if args.json:
        print(json.dumps(_jsonable(payload), indent=1))
    else:
        print("\n".join(lines).rstrip())
    return 0
