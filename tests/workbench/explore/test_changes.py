"""The Explore page's numbers: large-sample read-outs with intervals, what changed on each rung, and
the sentence that says what to look at (``workbench.explore.changes``)."""

from __future__ import annotations

import numpy as np
import pytest

from core.graph import Node
from core.runs import builtin as B
from core.runs import workspace as W
from core.worlds.registry import world_from_record
from workbench.explore.changes import (
    READOUT_DRAWS,
    Change,
    Estimate,
    Readouts,
    changes,
    changes_table_html,
    large_sample_readouts,
    mean_estimate,
    plain_sentence,
    readout,
    share_estimate,
)
from workbench.explore.idgen_fit import idgen_settings
from workbench.explore.models import ModelHub, Sources
from workbench.explore.question import ExploreQuery


def test_a_share_has_wilsons_interval_and_a_mean_its_normal_one():
    s = share_estimate(6, 10)
    assert (s.value, round(s.lo, 4), round(s.hi, 4), s.n) == (0.6, 0.3127, 0.8318, 10)  # Wilson (1927)
    assert s.text() == "60% [31, 83]"
    m = mean_estimate(np.array([1.0, 2.0, 3.0, 4.0]))
    assert m.value == 2.5 and m.hi - m.value == pytest.approx(1.959964 * np.std([1, 2, 3, 4], ddof=1) / 2)
    # apart: at least 5 points and intervals that do not overlap
    assert share_estimate(350, 1000).apart(share_estimate(600, 1000))
    assert not share_estimate(600, 1000).apart(share_estimate(620, 1000))


def test_readout_of_each_kind_of_outcome():
    assert set(readout(Node("B", "binary"), np.array([0, 1, 1, 1]))) == {"B"}
    assert readout(Node("B", "binary"), np.array([0, 1, 1, 1]))["B"].value == 0.75
    cat = readout(Node("Y", "categorical", levels=3), np.array([0, 2, 2, 2]))
    assert [(k, e.value) for k, e in cat.items()] == [("Y = 0", 0.25), ("Y = 1", 0.0), ("Y = 2", 0.75)]
    mean = readout(Node("T", "continuous"), np.array([1.0, 3.0]))["mean T"]
    assert mean.value == 2.0 and not mean.share
    assert readout(Node("I", "image", shape=(1, 4, 4)), np.zeros((3, 1, 4, 4), np.uint8)) == {}  # no probe


def hand_made(see: float, do: float, truth: float | None, base: float = 0.6, n: int = 2000) -> Readouts:
    def est(p: float) -> Estimate:
        return share_estimate(round(p * n), n)

    cols = {"see": {"Young": est(see)}, "do": {"Young": est(do)}}
    if truth is not None:
        cols["truth"] = {"Young": est(truth)}
    return Readouts({"Young": est(base)}, cols)


def query() -> ExploreQuery:
    from workbench.graph_files import load_example

    return ExploreQuery(load_example("faces"), "Male", 1, "Face")


def test_the_sentence_points_at_the_spurious_part_and_at_models_that_are_off():
    (c,) = changes(hand_made(see=0.35, do=0.59, truth=0.60))
    assert c.spurious == pytest.approx(0.35 - 0.60) and c.spurious_notable and not c.model_off
    text = plain_sentence([c], query())
    assert text.startswith("Look at **Young**: where the data shows Male = 1 it is 35% (-25 points)")
    assert "in the world's truth do(Male = 1) gives 60% (+0 points)" in text and "25-point difference is spurious" in text
    # no spurious part: the causal change is the story
    (c,) = changes(hand_made(see=0.9, do=0.9, truth=0.9))
    assert plain_sentence([c], query()).startswith("do(Male = 1) moves **Young** to 90% (+30 points)")
    # the models far off the truth get a sentence of their own
    (c,) = changes(hand_made(see=0.35, do=0.25, truth=0.60))
    assert c.model_off and "The models are off for **Young**: 25% under do(Male = 1) where the truth is 60%" \
        in plain_sentence([c], query())
    # without a world, the models' intervention is the reference
    (c,) = changes(hand_made(see=0.35, do=0.60, truth=None))
    assert c.reference is c.do and "by the models do(Male = 1) gives 60%" in plain_sentence([c], query())


def test_the_table_marks_the_spurious_read_out():
    found = [*changes(hand_made(see=0.35, do=0.59, truth=0.60)),
             Change("Beard", share_estimate(500, 2000), share_estimate(1180, 2000), share_estimate(1180, 2000),
                    share_estimate(1190, 2000))]
    html = changes_table_html(found, query(), truth=True)
    assert html.count("<tr>") == 3 and "doing: do(Male = 1) (truth)" in html
    young, beard = html.split("<tr>")[2:]
    assert "← spurious" in young and "-25 points" in young and "← spurious" not in beard


