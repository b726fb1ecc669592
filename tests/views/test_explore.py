"""The Explore page and its logic (``core.ui_explore``): observational, interventional and
counterfactual galleries, the ground-truth column, probe bars, hedges, untrained nodes, image picker.

Ground truth: exact do-tables of discrete worlds (ID-GEN on the front-door graph), consistency of
counterfactuals (``do(X = x)`` on units that already have ``X = x`` changes nothing, in the model
and in the world re-sampled from the data's seed), and the world's own samplers."""

from __future__ import annotations

import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.graph import ADMG, Node
from core.runs import workspace as W
from core.worlds.registry import sample_dataset
from tests.helpers import APP, make_trained_workspace
from workbench import explore as X

PAGE = "views/explore.py"


@pytest.fixture(scope="module")
def morpho(tmp_path_factory):
    """A tiny Morpho-MNIST workspace (16x16, 400 units), every node trained 20 steps (VAE images)."""
    root = tmp_path_factory.mktemp("morpho")
    ws, ds, world = make_trained_workspace(root, "morpho_digits", n=400, steps=20,
                                                          params={"size": 16}, kinds={"image": "vae"})
    return root, ws, ds, world


@pytest.fixture(scope="module")
def backdoor_partial(tmp_path_factory):
    """Back-door world with Z and Y trained a few steps and X left untrained."""
    root = tmp_path_factory.mktemp("backdoor")
    return (root, *make_trained_workspace(root, "backdoor", n=2000, steps=5, train_nodes=["Z", "Y"]))


def open_page(root, monkeypatch) -> AppTest:
    monkeypatch.setenv(W.ENV_ROOT, str(root))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Explore"]
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def gallery_titles(at: AppTest) -> list[str]:
    """Bold gallery titles in the main area (the sidebar has bold lines of its own)."""
    return [m.value for m in at.main.markdown if m.value.startswith("**") and not m.value.startswith("**Why")]


# ---- pure pieces


def test_query_nodes_keep_only_what_the_query_needs():
    g = ADMG([Node(v, "binary") for v in ["W1", "W2", "X", "Z", "Y"]],
             directed=[("W1", "W2"), ("W2", "X"), ("X", "Y"), ("Z", "Y"), ("W1", "Z")])
    keep, need = X.query_nodes(g, "X", "Y")
    assert set(keep) == {"W1", "Z", "X", "Y"} and set(need) == {"W1", "Z", "Y"}  # W2 only feeds X: cut
    keep, need = X.query_nodes(g, "X", "Y", counterfactual=True)
    assert set(need) == {"Y"}  # W1, Z keep their factual values


def test_controls_fit_the_node_types(morpho, backdoor_partial):
    _, _, ds, _ = morpho
    t = X.intervention_control(ds.graph.node("thickness"), ds)
    x = ds.column("thickness")
    assert t.kind == "slider" and x.min() <= t.lo < t.default < t.hi <= x.max()
    assert X.intervention_control(ds.graph.node("digit"), ds).kind == "select"  # 10 levels
    img = X.intervention_control(ds.graph.node("image"), ds)
    assert img.kind == "image" and len(img.rows) == X.PICKER_IMAGES and img.default == img.rows[0]
    bd = backdoor_partial[2]
    c = X.intervention_control(bd.graph.node("X"), bd)
    assert c.kind == "radio" and c.options == (0, 1) and c.labels == ("0", "1")


def test_observational_rows_have_the_value(morpho, backdoor_partial):
    _, _, ds, _ = morpho
    rows = X.matching_rows(ds, ds.graph, "image", ds.column("image")[7], 16)
    assert rows[0] == 7 or np.array_equal(ds.column("image")[rows[0]], ds.column("image")[7])
    bd = backdoor_partial[2]
    g = X.observational_gallery(bd, bd.graph, "X", 1, "Y", 16, seed=3)
    picked = [int(c[1:]) for c in g.captions]
    assert g.ok and np.all(bd.column("X")[picked] == 1) and np.array_equal(g.values, bd.column("Y")[picked])
    near = X.matching_rows(ds, ds.graph, "thickness", 2.0, 16)
    d = np.abs(ds.column("thickness") - 2.0)
    assert np.max(d[near]) <= np.min(np.delete(d, near))  # the nearest rows, nothing farther


def test_idgen_gallery_matches_the_exact_do_table():
    ds, world = sample_dataset("frontdoor", 20000, seed=0)
    hub = X.ModelHub()
    g = X.model_interventional(hub, None, ds, ds.graph, "X", 1, "Y", 20000, seed=1)
    assert g.ok and "ID-GEN" in g.title
    exact = world.do_table(["X"], ["Y"])[1, 1]
    assert abs(g.values.mean() - exact) < 0.02
    # the naive conditional is measurably different (the gap is the spurious part)
    obs = ds.column("Y")[ds.column("X") == 1].mean()
    assert abs(obs - exact) > 0.05
    assert len(hub.idgens) == 1 and X.idgen_for(hub, ds, ds.graph, "X", "Y", fit=False) is not None


