"""Paths between a treatment and an outcome, as DAGitty colours them: causal or biasing.

A path from x in X to y in Y (a simple path along directed and bidirected edges, with no other
node of X or Y on it) is *causal* when every edge points from x towards y, and *non-causal*
otherwise.  Given the adjusted set Z it is *open* when every non-collider on it is outside Z and
every collider (arrowheads from both sides) is in An(Z).  A *biasing* path is an open non-causal
path; an adjustment set must close them all and keep the causal ones open.

Listing paths takes time exponential in the worst case, so at most ``limit`` are listed and the
report says when it stopped early.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.graph.admg import ADMG
from core.graph.node import GraphError
from core.graph.separation import BitGraph, bits

DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class GraphPath:
    """A path: its nodes, and for each step the edge as met walking it: ``->``, ``<-`` or ``<->``."""

    nodes: tuple[str, ...]
    steps: tuple[str, ...]

    def __str__(self) -> str:
        out = self.nodes[0]
        for step, node in zip(self.steps, self.nodes[1:], strict=True):
            out += f" {step} {node}"
        return out

    @property
    def causal(self) -> bool:
        return all(s == "->" for s in self.steps)

    def colliders(self) -> tuple[str, ...]:
        """The inner nodes with an arrowhead on both sides."""
        out = []
        for i, node in enumerate(self.nodes[1:-1]):
            into_from_left = self.steps[i] in ("->", "<->")
            into_from_right = self.steps[i + 1] in ("<-", "<->")
            if into_from_left and into_from_right:
                out.append(node)
        return tuple(out)

    def edges(self) -> tuple[tuple[str, str, str], ...]:
        """The graph's edges along the path: (cause, effect, "directed") or (a, b, "bidirected")."""
        out = []
        for a, step, b in zip(self.nodes, self.steps, self.nodes[1:], strict=False):
            if step == "->":
                out.append((a, b, "directed"))
            elif step == "<-":
                out.append((b, a, "directed"))
            else:
                out.append((a, b, "bidirected"))
        return tuple(out)

    def is_open(self, graph: ADMG, adjusted: Iterable[str]) -> bool:
        """Whether the path is open given ``adjusted`` (module docstring)."""
        z = set(adjusted)
        colliders = set(self.colliders())
        ancestors = graph.ancestors(z) if colliders else frozenset()
        for node in self.nodes[1:-1]:
            if node in colliders:
                if node not in ancestors:
                    return False
            elif node in z:
                return False
        return True

    def blocked_by(self, graph: ADMG, adjusted: Iterable[str]) -> bool:
        return not self.is_open(graph, adjusted)


@dataclass(frozen=True)
class PathReport:
    """Every path between the treatment and the outcome (up to the limit), classified given ``adjusted``."""

    treatment: tuple[str, ...]
    outcome: tuple[str, ...]
    adjusted: tuple[str, ...]
    paths: tuple[GraphPath, ...]
    open: tuple[bool, ...]  # per path, given ``adjusted``
    complete: bool  # False when the listing stopped at the limit

    @property
    def causal(self) -> list[GraphPath]:
        return [p for p in self.paths if p.causal]

    @property
    def biasing(self) -> list[GraphPath]:
        """Open non-causal paths."""
        return [p for p, o in zip(self.paths, self.open, strict=True) if o and not p.causal]

    @property
    def closed(self) -> list[GraphPath]:
        """Non-causal paths the adjusted set (or a collider) blocks."""
        return [p for p, o in zip(self.paths, self.open, strict=True) if not o and not p.causal]

    def edge_roles(self) -> dict[tuple[str, str, str], str]:
        """Each edge on a listed open path: ``biasing`` if it lies on an open non-causal path, else
        ``causal`` (on an open causal path).  Keys as :meth:`GraphPath.edges` gives them."""
        roles: dict[tuple[str, str, str], str] = {}
        for p, is_open in zip(self.paths, self.open, strict=True):
            if not is_open:
                continue
            for e in p.edges():
                if not p.causal:
                    roles[e] = "biasing"
                else:
                    roles.setdefault(e, "causal")
        return roles


def paths_between(
    graph: ADMG,
    treatment: Iterable[str],
    outcome: Iterable[str],
    adjusted: Iterable[str] = (),
    *,
    limit: int = DEFAULT_LIMIT,
) -> PathReport:
    """The paths from ``treatment`` to ``outcome``, shortest first within each start node, each
    classified given ``adjusted`` (at most ``limit`` paths)."""
    x, y, z = list(treatment), list(outcome), list(adjusted)
    for names, what in ((x, "the treatment"), (y, "the outcome"), (z, "the adjusted set")):
        graph.check_nodes(names, what)
    if not x or not y:
        raise GraphError("name at least one treatment and one outcome")
    if limit < 1:
        raise GraphError(f"the path limit must be at least 1, got {limit}")
    g = BitGraph.of(graph)
    ends = g.mask(x) | g.mask(y)
    found: list[GraphPath] = []
    complete = True
    for start in x:
        paths, done = _simple_paths(g, start, g.mask(y), ends, limit - len(found))
        found += sorted(paths, key=lambda p: (len(p.nodes), str(p)))
        if not done:
            complete = False
            break
    return PathReport(tuple(x), tuple(y), tuple(z), tuple(found), tuple(p.is_open(graph, z) for p in found), complete)


def _simple_paths(g: BitGraph, start: str, targets: int, ends: int, limit: int) -> tuple[list[GraphPath], bool]:
    """Simple paths from ``start`` to a node of ``targets`` whose inner nodes avoid ``ends``,
    by depth-first search with an explicit stack; (paths, whether all were found)."""
    s = g.index[start]
    # Only nodes that can still reach a target without passing an end node are worth entering.
    useful = _reaching(g, targets, ends)
    out: list[GraphPath] = []
    stack: list[tuple[int, int, tuple[int, ...], tuple[str, ...]]] = [(s, 1 << s, (s,), ())]
    while stack:
        here, seen, nodes, steps = stack.pop()
        for nxt, step in _moves(g, here):
            if (seen >> nxt) & 1:
                continue
            if (targets >> nxt) & 1:
                out.append(GraphPath(tuple(g.names[i] for i in nodes + (nxt,)), steps + (step,)))
                if len(out) >= limit:
                    return out, False
                continue
            if (ends >> nxt) & 1 or not (useful >> nxt) & 1:
                continue
            stack.append((nxt, seen | (1 << nxt), nodes + (nxt,), steps + (step,)))
    return out, True


def _moves(g: BitGraph, i: int) -> Sequence[tuple[int, str]]:
    out = [(j, "->") for j in bits(g.ch[i])]
    out += [(j, "<-") for j in bits(g.pa[i])]
    out += [(j, "<->") for j in bits(g.sib[i])]
    return out


def _reaching(g: BitGraph, targets: int, ends: int) -> int:
    """Nodes joined to a target by edges of any kind through nodes outside ``ends``."""
    adjacency = [g.pa[i] | g.ch[i] | g.sib[i] for i in range(len(g.names))]
    seen = targets
    frontier = targets
    while frontier:
        nxt = 0
        for i in bits(frontier):
            nxt |= adjacency[i]
        frontier = nxt & ~seen
        seen |= frontier
        frontier &= ~ends
    return seen
