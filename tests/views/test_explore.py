"""The Explore page (``views/explore.py``): four galleries with probe bars on an image world, the
image picker (data and generated images), hedges, untrained nodes, conditional queries, and ID-GEN
fitted in the background on request.  The numbers behind the galleries are tested with their logic
in ``tests/workbench/explore/``."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import workspace as W
from tests.helpers import APP, make_trained_workspace
from workbench.explore.controls import intervention_control
from workbench.explore.idgen_fit import idgen_settings
from workbench.keys import ExplorePage as K

PAGE = "views/explore.py"


@pytest.fixture(scope="module")
def morpho(tmp_path_factory):
    """A tiny Morpho-MNIST workspace (16x16, 400 units), every node trained 20 steps (VAE images)."""
    root = tmp_path_factory.mktemp("morpho")
    ws, ds, world = make_trained_workspace(root, "morpho_digits", n=400, steps=20, params={"size": 16},
                                           kinds={"image": "vae"})
    return root, ws, ds, world


@pytest.fixture(scope="module")
def backdoor_partial(tmp_path_factory):
    """Back-door world with Z and Y trained a few steps and X left untrained."""
    root = tmp_path_factory.mktemp("backdoor")
    return (root, *make_trained_workspace(root, "backdoor", n=2000, steps=5, train_nodes=["Z", "Y"]))


def open_page(root, monkeypatch, draws: int = 100) -> AppTest:
    """The Explore page on the workspaces under ``root``; the read-outs take ``draws`` draws a column
    (the page's 2000 cost the Morpho-MNIST probe minutes on a loaded 2-core machine)."""
    from workbench.explore import changes

    monkeypatch.setattr(changes, "READOUT_DRAWS", draws)
    monkeypatch.setenv(W.ENV_ROOT, str(root))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Explore"]
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def wait_readouts(at: AppTest, timeout: float = 120.0) -> AppTest:
    """Rerun until the large-sample read-outs (read in the background) are in."""
    t0 = time.time()
    while any(c.startswith("Reading ") for c in captions(at)):
        assert time.time() - t0 < timeout, ("the read-outs did not come", captions(at))
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def gallery_titles(at: AppTest) -> list[str]:
    """Bold gallery titles in the main area (the sidebar has bold lines of its own)."""
    return [m.value for m in at.main.markdown if m.value.startswith("**") and not m.value.startswith("**Why")]


# ---- the page


def test_image_world_shows_five_galleries_each_one_image_with_large_sample_read_outs(morpho, monkeypatch):
    root, ws, ds, world = morpho
    at = open_page(root, monkeypatch)
    assert (at.session_state[K.TREATMENT], at.session_state[K.OUTCOME]) == ("thickness", "image")
    titles = gallery_titles(at)
    assert titles == ["**Observational**", "**Interventional (model)**", "**Counterfactual (model)**",
                      "**Truth (world)**", "**Truth (world)**"]
    # one composite image per gallery, plus the factual -> counterfactual pairs (model and truth)
    assert [len(i.proto.imgs) for i in at.image] == [1] * 7
    assert [i.proto.imgs[0].caption for i in at.image][:2] == ["16 data rows", "16 draws"]
    assert not at.get("plotly_chart")  # the numbers are text now, from a large sample
    cap = captions(wait_readouts(at))
    assert any(c.startswith("P(image | do(thickness = ") for c in cap)
    # every gallery's numbers come from 2000 draws (the observational one: its matching rows)
    reads = [c for c in cap if " draws: " in c or " matching rows: " in c]
    assert len(reads) == 5 and all("mean thickness" in c and "[" in c for c in reads), reads
    assert sum(c.startswith("100 draws: ") for c in reads) == 4, reads
    seconds = at.session_state[K.SECONDS]
    print(f"16-image gallery refresh (VAE, 16x16, 4 columns): {seconds:.2f} s")
    assert seconds < 10
    # a new seed reruns the galleries
    before = at.image[1].proto.imgs[0].url
    at.number_input(key=K.SEED).set_value(1).run()
    assert not at.exception and at.image[1].proto.imgs[0].url != before


def test_image_picker_sets_do_image(morpho, monkeypatch):
    root, ws, ds, world = morpho
    at = open_page(root, monkeypatch)
    at.selectbox(key=K.TREATMENT).set_value("image").run()
    at.selectbox(key=K.OUTCOME).set_value("digit").run()
    assert not at.exception
    rows = intervention_control(ds.graph.node("image"), ds).rows
    at.button(key=K.PICK.format("image", f"r{rows[2]}")).click().run()
    assert at.session_state[K.IMAGE_ROW.format("image")] == rows[2]
    assert any(m.value == f"do(image = this image): data row {rows[2]}" for m in at.markdown)
    # do(image) cannot move the digit (the image has no children): the model gallery is the digit prior
    assert any(c.startswith("P(digit | do(image = an image))") for c in captions(at))


def test_hedge_instead_of_a_gallery(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "bow", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    assert any("**Why:** the hedge is" in m.value for m in at.markdown)
    assert any("not identifiable" in w.value.lower() for w in at.warning), [w.value for w in at.warning]
    assert any("hidden confounders" in i.value for i in at.info)  # no counterfactual on confounded graphs


def test_untrained_outcome_is_a_clear_message(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "backdoor", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    msgs = [i.value for i in at.info]
    assert "no trained model for Y (needed for Y under do(X)): train it on the Train page" in msgs


@pytest.mark.slow  # trains ID-GEN's neural models in the page (about 25 s alone, minutes on a loaded 2-core box)
def test_confounded_image_graph_fits_idgen_on_request_then_reuses_it(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "napkin_digits", n=300, steps=0, params={"size": 16})
    ws.update_settings(nodes={"X": {"kind": "vae"}, "Y": {"kind": "vae"}}, idgen_steps=3)
    assert idgen_settings(ws.settings) == {"nodes": {"X": {"kind": "vae"}, "Y": {"kind": "vae"}}, "idgen_steps": 3}
    at = open_page(tmp_path, monkeypatch)
    assert (at.session_state[K.TREATMENT], at.session_state[K.OUTCOME]) == ("X", "Y")
    plan_info = next(i.value for i in at.info if "ID-GEN needs" in i.value)
    assert "p(Y | W2, X) on synthetic P(W1, X, Y | do(W2))" in plan_info  # the napkin's line-7 step
    assert any("not fitted yet" in i.value for i in at.info)
    assert at.number_input(key=K.IDGEN_STEPS).value == 3
    at.button(key=K.FIT_IDGEN).click().run()  # starts the fit in the background: the page stays usable
    assert not at.exception, [e.value for e in at.exception]
    t0 = time.time()
    while any("not fitted yet" in i.value for i in at.info):
        assert time.time() - t0 < 300, "the background ID-GEN fit did not finish"
        time.sleep(0.5)
        at.run()
        assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
    assert not any("not fitted yet" in i.value for i in at.info)
    # a new seed samples again from the cached network: no plan, no fit button
    at.number_input(key=K.SEED).set_value(3).run()
    assert not any("ID-GEN needs" in i.value for i in at.info)
    assert any(m.value == "**Interventional (model) · ID-GEN**" for m in at.markdown)


# ---- conditional queries and generated do-images


def test_conditional_query_on_a_confounded_world(monkeypatch, tmp_path):
    """Front-door world: P(M | do(X = 1), Y = 1) by ID-GEN's IDC path, beside the data rows with
    X = 1 and Y = 1 and the world's do(X = 1) units with Y = 1 (numbers: tests/workbench/explore/test_galleries.py)."""
    make_trained_workspace(tmp_path, "frontdoor", n=3000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    at.selectbox(key=K.OUTCOME).set_value("M").run()
    assert at.multiselect(key=K.GIVEN).options == ["Y"]
    at.multiselect(key=K.GIVEN).set_value(["Y"]).run()
    at.radio(key=K.VALUE.format("X")).set_value(1).run()
    at.radio(key=K.GIVEN_VALUE.format("Y")).set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]
    assert gallery_titles(at) == ["**Observational**", "**Interventional (model) · ID-GEN**",
                                  "**Counterfactual (model)**", "**Truth (world)**", "**Truth (world)**"]
    cap = captions(wait_readouts(at))
    assert "P(M | X = 1, Y = 1)" in cap and cap.count("P(M | do(X = 1), Y = 1)") == 2  # model and truth
    # the share of M = 1 from the large samples under each gallery that could be drawn
    reads = [c for c in cap if (" draws: M " in c or " matching rows: M " in c) and "% [" in c]
    assert len(reads) == 4, cap
    # a treatment change drops a conditioning node that is no longer allowed
    at.selectbox(key=K.TREATMENT).set_value("Y").run()
    assert not at.exception and "Y" not in at.multiselect(key=K.GIVEN).value


def test_non_identifiable_conditional_query_shows_the_hedge(monkeypatch, tmp_path):
    make_trained_workspace(tmp_path, "napkin", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    assert (at.session_state[K.TREATMENT], at.session_state[K.OUTCOME]) == ("X", "Y")
    assert not any("**Why:** the hedge is" in m.value for m in at.markdown)  # P(Y | do(X)) is identifiable
    at.multiselect(key=K.GIVEN).set_value(["W2"]).run()
    assert not at.exception
    assert any("**Why:** the hedge is" in m.value for m in at.markdown)
    assert any("P(Y | do(X), W2) is not identifiable" in w.value for w in at.warning), [w.value for w in at.warning]


def test_conditional_query_on_a_markovian_graph(backdoor_partial, monkeypatch):
    root, ws, ds, world = backdoor_partial
    at = open_page(root, monkeypatch)
    at.multiselect(key=K.GIVEN).set_value(["Z"]).run()
    at.radio(key=K.GIVEN_VALUE.format("Z")).set_value(0).run()
    assert not at.exception
    assert any(t.startswith("**Interventional (model)") for t in gallery_titles(at))
    x = at.session_state[K.VALUE.format("X")]
    assert captions(at).count(f"P(Y | do(X = {x}), Z = 0)") == 2


def test_image_picker_offers_generated_images(morpho, monkeypatch):
    root, ws, ds, world = morpho
    at = open_page(root, monkeypatch)
    at.selectbox(key=K.TREATMENT).set_value("image").run()
    at.selectbox(key=K.OUTCOME).set_value("digit").run()
    at.radio(key=K.IMAGE_SOURCE.format("image")).set_value("model").run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key=K.PICK.format("image", "g2")).click().run()
    note = next(m.value for m in at.markdown if m.value.startswith("do(image = this image)"))
    assert note.startswith("do(image = this image): generated image 3 (from the trained model of image, its parents")
    assert any(c.startswith("P(digit | do(image = an image))") for c in captions(at))
    before = at.image[0].proto.imgs[0].url
    at.button(key=K.NEW_IMAGES.format("image")).click().run()
    assert not at.exception and at.image[0].proto.imgs[0].url != before  # new candidates
