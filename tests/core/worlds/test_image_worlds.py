"""The image ground-truth worlds: determinism, mechanisms, do-surgery, counterfactual consistency."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.errors import WorkbenchError
from core.worlds import glyphs as G
from core.worlds.base import World
from core.worlds.faces import ATTRIBUTES, Faces, young_given_male
from core.worlds.morpho_digits import MorphoDigits, intensity_mechanism
from core.worlds.napkin_digits import NapkinDigits, encode_w2, split_w2
from core.worlds.render import COLOURS, brightness, colour_class, mirror, rotate90


def worlds() -> list[World]:
    return [NapkinDigits(16), NapkinDigits(28), MorphoDigits(28), MorphoDigits(16), Faces(28), Faces(16)]


def se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


# --------------------------------------------------------------------------------------------------
# glyphs


def test_thinning_turns_a_thick_bar_into_a_one_pixel_line():
    bar = np.zeros((1, 12, 20), dtype=bool)
    bar[0, 4:9, 3:17] = True
    skel = G.zhang_suen_thin(bar)[0]
    rows = np.flatnonzero(skel.any(axis=1))
    assert len(rows) == 1 and rows[0] == 6  # the middle row of rows 4..8
    assert skel.sum() >= 8  # the line keeps most of its length


def test_euler_number_counts_components_minus_holes():
    m = np.zeros((3, 12, 12), dtype=bool)
    m[0, 2:5, 2:5] = True  # a blob: 1
    m[1, 2:9, 2:9] = True
    m[1, 4:7, 4:7] = False  # a ring: 1 - 1
    m[2, 1:11, 3:8] = True
    m[2, 2:5, 4:7] = False
    m[2, 6:10, 4:7] = False  # an "8": 1 - 2
    np.testing.assert_array_equal(G.euler_number(m), [1, 0, -1])


def test_skeletons_keep_the_loops_of_eights():
    """Most handwritten 8s keep at least one loop (Euler number <= 0) after thinning."""
    _, labels = G.digit_bank()
    cov = G.draw_coverage(np.flatnonzero(labels == 8), np.full((labels == 8).sum(), 2.0), 28)
    assert (G.euler_number(cov > 0.5) <= 0).mean() > 0.9


def test_glyphs_are_drawn_with_the_requested_width():
    """Ink area grows linearly in the width: area(w) ~ w * L (L = skeleton length)."""
    g = np.arange(0, 1797, 7)
    a1 = G.draw_coverage(g, np.full(len(g), 2.0), 28).sum(axis=(1, 2))
    a2 = G.draw_coverage(g, np.full(len(g), 4.0), 28).sum(axis=(1, 2))
    ratio = a2 / a1
    assert 1.6 < np.median(ratio) < 2.1
    full = G.draw_coverage(g[:5], np.full(5, 6.0), 28)
    assert full.max() == 1.0 and full.min() == 0.0


def test_glyph_for_picks_a_glyph_of_the_requested_class_and_keeps_the_rank():
    _, labels = G.digit_bank()
    rng = np.random.default_rng(0)
    d, r = rng.integers(0, 10, 500), rng.random(500)
    g = G.glyph_for(d, r)
    assert (labels[g] == d).all()
    assert (G.glyph_for(d, r) == g).all()
    assert len(np.unique(g)) > 300  # varied handwriting


@pytest.mark.parametrize("size", [15, 64, "28"])
def test_digit_worlds_refuse_other_sizes(size):
    with pytest.raises(WorkbenchError, match="size"):
        MorphoDigits(size)
    with pytest.raises(WorkbenchError, match="size"):
        NapkinDigits(size)


# --------------------------------------------------------------------------------------------------
# every world


@pytest.mark.parametrize("world", worlds(), ids=lambda w: f"{w.name}{w.size}")
def test_values_match_the_graph_and_sampling_is_deterministic(world):
    a, b, c = world.sample(50, seed=3), world.sample(50, seed=3), world.sample(50, seed=4)
    assert set(a.values) == set(world.graph.names)
    for node in world.graph.nodes:
        v = a[node.name]
        assert len(v) == 50
        np.testing.assert_array_equal(v, b[node.name])
        if node.type == "image":
            assert v.dtype == np.uint8 and v.shape[1:] == node.shape
            assert not np.array_equal(v, c[node.name])
        elif node.type == "continuous":
            assert v.dtype == np.float64
        else:
            assert v.dtype == np.int64 and v.min() >= 0 and v.max() < node.levels


@pytest.mark.parametrize("world", worlds()[::2], ids=lambda w: f"{w.name}{w.size}")
def test_forcing_each_node_to_its_own_value_returns_the_factual_unit(world):
    """Counterfactual consistency: do(V = the unit's own v) changes nothing, for every node V."""
    units = world.sample(200, seed=11)
    for name in world.graph.names:
        for value in (units[name], lambda v, name=name: v[name]):
            cf = world.counterfactual_samples(units, {name: value})
            for k in world.graph.names:
                np.testing.assert_array_equal(cf[k], units[k], err_msg=f"do({name}=own) changed {k}")


@pytest.mark.parametrize("world", worlds()[::2], ids=lambda w: f"{w.name}{w.size}")
def test_interventions_only_change_descendants(world):
    units = world.sample(300, seed=5)
    other = world.sample(300, seed=6)
    for name in world.graph.names:
        cf = world.counterfactual_samples(units, {name: other[name]})
        np.testing.assert_array_equal(cf[name], other[name])
        for k in world.graph.names:
            if k not in world.graph.descendants([name]):
                np.testing.assert_array_equal(cf[k], units[k], err_msg=f"do({name}) changed non-descendant {k}")


def test_bad_interventions_are_refused_with_one_line():
    with pytest.raises(WorkbenchError, match="cannot intervene on 'Z'"):
        NapkinDigits().interventional_samples({"Z": 1}, 5)
    with pytest.raises(WorkbenchError, match="W2 takes integer values 0..19"):
        NapkinDigits().interventional_samples({"W2": 25}, 5)
    with pytest.raises(WorkbenchError, match=r"X images must have shape \(3, 16, 16\)"):
        NapkinDigits().interventional_samples({"X": np.zeros((3, 28, 28), np.uint8)}, 5)
    with pytest.raises(WorkbenchError, match="digit takes integer values 0..9"):
        MorphoDigits().interventional_samples({"digit": 10}, 5)
    with pytest.raises(WorkbenchError, match="thickness must lie in"):
        MorphoDigits().interventional_samples({"thickness": -1.0}, 5)
    with pytest.raises(WorkbenchError, match="Male takes integer values 0..1"):
        Faces(16).interventional_samples({"Male": 2}, 5)
    with pytest.raises(WorkbenchError, match="probabilities"):
        Faces(confounding=2.0)
    with pytest.raises(WorkbenchError, match="p_digit"):
        NapkinDigits(p_digit=1.5)


@pytest.mark.slow  # about 3.5 s: renders 30,000 images
def test_ten_thousand_units_at_28_take_seconds():
    for world in (NapkinDigits(28), MorphoDigits(28), Faces(28)):
        world.sample(10, seed=0)  # caches
        t = time.perf_counter()
        world.sample(10_000, seed=1)
        assert time.perf_counter() - t < 30.0, world.name  # ~1-3 s on an idle core; generous for a busy CI box


# --------------------------------------------------------------------------------------------------
# napkin


def test_w2_encoding_round_trips():
    d, b = np.repeat(np.arange(10), 2), np.tile([0, 1], 10)
    w2 = encode_w2(d, b)
    assert sorted(w2.tolist()) == list(range(20))
    np.testing.assert_array_equal(split_w2(w2)[0], d)
    np.testing.assert_array_equal(split_w2(w2)[1], b)


def test_napkin_mechanisms_follow_the_equations():
    w = NapkinDigits(16, p_digit=0.2, p_bit=0.1)
    n = 6000
    u = w.sample(n, seed=1)
    z = u.noise
    d2, b2 = split_w2(u["W2"])
    assert abs((d2 != z["D"]).mean() - 0.2) < 4 * se(0.2, n)
    assert abs((b2 != z["U1"] // 3).mean() - 0.1) < 4 * se(0.1, n)
    # pixel truth: W1 has U1's colour; X's colour is in W2's group; Y has U1's colour
    np.testing.assert_array_equal(colour_class(u["W1"]), z["U1"])
    np.testing.assert_array_equal(colour_class(u["X"]), 3 * b2 + z["shade_X"])
    np.testing.assert_array_equal(colour_class(u["Y"]), z["U1"])
    # Y is X's glyph, mirrored: the same ink at the same pixels
    np.testing.assert_allclose(brightness(u["Y"]), brightness(mirror(u["X"])), atol=1 / 255)
    # X is W2's digit drawn upright, then rotated 90 degrees: undoing the rotation gives the drawing
    upright = w.draw_digit(d2, z["rank_X"], 3 * b2 + z["shade_X"], z["U2"])
    np.testing.assert_array_equal(rotate90(u["X"], -1), upright)


def test_napkin_reads_w1_back_exactly_so_w2_depends_on_w1_only():
    w = NapkinDigits(16)
    u = w.sample(1500, seed=2)
    d, c = w.read_w1(u["W1"])
    np.testing.assert_array_equal(d, u.noise["D"])
    np.testing.assert_array_equal(c, u.noise["U1"])
    # do(W1 = another unit's image): W2 follows that image's digit and colour, not the hidden D, U1
    other = w.sample(1500, seed=3)
    cf = w.counterfactual_samples(u, {"W1": other["W1"]})
    d2, b2 = split_w2(cf["W2"])
    assert (d2 == other.noise["D"]).mean() > 0.85
    assert (b2 == other.noise["U1"] // 3).mean() > 0.85


def test_napkin_do_x_makes_y_colour_uniform_and_independent_of_x():
    w = NapkinDigits(16)
    n = 6000
    obs = w.sample(n, seed=7)
    cx_obs, cy_obs = colour_class(obs["X"]), colour_class(obs["Y"])
    # observationally Y's colour group follows X's (both come from U1 // 3 up to the bit noise)
    assert (cx_obs // 3 == cy_obs // 3).mean() > 0.85
    # under do(X = images from an independent sample) the groups agree only by chance
    xs = w.sample(n, seed=8)["X"]
    do = w.interventional_samples({"X": xs}, n, seed=9)
    cx, cy = colour_class(do["X"]), colour_class(do["Y"])
    assert abs((cx // 3 == cy // 3).mean() - 0.5) < 4 * se(0.5, n)
    freq = np.bincount(cy, minlength=6) / n
    assert np.abs(freq - 1 / 6).max() < 4 * se(1 / 6, n)
    # one fixed red X for everyone: Y's colour is still uniform, and Y keeps x's ink exactly
    x = xs[np.flatnonzero(cx == 0)[0]]
    do1 = w.interventional_samples({"X": x}, n, seed=10)
    freq1 = np.bincount(colour_class(do1["Y"]), minlength=6) / n
    assert np.abs(freq1 - 1 / 6).max() < 4 * se(1 / 6, n)
    np.testing.assert_allclose(brightness(do1["Y"][:50]), np.broadcast_to(brightness(mirror(x[None])), (50, 16, 16)),
                               atol=1 / 255)  # fmt: skip
    # observationally, given a red X, Y is red/green/blue far more often than 1/2
    red = cx_obs == 0
    assert (cy_obs[red] < 3).mean() > 0.8


def test_napkin_colours_are_the_six_pure_colours():
    u = NapkinDigits(28).sample(60, seed=0)
    for k in range(60):
        img = u["W1"][k].reshape(3, -1).astype(np.float32)
        lit = img.max(axis=0) > 0
        ratio = img[:, lit] / img[:, lit].max(axis=0)
        np.testing.assert_allclose(ratio.mean(axis=1), COLOURS[u.noise["U1"][k]], atol=0.02)


# --------------------------------------------------------------------------------------------------
# morpho


def test_morpho_equations():
    w = MorphoDigits(28)
    n = 20_000
    u = w.sample(n, seed=0)
    t, i = u["thickness"], u["intensity"]
    assert abs(t.mean() - 2.5) < 0.02  # 0.5 + E Gamma(10, rate 5) = 0.5 + 2
    assert abs(t.var() - 0.4) < 0.03  # Var Gamma(10, rate 5) = 10 / 25
    np.testing.assert_allclose(i, intensity_mechanism(t, u.noise["u_i"]))
    r = np.corrcoef(t, i)[0, 1]
    assert 0.88 < r < 0.93, r  # Deep SCM reports ~0.91
    assert np.bincount(u["digit"], minlength=10).min() > 1800
    # the image is the glyph drawn with brightness i (strokes wider than 1.5 px have fully inked pixels)
    wide = np.flatnonzero(t > 1.5)[:200]
    img = u["image"][wide, 0].astype(np.float64)
    np.testing.assert_allclose(img.reshape(len(wide), -1).max(axis=1), i[wide], atol=0.5)


def test_morpho_interventions():
    w = MorphoDigits(16)
    n = 20_000
    do_t = w.interventional_samples({"thickness": 4.0}, n, seed=1)
    assert (do_t["thickness"] == 4.0).all()
    expected = (64 + 191 / (1 + np.exp(-(0.5 * np.random.default_rng(0).standard_normal(200_000) + 3.0)))).mean()
    assert abs(do_t["intensity"].mean() - expected) < 1.0
    do_i = w.interventional_samples({"intensity": 100.0}, n, seed=2)
    assert abs(do_i["thickness"].mean() - 2.5) < 0.02  # intensity does not cause thickness
    peak = do_i["image"].reshape(n, -1).max(axis=1)
    assert peak.max() == 100 and (peak[do_i["thickness"] > 2.5] == 100).mean() > 0.95
    # a counterfactual keeps the unit's handwriting: same glyph at another width has ink where it had
    units = w.sample(100, seed=3)
    cf = w.counterfactual_samples(units, {"thickness": 5.0})
    assert ((cf["image"] > 0) | (units["image"] == 0)).all()


# --------------------------------------------------------------------------------------------------
# faces


def test_faces_do_male_leaves_young_alone_but_conditioning_does_not():
    w = Faces(16, confounding=1.0)
    n = 8000
    obs = w.sample(n, seed=1)
    p_young = obs["Young"].mean()
    assert abs(p_young - 0.6) < 4 * se(0.6, n)
    male = obs["Male"] == 1
    for m in (0, 1):
        sel = male if m else ~male
        assert abs(obs["Young"][sel].mean() - young_given_male(1.0, m)) < 4 * se(0.5, sel.sum())
    assert young_given_male(1.0, 1) < 0.4 < 0.8 < young_given_male(1.0, 0)
    for m in (0, 1):
        do = w.interventional_samples({"Male": m}, n, seed=2 + m)
        assert (do["Male"] == m).all()
        assert abs(do["Young"].mean() - 0.6) < 4 * se(0.6, n)  # = P(Young), not P(Young | Male = m)
        # Male still causes Beard and Lipstick
        assert abs(do["Beard"].mean() - (0.6 if m else 0.02)) < 4 * se(0.3, n)
        assert abs(do["Lipstick"].mean() - (0.02 if m else 0.6)) < 4 * se(0.3, n)


def test_faces_confounding_strength_is_adjustable():
    n = 8000
    for s in (0.0, 0.5):
        u = Faces(16, confounding=s).sample(n, seed=4)
        gap = u["Young"][u["Male"] == 0].mean() - u["Young"][u["Male"] == 1].mean()
        assert abs(gap - (young_given_male(s, 0) - young_given_male(s, 1))) < 0.05
    assert young_given_male(0.0, 1) == pytest.approx(0.6)


def test_faces_eyeglasses_are_independent_and_every_attribute_shows():
    w = Faces(28)
    u = w.sample(4000, seed=5)
    assert abs(np.corrcoef(u["Eyeglasses"], u["Male"])[0, 1]) < 0.06
    # flipping any one attribute of a unit changes its face (and only its face, for Young/Eyeglasses)
    for a in ATTRIBUTES:
        cf = w.counterfactual_samples(u.subset(slice(0, 200)), {a: lambda v, a=a: 1 - v[a]})
        diff = np.abs(cf["Face"].astype(int) - u["Face"][:200].astype(int)).reshape(200, -1)
        assert (diff.max(axis=1) > 40).mean() > 0.97, a


@pytest.mark.slow
def test_the_skeleton_cache_equals_a_fresh_computation():
    pixels, labels = G.compute_skeletons()
    cached = G._skeleton_pixels()
    np.testing.assert_array_equal(cached[1], labels)
    assert len(cached[0]) == len(pixels)
    for a, b in zip(cached[0], pixels, strict=True):
        np.testing.assert_array_equal(a, b)
