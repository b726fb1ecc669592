"""Acyclic directed mixed graphs with typed nodes, and the file formats that carry them."""

from core.graph.admg import (
    ADMG,
    NODE_TYPES,
    GraphError,
    Node,
    load_graph,
    parse_dagitty,
    parse_graph_text,
)

__all__ = ["ADMG", "NODE_TYPES", "GraphError", "Node", "load_graph", "parse_dagitty", "parse_graph_text"]
