"""Probes: read the attributes of a world back from any image of it (sampled, intervened, generated).

Exact pixel measurements where the rendering makes them possible, small CNNs where it does not:

    napkin_digits (W1, X, Y)  colour     pixel: mean hue of the foreground -> nearest of the six colours
                              thickness  pixel: stroke width (render.stroke_radius_px, calibrated)
                                         -> nearest of the world's three widths
                              digit      CNN on the brightness map, after undoing the node's geometry
                                         (X is rotated 90 degrees, Y rotated and mirrored)
    morpho_digits (image)     intensity  pixel: 95% quantile of the ink pixels (0..255)
                              thickness  pixel: calibrated stroke width, in 28-pixel units
                              digit      the same CNN
    faces (Face)              Male, Young, Beard, Eyeglasses, Lipstick: one CNN, five binary heads,
                                         one per size (16, 28, 32, 64; the 64-pixel one also trained
                                         on blurred faces, as generated ones at that size are soft)

CNN weights live in ``assets/probes/<name>.safetensors`` with a JSON spec next to them (architecture,
input convention, held-out accuracies); they never go through pickle.  :mod:`core.worlds.probe_training`
retrains them and refits the thickness calibration (``benchmarks/train_probes.py`` runs it); this
module only reads them, so it imports no world.

Images of a size a probe was not trained at are resized (bilinear) to the nearest trained size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.assets import ASSETS
from core.errors import WorkbenchError
from core.graph.node import JSONValue
from core.worlds.render import (
    COLOUR_NAMES,
    brightness,
    colour_class,
    foreground_intensity,
    mirror,
    rotate90,
    stroke_radius_px,
)

PROBE_DIR = str(ASSETS / "probes")
DIGIT_SIZES = (16, 28)
FACE_SIZES = (16, 28, 32, 64)
CALIBRATION_FILE = "thickness_calibration.json"


@dataclass(frozen=True)
class Attribute:
    """One thing a probe reads: ``kind`` is "categorical" (``labels`` name the codes 0..k-1) or
    "continuous" (``unit`` says in what)."""

    name: str
    kind: str
    labels: tuple[str, ...] | None = None
    unit: str = ""
    description: str = ""
    how: str = "pixel"  # "pixel" (exact measurement) or "cnn" (trained classifier)

    def to_json(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {"name": self.name, "kind": self.kind, "how": self.how, "description": self.description}
        if self.labels is not None:
            out["labels"] = list(self.labels)
        if self.unit:
            out["unit"] = self.unit
        return out


@dataclass
class Probe:
    """Reads ``attributes`` off uint8 images (n, C, H, W) of one image node."""

    world: str
    node: str
    shape: tuple[int, int, int]
    attributes: dict[str, Attribute]
    reader: Callable[[np.ndarray], dict[str, np.ndarray]] = field(repr=False)

    def read(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """{attribute: (n,) array}: int64 codes for categorical attributes, float64 for continuous."""
        x = np.asarray(images)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1] != self.shape[0]:
            raise WorkbenchError(
                f"the {self.world} probe for {self.node} reads images (n, {self.shape[0]}, H, W), got shape {x.shape}"
            )
        if x.dtype != np.uint8:
            raise WorkbenchError(f"the {self.world} probe reads uint8 images (0..255), got {x.dtype}")
        if len(x) == 0:
            return {k: np.zeros(0, dtype=np.int64 if a.kind == "categorical" else np.float64) for k, a in self.attributes.items()}
        return self.reader(x)

    def describe(self) -> dict[str, JSONValue]:
        return {"world": self.world, "node": self.node, "attributes": [a.to_json() for a in self.attributes.values()]}


# --------------------------------------------------------------------------------------------------
# The CNN


def build_net(in_channels: int, heads: Mapping[str, int], widths: tuple[int, int, int] = (24, 48, 64)):
    """conv3x3-ReLU-pool, conv3x3-ReLU-pool, conv3x3-ReLU, adaptive average pool to 3x3, FC 128, one
    linear head per attribute (``heads`` maps name -> number of outputs)."""
    import torch
    from torch import nn

    class ProbeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            a, b, c = widths
            self.body = nn.Sequential(
                nn.Conv2d(in_channels, a, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(b, c, 3, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(3), nn.Flatten(),
                nn.Linear(9 * c, 128), nn.ReLU(),
            )  # fmt: skip
            self.heads = nn.ModuleDict({k: nn.Linear(128, v) for k, v in heads.items()})

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            h = self.body(x)
            return {k: head(h) for k, head in self.heads.items()}

    return ProbeNet()


def _paths(name: str) -> tuple[str, str]:
    return os.path.join(PROBE_DIR, f"{name}.safetensors"), os.path.join(PROBE_DIR, f"{name}.json")


def save_net(net, name: str, spec: Mapping[str, JSONValue]) -> None:
    """Weights as safetensors, spec as JSON, both written atomically (temp file + rename)."""
    from safetensors.torch import save_file

    os.makedirs(PROBE_DIR, exist_ok=True)
    wpath, jpath = _paths(name)
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    save_file(state, wpath + ".tmp")
    os.replace(wpath + ".tmp", wpath)
    with open(jpath + ".tmp", "w") as f:
        json.dump(dict(spec), f, indent=2)
    os.replace(jpath + ".tmp", jpath)


@lru_cache(maxsize=8)
def load_net(name: str):
    """(net in eval mode, spec) for a stored probe; a clear error when missing or corrupt."""
    from safetensors.torch import load_file

    wpath, jpath = _paths(name)
    if not (os.path.exists(wpath) and os.path.exists(jpath)):
        raise WorkbenchError(f"probe weights {name} are missing from {PROBE_DIR}: run benchmarks/train_probes.py")
    try:
        with open(jpath) as f:
            spec = json.load(f)
        net = build_net(spec["in_channels"], spec["heads"], tuple(spec["widths"]))
        net.load_state_dict(load_file(wpath))
    except Exception as e:  # a corrupt file must not crash the caller with a traceback
        raise WorkbenchError(f"probe {name} in {PROBE_DIR} is unreadable ({type(e).__name__}): retrain it") from None
    net.eval()
    return net, spec


def run_net(net, x: np.ndarray, batch: int = 1024) -> dict[str, np.ndarray]:
    """Head outputs (logits) of ``net`` on float32 inputs (n, C, S, S), in batches, no gradients."""
    import torch

    outs: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for s in range(0, len(x), batch):
            for k, v in net(torch.from_numpy(np.ascontiguousarray(x[s : s + batch]))).items():
                outs.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of float images (n, C, H, W) to (n, C, size, size); identity when equal."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        t = F.interpolate(torch.from_numpy(np.ascontiguousarray(x)), size=(size, size), mode="bilinear", antialias=True)
    return t.numpy()


def nearest_size(size: int, sizes: tuple[int, ...]) -> int:
    return min(sizes, key=lambda s: (abs(s - size), -s))


# --------------------------------------------------------------------------------------------------
# Digits: inputs, pixel measurements, training


def digit_input(images: np.ndarray) -> np.ndarray:
    """The digit CNN's input: brightness (max channel) divided by the image's peak, float32 (n, 1, H, W).

    Colour and intensity are removed, so one network reads grey Morpho digits and coloured napkin
    digits alike.
    """
    b = brightness(images)
    peak = b.reshape(len(b), -1).max(axis=1)
    return (b / np.maximum(peak, 1e-3)[:, None, None])[:, None].astype(np.float32)


@lru_cache(maxsize=1)
def thickness_calibration() -> dict[str, list[float]]:
    path = os.path.join(PROBE_DIR, CALIBRATION_FILE)
    if not os.path.exists(path):
        raise WorkbenchError(f"{CALIBRATION_FILE} is missing from {PROBE_DIR}: run benchmarks/train_probes.py")
    with open(path) as f:
        return json.load(f)


def save_thickness_calibration(calibration: Mapping[str, list[float]]) -> None:
    """Store ``{size: [a, b]}`` for :func:`measure_thickness` (the reader's cache is cleared)."""
    os.makedirs(PROBE_DIR, exist_ok=True)
    with open(os.path.join(PROBE_DIR, CALIBRATION_FILE), "w") as f:
        json.dump(dict(calibration), f, indent=2)
    thickness_calibration.cache_clear()


def raw_width28(images: np.ndarray) -> np.ndarray:
    """Uncalibrated stroke width in 28-pixel units: 2 x the (trimmed mean) skeleton-to-edge distance."""
    size = images.shape[-1]
    return 2.0 * stroke_radius_px(digit_input(images)[:, 0]) * 28.0 / size


def measure_thickness(images: np.ndarray) -> np.ndarray:
    """Stroke width in 28-pixel units, float64 (n,): ``a * raw_width28 + b`` with (a, b) fitted on world
    images of the same size (least squares, stored in thickness_calibration.json)."""
    cal = thickness_calibration()
    size = str(nearest_size(images.shape[-1], tuple(int(k) for k in cal)))
    a, b = cal[size]
    return a * raw_width28(images) + b


def read_digit(images: np.ndarray) -> np.ndarray:
    """Digit class (int64 (n,)) of upright digit images, by the stored CNN of the nearest size."""
    size = nearest_size(images.shape[-1], DIGIT_SIZES)
    net, _ = load_net(f"digits_{size}")
    return run_net(net, resize(digit_input(images), size))["digit"].argmax(1).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# Faces


FACE_ATTRIBUTES = ("Male", "Young", "Beard", "Eyeglasses", "Lipstick")


def read_faces(images: np.ndarray) -> dict[str, np.ndarray]:
    size = nearest_size(images.shape[-1], FACE_SIZES)
    net, _ = load_net(f"faces_{size}")
    logits = run_net(net, resize(images.astype(np.float32) / 255.0, size))
    return {a: (logits[a][:, 0] > 0).astype(np.int64) for a in FACE_ATTRIBUTES}


# --------------------------------------------------------------------------------------------------
# Probes per world and node


def _napkin_upright(node: str) -> Callable[[np.ndarray], np.ndarray]:
    """Undo the node's geometry: X was rotated 90 degrees; Y is X mirrored."""
    if node == "X":
        return lambda x: rotate90(x, -1)
    if node == "Y":
        return lambda x: rotate90(mirror(x), -1)
    return lambda x: x


def _napkin_probe(world, node: str) -> Probe:
    upright = _napkin_upright(node)
    widths = np.asarray(world.widths, dtype=np.float64)

    def reader(images: np.ndarray) -> dict[str, np.ndarray]:
        up = upright(images)
        width = measure_thickness(up)
        return {
            "digit": read_digit(up),
            "colour": colour_class(images),
            "thickness": np.abs(width[:, None] - widths[None]).argmin(axis=1).astype(np.int64),
        }

    attrs = {
        "digit": Attribute("digit", "categorical", tuple(map(str, range(10))), how="cnn",
                           description="handwritten digit class"),
        "colour": Attribute("colour", "categorical", COLOUR_NAMES, description="hue of the foreground"),
        "thickness": Attribute("thickness", "categorical", ("thin", "medium", "thick"),
                               description="stroke width, nearest of the world's three widths"),
    }  # fmt: skip
    return Probe(world.name, node, world.graph.node(node).shape, attrs, reader)


def _morpho_probe(world, node: str) -> Probe:
    def reader(images: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "digit": read_digit(images),
            "thickness": measure_thickness(images),
            "intensity": foreground_intensity(images, 0.95),
        }

    attrs = {
        "digit": Attribute("digit", "categorical", tuple(map(str, range(10))), how="cnn",
                           description="handwritten digit class"),
        "thickness": Attribute("thickness", "continuous", unit="pixels at 28x28",
                               description="stroke width (calibrated skeleton-to-edge distance)"),
        "intensity": Attribute("intensity", "continuous", unit="0..255",
                               description="ink brightness (95% quantile of ink pixels)"),
    }  # fmt: skip
    return Probe(world.name, node, world.graph.node(node).shape, attrs, reader)


def _faces_probe(world, node: str) -> Probe:
    attrs = {a: Attribute(a, "categorical", ("no", "yes"), how="cnn", description=f"{a} shown in the face")
             for a in FACE_ATTRIBUTES}  # fmt: skip
    return Probe(world.name, node, world.graph.node(node).shape, attrs, read_faces)


_BUILDERS = {"napkin_digits": _napkin_probe, "morpho_digits": _morpho_probe, "faces": _faces_probe}


def probes_for(world, node: str | None = None) -> Probe:
    """The probe reading images of ``node`` (default: the world's only image node)."""
    build = _BUILDERS.get(getattr(world, "name", None))
    if build is None:
        raise WorkbenchError(f"no probes for the {getattr(world, 'name', world)!r} world")
    images = [v.name for v in world.graph.nodes if v.type == "image"]
    if node is None:
        if len(images) != 1:
            raise WorkbenchError(f"the {world.name} world has image nodes {', '.join(images)}: say which to probe")
        node = images[0]
    if node not in images:
        raise WorkbenchError(f"{node!r} is not an image node of the {world.name} world ({', '.join(images)})")
    return build(world, node)