def test_bow_is_not_identifiable_and_says_why():
    ds, world = sample_dataset("bow", 500, seed=0)
    g = X.model_interventional(X.ModelHub(), None, ds, ds.graph, "X", 1, "Y", 16)
    assert not g.ok and g.hedge is not None and "X" in g.hedge[0]
    assert "**Why:** the hedge is" in X.hedge_markdown(g.hedge, "X", "Y")


def test_untrained_treatment_is_fine_untrained_outcome_is_named(backdoor_partial):
    root, ws, ds, world = backdoor_partial
    hub, run = X.ModelHub(), ws.load_run()
    # X has no model, but do(X) never evaluates it
    g = X.model_interventional(hub, run, ds, ds.graph, "X", 1, "Y", 32)
    assert g.ok and g.values.shape == (32,)
    # do(Z) on X's value needs X's model
    g = X.model_interventional(hub, run, ds, ds.graph, "Z", 1, "X", 8)
    assert not g.ok and g.message == "no trained model for X (needed for X under do(Z)): train it on the Train page"


def test_counterfactuals_are_consistent_in_model_and_world(backdoor_partial):
    root, ws, ds, world = backdoor_partial
    hub, run = X.ModelHub(), ws.load_run()
    rows = X.counterfactual_units(40, 3, ds.n, seed=2)
    assert rows[0] == 3 and len(set(rows)) == 40
    have = rows[ds.column("X")[rows] == 1]
    for g in (X.model_counterfactual(hub, run, ds, ds.graph, "X", 1, "Y", have),
              X.truth_counterfactual(hub, world, ds, ds.graph, "X", 1, "Y", have)):
        assert g.ok and np.array_equal(g.values, ds.column("Y")[have]) and np.array_equal(g.factual, g.values)
    # the world's counterfactual of the data units, recomputed by hand from the same noise
    truth = X.truth_counterfactual(hub, world, ds, ds.graph, "X", 0, "Y", rows)
    units = world.sample(ds.n, seed=ds.world["seed"]).subset(rows)
    assert np.array_equal(truth.values, world.counterfactual_samples(units, {"X": 0}).values["Y"])
    # data that no longer matches its world record: refused, not silently wrong
    other = ds.subset(np.arange(ds.n)[::-1])
    g = X.truth_counterfactual(X.ModelHub(), world, other, ds.graph, "X", 0, "Y", rows)
    assert not g.ok and "does not reproduce the data" in g.message


def test_truth_column_is_the_world_sampler(morpho):
    _, _, ds, world = morpho
    g = X.truth_interventional(world, ds.graph, "thickness", 3.0, "image", 8, seed=5)
    assert np.array_equal(g.values, world.interventional_samples({"thickness": 3.0}, 8, 5).values["image"])
    probe = X.world_probe(world, ds.graph, "image")
    shares, means = X.attribute_shares(probe, g.values)
    assert set(shares.attribute) == {"digit"} and shares.share.sum() == pytest.approx(1.0)
    assert set(means) == {"thickness", "intensity"}
    # thicker strokes under do(thickness = 4) than under do(thickness = 1), as read by the probe
    thick = X.attribute_shares(probe, world.interventional_samples({"thickness": 4.0}, 64, 1).values["image"])[1]
    thin = X.attribute_shares(probe, world.interventional_samples({"thickness": 1.0}, 64, 1).values["image"])[1]
    assert thick["thickness"] > thin["thickness"] + 1.0
    assert X.world_probe(None, ds.graph, "image") is None and X.world_probe(world, ds.graph, "digit") is None


def test_default_query():
    g = ADMG([Node("A", "binary"), Node("B", "continuous"), Node("I", "image", shape=(1, 8, 8))],
             directed=[("A", "B"), ("B", "I")])
    assert X.default_query(g) == ("A", "I")
    g2 = ADMG([Node("Z", "binary"), Node("X", "binary"), Node("Y", "binary")], directed=[("Z", "X"), ("X", "Y")])
    assert X.default_query(g2) == ("X", "Y")


# ---- the page


