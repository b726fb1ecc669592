"""Average, conditional, direct and indirect effects with bootstrap intervals.

From a trained run (``--run RUN``: a Markovian NeuralSCM loaded from its checkpoints) or from a
built-in ground-truth world (``--world NAME``).  Examples:

    python -m core effects --world backdoor --treatment X --outcome Y
    python -m core effects --world backdoor --treatment X --outcome Y --given Z      (each level of Z)
    python -m core effects --run runs/med --treatment X --outcome Y --mediator M --json

Image outcomes are averaged through a read-out: ``--readout ATTR`` reads attribute ATTR of the
outcome images with the world's probe (``--world`` only).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from core.cli import split_names
from core.errors import WorkbenchError


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
    p.add_argument("--n", type=int, default=4000, help="samples per arm (default 4000)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _value(text: str, node_type: str) -> Any:
    try:
        return float(text) if node_type == "continuous" else int(text)
    except ValueError:
        kind = "a number" if node_type == "continuous" else "a whole number (a level)"
        raise WorkbenchError(f"{text!r} is not {kind}") from None


def _params(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise WorkbenchError(f"--param takes K=V, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load_sampler(args: argparse.Namespace):
    """(sampler, world or None) from --run or --world."""
    from core.effects import SCMSampler, WorldSampler

    if args.world:
        from core.worlds.registry import get_world

        world = get_world(args.world, **_params(args.param))
        return WorldSampler(world), world
    if args.param:
        raise WorkbenchError("--param applies to --world only")
    from core.checkpoint import load_run
    from core.scm import NeuralSCM

    run = load_run(args.run)
    untrained = [v for v in run.graph.names if v not in run.trained_nodes()]
    if untrained:
        raise WorkbenchError(f"run {args.run} has untrained nodes ({', '.join(untrained)}): train them first")
    return SCMSampler(NeuralSCM(run.graph, run.mechanisms())), None


def _readout(args, sampler, world):
    from core.effects import probe_readout

    node = sampler.graph.node(args.outcome) if args.outcome in sampler.graph else None
    if args.readout is None:
        return None
    if node is None or node.type != "image":
        raise WorkbenchError(f"--readout applies to image outcomes; {args.outcome} is not an image")
    if world is None or not hasattr(world, "probe"):
        raise WorkbenchError("--readout needs a world's probe: use --world")
    return probe_readout(world.probe(args.outcome), args.readout)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def run(args: argparse.Namespace) -> int:
    from core.effects import average_effect, conditional_effects, mediation_effects

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
    common = {"n": args.n, "seed": args.seed, "readout": readout, "n_boot": args.boot}
    if args.mediator:
        rep = mediation_effects(sampler, args.treatment, split_names(args.mediator), args.outcome, a, b, **common)
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
        rep = average_effect(sampler, args.treatment, args.outcome, a, b, given=given, **common)
        payload, lines = {"effect": rep.to_dict()}, rep.lines()
    if args.json:
        print(json.dumps(_jsonable(payload), indent=1))
    else:
        print("\n".join(lines).rstrip())
    return 0
