"""Causal Workbench core: the science and the command line, no UI (layers: docs/architecture.md)."""

from core.graph import ADMG, GraphError, Node, load_graph

__all__ = ["ADMG", "GraphError", "Node", "load_graph"]
