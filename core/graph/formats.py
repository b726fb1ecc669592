"""Node-link JSON (read and write), Graphviz DOT (write) and networkx (convert).

Node-link JSON is the canonical format (docs/architecture.md)::

    {"nodes": [{"name": "X", "type": "image", "shape": [3, 16, 16]},
               {"name": "W2", "type": "categorical", "levels": 20}, "Y"],
     "directed": [["W2", "X"], ["X", "Y"]],
     "bidirected": [["W1", "X"]]}

A node given by its name alone is binary; keys other than name, type, levels and shape (``pos``,
``role``, notes ...) travel with the node.  dagitty lives in :mod:`core.graph.dagitty`.

Every JSON file the workbench reads (graphs, dataset meta records, run manifests) goes through
:func:`parse_json`, and every file read whole through :func:`read_text_file`, with the limits of
:data:`JSON_LIMITS`: a file is at most its limit in bytes, UTF-8 text, and nests arrays and objects
at most ``MAX_JSON_DEPTH`` deep, so no file can exhaust memory or the stack.

Exports keep the question asked of the graph: :func:`with_question` turns P(outcome | do(treatment),
given) into node roles (dagitty's exposure, outcome and adjusted), which both writers carry and
both readers give back.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import WorkbenchError
from core.graph.node import GraphError, JSONValue, Node
from core.graph.parts import GraphParts, MixedGraph, check_edge

if TYPE_CHECKING:
    import networkx as nx

MAX_JSON_DEPTH = 64  # arrays and objects inside each other
MAX_GRAPH_FILE_BYTES = 64 * 2**20  # a graph file (JSON or dagitty); 40k edges of dagitty are ~1 MB
JSON_LIMITS = {"depth": MAX_JSON_DEPTH, "graph file bytes": MAX_GRAPH_FILE_BYTES}
# The part a node plays in the question P(outcome | do(treatment), given) -> its dagitty role.
QUESTION_ROLES = {"treatment": "exposure", "outcome": "outcome", "given": "adjusted"}
# Roles that describe the question (replaced by with_question); others (selected) stay.
_QUESTION_ROLE_NAMES = frozenset(QUESTION_ROLES.values())

# Fill colours of DOT nodes by type.
DOT_COLOURS = {"binary": "#dbeafe", "categorical": "#dcfce7", "continuous": "#fef9c3", "image": "#fce7f3"}


def json_depth(value: JSONValue) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest = 0
    stack: list[tuple[JSONValue, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_json_depth(value: JSONValue, what: str, error: type[WorkbenchError] = GraphError) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH`` (``what`` names it in the one-line error)."""
    if json_depth(value) > MAX_JSON_DEPTH:
        raise error(f"{what} nests arrays or objects more than {MAX_JSON_DEPTH} deep")


