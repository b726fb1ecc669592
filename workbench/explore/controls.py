"""The widgets that set a node's value on the Explore page: what kind, which range or levels, and
for an image node the candidate images (data rows, or new images from the node's trained model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

from core.data import Dataset
from core.graph import ADMG, Node
from core.scm.conditional import NodeValue
from workbench.explore.models import GeneratedImages, MissingModels, Sources, trained_usable

MAX_RADIO_LEVELS = 6  # more levels than this: a select box instead of radio buttons
PICKER_IMAGES = 8
SLIDER_QUANTILES = (0.01, 0.99)  # a slider spans the central 98% of the data

ControlKind: TypeAlias = Literal["slider", "radio", "select", "image"]


@dataclass(frozen=True)
class Control:
    """The widget that sets a node's value: ``slider`` (continuous), ``radio`` / ``select``
    (binary, categorical) or ``image`` (pick a data image, or a generated one)."""

    node: str
    kind: ControlKind
    options: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    lo: float = 0.0
    hi: float = 1.0
    default: NodeValue | None = None
    step: float = 0.01
    rows: tuple[int, ...] = ()  # candidate data rows for an image picker (empty for generated images)
    images: np.ndarray | None = field(default=None, compare=False)  # the picker's candidates (k, C, H, W)
    note: str = ""  # where the candidates come from


def slider_control(node: Node, dataset: Dataset) -> Control:
    """Over the central 98% of the data, starting at the median, in about 100 steps."""
    x = np.asarray(dataset.column(node.name), dtype=np.float64)
    lo, hi = (float(v) for v in np.quantile(x, SLIDER_QUANTILES))
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    step = float(f"{(hi - lo) / 100:.2g}")
    return Control(node.name, "slider", lo=round(lo, 6), hi=round(hi, 6), default=round(float(np.median(x)), 6),
                   step=step)


def level_control(node: Node, dataset: Dataset) -> Control:
    """Every level (named where the data names them), starting at the most frequent."""
    levels = tuple(range(node.levels))
    names = (dataset.categories or {}).get(node.name)
    labels = tuple(f"{v}: {names[v]}" if names else str(v) for v in levels)
    seen = np.bincount(np.asarray(dataset.column(node.name)), minlength=node.levels)
    return Control(node.name, "radio" if node.levels <= MAX_RADIO_LEVELS else "select", levels, labels,
                   default=int(seen.argmax()))


def generated_image_control(node: Node, generated: GeneratedImages) -> Control:
    images, note = generated
    return Control(node.name, "image", labels=tuple(f"generated {i + 1}" for i in range(len(images))), default=0,
                   images=np.asarray(images), note=note)


def data_image_control(node: Node, dataset: Dataset, *, seed: int, k: int) -> Control:
    """``k`` data rows drawn with the seed, in row order."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(dataset.n, size=min(k, dataset.n), replace=False))
    return Control(node.name, "image", labels=tuple(f"row {int(r)}" for r in rows), rows=tuple(int(r) for r in rows),
                   default=int(rows[0]), images=np.asarray(dataset.column(node.name))[rows], note="data images")


def intervention_control(node: Node, dataset: Dataset, *, seed: int = 0, k: int = PICKER_IMAGES,
                         generated: GeneratedImages | None = None) -> Control:
    """The control that fits ``node``; ranges, levels and candidate images come from the data, or,
    for an image node with ``generated`` (:func:`generated_images`), the candidates are new images
    from the trained model of the node."""
    if node.type == "continuous":
        return slider_control(node, dataset)
    if node.is_discrete:
        return level_control(node, dataset)
    if generated is not None:
        return generated_image_control(node, generated)
    return data_image_control(node, dataset, seed=seed, k=k)


def ancestral_images(sources: Sources, graph: ADMG, node: str, *, k: int, seed: int,
                     sample_steps: int | None) -> GeneratedImages:
    """``k`` draws of ``node`` by ancestral sampling of the trained models of ``An(node)``."""
    from core.scm import NeuralSCM

    anc = graph.ancestors([node])
    scm = NeuralSCM(graph.subgraph(anc), {v: sources.hub.mechanism(sources.run, v, sample_steps) for v in anc})
    images = scm.draw_samples(k, seed)[node]
    parents = ", ".join(graph.sort(graph.parents(node)))
    drawn = f", its parents {parents} drawn by their models first" if parents else ""
    return GeneratedImages(np.asarray(images), f"from the trained model of {node}{drawn}")


def images_given_data_parents(sources: Sources, graph: ADMG, node: str, *, k: int, seed: int,
                              sample_steps: int | None) -> GeneratedImages:
    """``k`` draws of ``node`` from its trained model, its parents copied from ``k`` data rows."""
    import torch

    from core.mechanisms import to_numpy, to_tensor

    dataset = sources.dataset
    rows = np.random.default_rng(seed).choice(dataset.n, size=k, replace=dataset.n < k)
    mech = sources.hub.mechanism(sources.run, node, sample_steps)
    pa = {p: to_tensor(graph.node(p), np.asarray(dataset.column(p))[rows]) for p in graph.parents(node)}
    with torch.no_grad():
        images = to_numpy(graph.node(node), mech.sample(pa, torch.Generator().manual_seed(int(seed)), n=k))
    return GeneratedImages(np.asarray(images), f"from the trained model of {node}, its parents copied from data rows")


def generated_images(sources: Sources, graph: ADMG, node: str, *, k: int = PICKER_IMAGES, seed: int = 0,
                     sample_steps: int | None = None) -> GeneratedImages:
    """``k`` NEW images of ``node`` (for ``do(node = image)``) from the workspace's trained model, and
    a note saying how they were drawn.

    ``x ~ p_model(x | pa(x))`` with the parents drawn first: by ancestral sampling of the trained
    models of ``An(x)`` when all are trained and ``G[An(x)]`` has no bidirected edge (then
    ``pa ~ prod_v p(v | pa(v))`` is the model's own ``P(pa)``); otherwise parents are copied from
    ``k`` data rows, which is exact for the marginal ``P(x) = sum_pa P(pa) P(x | pa)`` on any graph,
    hidden confounders included (the mechanism was fitted to the observational ``P(x | pa)``).
    Deterministic in ``seed``; cached in the hub per weights file."""
    run = sources.run
    if not trained_usable(run, graph, node):
        raise MissingModels([node], f" (needed to generate a new image of {node})")
    anc = graph.ancestors([node])
    ancestral = graph.subgraph(anc).is_markovian and all(trained_usable(run, graph, v) for v in anc)
    used = sorted(anc) if ancestral else [node]
    key = (str(run.path), tuple((v, run.entry(v).get("weights")) for v in used), node, int(k), int(seed), sample_steps)
    cached = sources.hub.generated_images(key)
    if cached is not None:
        return cached
    draw = ancestral_images if ancestral else images_given_data_parents
    made = draw(sources, graph, node, k=k, seed=seed, sample_steps=sample_steps)
    return sources.hub.keep_generated_images(key, made)
