"""Which covariates to adjust for: every minimal adjustment set, and whether a given set is valid.

    python -m core adjust --graph G --do X[,X2] --outcome Y[,Y2] [--check Z1,Z2] [--include Z] [--json]

--graph takes a node-link JSON or dagitty file.  Sets follow the generalized adjustment criterion
for ADMGs (van der Zander, Liskiewicz & Textor 2019, as DAGitty): minimal among the valid sets
(holding the --include nodes, if any).  --check tests one set (``--check ''`` the empty set).  With
one treatment and one outcome the answer also lists instruments and a front-door set.  Exit 0
whatever the answer; exit 2 with one line on stderr for bad input (unreadable graph, unknown
node, a treatment or outcome in the checked set).  JSON:

    {"treatment": [...], "outcome": [...], "minimal_sets": [[...], ...], "formula": "...",
     "valid": bool, "reason": "...",                      (with --check)
     "instruments": [{"instrument": "Z", "given": [...]}], "front_door": [...] or null}
"""

from __future__ import annotations

import argparse
import json

from core.cli import split_names
from core.errors import WorkbenchError

MAX_SETS = 1000  # minimal sets listed at most (their number can grow exponentially)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--graph", required=True, help="graph file: node-link JSON or dagitty")
    parser.add_argument("--do", required=True, metavar="X[,X2]", help="treatment node(s), comma separated")
    parser.add_argument("--outcome", required=True, metavar="Y[,Y2]", help="outcome node(s), comma separated")
    parser.add_argument("--check", default=None, metavar="Z1,Z2", help="a set to test for validity")
    parser.add_argument("--include", default="", metavar="Z[,Z2]", help="nodes every listed set must hold")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def answer(graph_source: str, treatment: list[str], outcome: list[str], check: list[str] | None,
           include: list[str]) -> dict:
    """The JSON answer (raises WorkbenchError for bad input)."""
    from core.evidence.formulas import adjustment_estimand
    from core.graph import load_graph
    from core.graph.adjustment import minimal_adjustment_sets, why_not_adjustment_set
    from core.graph.frontdoor import front_door
    from core.graph.instruments import conditional_instruments

    graph = load_graph(graph_source)
    sets = minimal_adjustment_sets(graph, treatment, outcome, include=include, limit=MAX_SETS)
    out: dict = {"treatment": treatment, "outcome": outcome, "minimal_sets": [list(s) for s in sets]}
    if check is not None:
        reason = why_not_adjustment_set(graph, treatment, outcome, check)
        out.update(valid=not reason, reason=reason)
    shown = check if check is not None and not out["reason"] else (list(sets[0]) if sets else None)
    out["formula"] = adjustment_estimand(treatment, outcome, shown).to_text() if shown is not None else None
    if len(treatment) == 1 and len(outcome) == 1:
        ivs = conditional_instruments(graph, treatment[0], outcome[0])
        out["instruments"] = [{"instrument": i.instrument, "given": list(i.given)} for i in ivs]
    fd = front_door(graph, treatment, outcome)
    out["front_door"] = list(fd.minimal) if fd is not None and fd.minimal else None
    return out


def run(args: argparse.Namespace) -> int:
    treatment, outcome = split_names(args.do), split_names(args.outcome)
    if not treatment:
        raise WorkbenchError("the treatment is empty: name at least one node with --do")
    if not outcome:
        raise WorkbenchError("the outcome is empty: name at least one node with --outcome")
    check = split_names(args.check) if args.check is not None else None
    result = answer(args.graph, treatment, outcome, check, split_names(args.include))
    if args.json:
        print(json.dumps(result))
        return 0
    print(text(result))
    return 0


def _set_text(names: list[str]) -> str:
    return "{" + ", ".join(names) + "}"


def text(result: dict) -> str:
    """The answer for people, one fact a line."""
    effect = f"the effect of {', '.join(result['treatment'])} on {', '.join(result['outcome'])}"
    sets = result["minimal_sets"]
    if not sets:
        lines = [f"no set of observed variables adjusts for {effect}"]
    elif sets == [[]]:
        lines = [f"no adjustment is needed for {effect}"]
    else:
        lines = [f"minimal adjustment sets for {effect}:"] + [f"  {_set_text(s)}" for s in sets]
    if "valid" in result:
        lines.append("checked set is valid" if result["valid"] else f"checked set is not valid: {result['reason']}")
    if result["formula"]:
        lines.append(f"formula: {result['formula']}")
    if result.get("instruments"):
        lines.append("instruments: " + "; ".join(i["instrument"] + (f" given {_set_text(i['given'])}" if i["given"] else "")
                                                 for i in result["instruments"]))
    if result["front_door"]:
        lines.append(f"front-door set: {_set_text(result['front_door'])}")
    return "\n".join(lines)
