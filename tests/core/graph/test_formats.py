"""Graph formats: node-link JSON (canonical), DOT (export), networkx; round trips through JSON and
dagitty; malformed JSON gives one-line GraphError messages; a hypothesis property test on random ADMGs."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.graph import ADMG, GraphError, Node, parse_dagitty
from core.graph.formats import read_node_link, to_networkx, write_dot, write_node_link

NODE_LINK_EXAMPLE = {
    "nodes": [{"name": "X", "type": "image", "shape": [3, 16, 16]}, {"name": "W2", "type": "categorical", "levels": 20}],
    "directed": [["W2", "X"], ["X", "Y"]],
    "bidirected": [["W1", "X"]],
}


# ---- JSON


def test_node_link_json_contract():
    obj = {
        "nodes": NODE_LINK_EXAMPLE["nodes"] + [{"name": "Y"}, {"name": "W1", "type": "continuous"}],
        "directed": NODE_LINK_EXAMPLE["directed"],
        "bidirected": NODE_LINK_EXAMPLE["bidirected"],
    }
    g = ADMG.from_json(obj)
    assert g.node("X").shape == (3, 16, 16) and g.node("W2").levels == 20
    assert g.node("Y").type == "binary" and g.node("W1").type == "continuous"
    out = g.to_json()
    assert out == {
        "nodes": [
            {"name": "X", "type": "image", "shape": [3, 16, 16]},
            {"name": "W2", "type": "categorical", "levels": 20},
            {"name": "Y", "type": "binary"},
            {"name": "W1", "type": "continuous"},
        ],
        "directed": [["W2", "X"], ["X", "Y"]],
        "bidirected": [["W1", "X"]],
    }
    assert ADMG.from_json(json.dumps(out)) == g
    assert ADMG.from_json(g.dumps()) == g
    assert write_node_link(g) == out and ADMG.from_parts(read_node_link(obj)) == g


def test_json_keeps_extra_keys_and_accepts_name_shorthand():
    g = ADMG.from_json({
        "nodes": ["A", {"name": "B", "pos": [1.5, -2], "role": "outcome", "notes": {"unit": "cm", "k": [1, 2]}}],
        "directed": [["A", "B"]],
    })
    b = g.node("B")
    assert b.get("pos") == (1.5, -2) and b.get("role") == "outcome"
    back = json.loads(g.dumps())
    # Extra values come back as the JSON they were: objects stay objects, lists stay lists.
    assert back["nodes"][1] == {"name": "B", "type": "binary", "notes": {"unit": "cm", "k": [1, 2]},
                                "pos": [1.5, -2], "role": "outcome"}
    assert ADMG.from_json(g.dumps()) == g
    assert g.bidirected == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"nodes": [', "malformed graph JSON"),
        ('{"nodes": [}', "malformed graph JSON"),
        ("[1, 2]", "graph JSON must be an object"),
        ('{"directed": []}', "graph JSON has no 'nodes' list"),
        ('{"nodes": {"A": 1}}', "graph JSON 'nodes' must be a list"),
        ('{"nodes": ["A"], "directed": {"A": "B"}}', "graph JSON 'directed' must be a list"),
        ('{"nodes": ["A", "B"], "directed": [["A"]]}', "a directed edge must be a pair of node names"),
        ('{"nodes": ["A", "B"], "bidirected": [["A", 2]]}', "a bidirected edge must be a pair"),
        ('{"nodes": [{"type": "binary"}]}', "node without a name"),
        ('{"nodes": [3]}', "a node must be an object with a name"),
        ('{"nodes": [{"name": "I", "type": "image", "shape": "3x4x4"}]}', "shape must be a list"),
        ('{"nodes": [{"name": "I", "type": "image"}]}', "an image node needs shape"),
        ('{"nodes": [{"name": "C", "type": "categorical"}]}', "a categorical node needs levels"),
        ('{"nodes": [{"name": "C", "type": "ordinal"}]}', "bad type 'ordinal'"),
        ('{"nodes": ["A", "A"]}', "duplicate node name 'A'"),
        ('{"nodes": ["A", "B"], "directed": [["A", "B"], ["B", "A"]]}', "directed cycle"),
        ('{"nodes": ["A"], "directed": [["A", "Z"]]}', "unknown node 'Z'"),
        ('{"nodes": ["A", "B"], "bidirected": [["A", "B"], ["B", "A"]]}', "listed twice"),
    ],
)
def test_malformed_json_is_one_line(text, message):
    with pytest.raises(GraphError) as info:
        ADMG.from_json(text)
    assert message in str(info.value) and "\n" not in str(info.value)


# ---- DOT


def test_dot_export():
    g = ADMG([Node("X"), Node("Y", "continuous"), Node("I", "image", shape=(3, 8, 8))],
             [("X", "Y"), ("Y", "I")], [("X", "I")])
    dot = write_dot(g)
    assert g.to_dot() == dot
    assert dot.startswith("digraph G {") and dot.rstrip().endswith("}")
    assert '"X" -> "Y";' in dot and '"Y" -> "I";' in dot
    (bi,) = [line for line in dot.splitlines() if '"X" -> "I"' in line]
    assert "dir=both" in bi and "style=dashed" in bi and "constraint=false" in bi
    assert 'tooltip="image:3x8x8"' in dot and 'tooltip="continuous"' in dot
    assert dot.count("->") == 3 and dot.count("fillcolor") == 3


# ---- networkx


def test_networkx_has_both_directions_of_a_bidirected_edge():
    g = ADMG([Node("X"), Node("I", "image", shape=(1, 4, 4))], [("X", "I")], [("X", "I")])
    nxg = to_networkx(g)
    assert dict(nxg.nodes(data=True))["I"] == {"name": "I", "type": "image", "shape": [1, 4, 4]}
    assert sorted((a, b, k["kind"]) for a, b, k in nxg.edges(data=True)) == [
        ("I", "X", "bidirected"), ("X", "I", "bidirected"), ("X", "I", "directed")
    ]
    assert list(g.to_networkx().edges(data=True)) == list(nxg.edges(data=True))


# ---- round trips, by example and by property


@pytest.mark.parametrize("name", ["napkin", "frontdoor", "backdoor", "bow", "morpho", "faces"])
def test_example_graphs_round_trip(name):
    from workbench.graph_files import load_example

    g = load_example(name)
    assert ADMG.from_json(g.dumps()) == g
    assert parse_dagitty(g.to_dagitty()) == g
    assert parse_dagitty(g.to_dagitty(positions=False, types=False)).same_structure(g)


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
COORD = st.one_of(
    st.integers(-10_000, 10_000),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
)
NODE_KIND = st.one_of(
    st.just(("binary", None, None)),
    st.just(("continuous", None, None)),
    st.tuples(st.just("categorical"), st.integers(2, 50), st.none()),
    st.tuples(st.just("image"), st.none(), st.tuples(st.sampled_from([1, 3]), st.integers(1, 64), st.integers(1, 64))),
)


@st.composite
def admgs(draw) -> ADMG:
    """Random typed nodes (some with positions and roles), a random DAG over a random order, and
    random bidirected edges."""
    names = draw(st.lists(NAMES, min_size=1, max_size=8, unique=True))
    nodes = []
    for name in names:
        kind, levels, shape = draw(NODE_KIND)
        extra = {}
        if draw(st.booleans()):
            extra["pos"] = (draw(COORD), draw(COORD))
        role = draw(st.sampled_from([None, "exposure", "outcome", "adjusted"]))
        if role:
            extra["role"] = role
        nodes.append(Node(name, kind, levels, shape, tuple(sorted(extra.items()))))
    order = draw(st.permutations(names))
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    directed = [p for p in pairs if draw(st.booleans())]
    bidirected = [p if draw(st.booleans()) else p[::-1] for p in pairs if draw(st.integers(0, 3)) == 0]
    return ADMG(nodes, directed, bidirected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admgs())
def test_random_admgs_survive_json_and_dagitty_round_trips(g):
    via_json = ADMG.from_json(json.loads(json.dumps(g.to_json())))
    assert via_json == g
    assert via_json.names == g.names
    via_dagitty = parse_dagitty(g.to_dagitty())
    assert via_dagitty == g
    for n in g.nodes:  # positions come back exactly, not just approximately
        assert via_dagitty.node(n.name).get("pos") == n.get("pos")
    # And a second trip changes nothing.
    assert parse_dagitty(via_dagitty.to_dagitty()) == g and ADMG.from_json(via_json.dumps()) == g
