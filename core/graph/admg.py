"""Acyclic directed mixed graphs (ADMGs) with typed nodes, and the algorithms on them.

An ADMG has directed edges ``a -> b`` (``a`` causes ``b``) and bidirected edges ``a <-> b`` (a hidden
confounder of ``a`` and ``b``).  Graphs are immutable: every operation returns a new graph, so the
identification recursion can share them freely.  Set-valued algorithms work on plain ``frozenset``s
of node names and keep a deterministic order (insertion order) wherever an order is visible.

File formats live beside this module (:mod:`core.graph.formats`, :mod:`core.graph.dagitty`); the
``to_*`` / ``from_*`` methods here are one-line shortcuts to them.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from core.graph.dagitty import read_dagitty, write_dagitty
from core.graph.formats import read_node_link, to_networkx, write_dot, write_node_link
from core.graph.node import GraphError, JSONValue, Node
from core.graph.parts import Edge, GraphParts, check_edge

if TYPE_CHECKING:
    import networkx as nx


def _pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def _nodes_by_name(nodes: Iterable[Node]) -> dict[str, Node]:
    """``nodes`` keyed by name, in order; a GraphError for anything not a Node or a repeated name."""
    by_name: dict[str, Node] = {}
    for n in nodes:
        if not isinstance(n, Node):
            raise GraphError(f"expected a Node, got {n!r}")
        if n.name in by_name:
            raise GraphError(f"duplicate node name {n.name!r}")
        by_name[n.name] = n
    return by_name


class ADMG:
    """An acyclic directed mixed graph.

    >>> g = ADMG.from_edges(["X", "Y"], directed=[("X", "Y")], bidirected=[("X", "Y")])
    >>> sorted(g.districts()[0])
    ['X', 'Y']
    """

    __slots__ = ("_nodes", "_order", "_directed", "_bidirected", "_pa", "_ch", "_sib", "_topo", "_hash")

    def __init__(
        self,
        nodes: Iterable[Node],
        directed: Iterable[Edge] = (),
        bidirected: Iterable[Edge] = (),
        *,
        _checked: bool = False,
    ) -> None:
        self._nodes = _nodes_by_name(nodes)
        self._order = tuple(self._nodes)
        self._directed = tuple(self._directed_edges(directed, checked=_checked))
        self._bidirected = tuple(self._bidirected_edges(bidirected, checked=_checked))
        pa: dict[str, set[str]] = {v: set() for v in self._order}
        ch: dict[str, set[str]] = {v: set() for v in self._order}
        sib: dict[str, set[str]] = {v: set() for v in self._order}
        for a, b in self._directed:
            pa[b].add(a)
            ch[a].add(b)
        for a, b in self._bidirected:
            sib[a].add(b)
            sib[b].add(a)
        self._pa = {v: frozenset(s) for v, s in pa.items()}
        self._ch = {v: frozenset(s) for v, s in ch.items()}
        self._sib = {v: frozenset(s) for v, s in sib.items()}
        self._topo = self._topological(_checked)
        self._hash: int | None = None

    def _directed_edges(self, edges: Iterable[Edge], *, checked: bool) -> list[Edge]:
        """``edges`` as pairs of known, distinct nodes (unless ``checked`` already), repeats dropped."""
        out: dict[Edge, None] = {}  # an ordered set: the same directed edge twice is harmless
        for edge in edges:
            a, b = check_edge(edge, "directed")
            if not checked:
                self._check_known(a, b, "->")
                if a == b:
                    raise GraphError(f"self-loop {a} -> {a}")
            out[(a, b)] = None
        return list(out)

    def _bidirected_edges(self, edges: Iterable[Edge], *, checked: bool) -> list[Edge]:
        """``edges`` as pairs of known, distinct nodes, each pair once (unless ``checked`` already)."""
        out: list[Edge] = []
        seen: set[frozenset[str]] = set()
        for edge in edges:
            a, b = check_edge(edge, "bidirected")
            if not checked:
                self._check_known(a, b, "<->")
                if a == b:
                    raise GraphError(f"bidirected edge {a} <-> {a} points at itself")
                if _pair(a, b) in seen:
                    raise GraphError(f"bidirected edge {a} <-> {b} is listed twice")
            seen.add(_pair(a, b))
            out.append((a, b))
        return out

    def _check_known(self, a: str, b: str, arrow: str) -> None:
        for v in (a, b):
            if v not in self._nodes:
                raise GraphError(f"edge {a} {arrow} {b} names unknown node {v!r}")

    def _topological(self, checked: bool) -> tuple[str, ...]:
        # Kahn's algorithm, always taking the earliest-inserted ready node, so the order is stable.
        indeg = {v: len(self._pa[v]) for v in self._order}
        position = {v: i for i, v in enumerate(self._order)}
        ready = [(position[v], v) for v in self._order if indeg[v] == 0]
        heapq.heapify(ready)
        out: list[str] = []
        while ready:
            _, v = heapq.heappop(ready)
            out.append(v)
            for c in self._ch[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(ready, (position[c], c))
        if len(out) != len(self._order):
            cycle = self._find_cycle({v for v in self._order if indeg[v] > 0})
            raise GraphError("directed cycle " + " -> ".join(cycle + [cycle[0]]))
        return tuple(out)

    def _find_cycle(self, stuck: set[str]) -> list[str]:
        # Every stuck node has a stuck parent; walking parents must revisit a node.
        start = min(stuck, key=self._order.index)
        path: list[str] = []
        seen: dict[str, int] = {}
        v = start
        while v not in seen:
            seen[v] = len(path)
            path.append(v)
            v = min((p for p in self._pa[v] if p in stuck), key=self._order.index)
        cycle = path[seen[v] :]
        cycle.reverse()
        return cycle

    # ---- construction helpers

    @classmethod
    def from_edges(
        cls,
        nodes: Iterable[str | Node],
        directed: Iterable[Edge] = (),
        bidirected: Iterable[Edge] = (),
        types: Mapping[str, str] | None = None,
    ) -> ADMG:
        """Build a graph from node names (binary by default) or Node objects."""
        types = types or {}
        node_objs = [n if isinstance(n, Node) else Node(n, types.get(n, "binary")) for n in nodes]
        return cls(node_objs, directed, bidirected)

    # ---- basic accessors

    @property
    def names(self) -> tuple[str, ...]:
        return self._order

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(self._nodes[v] for v in self._order)

    def node(self, name: str) -> Node:
        try:
            return self._nodes[name]
        except KeyError:
            raise GraphError(f"unknown node {name!r}") from None

    @property
    def directed(self) -> tuple[Edge, ...]:
        return self._directed

    @property
    def bidirected(self) -> tuple[Edge, ...]:
        return self._bidirected

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def parents(self, v: str) -> frozenset[str]:
        return self._pa[v]

    def children(self, v: str) -> frozenset[str]:
        return self._ch[v]

    def siblings(self, v: str) -> frozenset[str]:
        """Nodes joined to ``v`` by a bidirected edge (sharing a hidden confounder)."""
        return self._sib[v]

    def has_directed(self, a: str, b: str) -> bool:
        return a in self._pa.get(b, ())

    def has_bidirected(self, a: str, b: str) -> bool:
        return b in self._sib.get(a, ())

    @property
    def is_markovian(self) -> bool:
        """True when there are no hidden confounders (no bidirected edges)."""
        return not self._bidirected

    def check_nodes(self, names: Iterable[str], what: str = "query") -> frozenset[str]:
        """Return ``names`` as a set, raising a GraphError naming the first unknown one."""
        out = frozenset(names)
        for v in sorted(out):
            if v not in self._nodes:
                raise GraphError(f"unknown node {v!r} in {what} (graph has {', '.join(self._order)})")
        return out

    # ---- orders and reachability

    def topological_order(self) -> tuple[str, ...]:
        """A topological order of all nodes, stable with respect to insertion order."""
        return self._topo

    def sort(self, names: Iterable[str]) -> list[str]:
        """``names`` in topological order."""
        s = set(names)
        return [v for v in self._topo if v in s]

    def ancestors(self, names: Iterable[str]) -> frozenset[str]:
        """Ancestors of ``names``, including ``names`` themselves."""
        return self._closure(names, self._pa)

    def descendants(self, names: Iterable[str]) -> frozenset[str]:
        """Descendants of ``names``, including ``names`` themselves."""
        return self._closure(names, self._ch)

    @staticmethod
    def _closure(names: Iterable[str], step: Mapping[str, frozenset[str]]) -> frozenset[str]:
        seen = set(names)
        stack = list(seen)
        while stack:
            v = stack.pop()
            for w in step[v]:
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        return frozenset(seen)

    def districts(self) -> list[frozenset[str]]:
        """The c-components: maximal sets connected by bidirected edges, in topological order of
        their first node."""
        seen: set[str] = set()
        out: list[frozenset[str]] = []
        for v in self._topo:
            if v in seen:
                continue
            comp = self._closure([v], self._sib)
            seen |= comp
            out.append(comp)
        return out

    def district_of(self, v: str) -> frozenset[str]:
        return self._closure([v], self._sib)

    # ---- surgery

    def subgraph(self, names: Iterable[str]) -> ADMG:
        """The subgraph induced by ``names`` (isolated nodes are kept)."""
        keep = set(names)
        return ADMG(
            [self._nodes[v] for v in self._order if v in keep],
            [(a, b) for a, b in self._directed if a in keep and b in keep],
            [(a, b) for a, b in self._bidirected if a in keep and b in keep],
            _checked=True,
        )

    def do(self, names: Iterable[str]) -> ADMG:
        """Graph surgery for do(names): cut every directed and bidirected edge INTO ``names``.
        Every node stays in the graph, isolated or not."""
        cut = set(names)
        return ADMG(
            self.nodes,
            [(a, b) for a, b in self._directed if b not in cut],
            [(a, b) for a, b in self._bidirected if a not in cut and b not in cut],
            _checked=True,
        )

    def remove_outgoing(self, names: Iterable[str]) -> ADMG:
        """Cut the directed edges OUT of ``names`` (the G_underline(X) of do-calculus rule 2)."""
        cut = set(names)
        return ADMG(
            self.nodes,
            [(a, b) for a, b in self._directed if a not in cut],
            self._bidirected,
            _checked=True,
        )

    def latent_projection(self, latents: Iterable[str]) -> ADMG:
        """Project hidden nodes away, keeping the independences and causal paths among the rest.

        ``a -> b`` when a directed path from a to b has only latent intermediates; ``a <-> b`` when
        a path with arrowheads at both a and b has only latent, non-collider intermediates (a latent
        common cause, possibly through a chain of latents or an existing bidirected edge).
        """
        hidden = set(latents)
        for v in hidden:
            self.node(v)
        observed = [v for v in self._order if v not in hidden]

        def reach(v: str) -> set[str]:
            """Observed nodes reached from latent v by directed paths through latents only."""
            out: set[str] = set()
            stack, seen = [v], {v}
            while stack:
                u = stack.pop()
                for c in self._ch[u]:
                    if c in seen:
                        continue
                    seen.add(c)
                    if c in hidden:
                        stack.append(c)
                    else:
                        out.add(c)
            return out

        reach_cache = {v: reach(v) for v in hidden}

        def heads(v: str) -> set[str]:
            return reach_cache[v] if v in hidden else {v}

        directed: list[Edge] = []
        for a in observed:
            targets: set[str] = set()
            for c in self._ch[a]:
                targets |= heads(c)
            directed += [(a, b) for b in self.sort(targets)]
        bi: set[frozenset[str]] = set()
        for lat in hidden:
            r = sorted(reach_cache[lat])
            bi |= {_pair(a, b) for i, a in enumerate(r) for b in r[i + 1 :]}
        for a, b in self._bidirected:
            bi |= {_pair(x, y) for x in heads(a) for y in heads(b) if x != y}
        position = {v: i for i, v in enumerate(self._order)}
        bi_list = sorted((tuple(sorted(p, key=position.__getitem__)) for p in bi), key=lambda e: (position[e[0]], position[e[1]]))
        return ADMG([self._nodes[v] for v in observed], directed, bi_list, _checked=True)

    def with_node(self, node: Node) -> ADMG:
        """A copy with ``node`` added, or replacing the node of the same name (edges kept)."""
        nodes = [node if n.name == node.name else n for n in self.nodes]
        if node.name not in self._nodes:
            nodes.append(node)
        return ADMG(nodes, self._directed, self._bidirected)

    def without_nodes(self, names: Iterable[str]) -> ADMG:
        drop = set(names)
        return self.subgraph(v for v in self._order if v not in drop)

    def with_edges(self, directed: Iterable[Edge] = (), bidirected: Iterable[Edge] = ()) -> ADMG:
        """A copy with extra edges (validated: cycles and duplicates are refused)."""
        return ADMG(self.nodes, list(self._directed) + list(directed), list(self._bidirected) + list(bidirected))

    def without_edges(self, directed: Iterable[Edge] = (), bidirected: Iterable[Edge] = ()) -> ADMG:
        d = {tuple(e) for e in directed}
        b = {_pair(*e) for e in bidirected}
        return ADMG(
            self.nodes,
            [e for e in self._directed if e not in d],
            [e for e in self._bidirected if _pair(*e) not in b],
            _checked=True,
        )

    # ---- separation

    def m_separated(self, xs: Iterable[str], ys: Iterable[str], zs: Iterable[str] = ()) -> bool:
        """True when every path between xs and ys is blocked by zs (d-separation generalised to
        bidirected edges, each read as a hidden common parent)."""
        xs, ys, zs = set(xs), set(ys), set(zs)
        if xs & ys:
            return False
        # Canonical DAG: one hidden parent per bidirected edge; then the moral ancestral graph test.
        anc = set(self.ancestors(xs | ys | zs))
        # Vertices: node names, and ("U", a, b) for the hidden parent of a <-> b.
        adj: dict[str | tuple[str, ...], set[str | tuple[str, ...]]] = {v: set() for v in anc}
        for v in anc:
            pas: list[str | tuple[str, ...]] = list(self._pa[v])
            for s in self._sib[v]:
                if s in anc:
                    u = ("U", *sorted((v, s)))
                    pas.append(u)
                    adj.setdefault(u, set())
            for p in pas:
                adj[p].add(v)
                adj[v].add(p)
            for i, p in enumerate(pas):
                for q in pas[i + 1 :]:
                    adj[p].add(q)
                    adj[q].add(p)
        stack = [x for x in xs]
        seen = set(stack)
        while stack:
            v = stack.pop()
            for w in adj[v]:
                if w in seen or w in zs:
                    continue
                if w in ys:
                    return False
                seen.add(w)
                stack.append(w)
        return True

    # ---- equality

    def _key(self) -> tuple:
        return (
            self.nodes,
            frozenset(self._directed),
            frozenset(_pair(a, b) for a, b in self._bidirected),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ADMG) and self._key() == other._key()

    def same_structure(self, other: ADMG) -> bool:
        """Same node names and edges, ignoring types and node order."""
        return (
            set(self._order) == set(other._order)
            and set(self._directed) == set(other._directed)
            and {_pair(*e) for e in self._bidirected} == {_pair(*e) for e in other._bidirected}
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._key())
        return self._hash

    def __repr__(self) -> str:
        return f"ADMG({self.to_dagitty(positions=False, types=False)!r})"

    # ---- formats

    @classmethod
    def from_parts(cls, parts: GraphParts) -> ADMG:
        """The graph a file declared, validated; latent nodes projected away (:meth:`latent_projection`)."""
        graph = cls(parts.nodes, parts.directed, parts.bidirected)
        return graph.latent_projection(parts.latents) if parts.latents else graph

    @classmethod
    def from_json(cls, obj: str | bytes | Mapping[str, JSONValue]) -> ADMG:
        """From node-link JSON, the canonical format (:func:`core.graph.formats.read_node_link`)."""
        return cls.from_parts(read_node_link(obj))

    def to_json(self) -> dict[str, JSONValue]:
        """Node-link JSON, the canonical format (:func:`core.graph.formats.write_node_link`)."""
        return write_node_link(self)

    def dumps(self) -> str:
        """Node-link JSON text, indented."""
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_dagitty(cls, text: str) -> ADMG:
        """From dagitty model code (:func:`core.graph.dagitty.read_dagitty`); latent nodes projected away."""
        return cls.from_parts(read_dagitty(text))

    def to_dagitty(self, positions: bool = True, types: bool = True) -> str:
        """dagitty model code (:func:`core.graph.dagitty.write_dagitty`)."""
        return write_dagitty(self, positions=positions, types=types)

    def to_dot(self) -> str:
        """Graphviz DOT (:func:`core.graph.formats.write_dot`)."""
        return write_dot(self)

    def to_networkx(self) -> nx.MultiDiGraph:
        """A networkx MultiDiGraph (:func:`core.graph.formats.to_networkx`)."""
        return to_networkx(self)

