"""Acyclic directed mixed graphs (ADMGs) with typed nodes.

An ADMG has directed edges ``a -> b`` (``a`` causes ``b``) and bidirected edges ``a <-> b`` (a hidden
confounder of ``a`` and ``b``).  Graphs are immutable: every operation returns a new graph, so the
identification recursion can share them freely.  Set-valued algorithms work on plain ``frozenset``s
of node names and keep a deterministic order (insertion order) wherever an order is visible.

Formats: node-link JSON (canonical, see DESIGN.md), dagitty syntax (read and write; latent nodes are
projected to bidirected edges), DOT (export).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import WorkbenchError

NODE_TYPES = ("binary", "categorical", "continuous", "image")


class GraphError(WorkbenchError):
    """A graph, or a request on a graph, is malformed.  The message is one line naming the problem."""


# --------------------------------------------------------------------------------------------------
# Nodes


@dataclass(frozen=True)
class Node:
    """A typed variable.

    ``levels`` is the number of categories (2 for binary, >= 2 for categorical); ``shape`` is
    ``(channels, height, width)`` for images.  ``extra`` holds free-form keys such as ``pos`` or
    ``role`` that travel with the node through every format that can carry them.
    """

    name: str
    type: str = "binary"
    levels: int | None = None
    shape: tuple[int, int, int] | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise GraphError(
                f"bad node name {self.name!r}: use letters, digits and underscores, starting with a letter or _"
            )
        if self.type not in NODE_TYPES:
            raise GraphError(f"node {self.name}: bad type {self.type!r} (one of {', '.join(NODE_TYPES)})")
        if self.type == "binary":
            if self.levels not in (None, 2):
                raise GraphError(f"node {self.name}: a binary node has 2 levels, not {self.levels}")
            object.__setattr__(self, "levels", 2)
        elif self.type == "categorical":
            if not isinstance(self.levels, int) or isinstance(self.levels, bool) or self.levels < 2:
                raise GraphError(f"node {self.name}: a categorical node needs levels >= 2, got {self.levels!r}")
        elif self.levels is not None:
            raise GraphError(f"node {self.name}: a {self.type} node has no levels")
        if self.type == "image":
            shape = self.shape
            if (
                shape is None
                or len(shape) != 3
                or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
                or shape[0] not in (1, 3)
            ):
                raise GraphError(
                    f"node {self.name}: an image node needs shape [channels (1 or 3), height, width], got {shape!r}"
                )
            object.__setattr__(self, "shape", tuple(int(s) for s in shape))
        elif self.shape is not None:
            raise GraphError(f"node {self.name}: only image nodes have a shape")

    @property
    def is_discrete(self) -> bool:
        return self.type in ("binary", "categorical")

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)

    def with_extra(self, **items: Any) -> Node:
        merged = dict(self.extra)
        merged.update(items)
        return Node(self.name, self.type, self.levels, self.shape, tuple(sorted(merged.items())))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.type == "categorical":
            out["levels"] = self.levels
        if self.shape is not None:
            out["shape"] = list(self.shape)
        for k, v in self.extra:
            out[k] = _thaw(v)
        return out

    @staticmethod
    def from_json(obj: Any) -> Node:
        if not isinstance(obj, Mapping):
            raise GraphError(f"a node must be an object with a name, got {obj!r}")
        if "name" not in obj:
            raise GraphError(f"node without a name: {dict(obj)!r}")
        known = {"name", "type", "levels", "shape"}
        extra = tuple(sorted((k, _freeze(v)) for k, v in obj.items() if k not in known))
        shape = obj.get("shape")
        if shape is not None:
            if not isinstance(shape, (list, tuple)):
                raise GraphError(f"node {obj['name']}: shape must be a list, got {shape!r}")
            shape = tuple(shape)
        return Node(
            name=obj["name"],
            type=obj.get("type", "binary"),
            levels=obj.get("levels"),
            shape=shape,
            extra=extra,
        )


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _FrozenDict(tuple):
    """A JSON object made hashable (sorted (key, value) pairs); thaws back to a dict."""

    __slots__ = ()


def _freeze(value: Any) -> Any:
    """Make JSON values hashable so nodes stay immutable and comparable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return _FrozenDict(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _thaw(value: Any) -> Any:
    """The JSON value ``_freeze`` came from: objects back to dicts, tuples back to lists."""
    if isinstance(value, _FrozenDict):
        return {k: _thaw(v) for k, v in value}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# The graph


def _pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


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
        directed: Iterable[tuple[str, str]] = (),
        bidirected: Iterable[tuple[str, str]] = (),
        *,
        _checked: bool = False,
    ) -> None:
        node_list = list(nodes)
        by_name: dict[str, Node] = {}
        for n in node_list:
            if not isinstance(n, Node):
                raise GraphError(f"expected a Node, got {n!r}")
            if n.name in by_name:
                raise GraphError(f"duplicate node name {n.name!r}")
            by_name[n.name] = n
        self._nodes = by_name
        self._order = tuple(by_name)
        pa: dict[str, set[str]] = {v: set() for v in self._order}
        ch: dict[str, set[str]] = {v: set() for v in self._order}
        sib: dict[str, set[str]] = {v: set() for v in self._order}
        dir_list: list[tuple[str, str]] = []
        seen_dir: set[tuple[str, str]] = set()
        for edge in directed:
            a, b = _edge(edge, "directed")
            if not _checked:
                self._check_known(a, b, "->")
                if a == b:
                    raise GraphError(f"self-loop {a} -> {a}")
            if (a, b) in seen_dir:
                continue  # the same directed edge twice is harmless
            seen_dir.add((a, b))
            dir_list.append((a, b))
            pa[b].add(a)
            ch[a].add(b)
        bi_list: list[tuple[str, str]] = []
        seen_bi: set[frozenset[str]] = set()
        for edge in bidirected:
            a, b = _edge(edge, "bidirected")
            if not _checked:
                self._check_known(a, b, "<->")
                if a == b:
                    raise GraphError(f"bidirected edge {a} <-> {a} points at itself")
                if _pair(a, b) in seen_bi:
                    raise GraphError(f"bidirected edge {a} <-> {b} is listed twice")
            seen_bi.add(_pair(a, b))
            bi_list.append((a, b))
            sib[a].add(b)
            sib[b].add(a)
        self._directed = tuple(dir_list)
        self._bidirected = tuple(bi_list)
        self._pa = {v: frozenset(s) for v, s in pa.items()}
        self._ch = {v: frozenset(s) for v, s in ch.items()}
        self._sib = {v: frozenset(s) for v, s in sib.items()}
        self._topo = self._topological(_checked)
        self._hash: int | None = None

    def _check_known(self, a: str, b: str, arrow: str) -> None:
        for v in (a, b):
            if v not in self._nodes:
                raise GraphError(f"edge {a} {arrow} {b} names unknown node {v!r}")

    def _topological(self, checked: bool) -> tuple[str, ...]:
        # Kahn's algorithm, always taking the earliest-inserted ready node, so the order is stable.
        indeg = {v: len(self._pa[v]) for v in self._order}
        position = {v: i for i, v in enumerate(self._order)}
        import heapq

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
        directed: Iterable[tuple[str, str]] = (),
        bidirected: Iterable[tuple[str, str]] = (),
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
    def directed(self) -> tuple[tuple[str, str], ...]:
        return self._directed

    @property
    def bidirected(self) -> tuple[tuple[str, str], ...]:
        return self._bidirected

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self):
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

        directed: list[tuple[str, str]] = []
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

    def with_edges(self, directed: Iterable[tuple[str, str]] = (), bidirected: Iterable[tuple[str, str]] = ()) -> ADMG:
        """A copy with extra edges (validated: cycles and duplicates are refused)."""
        return ADMG(self.nodes, list(self._directed) + list(directed), list(self._bidirected) + list(bidirected))

    def without_edges(self, directed: Iterable[tuple[str, str]] = (), bidirected: Iterable[tuple[str, str]] = ()) -> ADMG:
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
        adj: dict[Any, set[Any]] = {v: set() for v in anc}
        for v in anc:
            pas: list[Any] = list(self._pa[v])
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

    def to_json(self) -> dict[str, Any]:
        """Node-link JSON, the canonical format (DESIGN.md)."""
        return {
            "nodes": [n.to_json() for n in self.nodes],
            "directed": [list(e) for e in self._directed],
            "bidirected": [list(e) for e in self._bidirected],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, obj: Any) -> ADMG:
        if isinstance(obj, (str, bytes)):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError as e:
                raise GraphError(f"malformed graph JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        if not isinstance(obj, Mapping):
            raise GraphError("graph JSON must be an object with 'nodes', 'directed' and 'bidirected'")
        if "nodes" not in obj:
            raise GraphError("graph JSON has no 'nodes' list")
        nodes_raw = obj["nodes"]
        if not isinstance(nodes_raw, list):
            raise GraphError("graph JSON 'nodes' must be a list")
        nodes = [Node.from_json({"name": n} if isinstance(n, str) else n) for n in nodes_raw]
        edges = {}
        for kind in ("directed", "bidirected"):
            raw = obj.get(kind, [])
            if not isinstance(raw, list):
                raise GraphError(f"graph JSON '{kind}' must be a list of [a, b] pairs")
            edges[kind] = [_edge(e, kind) for e in raw]
        return cls(nodes, edges["directed"], edges["bidirected"])

    def to_dagitty(self, positions: bool = True, types: bool = True) -> str:
        """dagitty model code.  Node types other than binary (the default when reading) travel as a
        ``type`` attribute, which dagitty.net ignores."""
        lines = ["dag {"]
        for n in self.nodes:
            attrs = []
            role = n.get("role")
            if role in ("exposure", "outcome", "adjusted"):
                attrs.append(role)
            if positions and n.get("pos") is not None:
                x, y = n.get("pos")
                attrs.append(f'pos="{_num(x)},{_num(y)}"')
            if types and n.type != "binary":  # binary is what a reader assumes
                attrs.append(f'type="{_type_code(n)}"')
            lines.append(f"{n.name}" + (f" [{','.join(attrs)}]" if attrs else ""))
        for a, b in self._directed:
            lines.append(f"{a} -> {b}")
        for a, b in self._bidirected:
            lines.append(f"{a} <-> {b}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dagitty(cls, text: str) -> ADMG:
        return parse_dagitty(text)

    def to_dot(self) -> str:
        """Graphviz DOT; bidirected edges dashed with arrowheads at both ends."""
        colours = {"binary": "#dbeafe", "categorical": "#dcfce7", "continuous": "#fef9c3", "image": "#fce7f3"}
        lines = ["digraph G {", "  rankdir=TB;", '  node [shape=ellipse, style=filled, fontname="Helvetica"];']
        for n in self.nodes:
            lines.append(f'  "{n.name}" [fillcolor="{colours[n.type]}", tooltip="{_type_code(n)}"];')
        for a, b in self._directed:
            lines.append(f'  "{a}" -> "{b}";')
        for a, b in self._bidirected:
            lines.append(f'  "{a}" -> "{b}" [dir=both, style=dashed, constraint=false, color="#dc2626"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_networkx(self):
        """A networkx MultiDiGraph; bidirected edges carry ``kind='bidirected'`` both ways."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for n in self.nodes:
            g.add_node(n.name, **n.to_json())
        for a, b in self._directed:
            g.add_edge(a, b, kind="directed")
        for a, b in self._bidirected:
            g.add_edge(a, b, kind="bidirected")
            g.add_edge(b, a, kind="bidirected")
        return g


def _edge(edge: Any, kind: str) -> tuple[str, str]:
    if not isinstance(edge, (list, tuple)) or len(edge) != 2 or not all(isinstance(v, str) for v in edge):
        raise GraphError(f"a {kind} edge must be a pair of node names, got {edge!r}")
    return edge[0], edge[1]


def _num(x: Any) -> str:
    # repr is the shortest text that reads back to the same float ("%g" kept only 6 digits).
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
    return str(x)


def _type_code(n: Node) -> str:
    if n.type == "categorical":
        return f"categorical:{n.levels}"
    if n.type == "image":
        return "image:" + "x".join(str(s) for s in n.shape)
    return n.type


def _parse_type_code(name: str, code: str) -> dict[str, Any]:
    kind, _, arg = code.partition(":")
    out: dict[str, Any] = {"type": kind}
    try:
        if kind == "categorical":
            out["levels"] = int(arg)
        elif kind == "image":
            out["shape"] = tuple(int(s) for s in arg.split("x"))
    except ValueError:
        raise GraphError(f"node {name}: bad type attribute {code!r}") from None
    return out


# --------------------------------------------------------------------------------------------------
# dagitty parsing

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<comment>//[^\n]*|\#[^\n]*)
      | (?P<arrow><->|->|<-|--|@->)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<punct>[{}\[\],;=])
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            line = text.count("\n", 0, pos) + 1
            snippet = text[pos : pos + 12].strip().splitlines()[0] if text[pos:].strip() else ""
            raise GraphError(f"dagitty: cannot read {snippet!r} at line {line}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "comment":
            continue
        tokens.append((kind, m.group(kind), text.count("\n", 0, m.start(kind)) + 1))
    return tokens


def parse_dagitty(text: str) -> ADMG:
    """Read dagitty model code: ``dag { X [exposure] ; U [latent] ; U -> X ; X -> Y ; X <-> Y }``.

    Chains (``A -> B -> C``), ``<-``, ``<->`` and ``pos="x,y"`` are understood; ``[latent]`` nodes are
    projected away into bidirected edges.  A ``type="..."`` attribute (written by ``to_dagitty``)
    restores node types; nodes without one are binary.
    """
    if not isinstance(text, str) or not text.strip():
        raise GraphError("dagitty: empty model code")
    tokens = _tokenize(text)
    i = 0

    def peek(k: int = 0) -> tuple[str, str, int] | None:
        return tokens[i + k] if i + k < len(tokens) else None

    def expect(value: str) -> None:
        nonlocal i
        t = peek()
        if t is None or t[1] != value:
            where = f"line {t[2]}" if t else "the end"
            got = repr(t[1]) if t else "nothing"
            raise GraphError(f"dagitty: expected {value!r} at {where}, got {got}")
        i += 1

    t = peek()
    if t and t[0] == "name" and t[1] in ("dag", "pdag", "mag", "pag"):
        if t[1] != "dag":
            raise GraphError(f"dagitty: only 'dag' models are supported, got {t[1]!r}")
        i += 1
        expect("{")
        braced = True
    elif t and t[1] == "{":
        i += 1
        braced = True
    else:
        braced = False

    attrs: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    directed: list[tuple[str, str]] = []
    bidirected: list[tuple[str, str]] = []

    def declare(name: str, line: int) -> None:
        if "." in name:
            raise GraphError(f"dagitty: bad node name {name!r} at line {line}")
        if name not in attrs:
            attrs[name] = {}
            order.append(name)

    def read_attrs(name: str) -> None:
        nonlocal i
        expect("[")
        while True:
            t = peek()
            if t is None:
                raise GraphError(f"dagitty: unclosed '[' after {name}")
            if t[1] == "]":
                i += 1
                return
            if t[1] == ",":
                i += 1
                continue
            if t[0] != "name":
                raise GraphError(f"dagitty: unexpected {t[1]!r} in attributes of {name} at line {t[2]}")
            key = t[1]
            i += 1
            if peek() and peek()[1] == "=":
                i += 1
                v = peek()
                if v is None or v[0] not in ("string", "number", "name"):
                    raise GraphError(f"dagitty: attribute {key} of {name} has no value")
                i += 1
                value = v[1][1:-1] if v[0] == "string" else v[1]
                attrs[name][key] = value
            else:
                attrs[name][key] = True

    def read_group() -> list[str]:
        nonlocal i
        t = peek()
        if t is None:
            raise GraphError("dagitty: model code ends where a node was expected")
        if t[1] == "{":
            i += 1
            names = []
            while peek() and peek()[1] != "}":
                u = peek()
                if u[1] in (",", ";"):
                    i += 1
                    continue
                if u[0] != "name":
                    raise GraphError(f"dagitty: expected a node name at line {u[2]}, got {u[1]!r}")
                declare(u[1], u[2])
                names.append(u[1])
                i += 1
            expect("}")
            return names
        if t[0] != "name":
            raise GraphError(f"dagitty: expected a node name at line {t[2]}, got {t[1]!r}")
        declare(t[1], t[2])
        i += 1
        if peek() and peek()[1] == "[":
            read_attrs(t[1])
        return [t[1]]

    while i < len(tokens):
        t = peek()
        if t[1] == ";" or t[1] == ",":
            i += 1
            continue
        if t[1] == "}":
            if not braced:
                raise GraphError(f"dagitty: unexpected '}}' at line {t[2]}")
            i += 1
            if i < len(tokens):
                raise GraphError(f"dagitty: text after the closing '}}' at line {tokens[i][2]}")
            braced = False
            break
        left = read_group()
        while peek() and peek()[0] == "arrow":
            arrow, line = peek()[1], peek()[2]
            i += 1
            right = read_group()
            for a in left:
                for b in right:
                    if a == b:
                        raise GraphError(f"dagitty: self-loop {a} {arrow} {b} at line {line}")
                    if arrow == "->":
                        directed.append((a, b))
                    elif arrow == "<-":
                        directed.append((b, a))
                    elif arrow == "<->":
                        bidirected.append((a, b))
                    else:
                        raise GraphError(f"dagitty: undirected edge {a} {arrow} {b} at line {line} is not supported in an ADMG")
            left = right
    if braced:
        raise GraphError("dagitty: missing closing '}'")
    if not order:
        raise GraphError("dagitty: the model declares no nodes")

    # Duplicate bidirected edges are common in hand-written code; keep one.
    seen: set[frozenset[str]] = set()
    bi_unique = []
    for a, b in bidirected:
        if _pair(a, b) not in seen:
            seen.add(_pair(a, b))
            bi_unique.append((a, b))

    nodes = []
    latents = []
    for name in order:
        a = attrs[name]
        kw: dict[str, Any] = {"type": "binary"}
        if "type" in a:
            kw.update(_parse_type_code(name, str(a["type"])))
        extra: dict[str, Any] = {}
        for role in ("exposure", "outcome", "adjusted"):
            if a.get(role) is True:
                extra["role"] = role
        if a.get("latent") is True:
            latents.append(name)
        if "pos" in a:
            try:
                x, y = (float(s) for s in str(a["pos"]).split(","))
            except ValueError:
                raise GraphError(f"dagitty: bad pos {a['pos']!r} for {name}") from None
            extra["pos"] = (int(x) if x.is_integer() else x, int(y) if y.is_integer() else y)
        nodes.append(Node(name, kw["type"], kw.get("levels"), kw.get("shape"), tuple(sorted(extra.items()))))
    g = ADMG(nodes, directed, bi_unique)
    return g.latent_projection(latents) if latents else g


# --------------------------------------------------------------------------------------------------
# Loading from files or text


def load_graph(source: str) -> ADMG:
    """Read a graph from a path (``.json`` or dagitty text) or from the text itself."""
    import os

    text = source
    if "\n" not in source and ("{" not in source) and os.path.exists(source):
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
    elif "\n" not in source and "{" not in source:
        raise GraphError(f"graph file not found: {source}")
    return parse_graph_text(text)


def parse_graph_text(text: str) -> ADMG:
    """Node-link JSON if the text looks like JSON (``{"...``), dagitty otherwise."""
    if re.match(r'\s*(\{\s*"|\[)', text):
        return ADMG.from_json(text)
    return parse_dagitty(text)
