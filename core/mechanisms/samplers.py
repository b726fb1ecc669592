"""Readable DDIM loops, kept apart from the models they drive.

``eps_fn(x_t, t) -> predicted noise`` is any epsilon-prediction model (with its conditioning and
guidance already bound).  With ``a_t`` the cumulative product of ``(1 - beta)`` at timestep t, one
deterministic DDIM move (eta = 0) from level ``a_from`` to level ``a_to`` is

    x0  = (x - sqrt(1 - a_from) * eps) / sqrt(a_from)
    x'  = sqrt(a_to) * x0 + sqrt(1 - a_to) * eps

Sampling walks the timesteps down (``DDIMScheduler.step`` does exactly this move); inversion walks
them up with the same pairs of levels, evaluating eps at the current point (the usual approximation
``eps(x_{t-1}, t) ~ eps(x_t, t)``), so decoding an inverted image reconstructs it up to that error.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DDIMScheduler
from torch import Tensor

EpsFn = Callable[[Tensor, Tensor], Tensor]


def ddim_scheduler(num_train_timesteps: int, beta_schedule: str) -> DDIMScheduler:
    """A DDIM scheduler whose eta=0 step is exactly invertible (no clipping or thresholding of x0)."""
    return DDIMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule=beta_schedule,
        clip_sample=False,
        set_alpha_to_one=True,
        prediction_type="epsilon",
    )


def ddim_levels(scheduler: DDIMScheduler, steps: int) -> list[tuple[int, float, float]]:
    """(t, a_t, a_prev) for each sampling step, from the noisiest timestep down to the clean image."""
    scheduler.set_timesteps(steps)
    ratio = scheduler.config.num_train_timesteps // steps
    acp = scheduler.alphas_cumprod
    out = []
    for t in scheduler.timesteps.tolist():
        prev = t - ratio
        a_prev = float(acp[prev]) if prev >= 0 else float(scheduler.final_alpha_cumprod)
        out.append((int(t), float(acp[t]), a_prev))
    return out


def ddim_move(x: Tensor, eps: Tensor, a_from: float, a_to: float) -> Tensor:
    x0 = (x - (1.0 - a_from) ** 0.5 * eps) / a_from**0.5
    return a_to**0.5 * x0 + (1.0 - a_to) ** 0.5 * eps


@torch.no_grad()
def ddim_sample(eps_fn: EpsFn, x_t: Tensor, scheduler: DDIMScheduler, steps: int) -> Tensor:
    """Decode ``x_T`` (noise at the first DDIM timestep) into a clean sample, deterministically."""
    scheduler.set_timesteps(steps)
    x = x_t
    for t in scheduler.timesteps:
        tt = torch.full((len(x),), int(t), device=x.device, dtype=torch.long)
        x = scheduler.step(eps_fn(x, tt), int(t), x, eta=0.0).prev_sample
    return x


@torch.no_grad()
def ddim_invert(eps_fn: EpsFn, x_0: Tensor, scheduler: DDIMScheduler, steps: int) -> Tensor:
    """Encode a clean image into the ``x_T`` that ``ddim_sample`` would decode (approximately) to it."""
    x = x_0
    for t, a_t, a_prev in reversed(ddim_levels(scheduler, steps)):
        tt = torch.full((len(x),), t, device=x.device, dtype=torch.long)
        x = ddim_move(x, eps_fn(x, tt), a_prev, a_t)
    return x


# --------------------------------------------------------------------------------------------------
# Rectified flow: x_t = (1 - t) x_0 + t e, velocity v = dx/dt = e - x_0, t from 1 (noise) to 0 (data)

VelocityFn = Callable[[Tensor, Tensor], Tensor]  # (x_t, t of shape (B,)) -> v


def flow_times(steps: int, shift: float = 1.0) -> list[float]:
    """The ``steps + 1`` times of the Euler grid, from 1 down to 0.

    ``shift`` > 1 spends more steps at high noise (SD3's ``t' = s t / (1 + (s - 1) t)``).
    """
    out = []
    for k in range(steps, -1, -1):
        t = k / steps
        out.append(shift * t / (1.0 + (shift - 1.0) * t))
    return out


def _at(t: float, like: Tensor) -> Tensor:
    return torch.full((len(like),), t, device=like.device, dtype=torch.float32)


@torch.no_grad()
def flow_sample(v_fn: VelocityFn, x_1: Tensor, steps: int, shift: float = 1.0) -> Tensor:
    """Integrate the flow from noise ``x_1`` (t = 1) to data (t = 0) with Euler steps:
    ``x_lo = x_hi + (t_lo - t_hi) v(x_hi, t_hi)``.  Deterministic."""
    times = flow_times(steps, shift)
    x = x_1
    for t_hi, t_lo in zip(times[:-1], times[1:], strict=True):
        x = x + (t_lo - t_hi) * v_fn(x, _at(t_hi, x))
    return x


@torch.no_grad()
def flow_invert(v_fn: VelocityFn, x_0: Tensor, steps: int, shift: float = 1.0, iterations: int = 3,
                reuse_velocity: bool = False) -> Tensor:
    """The noise ``x_1`` that ``flow_sample`` integrates to ``x_0``: each Euler step inverted exactly.

    The step ``x_lo = x_hi - h v(x_hi, t_hi)`` (``h = t_hi - t_lo``) is solved for ``x_hi`` by the
    fixed-point iteration ``x_hi <- x_lo + h v(x_hi, t_hi)``, started from the explicit step
    ``x_lo + h v(x_lo, t_lo)``; it contracts when ``h`` times the Lipschitz constant of v is below 1,
    so a few iterations make ``flow_sample(flow_invert(x_0)) == x_0`` to float precision.

    ``reuse_velocity`` starts each step after the first from the velocity the previous step's last
    iteration evaluated, ``v(x_hi', t_lo)`` at the last iterate ``x_hi'`` of the point now called
    ``x_lo``: it differs from the explicit start's ``v(x_lo, t_lo)`` by ``O(L |x_hi' - x_lo|)``, the
    same order as the explicit start's own error, and saves one network evaluation per step
    (``steps * iterations + 1`` evaluations instead of ``steps * (iterations + 1)``).
    """
    times = flow_times(steps, shift)
    x = x_0
    v_prev: Tensor | None = None
    for t_hi, t_lo in reversed(list(zip(times[:-1], times[1:], strict=True))):
        h = t_hi - t_lo
        v = v_fn(x, _at(t_lo, x)) if v_prev is None else v_prev
        x_hi = x + h * v
        for _ in range(iterations):
            v = v_fn(x_hi, _at(t_hi, x))
            x_hi = x + h * v
        v_prev = v if reuse_velocity and iterations > 0 else None
        x = x_hi
    return x