@pytest.fixture(scope="module")
def faces_sources(tmp_path_factory):
    """The shipped, trained faces workspace: its data, world and run."""
    ws = B.install_builtin("default", tmp_path_factory.mktemp("faces"), B.BUILTIN_ROOT / B.BUILTIN_DEFAULT)
    ds = ws.load_dataset()
    return Sources(ModelHub(), ds, run=ws.load_run(), world=world_from_record(ds.world),
                   settings=idgen_settings(ws.settings)), ws


def test_read_outs_of_a_discrete_world_separate_seeing_from_doing(frontdoor):
    """Front-door world (X -> M -> Y, X <-> Y): ID-GEN's exact tables against the world, READOUT_DRAWS draws."""
    ds, world = frontdoor
    sources = Sources(ModelHub(), ds, world=world)
    q = ExploreQuery(ds.graph, "X", 1, "Y")
    got = large_sample_readouts(sources, q, unit=0, probe=None, fit_idgen=True)
    truth = world.interventional_samples({"X": 1}, 50_000, 3).values["Y"].mean()
    y = {k: col["Y"] for k, col in got.columns.items()}
    assert y["see"].n == y["do"].n == y["truth"].n == READOUT_DRAWS and "cf" in got.missing  # X <-> Y: no counterfactual
    assert y["truth"].lo - 0.01 <= truth <= y["truth"].hi + 0.01 and y["do"].lo - 0.01 <= truth <= y["do"].hi + 0.01
    (c,) = changes(got)
    assert c.spurious == pytest.approx(y["see"].value - y["truth"].value)
    assert c.spurious_notable == y["see"].apart(y["truth"]) and not c.model_off


@pytest.mark.slow  # about 4 s on an idle 2-core CPU (1000 faces drawn, rendered and probe-read per column)
def test_read_outs_come_from_a_large_sample_and_show_the_confounding(faces_sources):
    """Issue 21: with 16 thumbnails the truth column read Young = 31% under do(Male = 1), the same as
    the data, while the world's value is 60%.  With 1000 draws a column every read-out is within its
    interval of the world's own rate, and the strip shows conditioning's drop as spurious."""
    sources, _ = faces_sources
    q = query()
    got = large_sample_readouts(sources, q, unit=0, probe=sources.world.probe("Face"), draws=1000, fit_idgen=True)
    truth = sources.world.interventional_samples({"Male": 1}, 20_000, 7).values["Young"].mean()  # P(Young | do(Male=1))
    young = {k: col["Young"] for k, col in got.columns.items()}
    assert young["truth"].n == young["do"].n == young["cf"].n == 1000
    assert young["truth"].lo - 0.02 <= truth <= young["truth"].hi + 0.02  # probe-read, so a little slack
    assert abs(young["do"].value - truth) < 0.06  # ID-GEN with the shipped Face model
    assert young["see"].value < truth - 0.15  # conditioning on Male = 1 selects older faces
    (c,) = [c for c in changes(got) if c.name == "Young"]
    assert c.spurious_notable and not c.model_off
    assert plain_sentence(changes(got), q).startswith("Look at **Young**")


@pytest.mark.slow  # installs the shipped faces workspace (re-samples 5000 faces)
def test_short_idgen_fits_are_named(faces_sources):
    from workbench.explore.idgen_fit import short_fit_note
    from workbench.explore.question import DoQuery

    sources, ws = faces_sources
    # P(Face | do(Young), Beard) needs p(Face | Young, Beard) on synthetic data, trained by ID-GEN itself
    young = DoQuery(sources.dataset.graph, "Young", "Face", ("Beard",))
    note = short_fit_note(sources, young)
    assert note.startswith("ID-GEN trains its own models for **200 steps** each, too few to trust: "
                           "p(Face | Young, Beard) (the quick preset trains it 3,000 steps).")
    assert "p(Young)" not in note  # exact tables take no steps
    longer = Sources(sources.hub, sources.dataset, run=sources.run, world=sources.world,
                     settings={**sources.settings, "idgen_steps": 3000})
    assert short_fit_note(longer, young) == ""
    assert short_fit_note(sources, DoQuery(sources.dataset.graph, "Male", "Face")) == ""  # the Train page's model
    assert W.node_status(sources.dataset.graph, ws.manifest())[0]["status"] == "trained"