def test_image_world_shows_four_galleries_with_probe_bars(morpho, monkeypatch):
    root, ws, ds, world = morpho
    at = open_page(root, monkeypatch)
    assert (at.session_state["ex_treatment"], at.session_state["ex_outcome"]) == ("thickness", "image")
    titles = gallery_titles(at)
    assert titles == ["**Observational**", "**Interventional (model)**", "**Counterfactual (model)**",
                      "**Truth (world)**", "**Truth (world)**"]
    # 4 galleries of 16 plus factual/counterfactual pairs (model and truth)
    sizes = sorted(len(i.proto.imgs) for i in at.image)
    assert sizes == [1, 1, 1, 1, 16, 16, 16, 16, 16]
    assert len(at.get("plotly_chart")) == 5  # probe bars under each image gallery
    cap = captions(at)
    assert any(c.startswith("P(image | do(thickness = ") for c in cap)
    assert any(c.startswith("read: thickness") for c in cap)
    seconds = at.session_state["ex_seconds"]
    print(f"16-image gallery refresh (VAE, 16x16, 4 columns): {seconds:.2f} s")
    assert seconds < 10
    # a new seed reruns the galleries
    before = at.image[1].proto.imgs[0].url
    at.number_input(key="ex_seed").set_value(1).run()
    assert not at.exception and at.image[1].proto.imgs[0].url != before


def test_image_picker_sets_do_image(morpho, monkeypatch):
    root, ws, ds, world = morpho
    at = open_page(root, monkeypatch)
    at.selectbox(key="ex_treatment").set_value("image").run()
    at.selectbox(key="ex_outcome").set_value("digit").run()
    assert not at.exception
    rows = X.intervention_control(ds.graph.node("image"), ds).rows
    at.button(key=f"ex_pick_image_r{rows[2]}").click().run()
    assert at.session_state["ex_image_image"] == rows[2]
    assert any(m.value == f"do(image = this image): data row {rows[2]}" for m in at.markdown)
    # do(image) cannot move the digit (the image has no children): the model gallery is the digit prior
    assert any(c.startswith("P(digit | do(image = an image))") for c in captions(at))


def test_hedge_instead_of_a_gallery(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "bow", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    assert any("**Why:** the hedge is" in m.value for m in at.markdown)
    assert any("not identifiable" in w.value.lower() for w in at.warning), [w.value for w in at.warning]
    assert any("hidden confounders" in i.value for i in at.info)  # no counterfactual on confounded graphs


def test_models_trained_on_other_data_are_flagged(backdoor_partial, monkeypatch):
    root, ws, ds, world = backdoor_partial
    run = ws.load_run()
    assert X.run_data_note(run, ds) == "" and X.run_data_note(None, ds) == ""
    other, _ = sample_dataset("backdoor", 100, seed=9)
    assert "fitted to other data" in X.run_data_note(run, other)


def test_untrained_outcome_is_a_clear_message(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "backdoor", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    msgs = [i.value for i in at.info]
    assert "no trained model for Y (needed for Y under do(X)): train it on the Train page" in msgs


def test_diffusion_preview_shares_weights_and_samples_with_fewer_steps(tmp_path):
    import torch

    from core.data import Dataset
    from core.runs.checkpoint import load_run
    from core.runs.train import TrainOptions, train

    g = ADMG([Node("A", "binary"), Node("I", "image", shape=(1, 8, 8))], directed=[("A", "I")])
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 64)
    imgs = np.zeros((64, 1, 8, 8), np.uint8)
    imgs[a == 1, :, 2:6, 2:6] = 200
    ds = Dataset.from_values({"A": a, "I": imgs}, g)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(g, ds, tmp_path / "run", options=TrainOptions(preset="quick", steps=1, device="cpu"), accelerator=None)
        run = load_run(tmp_path / "run")
        hub = X.ModelHub()
        base, fast = hub.mechanism(run, "I"), hub.mechanism(run, "I", sample_steps=3)
        assert fast is not base and fast is hub.mechanism(run, "I", sample_steps=3)
        assert fast.config["sample_steps"] == 3 and base.config["sample_steps"] != 3
        assert all(p is q for p, q in zip(fast.parameters(), base.parameters(), strict=True))
        parents = {"A": torch.tensor([0, 1])}
        noise = base.draw_noise(2, torch.Generator().manual_seed(0))
        assert torch.equal(fast.predict(parents, noise), base.predict(parents, noise, steps=3))
        assert hub.mechanism(run, "A", sample_steps=3) is hub.mechanism(run, "A")  # other kinds: unchanged
        assert X.uses_diffusion(run, g)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow  # trains ID-GEN's neural models in the page (about 25 s alone, minutes on a loaded 2-core box)
def test_confounded_image_graph_fits_idgen_on_request_then_reuses_it(monkeypatch, tmp_path):
    ws, ds, world = make_trained_workspace(tmp_path, "napkin_digits", n=300, steps=0,
                                                          params={"size": 16})
    ws.update_settings(nodes={"X": {"kind": "vae"}, "Y": {"kind": "vae"}}, idgen_steps=3)
    assert X.idgen_settings(ws.settings) == {"nodes": {"X": {"kind": "vae"}, "Y": {"kind": "vae"}}, "idgen_steps": 3}
    at = open_page(tmp_path, monkeypatch)
    assert (at.session_state["ex_treatment"], at.session_state["ex_outcome"]) == ("X", "Y")
    plan_info = next(i.value for i in at.info if "ID-GEN needs" in i.value)
    assert "p(Y | W2, X) on synthetic P(W1, X, Y | do(W2))" in plan_info  # the napkin's line-7 step
    assert any("not fitted yet" in i.value for i in at.info)
    assert at.number_input(key="ex_idgen_steps").value == 3
    at.button(key="ex_fit_idgen").click().run()  # starts the fit in the background: the page stays usable
    assert not at.exception, [e.value for e in at.exception]
    t0 = time.time()
    while any("not fitted yet" in i.value for i in at.info):
        assert time.time() - t0 < 300, "the background ID-GEN fit did not finish"
        time.sleep(0.5)
        at.run()
        assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
    assert not any("not fitted yet" in i.value for i in at.info)
    # a new seed samples again from the cached network: no plan, no fit button
    at.number_input(key="ex_seed").set_value(3).run()
    assert not any("ID-GEN needs" in i.value for i in at.info)
    assert any(m.value == "**Interventional (model) · ID-GEN**" for m in at.markdown)


# ---- conditional queries and generated do-images


def test_conditional_query_on_a_confounded_world(monkeypatch, tmp_path):
    """Front-door world: P(M | do(X = 1), Y = 1) by ID-GEN's IDC path, beside the data rows with
    X = 1 and Y = 1 and the world's do(X = 1) units with Y = 1 (numbers: tests/test_ui_explore.py)."""
    make_trained_workspace(tmp_path, "frontdoor", n=3000, steps=0)
    at = open_page(tmp_path, monkeypatch)
    at.selectbox(key="ex_outcome").set_value("M").run()
    assert at.multiselect(key="ex_given").options == ["Y"]
    at.multiselect(key="ex_given").set_value(["Y"]).run()
    at.radio(key="ex_val_X").set_value(1).run()
    at.radio(key="ex_given_val_Y").set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]
    assert gallery_titles(at) == ["**Observational**", "**Interventional (model) · ID-GEN**",
                                  "**Counterfactual (model)**", "**Truth (world)**", "**Truth (world)**"]
    cap = captions(at)
    assert "P(M | X = 1, Y = 1)" in cap and cap.count("P(M | do(X = 1), Y = 1)") == 2  # model and truth
    assert len(at.get("plotly_chart")) == 4  # share bars: observational, model, truth, truth counterfactual
    # a treatment change drops a conditioning node that is no longer allowed
    at.selectbox(key="ex_treatment").set_value("Y").run()
    assert not at.exception and "Y" not in at.multiselect(key="ex_given").value


