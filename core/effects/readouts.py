"""Outcome read-outs: one number per sampled row, from a scalar node or through a read-out of images.

An image outcome ``Y`` has no mean of its own; a read-out ``r: images -> values`` (an attribute
that a world's probe reads, or a user's predictor) turns it into the scalar ``r(Y)`` whose mean the
effects compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from core.errors import WorkbenchError
from core.graph import ADMG


class Readout(Protocol):
    """Images (n, C, H, W) -> one number per image, shape (n,)."""

    def __call__(self, images: np.ndarray, /) -> np.ndarray: ...


class AttributeReader(Protocol):
    """What :func:`probe_readout` needs of a :class:`core.worlds.probes.Probe`."""

    def read(self, images: np.ndarray) -> Mapping[str, np.ndarray]: ...


def probe_readout(probe: AttributeReader, attribute: str) -> Readout:
    """A read-out from a world's probe: images -> the values of one attribute."""

    def read(images: np.ndarray) -> np.ndarray:
        out = probe.read(images)
        if attribute not in out:
            raise WorkbenchError(f"the probe reads {', '.join(out)}; not {attribute!r}")
        return np.asarray(out[attribute], dtype=np.float64)

    return read


def outcome_values(
    columns: Mapping[str, np.ndarray], graph: ADMG, outcome: str, readout: Readout | None = None
) -> np.ndarray:
    """One number per row: the outcome itself, or ``readout(outcome)`` (required for image outcomes)."""
    if outcome not in columns:
        raise WorkbenchError(f"the samples have no column {outcome!r}")
    values = columns[outcome]
    if readout is not None:
        out = np.asarray(readout(values), dtype=np.float64).reshape(len(values), -1)
        if out.shape[1] != 1:
            raise WorkbenchError(f"the read-out of {outcome} must give one number per row, got shape {out.shape}")
        return out[:, 0]
    if graph.node(outcome).type == "image":
        raise WorkbenchError(f"{outcome} is an image: give a read-out (a probe attribute or a predictor) to average")
    return np.asarray(values, dtype=np.float64)
