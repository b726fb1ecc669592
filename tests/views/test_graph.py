"""The app and its Graph page driven headless with Streamlit's AppTest (no browser).

Each test runs the real app.py (navigation, sidebar, page) and the real identification engine; the
expected answers are the textbook ones (napkin formula, bow arc not identifiable).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.graph import ADMG
from tests.helpers import APP
from workbench import graph_state
from workbench.graph_files import load_example
from workbench.keys import GraphPage, Shared

PAGES = ["views/graph.py", "views/data.py", "views/train.py", "views/explore.py", "views/effects.py"]


@pytest.fixture(autouse=True)
def fresh_workspace_root(tmp_path, monkeypatch):
    """Each test starts from an empty workspace folder, so no graph saved by an earlier run (or by a
    person using the app in this checkout) is restored into the session."""
    monkeypatch.setenv("CAUSAL_WORKBENCH_WORKSPACES", str(tmp_path / "workspaces"))


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pick_example(at: AppTest, name: str) -> AppTest:
    at.selectbox(key=GraphPage.EXAMPLE_PICK).set_value(name).run()
    assert not at.exception
    return at


def ask(at: AppTest, treatment: list[str], outcome: list[str], given: list[str] = ()) -> AppTest:
    at.multiselect(key=Shared.TREATMENT).set_value(treatment)
    at.multiselect(key=Shared.OUTCOME).set_value(outcome)
    at.multiselect(key=Shared.GIVEN).set_value(list(given)).run()
    assert not at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def form(at: AppTest, family, node: str | None = None) -> str:
    """The key of a Graph page form widget: keyed by the current graph's form tag (and node)."""
    tag = graph_state.form_tag(at.session_state[Shared.GRAPH])
    return family(tag if node is None else f"{tag}_{node}")


def test_app_and_every_page_render_without_exceptions():
    at = start()
    assert [t.value for t in at.title] == ["Causal graph"]
    sidebar = " ".join(m.value for m in at.sidebar.markdown) + " ".join(c.value for c in at.sidebar.caption)
    assert "napkin" in sidebar and "4 nodes" in sidebar
    assert any(dev in sidebar for dev in ("CPU", "CUDA", "MPS"))
    for page, title in zip(PAGES[1:], ["Data", "Train", "Explore", "Effects"], strict=True):
        at.switch_page(page).run()
        assert not at.exception, page
        assert [t.value for t in at.title] == [title]
        if any("This step is planned" in i.value for i in at.info):  # a page not built yet
            assert at.code, f"{page} shows its command-line equivalent"
            assert not at.button and not at.selectbox, f"{page} must not show widgets that do nothing yet"
    at.switch_page(PAGES[0]).run()
    assert not at.exception
    # Query choices survive a trip to another page.
    assert at.multiselect(key=Shared.TREATMENT).value == ["X"]


def test_napkin_query_shows_the_napkin_formula():
    at = pick_example(start(), "bow")
    at = pick_example(at, "napkin")
    at = ask(at, ["X"], ["Y"])
    assert not errors(at)
    assert any("is identifiable" in s.value for s in at.success)
    (latex,) = [x.value.strip("$\n ") for x in at.latex]
    # sum_w1 P(x, y | w1, w2) P(w1) / sum_w1 P(x | w1, w2) P(w1)  (the napkin formula)
    assert latex.startswith(r"P(Y \mid \mathrm{do}(X)) =")
    assert r"\frac" in latex and latex.count(r"\sum_{W_{1}}") == 2
    assert "P(X, Y | W1, W2)" in at.code[0].value.replace("P(Y, X", "P(X, Y")


def test_bow_arc_is_not_identifiable_and_names_the_hedge():
    at = ask(pick_example(start(), "bow"), ["X"], ["Y"])
    (err,) = errors(at)
    assert "not identifiable" in err
    assert not at.latex
    why = " ".join(m.value for m in at.markdown)
    assert "hedge" in why and "F = {X, Y}" in why


def test_malformed_dagitty_text_shows_one_line_and_keeps_the_graph():
    at = start()
    before = at.session_state[Shared.GRAPH]
    at.text_area(key=Shared.GRAPH_TEXT).input("dag { X -> ; }").run()  # DAGitty reads ';' as a space
    assert not at.exception
    (err,) = errors(at)
    assert "dagitty" in err and "\n" not in err
    assert at.session_state[Shared.GRAPH] == before
    # The query still works on the kept graph.
    assert any("is identifiable" in s.value for s in at.success)


