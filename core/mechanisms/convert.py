"""Between the numpy conventions of ``core.data.units.Units`` and the tensors mechanisms use.

numpy (Units):  binary/categorical int64 (n,), continuous float64 (n,), images uint8 (n, C, H, W).
torch:          int64 (n,),                    float32 (n,),            float32 (n, C, H, W) in [-1, 1].

Images map by ``x / 127.5 - 1`` and back by rounding, so a round trip is exact.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from core.errors import WorkbenchError
from core.graph import Node


def to_tensor(node: Node, values: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """One column of values (numpy, Units conventions) as the tensor a mechanism expects."""
    arr = np.asarray(values)
    if node.type == "image":
        if arr.ndim != 4 or tuple(arr.shape[1:]) != tuple(node.shape):
            raise WorkbenchError(
                f"image column {node.name} must have shape (n, {', '.join(map(str, node.shape))}), got {arr.shape}"
            )
        return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).to(device) / 127.5 - 1.0
    if arr.ndim != 1:
        raise WorkbenchError(f"column {node.name} must be one value per unit, got shape {arr.shape}")
    if node.is_discrete:
        if arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
            raise WorkbenchError(f"column {node.name} is {node.type} but holds non-integer values")
        out = torch.from_numpy(arr.astype(np.int64)).to(device)
        if out.numel() and (out.min() < 0 or out.max() >= node.levels):
            raise WorkbenchError(f"column {node.name} has values outside 0..{node.levels - 1}")
        return out
    return torch.from_numpy(arr.astype(np.float32)).to(device)


def to_numpy(node: Node, values: Tensor) -> np.ndarray:
    """A mechanism's output tensor in Units conventions."""
    t = values.detach().cpu()
    if node.type == "image":
        return ((t.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).numpy()
    if node.is_discrete:
        return t.long().numpy().astype(np.int64)
    return t.double().numpy()
