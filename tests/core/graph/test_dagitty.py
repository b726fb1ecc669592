"""dagitty model code: arrows, chains, groups, comments, attributes, ids, the legacy format, latent
projection; a corpus written from DAGitty's documented syntax; every malformed input gives a one-line
GraphError; the writer's output reads back with roles, positions and the question; reading is linear
and does not recurse."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from core.graph import ADMG, GraphError, Node, parse_dagitty
from core.graph.dagitty import read_dagitty, write_dagitty
from core.graph.formats import with_question, write_node_link


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
        ("mag { A -> B }", "'mag' models are not supported"),
        ("pag { A @-> B }", "'pag' models are not supported"),
        ("pdag { A -- B }", "undirected edge A -- B does not say which variable causes which (orient it)"),
        ("dag { A -> B", "missing closing '}'"),
        ("dag { A -> B } C", "text after the closing '}' at line 1"),
        ("A -> B }", "unexpected '}' at line 1"),
        ("dag { A -- B }", "undirected edge A -- B"),
        ("dag { A @-> B }", "edge A @-> B has a circle mark"),
        ("dag { A -> }", "expected a node after '->', got '}' at line 1"),
        ("dag { A -> ", "model code ends after '->' (line 1)"),
        ("dag { -> A }", "'->' has no node before it at line 1"),
        ("dag { A -> -> B }", "expected a node between '->' and '->'"),
        ("dag { A [exposure] -> B }", "'->' has no node before it"),
        ("dag {\n A -> B\n B -> $ }", "cannot read '$ }' at line 3"),
        ("dag { A [exposure }", "unexpected '}' at line 1 inside the '[' opened at line 1"),
        ("dag { A [pos= ] }", "attribute pos has no value"),
        ('dag { A [pos="1"] }', "bad pos '1' for A"),
        ('dag { A [pos="x,y"] }', "bad pos 'x,y' for A"),
        ('dag { A [type] }', "attribute type of A has no value"),
        ('dag { A [type="categorical:many"] }', "node A: bad type attribute"),
        ('dag { A [type="ordinal"] }', "bad type 'ordinal'"),
        ('dag { A [type="image:2x4x4"] }', "an image node needs shape"),
        ("dag { A -> A }", "self-loop A -> A at line 1"),
        ("dag { A -> B -> C -> A }", "directed cycle"),
        ("dag { }", "declares no nodes"),
        ("dag { A [exposure", "the '[' at line 1 is never closed"),
        ("dag {\n { A B -> C\n}", "missing closing '}'"),
        ("{ A -> { B", "the group opened at line 1 is never closed"),
        ('dag { "A -> B }', "string opened at line 1 is not closed on that line"),
        ("dag { /* A -> B }", "comment opened at line 1 is never closed"),
        ('dag { "a" + B }', "'+' must join two quoted strings"),
        ("dag { = }", "unexpected '=' at line 1"),
        ("dag { A ] }", "unexpected ']' at line 1"),
        ("dag { bb= }", "graph option bb has no value"),
        ("X E @0,0\nY O @1,0\n\nX Z", "unknown node 'Z' at line 4"),
        ("X E @0,0\n\nX X", "self-loop X -> X at line 3"),
        ("X E @a,0\nY\n\nX Y", "bad position '@a,0' at line 1"),
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
    with pytest.raises(GraphError, match=r"expected a node after '->', got '\]' at line 4323"):
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


# ---- DAGitty's whole syntax: the corpus, attributes, ids, legacy format, export


CORPUS = Path(__file__).parent / "dagitty_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


def test_the_corpus_lists_every_file():
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.glob("*.dagitty"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_reads_as_expected_and_round_trips(name):
    """Each file of the corpus (written from DAGitty's documented syntax: the R package's examples,
    what dagitty.net and the R package export, the legacy format) reads to the nodes, edges, roles,
    positions and ids listed in expected.json, or fails with the listed one-line message; what
    reads is written back and reads again to the same graph."""
    text = (CORPUS / name).read_text()
    want = EXPECTED[name]
    if "error" in want:
        with pytest.raises(GraphError, match=re.escape(want["error"])) as info:
            parse_dagitty(text)
        assert "\n" not in str(info.value)
        return
    g = parse_dagitty(text)
    assert list(g.names) == want["nodes"]
    assert [list(e) for e in g.directed] == want["directed"]
    assert [list(e) for e in g.bidirected] == want["bidirected"]
    assert {n.name: n.get("role") for n in g.nodes if n.get("role")} == want.get("roles", {})
    assert {n.name: list(n.get("pos")) for n in g.nodes if n.get("pos") is not None} == want.get("pos", {})
    assert {n.name: n.get("dagitty_name") for n in g.nodes if n.get("dagitty_name")} == want.get("dagitty_names", {})
    assert {n.name: n.get("label") for n in g.nodes if n.get("label")} == want.get("labels", {})
    assert {n.name: n.type_code() for n in g.nodes if n.type != "binary"} == want.get("types", {})
    written = g.to_dagitty()
    assert parse_dagitty(written) == g, written


def test_attributes_in_any_order_and_abbreviated():
    a = parse_dagitty('dag { X [pos="1,2", exposure] Y [o] Z [a; pos="0,0"] S [s] }')
    b = parse_dagitty('dag { X [exposure pos="1,2"] Y [target] Z [pos="0,0",adjusted] S [selected] }')
    assert a == b
    assert [n.get("role") for n in a.nodes] == ["exposure", "outcome", "adjusted", "selected"]


def test_graph_options_sit_anywhere_and_are_dropped():
    one_line = parse_dagitty('dag {\nbb="-1,-1,1,1" A [exposure,pos="0.100,0.200"]\nA -> B }')
    separate = parse_dagitty('dag {\nA [exposure,pos="0.100,0.200"]\nbb="-1,-1,1,1"\nA -> B }')
    assert one_line == separate and one_line.node("A").get("pos") == (0.1, 0.2)
    assert parse_dagitty('digraph { graph [bb="0,0,1,1"] node [shape=box] a -> b }').names == ("a", "b")


def test_edge_attributes_do_not_become_node_attributes():
    g = parse_dagitty('dag { x -> y [pos="1,1", beta=".3"] ; y [outcome] }')
    assert g.node("y").get("pos") is None and g.node("y").get("role") == "outcome"


def test_ids_that_are_not_node_names_are_renamed_and_written_back():
    g = parse_dagitty('dag { "a b" -> a_b -> "a-b" ; 1 -> "a b" ; "" -> 1 }')
    assert g.names == ("a_b_2", "a_b", "a_b_3", "v1", "v")  # the valid id keeps its name
    assert g.node("a_b_2").get("dagitty_name") == "a b" and g.node("a_b").get("dagitty_name") is None
    text = g.to_dagitty()
    assert '"a b" -> a_b' in text and '"a-b"' in text and "1 -> " in text
    assert parse_dagitty(text) == g
    renamed = ADMG([Node("FH", extra=(("dagitty_name", "Family history"),)), Node("Y")], [("FH", "Y")])
    assert renamed.to_dagitty() == "dag {\nFH\nY\nFH -> Y\n}\n"  # renamed since it was read: its new name


def test_pdag_without_undirected_edges_is_a_dag():
    assert parse_dagitty("pdag { a -> b <-> c }") == parse_dagitty("dag { a -> b <-> c }")


def test_a_node_may_be_called_like_a_graph_kind():
    g = parse_dagitty("dag -> graph")
    assert set(g.directed) == {("dag", "graph")}


def test_legacy_format_with_positions_flags_and_escaped_names():
    g = parse_dagitty("A E @0.5,1\nB%20C O @2,1\nU U @1,0\n\nA B%20C\nU A B%20C")
    assert g.names == ("A", "B_C") and g.directed == (("A", "B_C"),) and g.bidirected == (("A", "B_C"),)
    assert g.node("A").get("role") == "exposure" and g.node("A").get("pos") == (0.5, 1)
    assert g.node("B_C").get("dagitty_name") == "B C" and g.node("B_C").get("role") == "outcome"


def test_export_keeps_roles_positions_and_the_question():
    g = parse_dagitty('dag { Z [exposure,pos="0,1"] X [pos="1,1"] Y [pos="2,1"] S [selected] Z -> X -> Y ; Z -> Y ; Y -> S }')
    parts = with_question(g, treatment=["X"], outcome=["Y"], given=["Z"])
    back = parse_dagitty(write_dagitty(parts))
    assert {n.name: n.get("role") for n in back.nodes} == {"Z": "adjusted", "X": "exposure", "Y": "outcome", "S": "selected"}
    assert {n.name: n.get("pos") for n in back.nodes} == {n.name: n.get("pos") for n in g.nodes}
    via_json = ADMG.from_json(write_node_link(parts))
    assert via_json == back
    with pytest.raises(GraphError, match="unknown node 'Q' in the question"):
        with_question(g, treatment=["Q"])


def test_deep_nesting_does_not_recurse():
    depth = 50_000  # fifty times Python's recursion limit
    g = parse_dagitty("dag { " + "{ " * depth + "A -> B" + " }" * depth + " }")
    assert g.directed == (("A", "B"),)


@pytest.mark.slow
def test_a_five_megabyte_file_reads_in_linear_time():
    """A 5.5 MB file (the size that hung the old reader): about 330k edges, read in seconds."""
    lines = [f"Variable{i} -> Variable{i + 1} ; Variable{i} <- Root" for i in range(0, 165_000)]
    text = "dag {\n" + "\n".join(lines) + "\n}\n"
    assert len(text) > 5_000_000
    start = time.process_time()
    parts = read_dagitty(text)
    seconds = time.process_time() - start
    assert len(parts.directed) == 330_000
    assert seconds < 10.0, f"{len(text) / 1e6:.1f} MB took {seconds:.1f} s"
