"""Mixed precision: which dtype a mechanism's training runs its forward pass in.

Image mechanisms train under ``torch.autocast``: bf16 on CUDA (fp16 where the GPU lacks bf16) and on
CPUs with bf16 matrix units (AMX or AVX-512 BF16), where a 2048^2 bf16 matmul runs several times the
fp32 rate.  Used by the workspace trainer (``core.runs.train``) and by every ``Mechanism.fit`` (ID-GEN's
models), so both train at the same speed.

``training_attention``: the attention kernel of a U-Net's training forward pass.  On a CPU, PyTorch's
fused ("flash") attention has a slow backward: on the 32x32 latent-flow U-Net (16 tokens per
attention layer) it took 28% of a training step, 16 ms a call against 0.5 ms forward; the plain
matmul-softmax-matmul form cuts the whole step by about a quarter (one thread, 255 -> 193 ms).
Sampling keeps the default kernel, so stored models sample exactly as before.
"""

from __future__ import annotations

import contextlib

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from core.errors import WorkbenchError


def cpu_has_bf16_units() -> bool:
    """True where this CPU multiplies bf16 natively (AMX tiles or AVX-512 BF16), so autocast pays off."""
    checks = (getattr(torch.cpu, "_is_amx_tile_supported", None), getattr(torch.cpu, "_is_avx512_bf16_supported", None))
    for check in checks:
        try:
            if check is not None and check():
                return True
        except RuntimeError:  # an older build without the probe: no bf16 autocast by default
            continue
    return False


def amp_dtype(device: torch.device, mode: str, is_image: bool) -> torch.dtype | None:
    """The autocast dtype for a node, or None for float32.

    ``auto``: for image nodes, bf16 on CUDA (fp16 where the GPU lacks bf16) and on CPUs with bf16
    matrix units (AMX / AVX-512 BF16: several times the fp32 matmul rate); float32 otherwise, and
    always for the small tabular models, where autocast costs more than it saves.  ``bf16`` asks for
    bf16 on any CUDA GPU or CPU; ``fp16`` needs CUDA.
    """
    if mode == "no" or (mode == "auto" and not is_image):
        return None
    if device.type == "cpu":
        if mode == "fp16":
            raise WorkbenchError("fp16 mixed precision needs a CUDA GPU; on a CPU use bf16 (or auto)")
        return torch.bfloat16 if mode == "bf16" or cpu_has_bf16_units() else None
    if device.type != "cuda":
        return None
    if mode == "fp16":
        return torch.float16
    if mode == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def training_attention(device: torch.device) -> contextlib.AbstractContextManager[None]:
    """The context a mechanism's training forward pass runs its attention in: the math kernel on a CPU
    (whose fused kernel's backward is slow at the few tokens our U-Nets attend over), else the default."""
    if device.type == "cpu":
        return sdpa_kernel(SDPBackend.MATH)
    return contextlib.nullcontext()
