"""dagitty model code (https://dagitty.net, the dagitty R package): a linear reader and a writer.

    dag {
    bb="-2,-2,2,2"
    X [exposure, pos="0,1"]
    "Family history" [pos="1,1", label="family"]
    I [type="image:3x16x16"]
    U [latent]
    U -> X ; U -> Y ; X -> Y -> I
    { X "Family history" } <-> Y [beta=0.3]
    }

What is read (the graphviz-like grammar of DAGitty's parser):

* a header ``[strict] dag|pdag|mag|pag|digraph|graph [name] { ... }``, or the statements alone;
* statements in any order, separated by white space, ``;`` or nothing: node statements
  ``id [attributes]``, edge chains ``a -> b <- c <-> d`` whose operands may be groups ``{ ... }``
  (every node of one operand to every node of the next; a group may hold whole statements),
  graph options ``bb="..."`` (also on a node's line) and ``graph|node|edge [attributes]``;
* ids: bare words (letters, digits, ``_``, ``.``, a leading ``-``) or quoted strings (``\\"`` inside,
  ``"a" + "b"`` joined); ``//``, ``#`` and ``/* */`` comments;
* node attributes in any order: the roles ``exposure`` (``e``, ``source``), ``outcome`` (``o``,
  ``target``), ``adjusted`` (``a``), ``selected`` (``s``), ``latent`` (``l``, ``unobserved``, ``u``),
  ``pos="x,y"``, ``label="..."`` and ours, ``type="..."`` (:meth:`Node.type_code`; dagitty.net
  ignores it; a node without one is binary).  Other node attributes, edge attributes and graph
  options are read and ignored.
* the legacy format of DAGitty 1.x: one line per node ``name FLAGS @x,y`` (flags ``E O A U``, or
  ``1``), a blank line, then adjacency lines ``a b c`` (a -> b, a -> c; listed both ways: a <-> b).

How it is read into an ADMG (the documented reading):

* ``->``, ``<-`` and ``<->`` are edges; ``[latent]`` nodes are returned as
  :attr:`GraphParts.latents`, for ``ADMG.from_parts`` to project away into bidirected edges.
* ``dag``, ``digraph`` and ``graph`` models are read as they are; a ``pdag`` is read when every
  edge is oriented (it is then a DAG); an undirected edge (``--``), a ``mag`` or a ``pag`` model,
  and the circle marks of PAGs (``@->`` ...) are refused in one line: their edges do not say
  which variable causes which.
* An id that is not a valid node name (``"Family history"``, ``x.1``, ``2``) becomes one (runs of
  other characters -> ``_``, a leading digit gets a ``v``; repeats get ``_2``, ``_3``): the node
  keeps its dagitty id as ``dagitty_name``, which the writer puts back.
* A role is kept as the node's ``role`` (the first of exposure, outcome, adjusted, selected);
  ``selected`` is carried through files only: the analyses here do not model selection.

Reading is linear in the length of the text and never recurses: one regex scan for the tokens, one
pass over them with an explicit stack for nested groups; line numbers are counted only for the one
error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple, NoReturn

from core.graph.node import FrozenJSON, GraphError, Node
from core.graph.parts import Edge, GraphParts, MixedGraph

# A token, after any white space (``;`` included: it separates statements and means nothing else)
# and comments before it; what trails the last token must be white space and comments alone
# (possessive: a failed token never backtracks into the white space before it).
_SKIPPED = r"""(?:[ \t\r\n\f\v;]+|//[^\n]*|\#[^\n]*|/\*.*?\*/)*+"""
_TOKEN_RE = re.compile(
    _SKIPPED + r"""(?:
        (?P<arrow><->|<-@|<-|@->|@-@|@--|->|--@|--)
      | (?P<string>"(?:[^"\\\n]|\\.|\\\n)*")
      | (?P<word>-?[0-9A-Za-z_.]+)
      | (?P<punct>[{}\[\],=+])
    )""",
    re.VERBOSE | re.DOTALL,
)
_TRAILING_RE = re.compile(_SKIPPED + r"\Z", re.VERBOSE | re.DOTALL)
_SKIP_RE = re.compile(_SKIPPED, re.VERBOSE | re.DOTALL)
_GRAPH_KINDS = ("dag", "pdag", "mag", "pag", "digraph", "graph")
_REFUSED_KINDS = {
    "mag": "a 'mag' says which variables are ancestors of which, not which cause which",
    "pag": "a 'pag' stands for a set of graphs whose edges are partly unknown",
}
# Attribute names (and DAGitty's abbreviations) -> the role or flag they set.
_ROLE_WORDS = {
    "exposure": "exposure", "e": "exposure", "source": "exposure",
    "outcome": "outcome", "o": "outcome", "target": "outcome",
    "adjusted": "adjusted", "a": "adjusted",
    "selected": "selected", "s": "selected",
}
_LATENT_WORDS = frozenset({"latent", "l", "unobserved", "u"})
ROLES = ("exposure", "outcome", "adjusted", "selected")  # the roles a node keeps, in priority order
_DEFAULT_STATEMENTS = frozenset({"graph", "node", "edge"})  # ``graph [bb=...]``: attributes, not nodes
_BAREWORD_RE = re.compile(r"[0-9A-Za-z_.]+")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSITION_RE = re.compile(r"\s*(-?[0-9.]+(?:[eE][-+]?\d+)?)\s*,\s*(-?[0-9.]+(?:[eE][-+]?\d+)?)\s*")
_LEGACY_POSITION_RE = re.compile(r"@(-?[0-9.]+(?:[eE][-+]?\d+)?),(-?[0-9.]+(?:[eE][-+]?\d+)?)")
_ARROW_HINT_RE = re.compile(r"->|<-")
_NEW_SYNTAX_RE = re.compile(r'[{}\[\]=;"]')
_BLANK_LINE_RE = re.compile(r"\r?\n[ \t]*\r?\n")

# An attribute's value: the text after ``=`` (quotes removed), or True for a bare flag.
AttributeValue = str | bool


class _Token(NamedTuple):
    kind: str  # arrow, string, word or punct (white space and comments are dropped)
    text: str  # a string's content (unquoted, escapes resolved); the text itself otherwise
    offset: int  # where the token starts in the model code


def read_dagitty(text: str) -> GraphParts:
    """The nodes, edges and latent nodes that dagitty model code declares (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise GraphError("dagitty: empty model code")
    if _is_legacy(text):
        return _read_legacy(text)
    return _Parser(text, _tokenize(text)).model()


def write_dagitty(graph: MixedGraph, *, positions: bool = True, types: bool = True) -> str:
    """dagitty model code for ``graph``: each node's role, ``pos`` (when ``positions``), ``label`` and
    ``type`` (when ``types``, for nodes other than binary, the type a reader assumes) as attributes,
    then the edges.  A node read from an id that is not a node name is written under that id."""
    lines = ["dag {"]
    for n in graph.nodes:
        attrs = []
        role = n.get("role")
        if role in ROLES:
            attrs.append(str(role))
        if positions and n.get("pos") is not None:
            x, y = n.get("pos")
            attrs.append(f'pos="{_number_text(x)},{_number_text(y)}"')
        if isinstance(n.get("label"), str):
            attrs.append(f"label={_quoted(str(n.get('label')))}")
        if types and n.type != "binary":
            attrs.append(f'type="{n.type_code()}"')
        lines.append(_written_id(n) + (f" [{','.join(attrs)}]" if attrs else ""))
    ids = {n.name: _written_id(n) for n in graph.nodes}
    lines += [f"{ids[a]} -> {ids[b]}" for a, b in graph.directed]
    lines += [f"{ids[a]} <-> {ids[b]}" for a, b in graph.bidirected]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _written_id(node: Node) -> str:
    """The id a node goes by in dagitty code: the dagitty id it was read from, while that id still
    reads back to its name (a node renamed since is written under its new name), else its name."""
    original = node.get("dagitty_name")
    if not isinstance(original, str) or not re.fullmatch(re.escape(_cleaned(original)) + r"(_\d+)?", node.name):
        return node.name
    return original if _BAREWORD_RE.fullmatch(original) else _quoted(original)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _number_text(x: float) -> str:
    """The shortest text that reads back to the same number (``%g`` would keep only 6 digits)."""
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
    return str(x)


# --------------------------------------------------------------------------------------------------
# Reading: tokens


def _line_of(text: str, offset: int) -> int:
    """The 1-based line of ``offset`` (counted once, for an error message)."""
    return text.count("\n", 0, offset) + 1


def _tokenize(text: str) -> list[_Token]:
    """The tokens of ``text`` without white space and comments, in one left-to-right scan."""
    tokens: list[_Token] = []
    append = tokens.append
    match = _TOKEN_RE.match
    at, end = 0, len(text)
    while (m := match(text, at)) is not None:
        at = m.end()
        kind = m.lastgroup
        start = m.start(kind)
        if kind == "string":
            append(_Token("string", _unquote(m.group(kind)), start))
        else:
            append(_Token(kind, m.group(kind), start))
    if at != end and _TRAILING_RE.match(text, at) is None:
        _unreadable(text, at)
    return tokens


def _skip(text: str, offset: int) -> int:
    """Where the white space and comments at ``offset`` end (the first unreadable character)."""
    return _SKIP_RE.match(text, offset).end()


def _unquote(quoted: str) -> str:
    """A string's content as DAGitty reads it: ``\\"`` is a quote, a backslash before a line break
    joins the lines, any other backslash stays."""
    return re.sub(r'\\(")|\\\r?\n', lambda m: m.group(1) or "", quoted[1:-1])


def _unreadable(text: str, offset: int) -> NoReturn:
    offset = _skip(text, offset)
    line = _line_of(text, offset)
    if text.startswith("/*", offset):
        raise GraphError(f"dagitty: comment opened at line {line} is never closed")
    if text[offset] == '"':
        raise GraphError(f"dagitty: string opened at line {line} is not closed on that line")
    snippet = text[offset : offset + 12].splitlines()[0].strip()
    raise GraphError(f"dagitty: cannot read {snippet!r} at line {line}")


# --------------------------------------------------------------------------------------------------
# Reading: one pass over the tokens, groups on an explicit stack


@dataclass
class _Group:
    """An open ``{ ... }`` (or the whole model): the ids it mentions, and the edge chain in progress."""

    opened_at: int  # token offset of the '{' (-1 for the model itself)
    members: dict[str, None] = field(default_factory=dict)  # ordered set of dagitty ids
    left: list[str] | None = None  # the operand an arrow may follow
    arrow: _Token | None = None  # an arrow still waiting for its right operand


@dataclass
class _Declared:
    """Everything the model code says, by dagitty id, before ids become node names."""

    attributes: dict[str, dict[str, AttributeValue]] = field(default_factory=dict)  # in order of mention
    directed: list[tuple[str, str]] = field(default_factory=list)
    bidirected: list[tuple[str, str]] = field(default_factory=list)


class _Parser:
    """The statements of dagitty model code (the grammar in the module docstring), without recursion."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self._text = text
        self._tokens = tokens
        self._at = 0
        self._kind = "dag"
        self._declared = _Declared()

    # ---- tokens

    def _peek(self, ahead: int = 0) -> _Token | None:
        i = self._at + ahead
        return self._tokens[i] if i < len(self._tokens) else None

    def _line(self, token: _Token) -> int:
        return _line_of(self._text, token.offset)

    def _where(self, token: _Token | None) -> str:
        return f"line {self._line(token)}" if token is not None else "the end"

    def _fail(self, message: str, token: _Token | None) -> NoReturn:
        raise GraphError(f"dagitty: {message} at {self._where(token)}")

    # ---- the model

    def model(self) -> GraphParts:
        braced = self._header()
        stack = [_Group(-1)]
        while (token := self._peek()) is not None:
            group = stack[-1]
            if token.kind in ("word", "string"):
                self._word(group)
            elif token.kind == "arrow":
                self._arrow(group, token)
            elif token.text == "{":
                self._at += 1
                stack.append(_Group(token.offset))
            elif token.text == "}":
                self._at += 1
                if len(stack) > 1:
                    closed = stack.pop()
                    self._end_of_group(closed, token)
                    self._operand(stack[-1], list(closed.members))
                elif braced:
                    self._end_of_model(group, token)
                    braced = False
                else:
                    self._fail("unexpected '}'", token)
            elif token.text == ",":
                self._at += 1  # DAGitty's own exports never hold one; hand-written code may
            elif group.arrow is not None:
                self._fail(f"expected a node after {group.arrow.text!r}, got {token.text!r}", token)
            else:
                self._fail(f"unexpected {token.text!r}", token)
        if len(stack) > 1:
            raise GraphError(f"dagitty: the group opened at line {_line_of(self._text, stack[-1].opened_at)} is never closed")
        self._end_of_group(stack[0], None)
        if braced:
            raise GraphError("dagitty: missing closing '}'")
        if not self._declared.attributes:
            raise GraphError("dagitty: the model declares no nodes")
        return _parts(self._declared)

    def _header(self) -> bool:
        """Consume ``[strict] kind [name] {``; True when a closing ``}`` is owed."""
        first = self._peek()
        skip = 1 if first is not None and first.kind == "word" and first.text.lower() == "strict" else 0
        kind_token = self._peek(skip)
        if kind_token is None or kind_token.kind != "word" or kind_token.text.lower() not in _GRAPH_KINDS:
            return False
        after = self._peek(skip + 1)
        named = after is not None and after.kind in ("word", "string")
        brace = self._peek(skip + 1 + named)
        if brace is None or brace.text != "{":
            return False  # a node that happens to be called 'dag' or 'graph'
        self._kind = kind_token.text.lower()
        if self._kind in _REFUSED_KINDS:
            raise GraphError(f"dagitty: '{self._kind}' models are not supported: {_REFUSED_KINDS[self._kind]}; "
                             "write the causal graph as a 'dag'")
        self._at += skip + 2 + named
        return True

    def _end_of_model(self, group: _Group, brace: _Token) -> None:
        self._end_of_group(group, brace)
        after = self._peek()
        if after is not None:
            self._fail("text after the closing '}'", after)

    def _end_of_group(self, group: _Group, closing: _Token | None) -> None:
        if group.arrow is None:
            return
        if closing is None:
            raise GraphError(f"dagitty: model code ends after {group.arrow.text!r} (line {self._line(group.arrow)})")
        self._fail(f"expected a node after {group.arrow.text!r}, got {closing.text!r}", closing)

    # ---- statements

    def _word(self, group: _Group) -> None:
        token = self._tokens[self._at]
        following = self._peek(1)
        after_text = following.text if following is not None and following.kind == "punct" else ""
        if group.arrow is None and after_text == "=":
            self._graph_option()
            return
        if group.arrow is None and after_text == "[" and token.kind == "word" and token.text.lower() in _DEFAULT_STATEMENTS:
            self._at += 1
            self._attributes()  # default attributes for the graph, nodes or edges: nothing to keep
            return
        if token.kind == "word":  # the common case, without the look-ahead for '+'
            self._at += 1
            dagitty_id = token.text
        else:
            dagitty_id = self._id()
            after_text = self._peek().text if self._peek() is not None and self._peek().kind == "punct" else ""
        declared = self._declared.attributes
        if dagitty_id not in declared:
            declared[dagitty_id] = {}
        completes_edge = group.arrow is not None
        self._operand(group, [dagitty_id])
        if after_text == "[":
            attributes = self._attributes()
            if not completes_edge:  # after an edge chain the attributes belong to its edges
                declared[dagitty_id].update(attributes)
            group.left = None  # attributes end the statement: no arrow may follow them

    def _graph_option(self) -> None:
        """``key = value`` between statements (DAGitty writes ``bb="x0,y0,x1,y1"``): read and dropped."""
        key = self._id()
        self._at += 1  # '='
        if self._peek() is None or self._peek().kind not in ("word", "string"):
            self._fail(f"graph option {key} has no value", self._peek())
        self._id()

    def _arrow(self, group: _Group, token: _Token) -> None:
        if group.left is None:
            self._fail(f"{token.text!r} has no node before it", token)
        if group.arrow is not None:
            self._fail(f"expected a node between {group.arrow.text!r} and {token.text!r}", token)
        group.arrow = token
        self._at += 1

    def _operand(self, group: _Group, ids: list[str]) -> None:
        """A node or a closed group: the right end of a pending arrow, or the start of a new statement."""
        if group.arrow is not None:
            self._connect(group.left, group.arrow, ids)
            group.arrow = None
        group.left = ids
        for v in ids:
            group.members[v] = None

    def _next_is(self, text: str) -> bool:
        token = self._peek()
        return token is not None and token.text == text and token.kind == "punct"

    def _id(self) -> str:
        """A bare word, or quoted strings joined by ``+``; consumed."""
        token = self._peek()
        self._at += 1
        if token.kind == "word":
            return token.text
        parts = [token.text]
        while self._next_is("+"):
            nxt = self._peek(1)
            if nxt is None or nxt.kind != "string":
                self._fail("'+' must join two quoted strings", nxt)
            parts.append(nxt.text)
            self._at += 2
        return "".join(parts)

    def _attributes(self) -> dict[str, AttributeValue]:
        """``[ key (= value)? ((,|;)? key (= value)?)* ]``; consumed."""
        opening = self._peek()
        self._at += 1
        out: dict[str, AttributeValue] = {}
        while True:
            token = self._peek()
            if token is None:
                raise GraphError(f"dagitty: the '[' at line {self._line(opening)} is never closed")
            if token.text == "]" and token.kind == "punct":
                self._at += 1
                return out
            if token.text == "," and token.kind == "punct":
                self._at += 1
                continue
            if token.kind not in ("word", "string"):
                raise GraphError(f"dagitty: unexpected {token.text!r} at line {self._line(token)} inside the "
                                 f"'[' opened at line {self._line(opening)}")
            key = self._id()
            if self._next_is("="):
                self._at += 1
                value = self._peek()
                if value is None or value.kind not in ("word", "string"):
                    self._fail(f"attribute {key} has no value", value)
                out[key] = self._id()
            else:
                out[key] = True

    def _connect(self, left: list[str], arrow: _Token, right: list[str]) -> None:
        """Edges from every node of ``left`` to every node of ``right``, as ``arrow`` says."""
        for a in left:
            for b in right:
                if a == b:
                    self._fail(f"self-loop {a} {arrow.text} {b}", arrow)
                if arrow.text == "->":
                    self._declared.directed.append((a, b))
                elif arrow.text == "<-":
                    self._declared.directed.append((b, a))
                elif arrow.text == "<->":
                    self._declared.bidirected.append((a, b))
                elif arrow.text == "--":
                    self._fail(f"undirected edge {a} -- {b} does not say which variable causes which "
                               f"({'orient it' if self._kind == 'pdag' else 'use -> or <->'})", arrow)
                else:
                    self._fail(f"edge {a} {arrow.text} {b} has a circle mark (a PAG's unknown end); "
                               "use -> or <->", arrow)


def _parts(declared: _Declared) -> GraphParts:
    """Ids become node names (see the module docstring); attributes become roles, positions, types."""
    names = _node_names(list(declared.attributes))
    nodes = tuple(_node(names[i], i, attrs) for i, attrs in declared.attributes.items())
    latents = tuple(names[i] for i, attrs in declared.attributes.items() if _is_latent(attrs))
    directed = tuple((names[a], names[b]) for a, b in declared.directed)
    bidirected = _distinct_pairs([(names[a], names[b]) for a, b in declared.bidirected])
    return GraphParts(nodes, directed, bidirected, latents)


def _node_names(ids: list[str]) -> dict[str, str]:
    """Each dagitty id's node name: itself when it is a valid name, else a cleaned-up spelling made
    unique (valid ids keep their names, whatever order they come in)."""
    names = {i: i for i in ids if _NAME_RE.fullmatch(i)}
    taken = set(names.values())
    for i in ids:
        if i in names:
            continue
        base = _cleaned(i)
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        names[i] = name
        taken.add(name)
    return names


def _cleaned(dagitty_id: str) -> str:
    """A node name for an id: runs of other characters become ``_``; a leading digit gets a ``v``."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", dagitty_id).strip("_") or "v"
    return "v" + base if base[0].isdigit() else base


def _is_latent(attributes: dict[str, AttributeValue]) -> bool:
    return any(attributes.get(w) is True for w in _LATENT_WORDS)


def _node(name: str, dagitty_id: str, attributes: dict[str, AttributeValue]) -> Node:
    """The typed node an attribute list describes (role, position, label and type)."""
    if not attributes and dagitty_id == name:
        return Node(name)
    extra: dict[str, FrozenJSON] = {}
    roles = {_ROLE_WORDS[k] for k, v in attributes.items() if v is True and k in _ROLE_WORDS}
    for role in ROLES:
        if role in roles:
            extra["role"] = role
            break
    if "pos" in attributes:
        extra["pos"] = _position(name, attributes["pos"])
    if isinstance(attributes.get("label"), str):
        extra["label"] = attributes["label"]
    if dagitty_id != name:
        extra["dagitty_name"] = dagitty_id
    code = attributes.get("type", "binary")
    if code is True:
        raise GraphError(f"dagitty: attribute type of {dagitty_id} has no value")
    return Node.from_type_code(name, str(code), extra=tuple(sorted(extra.items())))


def _position(name: str, value: AttributeValue) -> tuple[int | float, int | float]:
    """``"x,y"`` as numbers, whole ones as ints (so ``pos="2,1"`` reads back as (2, 1))."""
    m = _POSITION_RE.fullmatch(str(value)) if isinstance(value, str) else None
    try:
        x, y = float(m.group(1)), float(m.group(2))
    except (AttributeError, ValueError):
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


# --------------------------------------------------------------------------------------------------
# The legacy format (DAGitty 1.x): node lines with flags and @ positions, a blank line, adjacency lines


def _is_legacy(text: str) -> bool:
    """No arrows and none of the characters of the newer syntax, and an ``@x,y`` position or a blank
    line between two blocks (DAGitty itself reads any text without a header or an arrow this way)."""
    if _NEW_SYNTAX_RE.search(text) or _ARROW_HINT_RE.search(text):
        return False
    return _BLANK_LINE_RE.search(text.strip()) is not None or _LEGACY_POSITION_RE.search(text) is not None


def _read_legacy(text: str) -> GraphParts:
    """Node lines ``name [FLAGS] [@x,y]`` (names may hold spaces and %-escapes), a blank line, then
    adjacency lines ``a b c @x,y d``: a -> b, a -> c, a -> d (``@`` after a child places the edge:
    dropped); a pair listed both ways is a bidirected edge."""
    from urllib.parse import unquote

    body = text.strip()
    gap = _BLANK_LINE_RE.search(body)
    blocks = [body[: gap.start()], body[gap.end() :]] if gap else [body]
    first_adjacency_line = body.count("\n", 0, gap.end()) + 1 if gap else 0
    declared = _Declared()
    for line_no, line in enumerate(blocks[0].splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        position = None
        if len(words) >= 3 and words[-1].startswith("@"):
            position = words.pop()
        flags = words.pop() if len(words) >= 2 else "1"
        dagitty_id = unquote(" ".join(words))
        attrs: dict[str, AttributeValue] = {}
        for letter, word in (("E", "exposure"), ("O", "outcome"), ("A", "adjusted"), ("U", "latent")):
            if letter in flags:
                attrs[word] = True
        if position is not None:
            m = _LEGACY_POSITION_RE.fullmatch(position)
            if m is None:
                raise GraphError(f"dagitty: bad position {position!r} at line {line_no}")
            attrs["pos"] = f"{m.group(1)},{m.group(2)}"
        declared.attributes[dagitty_id] = attrs
    if not declared.attributes:
        raise GraphError("dagitty: the model declares no nodes")
    longest = max(len(i.split(" ")) for i in declared.attributes)
    arcs: dict[tuple[str, str], None] = {}
    for offset, line in enumerate(blocks[1].splitlines() if len(blocks) == 2 else []):
        words = [w for w in line.split() if not w.startswith("@")]
        ids = _legacy_ids(words, declared.attributes, longest, first_adjacency_line + offset)
        for child in ids[1:]:
            if child == ids[0]:
                raise GraphError(f"dagitty: self-loop {child} -> {child} at line {first_adjacency_line + offset}")
            arcs[(ids[0], child)] = None
    for a, b in arcs:
        if (b, a) in arcs:
            if a < b:
                declared.bidirected.append((a, b))
        else:
            declared.directed.append((a, b))
    return _parts(declared)


def _legacy_ids(words: list[str], known: dict[str, dict[str, AttributeValue]], longest: int, line: int) -> list[str]:
    """The node ids a line of words names: the shortest run of words that is a known id, each time
    (runs no longer than the longest id, so a line costs at most ``longest`` look-ups per word)."""
    from urllib.parse import unquote

    ids, i = [], 0
    while i < len(words):
        for k in range(1, min(longest, len(words) - i) + 1):
            candidate = unquote(" ".join(words[i : i + k]))
            if candidate in known:
                ids.append(candidate)
                i += k
                break
        else:
            raise GraphError(f"dagitty: unknown node {unquote(words[i])!r} at line {line}")
    return ids
