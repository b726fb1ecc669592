"""dagitty model code: arrows, chains, groups, comments, attributes, latent projection; every
malformed input gives a one-line GraphError; the writer's output reads back; reading is linear."""

from __future__ import annotations

import time

import pytest

from core.graph import ADMG, GraphError, Node, parse_dagitty
from core.graph.dagitty import read_dagitty, write_dagitty


def test_dagitty_arrows_chains_groups_and_comments():
    g = parse_dagitty(
        """
        // a comment line
        dag {
          A -> B -> C   # chains
          D <- C        // reversed arrow
          E <-> A
          { A B } -> F  ; F -> G
        }
        """
    )
    assert g.names == ("A", "B", "C", "D", "E", "F", "G")
    assert set(g.directed) == {("A", "B"), ("B", "C"), ("C", "D"), ("A", "F"), ("B", "F"), ("F", "G")}
    assert g.has_bidirected("A", "E")
    assert all(n.type == "binary" for n in g.nodes)


def test_dagitty_without_header_and_semicolons():
    g = parse_dagitty("X -> Y; Y <- Z")
    assert set(g.directed) == {("X", "Y"), ("Z", "Y")}
    assert parse_dagitty("{ X -> Y }").directed == (("X", "Y"),)


def test_dagitty_roles_positions_latent_and_types():
    g = parse_dagitty(
        'dag { X [exposure,pos="-1.5,0.25"] Y [outcome, pos="2,1"] Z [adjusted] U [latent]\n'
        'I [type="image:3x8x8"] C [type="categorical:5"] R [type="continuous"]\n'
        "U -> X; U -> Y; X -> Y; Z -> X; Z -> Y; C -> I; R -> I }"
    )
    assert "U" not in g and g.has_bidirected("X", "Y")
    assert g.node("X").get("role") == "exposure" and g.node("X").get("pos") == (-1.5, 0.25)
    assert g.node("Y").get("role") == "outcome" and g.node("Y").get("pos") == (2, 1)
    assert isinstance(g.node("Y").get("pos")[0], int)
    assert g.node("Z").get("role") == "adjusted"
    assert g.node("I").shape == (3, 8, 8) and g.node("C").levels == 5 and g.node("R").type == "continuous"


def test_dagitty_duplicate_bidirected_edges_are_merged():
    g = parse_dagitty("dag { A <-> B ; B <-> A ; A -> B }")
    assert g.bidirected == (("A", "B"),)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "dagitty: empty model code"),
        ("   \n ", "dagitty: empty model code"),
        ("pdag { A -> B }", "only 'dag' models are supported"),
        ("dag { A -> B", "missing closing '}'"),
        ("dag { A -> B } C", "text after the closing '}'"),
        ("A -> B }", "unexpected '}'"),
        ("dag { A -- B }", "undirected edge A -- B"),
        ("dag { A -> }", "expected a node name at line 1"),
        ("dag { A -> ", "ends where a node was expected"),
        ("dag {\n A -> B\n B -> $ }", "cannot read '$ }' at line 3"),
        ("dag { A [exposure }", "unexpected '}' in attributes of A"),
        ("dag { A [pos= ] }", "attribute pos of A has no value"),
        ('dag { A [pos="1"] }', "bad pos '1' for A"),
        ('dag { A [type="categorical:many"] }', "node A: bad type attribute"),
        ('dag { A [type="ordinal"] }', "bad type 'ordinal'"),
        ('dag { A [type="image:2x4x4"] }', "an image node needs shape"),
        ("dag { A -> A }", "self-loop A -> A"),
        ("dag { A -> B -> C -> A }", "directed cycle"),
        ("dag { a.b -> c }", "bad node name 'a.b'"),
        ("dag { }", "declares no nodes"),
        ("dag { A [exposure", "unclosed '['"),
    ],
)
def test_malformed_dagitty_is_one_line(text, message):
    with pytest.raises(GraphError) as info:
        parse_dagitty(text)
    assert message in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_to_dagitty_output_reads_back_and_looks_like_dagitty():
    g = ADMG([Node("X", extra=(("pos", (0, 1)), ("role", "exposure"))), Node("Y", "continuous"),
              Node("I", "image", shape=(1, 16, 16)), Node("C", "categorical", 3)],
             [("X", "Y"), ("C", "I")], [("X", "C")])
    text = g.to_dagitty()
    assert text.startswith("dag {\n") and text.rstrip().endswith("}")
    assert 'X [exposure,pos="0,1"]' in text  # binary is the default type: not written
    assert 'I [type="image:1x16x16"]' in text and 'C [type="categorical:3"]' in text
    assert "X -> Y" in text and "X <-> C" in text
    assert parse_dagitty(text) == g
    bare = g.to_dagitty(positions=False, types=False)
    assert "pos=" not in bare and "type=" not in bare
    assert parse_dagitty(bare).same_structure(g)


def test_reader_returns_latents_for_the_graph_to_project():
    parts = read_dagitty("dag { U [latent] ; U -> X ; U -> Y ; X -> Y }")
    assert [n.name for n in parts.nodes] == ["U", "X", "Y"] and parts.latents == ("U",)
    assert ADMG.from_parts(parts) == ADMG.from_edges("XY", [("X", "Y")], [("X", "Y")])
    g = ADMG.from_edges("AB", [("A", "B")], types={"B": "continuous"})
    assert write_dagitty(g) == g.to_dagitty() == 'dag {\nA\nB [type="continuous"]\nA -> B\n}\n'


def test_errors_name_the_line_deep_in_long_code():
    lines = [f"V{i} -> V{i + 1}" for i in range(5000)]
    lines[4321] = "V4321 -> $"
    with pytest.raises(GraphError, match=r"cannot read '\$' at line 4323"):
        parse_dagitty("dag {\n" + "\n".join(lines) + "\n}")
    lines[4321] = "V4321 -> ]"
    with pytest.raises(GraphError, match=r"expected a node name at line 4323, got '\]'"):
        parse_dagitty("dag {\n" + "\n".join(lines) + "\n}")


def test_reading_is_linear_in_the_length_of_the_code():
    """40,000 edges (a chain, one edge a line) read in well under a second.  The clock is this
    process's CPU time, which other processes on a busy machine do not inflate, and the bound is
    generous; a reader that is quadratic in the text takes over ten seconds."""
    n = 40_000
    text = "dag {\n" + "\n".join(f"V{i} -> V{i + 1}" for i in range(n)) + "\n}\n"
    start = time.process_time()
    g = parse_dagitty(text)
    seconds = time.process_time() - start
    assert len(g) == n + 1 and len(g.directed) == n
    assert seconds < 3.0, f"{n} edges took {seconds:.1f} s"
