"""Loading graphs from paths or text: JSON or dagitty, told apart by how the text starts; files of any
content read as a graph or give one line (a hypothesis fuzz)."""

from __future__ import annotations

import json
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.graph import ADMG, GraphError, load_graph, parse_dagitty, parse_graph_text
from core.graph.formats import MAX_GRAPH_FILE_BYTES


def test_load_graph_from_paths_and_text(tmp_path):
    g = parse_dagitty("dag { A -> B ; A <-> B }")
    j = tmp_path / "g.json"
    j.write_text(g.dumps())
    d = tmp_path / "g.dagitty"
    d.write_text(g.to_dagitty())
    assert load_graph(str(j)) == g and load_graph(str(d)) == g
    assert load_graph(g.dumps()) == g and load_graph(g.to_dagitty()) == g
    with pytest.raises(GraphError, match="graph file not found: nope.json"):
        load_graph("nope.json")
    assert parse_graph_text('  {"nodes": ["A"]}') == ADMG.from_edges(["A"])
    assert parse_graph_text("{ A -> B }").directed == (("A", "B"),)




def test_a_file_name_with_braces_is_a_file_and_odd_files_are_one_line(tmp_path):
    g = parse_dagitty("dag { A -> B }")
    braces = tmp_path / "my{graph}.json"
    braces.write_text(g.dumps())
    assert load_graph(str(braces)) == g
    with pytest.raises(GraphError, match="is a folder, not a file"):
        load_graph(str(tmp_path))
    with pytest.raises(GraphError, match="is not a regular file"):
        load_graph("/dev/zero")
    (tmp_path / "bin.json").write_bytes(b"\x00\xff\xfe" * 10)
    with pytest.raises(GraphError, match=r"is not UTF-8 text \(byte 0xff at position 1\)"):
        load_graph(str(tmp_path / "bin.json"))
    with open(tmp_path / "big.json", "wb") as fh:
        fh.truncate(MAX_GRAPH_FILE_BYTES + 1)
    with pytest.raises(GraphError, match="more than the limit of 67,108,864"):
        load_graph(str(tmp_path / "big.json"))
    with pytest.raises(GraphError, match="nests arrays or objects more than 64 deep"):
        load_graph('{"nodes": ' + "[" * 200_000 + "]" * 200_000 + "}")


# ---- fuzz: whatever a graph file holds, it reads as a graph or as one line naming the problem

json_scalars = (st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.floats() | st.text(max_size=12)
                | st.sampled_from(["binary", "categorical", "image", "continuous", "A", "B", "levels", "shape"]))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(
    st.sampled_from(["name", "type", "levels", "shape", "nodes", "directed", "bidirected", "pos", "x"]), c,
    max_size=4), max_leaves=16)
graph_objects = st.fixed_dictionaries(
    {"nodes": st.lists(st.sampled_from(["A", "B", "C"]) | json_values, max_size=4)},
    optional={"directed": json_values | st.lists(st.lists(st.sampled_from(["A", "B", "C"]), max_size=3), max_size=3),
              "bidirected": json_values},
)


def one_line_or_graph(text: str | bytes, tmp_path_factory) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzzed_graph.json"  # one file, rewritten for each example
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        with warnings.catch_warnings():  # a warning would be a second line on the command line's stderr
            warnings.simplefilter("error", RuntimeWarning)
            warnings.simplefilter("error", UserWarning)
            assert isinstance(load_graph(str(path)), ADMG)
    except GraphError as e:
        assert "\n" not in str(e) and len(str(e)) < 400, str(e)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obj=graph_objects)
def test_fuzz_node_link_json(obj, tmp_path_factory):
    one_line_or_graph(json.dumps(obj), tmp_path_factory)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300) | st.text(alphabet=st.sampled_from(list('{}[]":,-<>;= \nABdagxyz01')), max_size=80))
def test_fuzz_bytes_and_dagitty_like_text(data, tmp_path_factory):
    one_line_or_graph(data, tmp_path_factory)
