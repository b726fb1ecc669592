"""What the graph claims about the data: its conditional independences (and Verma constraints),
each tested on a data set when one is given.

    python -m core implications --graph G [--data D] [--kind missing_edge|basis] [--alpha 0.05]
                                [--correction holm|bh|none] [--json]

Independences come one per missing edge (default: u _||_ v | Z, Z minimal) or one per node
(``basis``: v against its non-descendants given its Markov blanket; DAGitty's local Markov basis for
DAGs).  With --data (a dataset folder, .npz or .csv whose columns match the graph) each pairwise
statement is tested (discrete: G-test; continuous: Fisher's z; mixed: nested regressions; images
through their first principal component) and the p-values adjusted together (Holm by default);
the claims the data contradict are marked.  Exit 0 whatever the data say; exit 2 with one line for
bad input.  JSON:

    {"independencies": [{"left": [...], "right": [...], "given": [...]}, ...],
     "verma_constraints": [{"text": "...", "estimand": "...", "free_of": [...]}, ...],
     "tests": [{"left": "u", "right": "v", "given": [...], "method": "...", "statistic": s,
                "p_value": p, "adjusted_p": q, "contradicted": bool, "skipped": "..."}, ...]   (with --data)
     "contradicted": n}                                                                         (with --data)
"""

from __future__ import annotations

import argparse
import json

from core.errors import WorkbenchError

KINDS = ("missing_edge", "basis")
CORRECTIONS = ("holm", "bh", "none")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--graph", required=True, help="graph file: node-link JSON or dagitty")
    parser.add_argument("--data", default=None, help="a data set to test the claims on")
    parser.add_argument("--kind", default="missing_edge", help="missing_edge (default) or basis")
    parser.add_argument("--alpha", default="0.05", help="level of the tests after correction (default 0.05)")
    parser.add_argument("--correction", default="holm", help="holm (default), bh or none")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _alpha(text: str) -> float:
    try:
        alpha = float(text)
    except ValueError:
        raise WorkbenchError(f"--alpha must be a number between 0 and 1, got {text!r}") from None
    if not 0 < alpha < 1:
        raise WorkbenchError(f"--alpha must be between 0 and 1, got {text}")
    return alpha


def answer(graph_source: str, data_source: str | None, kind: str, alpha: float, correction: str) -> dict:
    """The JSON answer (raises WorkbenchError for bad input)."""
    from core.evidence.formulas import c_factor_estimand
    from core.graph import load_graph
    from core.graph.implications import implied_independencies, verma_constraints

    graph = load_graph(graph_source)
    statements = implied_independencies(graph, kind)
    out: dict = {
        "independencies": [{"left": list(s.left), "right": list(s.right), "given": list(s.given)} for s in statements],
        "verma_constraints": [{"text": str(c), "estimand": c_factor_estimand(c).to_text(), "free_of": list(c.free_of)}
                              for c in verma_constraints(graph)],
    }
    if data_source is not None:
        from core.data import load_dataset
        from core.evidence.implications import check_claims

        data = load_dataset(data_source, graph)
        checked = check_claims(graph, data, kind=kind, alpha=alpha, correction=correction)
        out["tests"] = [{
            "left": c.left, "right": c.right, "given": list(c.given),
            "method": c.result.method if c.result else None,
            "statistic": c.result.statistic if c.result else None,
            "p_value": c.result.p_value if c.result else None,
            "adjusted_p": c.adjusted_p, "contradicted": c.rejected, "skipped": c.skipped,
        } for c in checked.claims]
        out["contradicted"] = len(checked.contradicted)
    return out


def run(args: argparse.Namespace) -> int:
    if args.kind not in KINDS:
        raise WorkbenchError(f"unknown --kind {args.kind!r} (one of {', '.join(KINDS)})")
    if args.correction not in CORRECTIONS:
        raise WorkbenchError(f"unknown --correction {args.correction!r} (one of {', '.join(CORRECTIONS)})")
    result = answer(args.graph, args.data, args.kind, _alpha(args.alpha), args.correction)
    print(json.dumps(result) if args.json else text(result))
    return 0


def _statement(left: list[str], right: list[str], given: list[str]) -> str:
    return f"{', '.join(left)} _||_ {', '.join(right)}" + (f" | {', '.join(given)}" if given else "")


def text(result: dict) -> str:
    """The answer for people: one claim a line, with its test when there is data."""
    lines = []
    if "tests" in result:
        for t in result["tests"]:
            claim = _statement([t["left"]], [t["right"]], t["given"])
            if t["skipped"]:
                lines.append(f"{claim}    not tested: {t['skipped']}")
            else:
                verdict = "CONTRADICTED" if t["contradicted"] else "consistent"
                lines.append(f"{claim}    {t['method']} {t['statistic']:.3g}, p = {t['p_value']:.3g}, "
                             f"adjusted p = {t['adjusted_p']:.3g}: {verdict}")
        lines.append(f"{result['contradicted']} of {sum(not t['skipped'] for t in result['tests'])} tested claims "
                     "contradicted by the data")
    else:
        lines += [_statement(s["left"], s["right"], s["given"]) for s in result["independencies"]]
        if not result["independencies"]:
            lines.append("the graph implies no conditional independence")
    for c in result["verma_constraints"]:
        lines.append(f"equality constraint: {c['text']}, where Q = {c['estimand']}")
    return "\n".join(lines)
