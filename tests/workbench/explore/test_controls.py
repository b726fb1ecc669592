"""The widgets that set a node's value (``workbench.explore.controls``), and generated do-images."""

from __future__ import annotations

import numpy as np
import pytest

from core.scm import NeuralSCM
from core.worlds.registry import sample_dataset
from tests.workbench.explore.images import squares, trained_run
from workbench.explore.controls import PICKER_IMAGES, generated_images, intervention_control
from workbench.explore.galleries import model_interventional
from workbench.explore.models import MissingModels, ModelHub, Sources
from workbench.explore.question import ExploreQuery


def test_controls_fit_the_node_types():
    ds, _ = sample_dataset("morpho_digits", 400, seed=0, params={"size": 16})
    t = intervention_control(ds.graph.node("thickness"), ds)
    x = ds.column("thickness")
    assert t.kind == "slider" and x.min() <= t.lo < t.default < t.hi <= x.max()
    assert intervention_control(ds.graph.node("digit"), ds).kind == "select"  # 10 levels
    img = intervention_control(ds.graph.node("image"), ds)
    assert img.kind == "image" and len(img.rows) == PICKER_IMAGES and img.default == img.rows[0]
    bd, _ = sample_dataset("backdoor", 2000, seed=0)
    c = intervention_control(bd.graph.node("X"), bd)
    assert c.kind == "radio" and c.options == (0, 1) and c.labels == ("0", "1")


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A (binary) -> I (8x8 image), both trained 2 steps (VAE): speed, not quality."""
    ds = squares()
    root = tmp_path_factory.mktemp("imgrun")
    run = trained_run(ds, root / "all", steps=2, kinds={"I": "vae"})
    only_i = trained_run(ds, root / "only_i", steps=2, kinds={"I": "vae"}, nodes=["I"])
    return ds.graph, ds, run, only_i


def test_generated_images_come_from_the_model_of_x(image_run):
    g, ds, run, only_i = image_run
    hub = ModelHub()
    sources = Sources(hub, ds, run=run)
    images, note = generated_images(sources, g, "I", k=8, seed=3)
    assert images.shape == (8, 1, 8, 8) and images.dtype == np.uint8
    assert "parents A drawn by their models first" in note
    # ancestral sampling: A from its model, then I from its model given A (same seeds, same draws)
    scm = NeuralSCM(g, {v: hub.mechanism(run, v) for v in g.names})
    assert np.array_equal(images, scm.draw_samples(8, 3)["I"])
    assert generated_images(sources, g, "I", k=8, seed=3)[0] is images  # cached
    assert not np.array_equal(generated_images(sources, g, "I", k=8, seed=4)[0], images)
    ctl = intervention_control(g.node("I"), ds, generated=(images, note))
    assert ctl.kind == "image" and ctl.rows == () and ctl.images is images and ctl.labels[0] == "generated 1"
    data_ctl = intervention_control(g.node("I"), ds)
    assert np.array_equal(data_ctl.images, ds.column("I")[list(data_ctl.rows)])
    # A untrained: parents copied from data rows, I still from its model
    only = Sources(hub, ds, run=only_i)
    images2, note2 = generated_images(only, g, "I", k=5, seed=0)
    assert images2.shape == (5, 1, 8, 8) and "copied from data rows" in note2
    with pytest.raises(MissingModels, match="no trained model for A"):
        generated_images(only, g, "A", k=2)
    # a generated image is a valid do-value all the way through
    gal = model_interventional(sources, ExploreQuery(g, "I", images[0], "A", n=4))
    assert gal.ok and gal.formula == "P(A | do(I = an image))"
