"""workbench.graph_files: the shipped examples, typed and uploaded model code, downloads."""

from __future__ import annotations

import pytest

from core.graph import ADMG, GraphError
from tests.workbench.examples import napkin
from workbench import graph_editor, graph_files


def test_examples_are_all_present_and_valid():
    names = graph_files.example_names()
    assert names == ["backdoor", "bow", "faces", "frontdoor", "morpho", "napkin"]
    for name in names:
        g = graph_files.load_example(name)
        assert len(g) >= 2
        assert graph_files.example_description(name), name
        assert all(isinstance(n.get("pos"), tuple) for n in g.nodes), f"{name}: every node has a position"


def test_example_graphs_have_the_published_structure():
    g = napkin()
    assert set(g.directed) == {("W1", "W2"), ("W2", "X"), ("X", "Y")}
    assert {frozenset(e) for e in g.bidirected} == {frozenset(("W1", "X")), frozenset(("W1", "Y"))}
    m = graph_files.load_example("morpho")
    assert m.parents("intensity") == {"thickness"}
    assert m.parents("image") == {"thickness", "intensity", "digit"}
    assert m.node("image").type == "image" and m.node("digit").levels == 10
    f = graph_files.load_example("faces")
    assert f.has_bidirected("Male", "Young") and f.parents("Face") == set(f.names) - {"Face"}
    assert f.children("Male") == {"Beard", "Lipstick", "Face"} and not f.parents("Eyeglasses")
    assert graph_files.load_example("bow").has_bidirected("X", "Y")


def test_unknown_example_is_one_line():
    with pytest.raises(GraphError, match="no example graph named 'nope'"):
        graph_files.load_example("nope")


def test_upload_reads_json_and_dagitty_and_names_the_file_on_error():
    g = napkin()
    assert graph_files.graph_from_upload("g.json", g.dumps().encode()) == g
    assert graph_files.graph_from_upload("g.dagitty", g.to_dagitty().encode()) == g
    assert graph_files.graph_from_upload("g.txt", b"dag { A -> B }").same_structure(ADMG.from_edges("AB", [("A", "B")]))
    with pytest.raises(GraphError, match=r"^g\.json: malformed graph JSON"):
        graph_files.graph_from_upload("g.json", b'{"nodes": [')
    with pytest.raises(GraphError, match="not a UTF-8 text file"):
        graph_files.graph_from_upload("g.json", b"\xff\xfe\x00")
    with pytest.raises(GraphError, match="the file is empty"):
        graph_files.graph_from_upload("g.dagitty", b"  \n")
    with pytest.raises(GraphError, match="the model code is empty"):
        graph_files.graph_from_text("   ")


def test_download_payload_round_trips():
    g = napkin()
    text, fname, mime = graph_files.download_payload(g, "json", "my graph!")
    assert fname == "my_graph.json" and mime == "application/json" and ADMG.from_json(text) == g
    text, fname, _ = graph_files.download_payload(g, "dagitty", "napkin")
    assert fname == "napkin.dagitty" and ADMG.from_dagitty(text) == g
    with pytest.raises(GraphError, match="unknown graph format"):
        graph_files.download_payload(g, "png")


def test_loaded_example_recognises_only_unedited_examples():
    g = napkin()
    assert graph_files.loaded_example(g, "napkin") == "napkin"
    assert graph_files.loaded_example(graph_editor.add_edge(g, "W2", "Y"), "napkin") is None
    assert graph_files.loaded_example(g, "bow") is None and graph_files.loaded_example(g, "my upload") is None


def test_download_keeps_the_question_as_roles():
    g = ADMG.from_edges(["Z", "X", "Y"], [("Z", "X"), ("X", "Y"), ("Z", "Y")])
    question = {"treatment": ["X"], "outcome": ["Y"], "given": ["Z"]}
    for fmt in ("json", "dagitty"):
        text, _, _ = graph_files.download_payload(g, fmt, "q", question=question)
        back = graph_files.graph_from_text(text)
        assert {n.name: n.get("role") for n in back.nodes} == {"Z": "adjusted", "X": "exposure", "Y": "outcome"}


def test_an_empty_dagitty_model_is_a_new_graph():
    for text in ("dag { }", "dag {\n}\n", "{}"):
        assert len(graph_files.graph_from_text(text)) == 0
    with pytest.raises(GraphError, match="the model code is empty"):
        graph_files.graph_from_text("  ")


def test_the_shipped_example_faces_graph_is_the_shipped_workspaces_graph():
    from core.runs.builtin import BUILTIN_DEFAULT, BUILTIN_ROOT
    from core.runs.workspace import graph_structure

    shipped = ADMG.from_json((BUILTIN_ROOT / BUILTIN_DEFAULT / "graph.json").read_text())
    assert graph_structure(graph_files.load_example("faces")) == graph_structure(shipped)
