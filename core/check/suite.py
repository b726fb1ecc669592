"""The soundness suite of a trained run: every image node's table, with the read-outs chosen for it.

Read-outs: when the data set records the ground-truth world it was sampled from and that world has
a probe for the node, the probe (scored on the data's own images against their recorded values);
otherwise anti-causal CNNs trained on the data set (scored on a held-out fifth).  Either way the
score is printed next to every number that uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.check.readouts import Reader, probe_reader, train_anticausal_reader
from core.check.soundness import Row, soundness
from core.data import Dataset
from core.errors import WorkbenchError
from core.graph import ADMG

READER_CHOICES = ("auto", "probe", "trained")


def reader_for(dataset: Dataset, graph: ADMG, node: str, *, how: str = "auto", steps: int = 1500,
               seed: int = 0, heldout_rows: int = 2000) -> Reader:
    """The read-out of ``node``'s parents: the world's probe (``probe``), a CNN trained on the data
    (``trained``), or the probe where one exists (``auto``)."""
    if how not in READER_CHOICES:
        raise WorkbenchError(f"unknown read-out {how!r} (one of {', '.join(READER_CHOICES)})")
    parents = graph.sort(graph.parents(node))
    values = {p: dataset.column(p) for p in parents}
    images = dataset.column(node)
    if how in ("auto", "probe"):
        probe = _world_probe(dataset, node)
        if probe is not None:
            rows = np.random.default_rng(seed).permutation(len(images))[:heldout_rows]
            return probe_reader(probe, images[rows], {p: v[rows] for p, v in values.items()}, parents)
        if how == "probe":
            raise WorkbenchError(f"the data set records no ground-truth world with a probe for {node}")
    return train_anticausal_reader(images, values, [graph.node(p) for p in parents], steps=steps, seed=seed)


def _world_probe(dataset: Dataset, node: str) -> object | None:
    from core.worlds.probes import probes_for
    from core.worlds.registry import world_from_record

    try:
        world = world_from_record(dataset.world)
        return probes_for(world, node) if world is not None else None
    except WorkbenchError:
        return None


def check_run(scm: object, dataset: Dataset, nodes: Sequence[str] | None = None, *, units: int = 256,
              seed: int = 0, reader: str = "auto", reader_steps: int = 1500, realism: bool = True,
              hidden: Sequence[tuple[str, str]] = ()) -> list[Row]:
    """Soundness rows of each image node in ``nodes`` (default: every image node) of a neural SCM
    (``hidden``: the run graph's bidirected edges where ``scm`` models its directed part)."""
    graph: ADMG = scm.graph  # type: ignore[attr-defined]
    images = [v.name for v in graph.nodes if v.type == "image"]
    nodes = list(nodes) if nodes else images
    for v in nodes:
        if v not in graph:
            raise WorkbenchError(f"unknown node {v!r} (image nodes: {', '.join(images) or 'none'})")
        if v not in images:
            raise WorkbenchError(f"{v} is {graph.node(v).type}: the soundness suite checks image nodes")
    if not nodes:
        raise WorkbenchError("the graph has no image node to check")
    data = {v: dataset.column(v) for v in graph.names}
    rows: list[Row] = []
    for v in nodes:
        r = reader_for(dataset, graph, v, how=reader, steps=reader_steps, seed=seed)
        rows += soundness(scm, v, data, r, n=units, seed=seed, realism=realism, hidden=hidden)
    return rows