def parse_json(text: str | bytes, what: str, error: type[WorkbenchError] = GraphError) -> JSONValue:
    """``text`` parsed as JSON within :data:`JSON_LIMITS`; anything else is one line of ``error``."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(f"{what} nests arrays or objects more than {MAX_JSON_DEPTH} deep") from None
    except UnicodeDecodeError as e:
        raise error(f"{what} is not UTF-8 text (byte {e.object[e.start]:#04x} at position {e.start})") from None
    except json.JSONDecodeError as e:
        raise error(f"malformed {what}: {e.msg} at line {e.lineno} column {e.colno}") from None
    check_json_depth(value, what, error)
    return value


def read_text_file(path: str | os.PathLike[str], what: str, max_bytes: int,
                   error: type[WorkbenchError] = GraphError) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; a folder, a device, a larger file,
    binary bytes or an unreadable file are one line of ``error`` naming ``what``."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise error(f"{what} not found: {p}") from None
    except OSError as e:
        raise error(f"cannot read {what} {str(p)!r}: {e.strerror or e}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{what} {str(p)!r} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} {str(p)!r} is not a regular file")
    if info.st_size > max_bytes:
        raise error(f"{what} {str(p)!r} is {info.st_size:,} bytes, more than the limit of {max_bytes:,}")
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as e:
        raise error(f"cannot read {what} {str(p)!r}: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {str(p)!r} is more than the limit of {max_bytes:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(
            f"{what} {str(p)!r} is not UTF-8 text (byte {data[e.start]:#04x} at position {e.start})"
        ) from None


def read_node_link(obj: str | bytes | Mapping[str, JSONValue]) -> GraphParts:
    """The nodes and edges of node-link JSON (text, or the parsed object)."""
    if isinstance(obj, (str, bytes)):
        obj = parse_json(obj, "graph JSON")
    else:
        check_json_depth(obj, "graph JSON")
    if not isinstance(obj, Mapping):
        raise GraphError("graph JSON must be an object with 'nodes', 'directed' and 'bidirected'")
    if "nodes" not in obj:
        raise GraphError("graph JSON has no 'nodes' list")
    nodes_raw = obj["nodes"]
    if not isinstance(nodes_raw, list):
        raise GraphError("graph JSON 'nodes' must be a list")
    nodes = tuple(Node.from_json({"name": n} if isinstance(n, str) else n) for n in nodes_raw)
    edges = {}
    for kind in ("directed", "bidirected"):
        raw = obj.get(kind, [])
        if not isinstance(raw, list):
            raise GraphError(f"graph JSON '{kind}' must be a list of [a, b] pairs")
        edges[kind] = tuple(check_edge(e, kind) for e in raw)
    return GraphParts(nodes, edges["directed"], edges["bidirected"])


def write_node_link(graph: MixedGraph) -> dict[str, JSONValue]:
    """Node-link JSON of ``graph``: every node as an object, edges as [a, b] lists."""
    return {
        "nodes": [n.to_json() for n in graph.nodes],
        "directed": [list(e) for e in graph.directed],
        "bidirected": [list(e) for e in graph.bidirected],
    }


def with_question(
    graph: MixedGraph, treatment: Iterable[str] = (), outcome: Iterable[str] = (), given: Iterable[str] = ()
) -> GraphParts:
    """``graph`` with the question P(outcome | do(treatment), given) as node roles: treatment nodes
    become ``exposure``, outcome nodes ``outcome``, conditioning nodes ``adjusted``; the roles an
    earlier question left on other nodes are dropped (``selected`` stays).  Positions, types and
    edges are kept, so a writer given the result exports the graph and the question together."""
    role_of: dict[str, str] = {}
    for part, names in (("given", given), ("outcome", outcome), ("treatment", treatment)):
        for v in names:
            role_of[v] = QUESTION_ROLES[part]  # treatment wins over outcome over given, as the page checks
    known = {n.name for n in graph.nodes}
    unknown = sorted(set(role_of) - known)
    if unknown:
        raise GraphError(f"unknown node {unknown[0]!r} in the question")
    nodes = []
    for n in graph.nodes:
        extra = {k: v for k, v in n.extra if not (k == "role" and v in _QUESTION_ROLE_NAMES)}
        if n.name in role_of:
            extra["role"] = role_of[n.name]
        nodes.append(Node(n.name, n.type, n.levels, n.shape, tuple(sorted(extra.items()))))
    return GraphParts(tuple(nodes), tuple(graph.directed), tuple(graph.bidirected))


def write_dot(graph: MixedGraph) -> str:
    """Graphviz DOT: nodes filled by type (the type code as tooltip); bidirected edges dashed and red,
    with arrowheads at both ends, not constraining the layout."""
    lines = ["digraph G {", "  rankdir=TB;", '  node [shape=ellipse, style=filled, fontname="Helvetica"];']
    for n in graph.nodes:
        lines.append(f'  "{n.name}" [fillcolor="{DOT_COLOURS[n.type]}", tooltip="{n.type_code()}"];')
    for a, b in graph.directed:
        lines.append(f'  "{a}" -> "{b}";')
    for a, b in graph.bidirected:
        lines.append(f'  "{a}" -> "{b}" [dir=both, style=dashed, constraint=false, color="#dc2626"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_networkx(graph: MixedGraph) -> nx.MultiDiGraph:
    """A networkx MultiDiGraph: node attributes are the node's JSON; every edge has ``kind`` directed
    or bidirected, and a bidirected edge is there both ways."""
    import networkx as nx

    g = nx.MultiDiGraph()
    for n in graph.nodes:
        g.add_node(n.name, **n.to_json())
    for a, b in graph.directed:
        g.add_edge(a, b, kind="directed")
    for a, b in graph.bidirected:
        g.add_edge(a, b, kind="bidirected")
        g.add_edge(b, a, kind="bidirected")
    return g
