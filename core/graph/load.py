"""Graphs from text or files, whatever the format: node-link JSON or dagitty."""

from __future__ import annotations

import os
import re

from core.graph.admg import ADMG
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
    """Read a graph from a path (``.json`` or dagitty text) or from the text itself (anything with a
    newline or a ``{``)."""
    text = source
    if "\n" not in source and "{" not in source:
        if not os.path.exists(source):
            raise GraphError(f"graph file not found: {source}")
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
    return parse_graph_text(text)
