"""The latent flow image mechanism: two training phases, exact abduction, a shared autoencoder."""

from __future__ import annotations

import pytest
import torch

from core.errors import WorkbenchError
from core.graph import Node
from core.mechanisms import make_mechanism, mechanism_from_config

IMAGE = Node("I", "image", shape=(1, 12, 12))
PARENTS = [Node("A", "binary")]
TINY = {
    "autoencoder": {"latent_channels": 2, "widths": [8, 16], "blocks": 1, "share": 0.4},
    "unet": {"block_out_channels": [16, 32], "layers_per_block": 1, "down_block_types": ["DownBlock2D", "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "UpBlock2D"], "add_attention": False, "norm_num_groups": 8},
    "image_vector": 8, "image_features": 4, "sample_steps": 6, "train": {"steps": 50, "batch_size": 16},
}


def squares(a: torch.Tensor) -> torch.Tensor:
    """A bright square in the top half for A = 0, the bottom half for A = 1."""
    x = -torch.ones(len(a), 1, 12, 12)
    for i, v in enumerate(a.tolist()):
        top = 1 + 6 * v
        x[i, 0, top:top + 4, 3:9] = 1.0
    return x


def tiny(**overrides) -> torch.nn.Module:
    return make_mechanism(IMAGE, PARENTS, kind="latent_flow", preset="quick", seed=0, **{**TINY, **overrides})


def test_the_autoencoder_trains_first_then_the_velocity_field():
    m = tiny()
    a = torch.randint(0, 2, (64,), generator=torch.Generator().manual_seed(0))
    x = squares(a)
    m.prepare({"A": a}, x)
    m.train()
    assert not m.autoencoder_trained
    flow_before = [p.detach().clone() for p in m.unet.parameters()]
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    for _ in range(20):
        loss = m.loss({"A": a[:16]}, x[:16])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert m.autoencoder_trained and not bool(m.latent_ready)
    assert all(torch.equal(p, q) for p, q in zip(flow_before, m.unet.parameters(), strict=True))  # phase 1: AE only
    ae_before = [p.detach().clone() for p in m.autoencoder.parameters()]
    loss = m.loss({"A": a[:16]}, x[:16])
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert bool(m.latent_ready)
    assert all(torch.equal(p, q) for p, q in zip(ae_before, m.autoencoder.parameters(), strict=True))  # frozen


def test_abduction_is_exact_and_the_config_rebuilds_the_module():
    m = tiny()
    a = torch.randint(0, 2, (48,), generator=torch.Generator().manual_seed(1))
    x = squares(a)
    m.fit({"A": a}, x, seed=0)
    noise = m.abduct({"A": a[:8]}, x[:8])
    assert noise.shape == (8, 2 * 4 * 4 + 144)  # latent 2 x (16/4)^2 after padding 12 -> 16, then pixels
    assert torch.allclose(m.predict({"A": a[:8]}, noise), x[:8], atol=1e-5)
    again = mechanism_from_config(m.config)
    again.load_state_dict(m.state_dict())
    again.eval()
    assert torch.allclose(again.predict({"A": a[:8]}, noise), x[:8], atol=1e-5)
    without = tiny(residual_scale=0.0)
    without.load_state_dict(m.state_dict())
    u, _ = m._split(noise)
    assert torch.allclose(without.predict({"A": a[:8]}, noise), m.decode_latent({"A": a[:8]}, u), atol=1e-6)


def test_a_trained_autoencoder_is_adopted_and_its_phase_skipped():
    trained = tiny()
    a = torch.randint(0, 2, (32,), generator=torch.Generator().manual_seed(2))
    trained.fit({"A": a}, squares(a), seed=0)
    fresh = make_mechanism(IMAGE, [], kind="latent_flow", preset="quick", seed=1, **TINY)
    fresh.adopt_autoencoder(trained)
    assert fresh.autoencoder_trained and bool(fresh.latent_ready)
    x = squares(a[:4])
    assert torch.equal(fresh.autoencoder.encode(x), trained.autoencoder.encode(x))
    other = make_mechanism(IMAGE, [], kind="latent_flow", preset="quick", seed=1,
                           **{**TINY, "autoencoder": {**TINY["autoencoder"], "latent_channels": 3}})
    with pytest.raises(WorkbenchError, match="does not fit"):
        other.adopt_autoencoder(trained)


def test_the_autoencoder_takes_its_share_of_the_steps_fixed_when_training_starts():
    m = tiny()
    assert m.phases() == [("autoencoder", 20), ("flow", 30)]
    m.config["train"]["steps"] = 100  # a steps override before training moves the boundary with it
    assert m.phases() == [("autoencoder", 40), ("flow", 60)]
    a = torch.zeros(4, dtype=torch.long)
    m.prepare({"A": a}, squares(a))
    m.train()
    m.loss({"A": a}, squares(a))
    m.config["train"]["steps"] = 400  # resuming with more steps keeps the boundary
    assert m.phases() == [("autoencoder", 40), ("flow", 360)]
    with pytest.raises(WorkbenchError, match="share must be in"):
        tiny(autoencoder={**TINY["autoencoder"], "share": 1.0})


def test_guidance_needs_condition_dropout_and_keeps_abduction_exact():
    assert tiny(condition_dropout=0.0, guidance=3.0).guidance == 1.0  # no null condition learnt: no guidance
    m = tiny(condition_dropout=0.2, guidance=3.0)
    assert m.guidance == 3.0
    a = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(3))
    x = squares(a)
    m.prepare({"A": a}, x)
    m.eval()
    m._fix_latent_statistics(x)
    noise = m.abduct({"A": a}, x)
    assert torch.allclose(m.predict({"A": a}, noise), x, atol=1e-5)
    u, _ = m._split(noise)
    plain = tiny(condition_dropout=0.2, guidance=1.0)
    plain.load_state_dict(m.state_dict())
    plain.eval()
    assert not torch.allclose(plain.decode_latent({"A": a}, u), m.decode_latent({"A": a}, u))


def test_abduction_is_remembered_until_the_weights_change():
    m = tiny().eval()
    a = torch.tensor([0, 1, 1, 0])
    x = squares(a)
    first = m.abduct({"A": a}, x)
    assert len(m._abducted) == 1
    first[:] = 0  # a caller's edits do not reach the cache
    again = m.abduct({"A": a}, x)
    assert len(m._abducted) == 1 and torch.equal(again, m._abducted[next(iter(m._abducted))])
    assert torch.allclose(m.predict({"A": a}, again), x, atol=1e-5)
    other = m.abduct({"A": 1 - a}, x)  # other parents: abducted anew
    assert len(m._abducted) == 2 and not torch.equal(other, again)
    with torch.no_grad():
        next(m.unet.parameters()).add_(0.1)  # an optimiser step
    moved = m.abduct({"A": a}, x)
    assert len(m._abducted) == 3 and not torch.equal(moved, again)
    assert torch.allclose(m.predict({"A": a}, moved), x, atol=1e-5)  # still exact under the new weights


def test_training_attention_gives_the_default_kernels_gradients(monkeypatch):
    """The math attention kernel a CPU trains with (its fused kernel's backward is slow) computes the same
    loss and gradients as the fused kernel, on a U-Net with attention."""
    import contextlib

    from torch.nn.attention import SDPBackend, sdpa_kernel

    from core.mechanisms import latent_flow, precision

    unet = {**TINY["unet"], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
            "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "add_attention": True, "attention_head_dim": 8}
    m = tiny(unet=unet)
    a = torch.randint(0, 2, (16,), generator=torch.Generator().manual_seed(1))
    x = squares(a)
    m.prepare({"A": a}, x)
    m.set_phase("flow")
    m.train()
    assert isinstance(precision.training_attention(torch.device("cpu")), type(sdpa_kernel(SDPBackend.MATH)))
    runs = {}
    for name, kernel in (("fused", lambda _device: sdpa_kernel(SDPBackend.FLASH_ATTENTION)),
                         ("training", precision.training_attention)):
        monkeypatch.setattr(latent_flow, "training_attention", kernel)
        m.zero_grad()
        torch.manual_seed(0)
        loss = m.loss({"A": a}, x)
        loss.backward()
        runs[name] = (float(loss.detach()), [p.grad.clone() for p in m.unet.parameters() if p.grad is not None])
    (fused_loss, fused), (math_loss, math) = runs["fused"], runs["training"]
    assert math_loss == pytest.approx(fused_loss, rel=1e-5)
    assert len(fused) == len(math) > 0
    for g1, g2 in zip(fused, math, strict=True):
        torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-6)
    assert isinstance(precision.training_attention(torch.device("meta")), contextlib.nullcontext)


def test_presets_widen_a_colour_autoencoder_and_guide_only_discrete_parents():
    from core.mechanisms.latent_flow import preset_config

    grey, colour = (1, 32, 32), (3, 32, 32)
    assert preset_config("quick", grey)["autoencoder"]["latent_channels"] == 4
    wide = preset_config("quick", colour)["autoencoder"]
    assert (wide["latent_channels"], wide["widths"], wide["share"]) == (8, [64, 128], 0.5)
    assert preset_config("quick", (3, 64, 64))["autoencoder"]["widths"] == [32, 64]  # large: unchanged
    assert preset_config("quick", grey)["autoencoder"]["exposure_share"] == 0.5  # grey: dimmed copies too
    assert "exposure_share" not in wide and "exposure_share" not in preset_config("full", (3, 64, 64))["autoencoder"]
    discrete = [Node("A", "binary"), Node("B", "categorical", levels=3)]
    guided = preset_config("quick", colour, discrete)
    assert (guided["condition_dropout"], guided["guidance"]) == (0.15, 2.0)
    for parents in ([], [Node("A", "binary"), Node("T", "continuous")]):
        assert "condition_dropout" not in preset_config("quick", colour, parents)
    m = make_mechanism(Node("F", "image", shape=colour), discrete, kind="latent_flow", preset="quick", seed=0)
    assert m.guidance == 2.0 and m.config["autoencoder"]["widths"] == [64, 128]


def test_presets_embed_parents_additively_and_anneal_while_stored_configs_keep_what_they_had():
    from core.mechanisms.latent_flow import AdditiveEmbedding, preset_config

    for preset in ("quick", "full"):
        for shape in ((1, 32, 32), (3, 64, 64)):
            config = preset_config(preset, shape, PARENTS)
            assert config["condition_embedding"] == "additive" and config["train"]["schedule"] == "cosine"
            assert config["inversion_reuse_velocity"] is True
    m = tiny()
    assert isinstance(m.cond_mlp, AdditiveEmbedding)
    stored = {k: v for k, v in m.config.items() if k not in ("condition_embedding", "inversion_reuse_velocity")}
    old = mechanism_from_config(stored)  # a run trained before the keys existed: one joint MLP, explicit starts
    assert isinstance(old.cond_mlp, torch.nn.Sequential)
    assert not any(k.startswith("cond_mlp.mlps") for k in old.state_dict())


def test_inference_precision_is_bf16_in_the_presets_and_float32_for_configs_without_it():
    from core.mechanisms.precision import cpu_has_bf16_units

    m = tiny()
    assert m.config["inference_precision"] == "auto"
    a = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(1))
    x = squares(a)
    m.eval()
    noise = m.abduct({"A": a}, x)
    assert torch.allclose(m.predict({"A": a}, noise), x, atol=1e-5)  # abduction exact under autocast
    # a stored config without the key (runs trained before it existed): float32, as they sampled then
    old_config = {k: v for k, v in m.config.items() if k != "inference_precision"}
    old = mechanism_from_config(old_config)
    old.load_state_dict(m.state_dict())
    old.eval()
    u = old.draw_noise(4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain = old.predict({"A": a[:4]}, u)
        auto = m.predict({"A": a[:4]}, u)
    assert torch.isfinite(plain).all()
    if cpu_has_bf16_units():  # bf16 networks draw slightly different images from the same noise
        assert not torch.equal(plain, auto) and (plain - auto).abs().max() < 0.5
    else:
        assert torch.equal(plain, auto)


def test_a_counterfactual_in_one_batch_equals_abduction_then_prediction():
    m = tiny(inversion_reuse_velocity=True, inversion_iterations=1)
    a = torch.randint(0, 2, (24,), generator=torch.Generator().manual_seed(4))
    x = squares(a)
    m.fit({"A": a}, x, steps=30, seed=0)
    fused = m.counterfactual({"A": a[:6]}, x[:6], {"A": 1 - a[:6]})
    assert len(m._abducted) == 1  # the abduction it did is kept for the next do-value
    kept = m.abduct({"A": a[:6]}, x[:6])
    m._abducted.clear()
    reference = m.predict({"A": 1 - a[:6]}, m.abduct({"A": a[:6]}, x[:6]))
    assert torch.allclose(fused, reference, atol=1e-5)
    assert torch.allclose(kept, m.abduct({"A": a[:6]}, x[:6]), atol=1e-5)
    assert torch.allclose(m.counterfactual({"A": a[:6]}, x[:6], {"A": a[:6]}), x[:6], atol=1e-5)  # null: the image


def test_exposure_augmentation_dims_a_share_of_the_autoencoders_batch_and_only_dims():
    x = squares(torch.tensor([0, 1] * 200))
    assert torch.equal(tiny(autoencoder={**TINY["autoencoder"], "exposure_share": 0.0})._exposure_augmented(x), x)
    m = tiny(autoencoder={**TINY["autoencoder"], "exposure_share": 0.5})
    torch.manual_seed(0)
    dimmed = m._exposure_augmented(x)
    changed = (dimmed != x).flatten(1).any(dim=1)
    assert 0.35 < float(changed.float().mean()) < 0.65
    peaks = (dimmed.flatten(1).amax(dim=1) + 1) / 2  # the square's brightness on [0, 1]
    assert float(peaks[changed].min()) >= m.DIMMEST_EXPOSURE - 1e-6 and float(peaks[changed].max()) < 1
    assert torch.equal(dimmed[~changed], x[~changed]) and float(dimmed.min()) == -1.0  # black stays black


def test_an_additive_embedding_moves_with_one_parent_the_same_way_whatever_the_others():
    parents = [Node("A", "binary"), Node("T", "continuous"), Node("D", "categorical", levels=3)]
    m = make_mechanism(IMAGE, parents, kind="latent_flow", preset="quick", seed=0,
                       **{**TINY, "condition_embedding": "additive"})
    assert [(name, sl.stop - sl.start) for name, sl in m.encoder.vector_slices()] == [("T", 1), ("A", 2), ("D", 3)]
    t = torch.tensor([0.0, 0.0, 2.0, 2.0])
    a = torch.tensor([0, 1, 0, 1])
    d = torch.tensor([2, 0, 2, 0])
    labels, _ = m.condition({"A": a, "T": t, "D": d}, 4)
    assert torch.allclose(labels[2] - labels[0], labels[3] - labels[1], atol=1e-5)  # T's move, whatever A and D
    joint = make_mechanism(IMAGE, parents, kind="latent_flow", preset="quick", seed=0,
                           **{**TINY, "condition_embedding": "joint"})
    labels, _ = joint.condition({"A": a, "T": t, "D": d}, 4)
    assert not torch.allclose(labels[2] - labels[0], labels[3] - labels[1], atol=1e-5)
    with pytest.raises(WorkbenchError, match="condition_embedding must be"):
        tiny(condition_embedding="product")
