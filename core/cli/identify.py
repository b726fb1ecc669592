"""Is a causal query identifiable?  Print its estimand, or the hedge that blocks it.

    python -m core identify --graph G --do X[,X2] --outcome Y[,Y2] [--given Z[,Z2]] [--format text|latex|json]

--graph takes a node-link JSON or dagitty file.  Exit 0 whether or not the query is identifiable;
exit 2 with one line on stderr for bad input (unreadable or malformed graph, cycle, or a query that
``core.identify.Query`` refuses: unknown node, empty outcome, a node in two roles).  JSON answers:

    {"identifiable": true, "estimand": TREE, "text": "...", "latex": "..."}
    {"identifiable": false, "hedge": [[F...], [F'...]], "reason": "..."}
"""

from __future__ import annotations

import argparse
import json

from core.cli import split_names
from core.errors import WorkbenchError
from core.graph.node import JSONValue

FORMATS = ("text", "latex", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--graph", required=True, help="graph file: node-link JSON or dagitty")
    parser.add_argument("--do", default="", metavar="X[,X2]", help="treatment node(s), comma separated")
    parser.add_argument("--outcome", required=True, metavar="Y[,Y2]", help="outcome node(s), comma separated")
    parser.add_argument("--given", default="", metavar="Z[,Z2]", help="conditioning node(s), comma separated")
    parser.add_argument("--format", default="text", choices=FORMATS, help="text (default), latex or json")


def answer(graph_source: str, treatment: list[str], outcome: list[str], given: list[str]) -> dict[str, JSONValue]:
    """The JSON answer for one query (raises WorkbenchError for bad input)."""
    from core.graph import load_graph
    from core.identify import NotIdentifiable, Query, identify_query

    graph = load_graph(graph_source)
    query = Query.of(graph, treatment, outcome, given)
    try:
        estimand = identify_query(query)
    except NotIdentifiable as e:
        f, f_prime = e.hedge
        return {
            "identifiable": False,
            "hedge": [graph.sort(f), graph.sort(f_prime)],
            "reason": e.reason,
        }
    return {
        "identifiable": True,
        "estimand": estimand.to_json(),
        "text": estimand.to_text(),
        "latex": estimand.to_latex(),
    }


def run(args: argparse.Namespace) -> int:
    if args.format not in FORMATS:
        raise WorkbenchError(f"unknown format {args.format!r} (one of {', '.join(FORMATS)})")
    treatment, outcome, given = split_names(args.do), split_names(args.outcome), split_names(args.given)
    result = answer(args.graph, treatment, outcome, given)
    if args.format == "json":
        print(json.dumps(result))
    elif not result["identifiable"]:
        print(result["reason"])
    else:
        print(result[args.format])
    return 0
