"""Causal Workbench core: everything that is not UI (see DESIGN.md for the layers)."""

from core.graph import ADMG, GraphError, Node, load_graph

__all__ = ["ADMG", "GraphError", "Node", "load_graph"]
