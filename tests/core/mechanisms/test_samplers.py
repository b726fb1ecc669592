"""The ODE loops of the latent flow mechanism: Euler sampling and its exact inversion."""

from __future__ import annotations

import torch

from core.mechanisms.samplers import flow_invert, flow_sample, flow_times


def test_flow_times_run_from_noise_to_data_and_shift_spends_steps_at_high_noise():
    plain = flow_times(4)
    assert plain == [1.0, 0.75, 0.5, 0.25, 0.0]
    shifted = flow_times(4, shift=3.0)
    assert shifted[0] == 1.0 and shifted[-1] == 0.0
    assert all(s > p for s, p in zip(shifted[1:-1], plain[1:-1], strict=True))


def test_euler_sampling_of_a_straight_flow_is_exact():
    """With v = e - x0 constant along the path, one Euler step lands exactly on x0."""
    x0, e = torch.randn(5, 2, 3, 3), torch.randn(5, 2, 3, 3)
    out = flow_sample(lambda x, t: e - x0, e, steps=1)
    assert torch.allclose(out, x0, atol=1e-6)


def test_inversion_undoes_sampling_for_a_nonlinear_field():
    torch.manual_seed(0)
    w = torch.randn(4, 4) * 0.5

    def v(x, t):
        return torch.tanh(x @ w) * (1.0 + t[:, None])

    noise = torch.randn(64, 4)
    data = flow_sample(v, noise, steps=12)
    back = flow_invert(v, data, steps=12, iterations=6)
    assert (back - noise).abs().max() < 1e-5
    naive = flow_invert(v, data, steps=12, iterations=0)  # the explicit step alone is not an inverse
    assert (naive - noise).abs().max() > 100 * (back - noise).abs().max()


def test_reusing_the_previous_velocity_saves_an_evaluation_per_step_and_still_inverts():
    torch.manual_seed(0)
    w = torch.randn(4, 4) * 0.5
    calls = {"n": 0}

    def v(x, t):
        calls["n"] += 1
        return torch.tanh(x @ w) * (1.0 + t[:, None])

    noise = torch.randn(64, 4)
    data = flow_sample(v, noise, steps=12)
    errors = {}
    for reuse in (False, True):
        calls["n"] = 0
        errors[reuse] = float((flow_invert(v, data, steps=12, iterations=1, reuse_velocity=reuse) - noise).abs().max())
        assert calls["n"] == (13 if reuse else 24)
    assert errors[True] < 1.25 * errors[False]  # about as close as the explicit start (0.024 vs 0.023 here)
    assert float((flow_invert(v, data, steps=12, iterations=6, reuse_velocity=True) - noise).abs().max()) < 1e-5
