"""Realism by a classifier two-sample test (C2ST; Lopez-Paz & Oquab, 2017).

A small CNN learns to tell real images (label 1) from generated ones (label 0) on half of each set
and is scored on the other half.  Its held-out accuracy is the statistic: 0.5 means the two sets are
indistinguishable to it, 1.0 means every generated image is recognisably fake.  No downloaded
feature extractor is involved, so the test runs anywhere; with few images or steps it is a weak
critic, so report n and steps next to the number.
"""

from __future__ import annotations

import numpy as np


def two_sample_accuracy(real: np.ndarray, fake: np.ndarray, *, steps: int = 400, batch_size: int = 64,
                        seed: int = 0) -> float:
    """Held-out accuracy of a CNN telling ``real`` from ``fake`` uint8 images (n, C, H, W)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    n = min(len(real), len(fake))
    if n < 8:
        return float("nan")
    rng = np.random.default_rng(seed)
    real, fake = real[rng.permutation(len(real))[:n]], fake[rng.permutation(len(fake))[:n]]
    half = n // 2
    x_train = np.concatenate([real[:half], fake[:half]])
    y_train = np.concatenate([np.ones(half), np.zeros(half)])
    x_test = np.concatenate([real[half:], fake[half:]])
    y_test = np.concatenate([np.ones(n - half), np.zeros(n - half)])
    ch = real.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(
            nn.Conv2d(ch, 32, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(64, 1),
        )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(np.ascontiguousarray(x_train)).float() / 127.5 - 1.0
    yt = torch.from_numpy(y_train).float()
    for _ in range(steps):
        idx = torch.randint(0, len(xt), (min(batch_size, len(xt)),), generator=gen)
        loss = F.binary_cross_entropy_with_logits(net(xt[idx])[:, 0], yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = torch.cat([net(torch.from_numpy(np.ascontiguousarray(x_test[s:s + 512])).float() / 127.5 - 1.0)[:, 0]
                            for s in range(0, len(x_test), 512)])
    return float(np.mean((logits.numpy() > 0) == (y_test > 0.5)))
