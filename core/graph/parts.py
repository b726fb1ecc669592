"""What graph formats read into and write from, so they need not know the ADMG class.

A reader returns :class:`GraphParts` (nodes, edges, and latent nodes still to project away) and
``ADMG.from_parts`` validates them into a graph; a writer reads any :class:`MixedGraph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias

from core.graph.node import GraphError, Node

Edge: TypeAlias = tuple[str, str]


class MixedGraph(Protocol):
    """Typed nodes in order, directed edges ``a -> b`` and bidirected edges ``a <-> b``."""

    @property
    def nodes(self) -> tuple[Node, ...]: ...

    @property
    def directed(self) -> tuple[Edge, ...]: ...

    @property
    def bidirected(self) -> tuple[Edge, ...]: ...


@dataclass(frozen=True)
class GraphParts:
    """A graph as a file declares it, not yet validated; ``latents`` are nodes to project away
    (each becomes bidirected edges among what it reaches)."""

    nodes: tuple[Node, ...]
    directed: tuple[Edge, ...] = ()
    bidirected: tuple[Edge, ...] = ()
    latents: tuple[str, ...] = ()


def check_edge(edge: object, kind: str) -> Edge:
    """``edge`` as a pair of node names, or a GraphError naming the ``kind`` of edge expected."""
    if not isinstance(edge, (list, tuple)) or len(edge) != 2 or not all(isinstance(v, str) for v in edge):
        raise GraphError(f"a {kind} edge must be a pair of node names, got {edge!r}")
    return edge[0], edge[1]