def test_non_identifiable_conditional_query_shows_the_hedge(monkeypatch, tmp_path):
    make_trained_workspace(tmp_path, "napkin", n=500, steps=0)
    at = open_page(tmp_path, monkeypatch)
    assert (at.session_state["ex_treatment"], at.session_state["ex_outcome"]) == ("X", "Y")
    assert not any("**Why:** the hedge is" in m.value for m in at.markdown)  # P(Y | do(X)) is identifiable
    at.multiselect(key="ex_given").set_value(["W2"]).run()
    assert not at.exception
    assert any("**Why:** the hedge is" in m.value for m in at.markdown)
    assert any("P(Y | do(X), W2) is not identifiable" in w.value for w in at.warning), [w.value for w in at.warning]


def test_conditional_query_on_a_markovian_graph(backdoor_partial, monkeypatch):
    root, ws, ds, world = backdoor_partial
    at = open_page(root, monkeypatch)
    at.multiselect(key="ex_given").set_value(["Z"]).run()
    at.radio(key="ex_given_val_Z").set_value(0).run()
    assert not at.exception
    assert any(t.startswith("**Interventional (model)") for t in gallery_titles(at))
    x = at.session_state["ex_val_X"]
    assert captions(at).count(f"P(Y | do(X = {x}), Z = 0)") == 2


def test_image_picker_offers_generated_images(morpho, monkeypatch):
    root, ws, ds, world = morpho
    at = open_page(root, monkeypatch)
    at.selectbox(key="ex_treatment").set_value("image").run()
    at.selectbox(key="ex_outcome").set_value("digit").run()
    at.radio(key="ex_img_source_image").set_value("model").run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="ex_pick_image_g2").click().run()
    note = next(m.value for m in at.markdown if m.value.startswith("do(image = this image)"))
    assert note.startswith("do(image = this image): generated image 3 (from the trained model of image, its parents")
    assert any(c.startswith("P(digit | do(image = an image))") for c in captions(at))
    before = at.image[0].proto.imgs[0].url
    at.button(key="ex_gen_new_image").click().run()
    assert not at.exception and at.image[0].proto.imgs[0].url != before  # new candidates