@pytest.mark.parametrize(
    "text, words",
    [
        ("dag { A -> B -> C -> A }", "directed cycle"),
        ("dag { A -> A }", "self-loop"),
        ('{"nodes": [{"name": "A"}], "directed": [["A", "Q"]]}', "unknown node"),
        ('{"nodes": [{"name": "A", "type": "image"}]}', "shape"),
        ("", "empty"),
    ],
)
def test_bad_model_code_is_refused_with_a_clear_line(text, words):
    at = start()
    before = at.session_state[Shared.GRAPH]
    at.text_area(key=Shared.GRAPH_TEXT).input(text).run()
    assert not at.exception
    (err,) = errors(at)
    assert words in err
    assert at.session_state[Shared.GRAPH] == before


def test_typed_model_code_redraws_live_with_latents_projected():
    at = start()
    at.text_area(key=Shared.GRAPH_TEXT).input("dag { U [latent]\n U -> A\n U -> B\n A -> B }").run()
    assert not errors(at)
    g = at.session_state[Shared.GRAPH]
    assert set(g.names) == {"A", "B"} and g.has_bidirected("A", "B") and g.has_directed("A", "B")
    # Old query choices naming vanished nodes are dropped, so nothing refers to X or Y any more.
    assert at.multiselect(key=Shared.TREATMENT).value == []
    ask(at, ["A"], ["B"])
    assert "not identifiable" in errors(at)[0]


@pytest.mark.parametrize(
    "treatment, outcome, given, words",
    [
        (["X"], ["X"], [], "cannot be in both the treatment and the outcome"),
        (["X"], [], [], "choose at least one outcome"),
        (["X"], ["Y"], ["Y"], "cannot be in both the outcome and the conditioning set"),
    ],
)
def test_bad_queries_show_a_red_line_not_a_traceback(treatment, outcome, given, words):
    at = ask(start(), treatment, outcome, given)
    (err,) = errors(at)
    assert words in err
    assert not at.latex


def test_editing_nodes_and_edges_through_widgets():
    at = pick_example(start(), "backdoor")
    # Add a categorical node M and put it between X and Y.
    at.text_input(key=GraphPage.NEW_NAME).input("M")
    at.selectbox(key=GraphPage.NEW_TYPE).set_value("categorical").run()
    at.number_input(key=GraphPage.NEW_LEVELS).set_value(4)
    at.button(key=GraphPage.ADD_NODE).click().run()
    assert not errors(at)
    g: ADMG = at.session_state[Shared.GRAPH]
    assert g.node("M").type == "categorical" and g.node("M").levels == 4
    for a, b in (("X", "M"), ("M", "Y")):
        at.selectbox(key=form(at, GraphPage.edge_from)).set_value(a)
        at.selectbox(key=form(at, GraphPage.edge_to)).set_value(b)
        at.button(key=GraphPage.ADD_EDGE).click().run()
        assert not errors(at)
    # A cycle is refused and the graph kept.
    kept = at.session_state[Shared.GRAPH]
    at.selectbox(key=form(at, GraphPage.edge_from)).set_value("Y")
    at.selectbox(key=form(at, GraphPage.edge_to)).set_value("X")
    at.button(key=GraphPage.ADD_EDGE).click().run()
    assert "directed cycle" in errors(at)[0]
    assert at.session_state[Shared.GRAPH] == kept
    # A bidirected edge, then removing it again.
    at.radio(key=GraphPage.EDGE_KIND).set_value(at.radio(key=GraphPage.EDGE_KIND).options[1])
    at.selectbox(key=form(at, GraphPage.edge_from)).set_value("M")
    at.selectbox(key=form(at, GraphPage.edge_to)).set_value("Z")
    at.button(key=GraphPage.ADD_EDGE).click().run()
    assert at.session_state[Shared.GRAPH].has_bidirected("M", "Z")
    at.selectbox(key=form(at, GraphPage.edge_pick)).set_value("M <-> Z")
    at.button(key=GraphPage.REMOVE_EDGE).click().run()
    assert not at.session_state[Shared.GRAPH].has_bidirected("M", "Z")
    # Rename Z -> C, make C an image node, delete M.
    at.selectbox(key=form(at, GraphPage.edit_node)).set_value("Z").run()
    at.text_input(key=form(at, GraphPage.new_name_of, "Z")).input("C")
    at.button(key=GraphPage.RENAME).click().run()
    g = at.session_state[Shared.GRAPH]
    assert "Z" not in g and g.has_directed("C", "X") and g.has_directed("C", "Y")
    assert at.selectbox(key=form(at, GraphPage.edit_node)).value == "C"
    at.selectbox(key=form(at, GraphPage.type_of, "C")).set_value("image").run()
    at.text_input(key=form(at, GraphPage.shape_of, "C")).input("3x8x8")
    at.button(key=GraphPage.RETYPE).click().run()
    assert at.session_state[Shared.GRAPH].node("C").shape == (3, 8, 8)
    at.selectbox(key=form(at, GraphPage.edit_node)).set_value("M").run()
    at.button(key=GraphPage.DELETE).click().run()
    g = at.session_state[Shared.GRAPH]
    assert "M" not in g and set(g.names) == {"C", "X", "Y"}
    # The model-code text follows every edit.
    assert ADMG.from_dagitty(at.text_area(key=Shared.GRAPH_TEXT).value) == g
    # Duplicate names are refused.
    at.text_input(key=GraphPage.NEW_NAME).input("X")
    at.button(key=GraphPage.ADD_NODE).click().run()
    assert "already exists" in errors(at)[0]


