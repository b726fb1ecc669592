"""The soundness suite on a tiny image world: exact round trips, read-outs with their own accuracy,
an untrained image model flagged by effectiveness, confounded paths skipped."""

from __future__ import annotations

import numpy as np
import pytest

from core.check.readouts import train_anticausal_reader
from core.check.soundness import composition, format_table, soundness
from core.graph import ADMG, Node
from core.mechanisms import make_mechanism
from core.scm import NeuralSCM
from tests.helpers import TinyWorld

TINY_FLOW = {
    "autoencoder": {"latent_channels": 2, "widths": [8, 16], "blocks": 1, "share": 0.4},
    "unet": {"block_out_channels": [16, 32], "layers_per_block": 1, "down_block_types": ["DownBlock2D", "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "UpBlock2D"], "add_attention": False, "norm_num_groups": 8},
    "image_vector": 8, "image_features": 4, "sample_steps": 6, "train": {"steps": 50, "batch_size": 16},
}


@pytest.fixture(scope="module")
def world_data() -> tuple[ADMG, dict[str, np.ndarray]]:
    world = TinyWorld(size=8)
    data = world.sample(400, seed=0)
    graph = world.graph.subgraph(["C", "X"])  # C -> X: the image shows C as the channel that is lit
    return graph, {v: np.asarray(data[v]) for v in graph.names}


def untrained_scm(graph: ADMG) -> NeuralSCM:
    mechs = {
        "C": make_mechanism(graph.node("C"), [], kind="categorical", preset="quick", seed=0),
        "X": make_mechanism(graph.node("X"), [graph.node("C")], kind="latent_flow", preset="quick", seed=0, **TINY_FLOW),
    }
    for m in mechs.values():
        m.eval()
    return NeuralSCM(graph, mechs)


@pytest.fixture(scope="module")
def channel_reader(world_data):
    graph, data = world_data
    return train_anticausal_reader(data["X"], {"C": data["C"]}, [graph.node("C")], steps=150, seed=0)


def test_exact_abduction_composes_to_the_image_itself(world_data):
    graph, data = world_data
    scm = untrained_scm(graph)
    units = {k: v[:32] for k, v in data.items()}
    d = composition(scm, "X", units, ms=(1, 10))
    assert d[1] <= 1.0 and d[10] <= 1.0  # on the 0-255 scale, even before training


def test_the_anticausal_reader_reports_its_own_heldout_accuracy(channel_reader, world_data):
    _, data = world_data
    assert channel_reader.accuracy["C"] >= 0.95  # the lit channel is easy to read
    read = channel_reader.read(data["X"][:50])["C"]
    assert np.mean(read == data["C"][:50]) >= 0.95


def test_an_untrained_image_model_fails_effectiveness(world_data, channel_reader):
    graph, data = world_data
    rows = soundness(untrained_scm(graph), "X", data, channel_reader, n=48, seed=0, ms=(1, 2), realism=False)
    by = {(r.metric, r.condition): r for r in rows}
    assert set(m for m, _ in by) == {"composition", "reversibility", "effectiveness"}
    eff = by[("effectiveness", "do(C) -> C")]
    # the residual carries the factual image: the counterfactual still shows the factual channel,
    # which always differs from the asked one
    assert eff.value <= 0.5 and eff.reader_score == channel_reader.accuracy["C"]
    table = format_table(rows)
    assert "effectiveness" in table and "do(C) -> C" in table


def test_a_parent_whose_path_to_the_image_is_confounded_is_skipped(world_data):
    # A -> M -> X and A -> X, M <-> Z: the counterfactual image under do(A) re-evaluates M, whose noise
    # is confounded; do(M) re-evaluates nothing between M and X
    graph0, data = world_data
    a, m = Node("A", "binary"), Node("M", "categorical", levels=3)
    x = Node("X", "image", shape=(3, 8, 8))
    graph = ADMG([a, m, x], directed=[("A", "M"), ("M", "X"), ("A", "X")])
    rng = np.random.default_rng(0)
    cols = {"A": rng.integers(0, 2, 200), "M": data["C"][:200], "X": data["X"][:200]}
    mechs = {
        "A": make_mechanism(a, [], kind="categorical", preset="quick", seed=0),
        "M": make_mechanism(m, [a], kind="categorical", preset="quick", seed=0),
        "X": make_mechanism(x, [a, m], kind="latent_flow", preset="quick", seed=0, **TINY_FLOW),
    }
    for mech in mechs.values():
        mech.eval()
    scm = NeuralSCM(graph, mechs)
    reader = train_anticausal_reader(cols["X"], {"A": cols["A"], "M": cols["M"]}, [a, m], steps=60, seed=0)
    plain = {r.condition for r in soundness(scm, "X", cols, reader, n=16, ms=(1,), realism=False)}
    hidden = {r.condition for r in soundness(scm, "X", cols, reader, n=16, ms=(1,), realism=False, hidden=[("M", "Z")])}
    assert any(c.startswith("do(A)") for c in plain)
    assert not any(c.startswith("do(A)") for c in hidden) and any(c.startswith("do(M)") for c in hidden)
    ends = {r.condition for r in soundness(scm, "X", cols, reader, n=16, ms=(1,), realism=False, hidden=[("A", "X")])}
    assert any(c.startswith("do(A)") for c in ends)  # confounded endpoints change nothing that is re-evaluated
