"""Acyclic directed mixed graphs with typed nodes, and the file formats that carry them.

    node.py     Node: a typed variable, and its type as text
    parts.py    what readers return and writers read (GraphParts, the MixedGraph protocol)
    admg.py     ADMG: the graph and its algorithms (reachability, districts, surgery, latent
                projection, m-separation)
    dagitty.py  dagitty model code (all of DAGitty's syntax): read_dagitty / write_dagitty
    formats.py  node-link JSON (read / write), DOT (write), networkx; with_question (the question as roles)
    load.py     parse_dagitty, parse_graph_text, load_graph: text or files to an ADMG

What a graph answers (DAGitty's questions, on ADMGs), on bitsets:

    separation.py    m-separation, moral graphs, one or every minimal separator
    adjustment.py    the generalized adjustment criterion: valid and minimal adjustment sets
    instruments.py   conditional instrumental variables
    frontdoor.py     front-door sets
    implications.py  implied independences (missing-edge and local Markov lists), Verma constraints
    paths.py         causal and biasing paths between treatment and outcome
"""

from core.graph.admg import ADMG
from core.graph.load import load_graph, parse_dagitty, parse_graph_text
from core.graph.node import NODE_TYPES, GraphError, Node

__all__ = ["ADMG", "NODE_TYPES", "GraphError", "Node", "load_graph", "parse_dagitty", "parse_graph_text"]