def test_upload_replaces_the_graph_and_a_bad_upload_keeps_it():
    at = start()
    frontdoor = load_example("frontdoor")
    at.file_uploader(key=GraphPage.UPLOAD).set_value(("fd.json", frontdoor.dumps().encode(), "application/json")).run()
    assert not errors(at)
    assert at.session_state[Shared.GRAPH] == frontdoor and at.session_state[Shared.GRAPH_NAME] == "fd"
    assert any("is identifiable" in s.value for s in at.success)  # front-door: roles pre-fill X, Y
    at.file_uploader(key=GraphPage.UPLOAD).set_value(("broken.dagitty", b"dag { A -> B -> A }", "text/plain")).run()
    (err,) = errors(at)
    assert err.startswith("broken.dagitty:") and "cycle" in err
    assert at.session_state[Shared.GRAPH] == frontdoor


def test_download_buttons_offer_both_formats():
    at = start()
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["JSON", "dagitty"]


def test_picking_the_same_example_after_an_edit_reloads_it():
    at = start()
    assert at.selectbox(key=GraphPage.EXAMPLE_PICK).value == "napkin"
    at.text_area(key=Shared.GRAPH_TEXT).input("dag { A -> B }").run()
    assert at.selectbox(key=GraphPage.EXAMPLE_PICK).value is None  # the graph is no longer the example
    at.selectbox(key=GraphPage.EXAMPLE_PICK).set_value("napkin").run()
    assert at.session_state[Shared.GRAPH] == load_example("napkin")
    assert at.multiselect(key=Shared.TREATMENT).value == ["X"]  # roles pre-fill the query again


def test_a_graph_set_by_another_page_shows_here_without_stale_choices():
    at = start()
    at.switch_page(PAGES[4]).run()
    graph_state.set_graph(at.session_state, ADMG.from_dagitty("dag { A -> B ; A <-> B }"), "napkin")  # same name, other graph
    at.switch_page(PAGES[0]).run()
    assert not at.exception and not errors(at)
    assert at.selectbox(key=GraphPage.EXAMPLE_PICK).value is None  # not claiming to be the napkin example
    assert at.multiselect(key=Shared.TREATMENT).value == [] and at.multiselect(key=Shared.OUTCOME).value == []
    assert ADMG.from_dagitty(at.text_area(key=Shared.GRAPH_TEXT).value) == at.session_state[Shared.GRAPH]


def test_conditional_query_goes_through_idc():
    at = ask(pick_example(start(), "backdoor"), ["X"], ["Y"], ["Z"])
    assert not errors(at)
    (latex,) = [x.value.strip("$\n ") for x in at.latex]
    # P(y | do(x), z) = P(y | x, z) in the back-door graph (rule 2: Y is d-separated from X given Z
    # once X's outgoing edges are cut).
    assert latex.startswith(r"P(Y \mid \mathrm{do}(X), Z) = P\left(Y \mid")
    assert latex.endswith(r"\right)") and "X" in latex.split("=")[1] and "Z" in latex.split("=")[1]
    assert r"\sum" not in latex
