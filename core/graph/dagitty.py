"""dagitty model code (https://dagitty.net): a reader and a writer.

    dag {
      X [exposure, pos="0,1"]
      I [type="image:3x16x16"]
      U [latent]
      U -> X ; U -> Y ; X -> Y -> I
      X <-> Y
    }

Chains (``A -> B -> C``), ``<-``, ``<->``, groups (``{ A B } -> C``), ``//`` and ``#`` comments, and the
``exposure``, ``outcome``, ``adjusted``, ``latent``, ``pos`` and ``type`` attributes are understood;
``[latent]`` nodes are returned as :attr:`GraphParts.latents`, for ``ADMG.from_parts`` to project
away into bidirected edges.  ``type="..."`` is :meth:`Node.type_code` (dagitty.net ignores it); a
node without one is binary.  Undirected edges (``--``, ``@->``) have no meaning in an ADMG.

Reading is linear in the length of the text: one regex scan for the tokens, line numbers counted as
the scan goes, then one recursive-descent pass.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from core.graph.node import FrozenJSON, GraphError, Node
from core.graph.parts import Edge, GraphParts, MixedGraph

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
_GRAPH_KINDS = ("dag", "pdag", "mag", "pag")
_ROLES = ("exposure", "outcome", "adjusted")

# An attribute's value: the text after ``=`` (quotes removed), or True for a bare flag.
AttributeValue = str | bool


class _Token(NamedTuple):
    kind: str  # comment, arrow, string, name, number or punct
    text: str
    line: int


def read_dagitty(text: str) -> GraphParts:
    """The nodes, edges and latent nodes that dagitty model code declares (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise GraphError("dagitty: empty model code")
    return _Parser(_tokenize(text)).model()


def write_dagitty(graph: MixedGraph, *, positions: bool = True, types: bool = True) -> str:
    """dagitty model code for ``graph``: roles, ``pos`` (when ``positions``) and ``type`` (when ``types``,
    for nodes other than binary, the type a reader assumes) as attributes, then the edges."""
    lines = ["dag {"]
    for n in graph.nodes:
        attrs = []
        role = n.get("role")
        if role in _ROLES:
            attrs.append(role)
        if positions and n.get("pos") is not None:
            x, y = n.get("pos")
            attrs.append(f'pos="{_number_text(x)},{_number_text(y)}"')
        if types and n.type != "binary":
            attrs.append(f'type="{n.type_code()}"')
        lines.append(n.name + (f" [{','.join(attrs)}]" if attrs else ""))
    lines += [f"{a} -> {b}" for a, b in graph.directed]
    lines += [f"{a} <-> {b}" for a, b in graph.bidirected]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _number_text(x: float) -> str:
    """The shortest text that reads back to the same number (``%g`` would keep only 6 digits)."""
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
    return str(x)


# --------------------------------------------------------------------------------------------------
# Reading: tokens, then recursive descent


def _tokenize(text: str) -> list[_Token]:
    """The tokens of ``text`` without comments, each with its line number (counted incrementally, so
    the scan stays linear)."""
    text = text.rstrip()
    tokens: list[_Token] = []
    pos, line, counted_to = 0, 1, 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            line += text.count("\n", counted_to, pos)
            snippet = text[pos : pos + 12].strip().splitlines()[0] if text[pos:].strip() else ""
            raise GraphError(f"dagitty: cannot read {snippet!r} at line {line}")
        kind = m.lastgroup
        start = m.start(kind)
        line += text.count("\n", counted_to, start)
        counted_to, pos = start, m.end()
        if kind != "comment":
            tokens.append(_Token(kind, m.group(kind), line))
    return tokens


class _Parser:
    """Recursive descent over dagitty tokens::

        model      := header? item*          ('}' closes the header's '{' and must end the text)
        header     := 'dag' '{' | '{'        (pdag, mag, pag are refused)
        item       := ';' | ',' | statement
        statement  := group (arrow group)*  (every node of one group to every node of the next)
        group      := '{' (name | ',' | ';')* '}' | name attributes?
        attributes := '[' (key ('=' value)? | ',')* ']'
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._at = 0
        self._attributes: dict[str, dict[str, AttributeValue]] = {}  # per node, in declaration order
        self._directed: list[Edge] = []
        self._bidirected: list[Edge] = []

    # ---- tokens

    def _peek(self) -> _Token | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _next_is(self, text: str) -> bool:
        token = self._peek()
        return token is not None and token.text == text

    def _expect(self, text: str) -> None:
        token = self._peek()
        if token is None or token.text != text:
            where = f"line {token.line}" if token else "the end"
            got = repr(token.text) if token else "nothing"
            raise GraphError(f"dagitty: expected {text!r} at {where}, got {got}")
        self._at += 1

    # ---- grammar

    def model(self) -> GraphParts:
        braced = self._header()
        while (token := self._peek()) is not None:
            if token.text in (";", ","):
                self._at += 1
            elif token.text == "}":
                self._closing_brace(token, braced)
                braced = False
            else:
                self._statement()
        if braced:
            raise GraphError("dagitty: missing closing '}'")
        if not self._attributes:
            raise GraphError("dagitty: the model declares no nodes")
        return self._parts()

    def _header(self) -> bool:
        """Consume ``dag {`` or ``{``; True when a closing ``}`` is owed."""
        token = self._peek()
        if token is not None and token.kind == "name" and token.text in _GRAPH_KINDS:
            if token.text != "dag":
                raise GraphError(f"dagitty: only 'dag' models are supported, got {token.text!r}")
            self._at += 1
            self._expect("{")
            return True
        if token is not None and token.text == "{":
            self._at += 1
            return True
        return False

    def _closing_brace(self, token: _Token, braced: bool) -> None:
        if not braced:
            raise GraphError(f"dagitty: unexpected '}}' at line {token.line}")
        self._at += 1
        if (after := self._peek()) is not None:
            raise GraphError(f"dagitty: text after the closing '}}' at line {after.line}")

    def _statement(self) -> None:
        left = self._group()
        while (arrow := self._peek()) is not None and arrow.kind == "arrow":
            self._at += 1
            right = self._group()
            self._connect(left, arrow, right)
            left = right

    def _group(self) -> list[str]:
        token = self._peek()
        if token is None:
            raise GraphError("dagitty: model code ends where a node was expected")
        if token.text == "{":
            return self._braced_names()
        name = self._node_name(token)
        if self._next_is("["):
            self._read_attributes(name)
        return [name]

    def _braced_names(self) -> list[str]:
        self._at += 1
        names = []
        while (token := self._peek()) is not None and token.text != "}":
            if token.text in (",", ";"):
                self._at += 1
            else:
                names.append(self._node_name(token))
        self._expect("}")
        return names

    def _node_name(self, token: _Token) -> str:
        """Declare the node ``token`` names (first declaration fixes the node order) and consume it."""
        if token.kind != "name":
            raise GraphError(f"dagitty: expected a node name at line {token.line}, got {token.text!r}")
        if "." in token.text:
            raise GraphError(f"dagitty: bad node name {token.text!r} at line {token.line}")
        self._attributes.setdefault(token.text, {})
        self._at += 1
        return token.text

    def _read_attributes(self, name: str) -> None:
        self._expect("[")
        while True:
            token = self._peek()
            if token is None:
                raise GraphError(f"dagitty: unclosed '[' after {name}")
            if token.text == "]":
                self._at += 1
                return
            if token.text == ",":
                self._at += 1
                continue
            if token.kind != "name":
                raise GraphError(f"dagitty: unexpected {token.text!r} in attributes of {name} at line {token.line}")
            self._at += 1
            self._attributes[name][token.text] = self._attribute_value(name, token.text)

    def _attribute_value(self, name: str, key: str) -> AttributeValue:
        if not self._next_is("="):
            return True
        self._at += 1
        value = self._peek()
        if value is None or value.kind not in ("string", "number", "name"):
            raise GraphError(f"dagitty: attribute {key} of {name} has no value")
        self._at += 1
        return value.text[1:-1] if value.kind == "string" else value.text

    def _connect(self, left: list[str], arrow: _Token, right: list[str]) -> None:
        """Edges from every node of ``left`` to every node of ``right``, as ``arrow`` says."""
        for a in left:
            for b in right:
                if a == b:
                    raise GraphError(f"dagitty: self-loop {a} {arrow.text} {b} at line {arrow.line}")
                if arrow.text == "->":
                    self._directed.append((a, b))
                elif arrow.text == "<-":
                    self._directed.append((b, a))
                elif arrow.text == "<->":
                    self._bidirected.append((a, b))
                else:
                    raise GraphError(
                        f"dagitty: undirected edge {a} {arrow.text} {b} at line {arrow.line} is not supported in an ADMG"
                    )

    # ---- result

    def _parts(self) -> GraphParts:
        nodes = tuple(_node(name, attrs) for name, attrs in self._attributes.items())
        latents = tuple(name for name, attrs in self._attributes.items() if attrs.get("latent") is True)
        return GraphParts(nodes, tuple(self._directed), _distinct_pairs(self._bidirected), latents)


def _node(name: str, attributes: dict[str, AttributeValue]) -> Node:
    """The typed node an attribute list describes (role, position and type)."""
    extra: dict[str, FrozenJSON] = {}
    for role in _ROLES:
        if attributes.get(role) is True:
            extra["role"] = role
    if "pos" in attributes:
        extra["pos"] = _position(name, attributes["pos"])
    code = str(attributes.get("type", "binary"))
    return Node.from_type_code(name, code, extra=tuple(sorted(extra.items())))


def _position(name: str, value: AttributeValue) -> tuple[int | float, int | float]:
    """``"x,y"`` as numbers, whole ones as ints (so ``pos="2,1"`` reads back as (2, 1))."""
    try:
        x, y = (float(s) for s in str(value).split(","))
    except ValueError:
        raise GraphError(f"dagitty: bad pos {value!r} for {name}") from None
    return (int(x) if x.is_integer() else x, int(y) if y.is_integer() else y)


def _distinct_pairs(edges: list[Edge]) -> tuple[Edge, ...]:
    """Bidirected edges without repeats (hand-written code often lists ``A <-> B`` and ``B <-> A``);
    the first spelling stays."""
    seen: set[frozenset[str]] = set()
    out = []
    for a, b in edges:
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            out.append((a, b))
    return tuple(out)
