"""Train one conditional generative model per node, with checkpoints and resume.

    python -m core train --graph G --data D --out RUN [--preset quick|full] [--nodes A,B] [--steps N]
                         [--kind NODE=latent_flow|vae|diffusion ...] [--seed K]

Nodes train one after another in topological order, each with a progress bar.  RUN is a run folder
(manifest.json + one safetensors file per node); checkpoints are written every --checkpoint-every
steps and at the end, so after an interruption (Ctrl-C, a crash, a killed job) the SAME command
continues from the last checkpoint.  Nodes already trained are skipped; nothing trained is ever
overwritten, and a folder that is not a run folder is never written into.  One writer per run
folder: a second ``train`` on the same RUN stops at once with one line naming the first.  Ctrl-C
stops cleanly (checkpoint first); a second Ctrl-C aborts.  Every flag (device included) is checked
before any data is read or any folder created.

Several GPUs: `accelerate launch -m core train ...` (see docs/multi-gpu.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from core.cli import check_output, integer, key_values, split_names
from core.errors import WorkbenchError

if TYPE_CHECKING:
    from tqdm import tqdm

    from core.runs.train import Progress, TrainOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--graph", required=True, help="graph file (JSON or dagitty)")
    parser.add_argument("--data", required=True, help="dataset folder, .csv or .npz with a column per node")
    parser.add_argument("--out", required=True, help="run folder to create or continue")
    parser.add_argument("--preset", help="quick (CPU minutes) or full (GPU); default: full on CUDA, else quick")
    parser.add_argument("--nodes", help="comma-separated nodes to train (default: all)")
    parser.add_argument("--steps", help="optimiser steps per node (default: the preset's)")
    parser.add_argument(
        "--kind", action="append", default=[], metavar="NODE=KIND",
        help="mechanism kind of a node (repeatable), e.g. --kind img=vae; image nodes: latent_flow (default), vae or diffusion",
    )
    parser.add_argument("--seed", default="0", help="seed of initialisation and batches (default 0)")
    parser.add_argument("--batch-size", help="mini-batch size (default: the preset's)")
    parser.add_argument("--lr", help="learning rate (default: the preset's)")
    parser.add_argument("--optimizer", default="adam", help="adam (default) or adamw")
    parser.add_argument("--checkpoint-every", default="250", help="steps between checkpoints (default 250)")
    parser.add_argument("--device", default="auto", help="auto (CUDA > MPS > CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--mixed-precision", default="auto",
        help="auto (bf16/fp16 for image nodes on CUDA), no, bf16 or fp16 (CUDA only)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def positive_int(text: str | None, flag: str, high: int | None = None) -> int | None:
    """``text`` as a positive integer of at most ``high`` (None stays None); anything else is a one-line
    error naming ``flag``."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise WorkbenchError(f"{flag} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise WorkbenchError(f"{flag} must be a positive integer, got {text!r}")
    if high is not None and value > high:
        raise WorkbenchError(f"{flag} must be at most {high:,}, got {text}")
    return value


def parse_options(args: argparse.Namespace) -> TrainOptions:
    """The training options the flags ask for, each checked with a one-line error."""
    from core.mechanisms.base import PRESETS
    from core.runs.manifest import MAX_BATCH_SIZE, MAX_STEPS
    from core.runs.train import TrainOptions

    if args.preset is not None and args.preset not in PRESETS:
        raise WorkbenchError(f"--preset must be one of {', '.join(PRESETS)}, got {args.preset!r}")
    seed = integer(args.seed, "--seed")
    lr = None
    if args.lr is not None:
        try:
            lr = float(args.lr)
        except ValueError:
            raise WorkbenchError(f"--lr must be a positive number, got {args.lr!r}") from None
    return TrainOptions(
        preset=args.preset,
        steps=positive_int(args.steps, "--steps", MAX_STEPS),
        batch_size=positive_int(args.batch_size, "--batch-size", MAX_BATCH_SIZE),
        lr=lr,
        kinds=key_values(args.kind, "--kind", "NODE=KIND", value_required=True),
        seed=seed,
        optimizer=args.optimizer,
        checkpoint_every=positive_int(args.checkpoint_every, "--checkpoint-every", MAX_STEPS),
        device=args.device,
        mixed_precision=args.mixed_precision,
    )


class ProgressBars:
    """One tqdm bar per node, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None

    def __call__(self, p: Progress) -> bool:
        if p.phase == "start" and p.message:
            print(f"{p.node}: {p.message}", file=sys.stderr)
        if self.quiet:
            if p.phase == "done":
                print(f"{p.node}: {p.message}", file=sys.stderr)
            return True
        from tqdm import tqdm

        if p.phase == "start":
            self.close()
            self.bar = tqdm(total=p.total_steps, initial=p.step, desc=p.node, unit="step", file=sys.stderr,
                            dynamic_ncols=True)
        elif p.phase == "step" and self.bar is not None:
            self.bar.update(p.step - self.bar.n)
            if p.loss is not None and (p.step % 10 == 0 or p.step == p.total_steps):
                self.bar.set_postfix(loss=f"{p.loss:.4g}", refresh=False)
        elif p.phase == "done":
            if self.bar is not None:
                self.bar.update(p.step - self.bar.n)
            self.close()
            print(f"{p.node}: {p.message}", file=sys.stderr)
        return True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While active, the first Ctrl-C (or SIGTERM) asks training to stop after a checkpoint; a second aborts."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after a checkpoint (Ctrl-C again to abort)", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run(args: argparse.Namespace) -> int:
    from core.graph import load_graph
    from core.runs.manifest import check_writable_run_folder, run_lock

    check_output(args.out, {"--data": args.data, "--graph": args.graph})
    graph = load_graph(args.graph)
    nodes = split_names(args.nodes) or None
    if nodes:
        graph.check_nodes(nodes, "--nodes")
    out = check_writable_run_folder(args.out)  # before the (possibly slow) data load
    if out.is_dir():
        with run_lock(out):
            pass  # a folder another writer holds is refused now, not after the data load (training takes it again)
    options = parse_options(args)

    from core.data import load_dataset
    from core.runs.train import check_kinds, peak_rss_bytes, resolve_device, train

    check_kinds(graph, options.kinds)
    resolve_device(options.device)

    wanted = nodes or list(graph.names)
    needed = set(wanted).union(*(graph.parents(v) for v in wanted))
    data = load_dataset(args.data, graph.subgraph(needed))
    stop = threading.Event()
    bars = ProgressBars(args.quiet)
    try:
        with stop_on_signals(stop):
            result = train(graph, data, args.out, nodes=nodes, options=options, callback=bars, stop=stop)
    finally:
        bars.close()
    if os.environ.get("RANK", "0") != "0":
        return 0  # under accelerate/torchrun, the main process reports
    print(result.summary())
    print(f"run folder: {result.run_path}  (peak memory {peak_rss_bytes() / 2**20:.0f} MiB)")
    if result.stopped:
        print("stopped: rerun the same command to continue from the last checkpoint", file=sys.stderr)
        return 130
    return 0
