"""Graphs from text or files, whatever the format: node-link JSON or dagitty."""

from __future__ import annotations

import os
import re

from core.graph.admg import ADMG
from core.graph.formats import MAX_GRAPH_FILE_BYTES, read_text_file
from core.graph.node import GraphError

# Text that starts like a JSON object with a key, or a JSON array, is JSON; anything else is dagitty.
_JSON_START = re.compile(r'\s*(\{\s*"|\[)')


def parse_dagitty(text: str) -> ADMG:
    """Read dagitty model code: ``dag { X [exposure] ; U [latent] ; U -> X ; X -> Y ; X <-> Y }``.

    Everything dagitty.net and the dagitty R package write is understood (:mod:`core.graph.dagitty`);
    ``[latent]`` nodes are projected away into bidirected edges.  A ``type="..."`` attribute
    (written by ``to_dagitty``) restores node types; nodes without one are binary.
    """
    return ADMG.from_dagitty(text)


def parse_graph_text(text: str) -> ADMG:
    """Node-link JSON if the text looks like JSON (``{"...`` or ``[``), dagitty otherwise."""
    if _JSON_START.match(text):
        return ADMG.from_json(text)
    return parse_dagitty(text)


def load_graph(source: str) -> ADMG:
    """Read a graph from a file, or from the text itself.

    ``source`` names a file when such a path exists (whatever characters the name holds, ``{``
    included) or when it has neither a newline nor a ``{``; otherwise it is the graph's text.  A
    file must be a regular UTF-8 text file of at most ``MAX_GRAPH_FILE_BYTES``.
    """
    one_line = "\n" not in source
    if one_line and ("{" not in source or os.path.lexists(source)):
        text = read_text_file(source, "graph file", MAX_GRAPH_FILE_BYTES)
    else:
        if len(source.encode("utf-8", "surrogatepass")) > MAX_GRAPH_FILE_BYTES:
            raise GraphError(f"graph text is more than the limit of {MAX_GRAPH_FILE_BYTES:,} bytes")
        text = source
    return parse_graph_text(text)
