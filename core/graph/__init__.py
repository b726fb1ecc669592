"""Acyclic directed mixed graphs with typed nodes, and the file formats that carry them.

    node.py     Node: a typed variable, and its type as text
    parts.py    what readers return and writers read (GraphParts, the MixedGraph protocol)
    admg.py     ADMG: the graph and its algorithms (reachability, districts, surgery, latent
                projection, m-separation)
    dagitty.py  dagitty model code: read_dagitty / write_dagitty
    formats.py  node-link JSON (read / write), DOT (write), networkx
    load.py     parse_dagitty, parse_graph_text, load_graph: text or files to an ADMG
"""

from core.graph.admg import ADMG
from core.graph.load import load_graph, parse_dagitty, parse_graph_text
from core.graph.node import NODE_TYPES, GraphError, Node

__all__ = ["ADMG", "NODE_TYPES", "GraphError", "Node", "load_graph", "parse_dagitty", "parse_graph_text"]
